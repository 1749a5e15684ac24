"""A page's token rows: each token with its state and, when its code was sent through the outbox,
its delivery (the job's state and reason), read for the whole page in one query."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import NamedTuple

from ..states import token_state
from ..store import Job, Store, Token


class TokenRow(NamedTuple):
    """One row of a token list."""

    token: Token
    state: str
    delivery: Job | None
    """The job that sends the code (None: returned by the API, or sent synchronously)."""


def with_delivery(store: Store, tokens: Sequence[Token], now: dt.datetime) -> list[TokenRow]:
    """The rows of ``tokens``, with their deliveries (``Store.list_token_jobs``: one query a page)."""
    jobs = store.list_token_jobs([t.id for t in tokens]) if tokens else {}
    return [TokenRow(t, token_state(t, now), jobs.get(t.id)) for t in tokens]
