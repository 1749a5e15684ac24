"""The one vocabulary of token states, shown by the API (``GET /api/tokens/{id}``), the dashboard,
the Django admin and the CLI alike.

A token is ``pending`` until it closes or runs out of time or attempts; once closed, its state is
why it closed. This is a token's life, not a validation verdict: ``validate`` answers with its
own ``Status`` (``approved``, ``incorrect``, ``expired``, ``locked``, ``not_found``) and reads it
from here when a reservation fails.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal, Protocol, get_args

TokenState = Literal["pending", "expired", "locked", "approved", "superseded", "cancelled", "delivery_failed"]
TOKEN_STATES: tuple[TokenState, ...] = get_args(TokenState)
"""Every state, open ones first."""
CLOSED_STATES: tuple[TokenState, ...] = ("approved", "superseded", "cancelled", "delivery_failed")
"""The states a token closes with (its stored ``closed_reason``)."""


class TokenLike(Protocol):
    """What ``token_state`` reads: core's ``Token`` record and the Django ``Token`` model both have it."""

    @property
    def closed_reason(self) -> str | None: ...
    @property
    def expires_at(self) -> dt.datetime: ...
    @property
    def attempts(self) -> int: ...
    @property
    def max_attempts(self) -> int: ...


def token_state(token: TokenLike, now: dt.datetime) -> TokenState:
    """The token's state at ``now``: why it closed, else ``expired``, ``locked`` or ``pending``.

    Expiry wins over the attempt cap, as it does in ``validate``: a locked code that has also run
    out of time is reported ``expired`` everywhere.
    """
    reason = token.closed_reason
    if reason:
        # An unknown stored reason (a newer version's) still reads as closed, never as pending.
        return reason if reason in CLOSED_STATES else "cancelled"  # type: ignore[return-value]
    if token.expires_at <= now:
        return "expired"
    if token.attempts >= token.max_attempts:
        return "locked"
    return "pending"
