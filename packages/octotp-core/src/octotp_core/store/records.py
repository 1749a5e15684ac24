"""Plain records passed between the store and the services (no ORM objects leak out of a store)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True)
class Account:
    """A dashboard user."""

    id: str
    email: str
    password_hash: str
    created_at: dt.datetime
    is_active: bool = True


@dataclass(frozen=True)
class Project:
    """A tenant: owns API keys and tokens; its plan sets its rate limit."""

    id: str
    name: str
    owner_id: str | None
    plan: str
    created_at: dt.datetime
    code_length: int | None = None
    expiry_default: int | None = None
    expiry_min: int | None = None
    expiry_max: int | None = None
    default_phone_region: str | None = None
    deliver_only: bool = False
    validate_requires_key: bool = False
    """Refuse ``POST /api/tokens/validate`` without an ``X-Api-Key``. New projects get it on
    (``AccountService.create_project``); rows from before the setting existed have it off."""


PROJECT_SETTABLE = (
    "owner_id",
    "name",
    "plan",
    "code_length",
    "expiry_default",
    "expiry_min",
    "expiry_max",
    "default_phone_region",
    "deliver_only",
    "validate_requires_key",
)
"""The ``Project`` fields ``Store.update_project`` writes (the rest never change)."""


@dataclass(frozen=True)
class ApiKey:
    """An API key's metadata (the key itself is never stored; only its digest)."""

    id: str
    project_id: str
    name: str
    prefix: str
    created_at: dt.datetime
    revoked_at: dt.datetime | None = None
    last_used_at: dt.datetime | None = None


@dataclass(frozen=True)
class NewToken:
    """A token about to be stored."""

    id: str
    project_id: str
    recipient_digest: str
    recipient_hint: str
    channel: str
    purpose: str
    code_hash: str
    created_at: dt.datetime
    expires_at: dt.datetime
    max_attempts: int


@dataclass(frozen=True)
class Token(NewToken):
    """A stored token with its mutable state."""

    attempts: int = 0
    closed_at: dt.datetime | None = None
    closed_reason: str | None = None
    """``approved``, ``superseded``, ``cancelled`` or ``delivery_failed`` once closed."""


@dataclass(frozen=True)
class UsageDay:
    """One project's counters for one UTC day."""

    project_id: str
    day: dt.date
    created: int = 0
    approved: int = 0
    failed: int = 0
    rate_limited: int = 0


@dataclass(frozen=True)
class IdempotencyRecord:
    """A create request seen under an ``Idempotency-Key``. ``token_id`` is None while it is in progress."""

    project_id: str
    key: str
    fingerprint: str
    claimed_at: dt.datetime
    token_id: str | None = None
    response: str | None = None
    """The JSON answered the first time, without the code."""
    sent: bool = False


@dataclass(frozen=True)
class DashboardSession:
    """A dashboard login. The session id itself lives only in the browser's cookie; the store keeps its
    SHA-256 digest, so a database leak hands out no usable session."""

    id_digest: str
    account_id: str
    csrf_token: str
    created_at: dt.datetime
    last_seen_at: dt.datetime
    expires_at: dt.datetime
    """When the session stops working: the earlier of its absolute end and ``last_seen_at`` + the idle timeout."""
    flash: str | None = None
    """A one-shot message for the session's next page (a new API key after Post/Redirect/Get), encrypted
    under a key derived from the session id, which the store never holds; cleared once shown."""
