"""The purges, written once on the statement primitives both stores provide (``runner``): each
deletes in bounded batches, one short transaction per batch, until a batch comes back short."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from . import purge_statements as ps
from .runner import StatementRunner

DEFAULT_PURGE_BATCH_SIZE = 5000
"""Rows one purge transaction deletes at most (setting ``purge_batch_size``)."""

OnBatch = Callable[[int], object]
"""Called after each batch with the rows it deleted (``octotp purge``'s progress bar)."""

PURGES: dict[str, ps.PurgeStatements] = {
    p.name: p
    for p in (ps.PURGE_TOKENS, ps.PURGE_JOBS, ps.PURGE_IDEMPOTENCY_KEYS, ps.PURGE_SESSIONS, ps.PURGE_AUDIT_EVENTS)
}


class PurgeStoreMixin(StatementRunner):
    """``purge_tokens``, ``purge_jobs``, ``purge_idempotency_keys``, ``purge_sessions``,
    ``purge_audit_events`` and ``purgeable``: a store class mixes this in and defines the primitives."""

    def _run_purge_keys(self, statement: Any, params: Mapping[str, Any]) -> list[Sequence[Any]]:
        """Read a batch's keys; where the store routes reads to a replica it reads from the primary
        instead (a lagging replica would end the purge early with a short batch)."""
        return self._run_rows(statement, params)

    def _purge(self, purge: ps.PurgeStatements, before: dt.datetime, batch_size: int, on_batch: OnBatch | None) -> int:
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, not {batch_size}")
        total = 0
        while True:
            rows = [
                tuple(r) for r in self._run_purge_keys(purge.select_keys, {"b_before": before, "b_limit": batch_size})
            ]
            if rows:
                chunks = range(0, len(rows), ps.DELETE_CHUNK)
                steps = [(purge.delete, purge.delete_params(before, rows[i : i + ps.DELETE_CHUNK])) for i in chunks]
                deleted = sum(self._run_transaction(steps) or [])  # one transaction per batch
                total += deleted
                if on_batch is not None:
                    on_batch(deleted)
            if len(rows) < batch_size:
                return total

    def purge_tokens(
        self,
        expired_before: dt.datetime,
        *,
        batch_size: int = DEFAULT_PURGE_BATCH_SIZE,
        on_batch: OnBatch | None = None,
    ) -> int:
        """Delete tokens that expired before the given time, ``batch_size`` per transaction; how many."""
        return self._purge(ps.PURGE_TOKENS, expired_before, batch_size, on_batch)

    def purge_jobs(
        self,
        expired_before: dt.datetime,
        *,
        batch_size: int = DEFAULT_PURGE_BATCH_SIZE,
        on_batch: OnBatch | None = None,
    ) -> int:
        """Delete finished jobs that expired before this instant (with the tokens ``purge_tokens``
        deletes), ``batch_size`` per transaction; how many."""
        return self._purge(ps.PURGE_JOBS, expired_before, batch_size, on_batch)

    def purge_idempotency_keys(
        self,
        claimed_before: dt.datetime,
        *,
        batch_size: int = DEFAULT_PURGE_BATCH_SIZE,
        on_batch: OnBatch | None = None,
    ) -> int:
        """Delete records claimed before the given time, ``batch_size`` per transaction; how many."""
        return self._purge(ps.PURGE_IDEMPOTENCY_KEYS, claimed_before, batch_size, on_batch)

    def purge_sessions(
        self,
        expired_before: dt.datetime,
        *,
        batch_size: int = DEFAULT_PURGE_BATCH_SIZE,
        on_batch: OnBatch | None = None,
    ) -> int:
        """Delete sessions whose ``expires_at`` is before the given time, ``batch_size`` per
        transaction; how many."""
        return self._purge(ps.PURGE_SESSIONS, expired_before, batch_size, on_batch)

    def purge_audit_events(
        self,
        before: dt.datetime,
        *,
        batch_size: int = DEFAULT_PURGE_BATCH_SIZE,
        on_batch: OnBatch | None = None,
    ) -> int:
        """Delete events older than ``before``, ``batch_size`` per transaction; how many."""
        return self._purge(ps.PURGE_AUDIT_EVENTS, before, batch_size, on_batch)

    def purgeable(self, kind: str, before: dt.datetime) -> int:
        """How many rows the purge of ``kind`` (a key of ``PURGES``: ``tokens``, ``jobs``,
        ``idempotency keys``, ``sessions``, ``audit events``) would delete for this cutoff."""
        (row,) = self._run_purge_keys(PURGES[kind].count, {"b_before": before})
        return int(row[0])
