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
    """False once an operator disables the account: it cannot sign in and its sessions end."""
    is_operator: bool = False
    """Operators see every account and project, set plans, disable accounts and suspend projects."""
    verified_at: dt.datetime | None = None
    """When the owner proved the email address (by a code); None: unverified, so no API keys. Accounts
    made by an operator (CLI, setup link, Django admin) are verified when they are created."""
    external_id: str | None = None
    """The host app's user id when this account stands for a host user (the dashboard's host login:
    ``HostIdentity.id``); None for octotp's own accounts."""


ACCOUNT_SETTABLE = ("email", "password_hash", "is_active", "is_operator", "verified_at", "external_id")
"""The ``Account`` fields ``Store.update_account`` writes."""


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
    suspended_at: dt.datetime | None = None
    """Set by an operator: the project's API keys are refused (problem code ``project_suspended``)."""
    message_overrides: str | None = None
    """The project's own words for its messages, as JSON text (``octotp_core.delivery.overrides``:
    sender name, reply-to, subject, text, HTML, SMS, WebOTP domain); None: octotp's messages."""


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
    "suspended_at",
    "message_overrides",
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


@dataclass(frozen=True)
class Member:
    """An account's role in a project other than its owner's (the owner is ``Project.owner_id``)."""

    id: str
    project_id: str
    account_id: str
    role: str
    """``admin``, ``developer`` or ``viewer`` (``octotp_core.console.permissions.ROLES``)."""
    created_at: dt.datetime


@dataclass(frozen=True)
class Invitation:
    """An emailed invitation to join a project with a role. Its link's token is stored as a digest only."""

    id: str
    project_id: str
    email: str
    role: str
    invited_by: str | None
    created_at: dt.datetime
    expires_at: dt.datetime
    accepted_at: dt.datetime | None = None


@dataclass(frozen=True)
class AuditEvent:
    """Who did what and when, for a project's and an account's audit log. Never a secret, a code or a
    full recipient: ``detail`` is a short description written by octotp itself."""

    id: str
    at: dt.datetime
    action: str
    """One of ``octotp_core.console.audit.ACTIONS``."""
    actor_id: str | None
    """The account that acted (None: the system, the CLI)."""
    actor: str
    """How to name the actor on the page (an email, ``operator (CLI)``, a host app's user)."""
    project_id: str | None = None
    account_id: str | None = None
    """The account whose log this belongs to (the actor's own, or the one acted on)."""
    detail: str = ""
    address: str | None = None
    """The client address the action came from, when it came over HTTP."""


@dataclass(frozen=True)
class TokenFilter:
    """What the dashboard's token list narrows to (None: any). ``recipient_digest`` is computed on the
    server from a recipient typed in full (``TokenService.recipient_digest``): nothing is stored in clear."""

    recipient_digest: str | None = None
    state: str | None = None
    """One of ``octotp_core.states.TOKEN_STATES``, decided at ``now`` as ``token_state`` decides it."""
    purpose: str | None = None
    channel: str | None = None


JOB_STATES = ("queued", "sending", "sent", "delivered", "failed")
"""A job's states: ``queued`` (waiting for its ``due_at``), ``sending`` (claimed by a worker until
its lease, ``due_at``, ends), then ``sent`` (the backend took it), ``delivered`` (the provider says
it arrived) or ``failed`` (with a ``reason``)."""


@dataclass(frozen=True)
class Job:
    """One message to send: a code's delivery (``kind="code"``, one per token) or an event webhook.
    Written with its token in one transaction (the outbox), sent by a worker (``octotp_core.outbox``)."""

    id: str
    kind: str
    project_id: str
    token_id: str | None
    state: str
    attempts: int
    due_at: dt.datetime
    """``queued``: when it may next be tried; ``sending``: when the worker's lease ends."""
    expires_at: dt.datetime
    """Never sent after this (a code's expiry)."""
    payload: str | None
    """What to send, sealed with a key derived from the server secret (``outbox.payload``); wiped
    (None) once the job is done."""
    created_at: dt.datetime
    claimed_by: str | None = None
    reason: str | None = None
    """Why it failed (``failed``), or what went wrong on the last try (``queued`` again)."""
    provider_id: str | None = None
    """The provider's id of the message (Twilio's message SID), which its status callbacks name."""
    sent_at: dt.datetime | None = None
    delivered_at: dt.datetime | None = None
    endpoint_id: str | None = None
    """An event webhook's endpoint (``kind="webhook"``)."""
    event_type: str | None = None
    """An event webhook's event (``token.created``...)."""


@dataclass(frozen=True)
class WebhookEndpoint:
    """A URL of a project's that receives its events, signed per Standard Webhooks with its own
    secret (stored sealed with the server secret: ``webhooks.endpoints``)."""

    id: str
    project_id: str
    url: str
    secret_sealed: str
    events: str
    """The event types it receives, space-separated; empty: every type."""
    enabled: bool
    created_at: dt.datetime
    description: str = ""
