"""The typed results of the client's calls (snake_case here; camelCase on the wire)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

__all__ = ["CreatedToken", "Health", "Token", "Validation"]


@dataclass(frozen=True)
class CreatedToken:
    """A code issued by ``create_token``.

    ``code`` is ``None`` when the project is in deliver-only mode (the code went to the recipient
    and is never shown to the caller). It is left out of ``repr()`` so logging the result never
    logs the code.
    """

    id: str
    """The token's id (a UUID string), for ``cancel_token``."""
    code: str | None = field(repr=False)
    """The one-time code to send to the recipient yourself, or ``None`` in deliver-only mode."""
    expires_at: dt.datetime
    """When the code stops working (timezone-aware, UTC)."""
    channel: str | None = None
    """``email`` or ``sms``: how the recipient is reached (``None`` if the server did not say)."""
    sent: bool | None = None
    """True when octotp delivered the code itself (``None`` if the server did not say)."""
    replayed: bool = False
    """True when the server recognised the ``Idempotency-Key`` of an earlier attempt of this call
    (``Idempotent-Replayed``): nothing was delivered twice, and the result is the one to use."""


@dataclass(frozen=True)
class Validation:
    """The answer of ``validate_token``.

    ``status`` is one of ``approved`` (``is_valid`` is True only then), ``incorrect``, ``expired``,
    ``locked`` or ``not_found`` (no open code for this recipient, e.g. already used or cancelled).
    """

    is_valid: bool
    status: str


@dataclass(frozen=True)
class Token:
    """A token as ``get_token`` reads it: its state, never its code.

    ``status`` is the token's life, not a validation verdict: ``pending`` while its code can still
    be approved; ``expired`` or ``locked`` (too many wrong attempts) once it cannot, though it was
    never closed; otherwise why it closed: ``approved``, ``superseded`` (a newer code was created for
    the same recipient and purpose), ``cancelled`` or ``delivery_failed``.
    """

    id: str
    """The token's id (a UUID string)."""
    status: str
    """``pending``, ``expired``, ``locked``, ``approved``, ``superseded``, ``cancelled`` or ``delivery_failed``."""
    channel: str
    """``email`` or ``sms``."""
    recipient_hint: str
    """The masked recipient, e.g. ``j***@example.com`` (the full address is never returned)."""
    purpose: str
    """The purpose the code is bound to (``""`` when it was created without one)."""
    created_at: dt.datetime
    """When the token was created (timezone-aware, UTC)."""
    expires_at: dt.datetime
    """When its code stops (or stopped) working (timezone-aware, UTC)."""
    closed_at: dt.datetime | None
    """When it closed (approved, superseded, cancelled, delivery failed); ``None`` while open."""
    attempts: int
    """Wrong (or reserved) validation attempts so far."""
    max_attempts: int
    """The attempts allowed before the token is ``locked``."""


@dataclass(frozen=True)
class Health:
    """The answer of ``health()`` (``status == "ok"``) or ``ready()`` (``status == "ready"``)."""

    status: str
