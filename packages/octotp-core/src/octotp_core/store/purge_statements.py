"""The purges' SQL, written once for both stores: for each table, the keys of one bounded batch of
purgeable rows, how many rows are purgeable, and a delete of the rows whose keys are given.

A purge never runs one ``DELETE ... WHERE expires_at < ?`` over the whole table: on a large table
that is one long transaction holding its locks (and, on MariaDB, gap locks on the index) while the
server writes. Instead each batch reads at most ``b_limit`` keys, oldest first along the indexed
time column, then deletes exactly those rows in one short transaction. The delete repeats the
purge's condition, so a row that changed between the two (a job queued again) is kept.

The keys go in as ``DELETE_CHUNK`` fixed parameters per statement (unused ones NULL, which matches
no row): statements both stores compile once, without expanding parameters.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Column, Integer, Table, and_, bindparam, delete, func, not_, or_, select

from .console_statements import audit_events, sessions
from .job_statements import _OPEN, jobs
from .statements import _b, idempotency_keys, tokens

DELETE_CHUNK = 200
"""Rows one delete statement names (a composite key binds two parameters each: 400, under
SQLite's oldest limit of 999)."""

_LIMIT = bindparam("b_limit", type_=Integer)


@dataclass(frozen=True)
class PurgeStatements:
    """One table's purge: ``SELECT_KEYS`` (at most ``b_limit``), ``COUNT`` and ``DELETE`` (keys bound
    as ``b_k<i>_<column>``, ``DELETE_CHUNK`` of them), all conditioned on ``b_before``."""

    name: str
    keys: tuple[str, ...]
    select_keys: Any
    count: Any
    delete: Any

    def delete_params(self, before: Any, rows: list[tuple[Any, ...]]) -> dict[str, Any]:
        """The parameters of ``delete`` for up to ``DELETE_CHUNK`` rows' keys."""
        params: dict[str, Any] = {"b_before": before}
        for i in range(DELETE_CHUNK):
            row = rows[i] if i < len(rows) else (None,) * len(self.keys)
            for key, value in zip(self.keys, row, strict=True):
                params[f"b_k{i}_{key}"] = value
        return params


def _purge(name: str, table: Table, keys: tuple[str, ...], when: Column[Any], *more: Any) -> PurgeStatements:
    condition = (when < _b(table, "before", when.name), *more)
    key_columns = [table.c[k] for k in keys]

    def key_param(i: int, column: Column[Any]) -> Any:
        return bindparam(f"b_k{i}_{column.name}", type_=column.type)

    if len(key_columns) == 1:
        (column,) = key_columns
        named: Any = column.in_([key_param(i, column) for i in range(DELETE_CHUNK)])
    else:
        named = or_(*[and_(*[c == key_param(i, c) for c in key_columns]) for i in range(DELETE_CHUNK)])
    return PurgeStatements(
        name=name,
        keys=keys,
        select_keys=select(*key_columns).where(*condition).order_by(when).limit(_LIMIT),
        count=select(func.count()).select_from(table).where(*condition),
        delete=delete(table).where(named, *condition),
    )


PURGE_TOKENS = _purge("tokens", tokens, ("pk",), tokens.c.expires_at)
PURGE_JOBS = _purge("jobs", jobs, ("id",), jobs.c.expires_at, not_(_OPEN))  # finished ones only
PURGE_IDEMPOTENCY_KEYS = _purge(
    "idempotency keys", idempotency_keys, ("project_id", "key"), idempotency_keys.c.claimed_at
)
PURGE_SESSIONS = _purge("sessions", sessions, ("id_digest",), sessions.c.expires_at)
PURGE_AUDIT_EVENTS = _purge("audit events", audit_events, ("id",), audit_events.c.at)
