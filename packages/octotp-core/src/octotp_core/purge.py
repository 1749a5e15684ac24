"""What ``octotp purge`` (and ``octotp serve --purge-every``) deletes, and up to when: decided once.

Each table goes in bounded batches (``purge_batch_size`` rows per transaction, see
``store.purge_store``), in this order: idempotency records older than their 24 h window, finished
jobs and the expired tokens they belonged to, expired dashboard sessions, audit events past
``audit_retention_days``.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from .clock import Clock
from .http.idempotency import WINDOW as IDEMPOTENCY_WINDOW
from .settings import Settings
from .store import Store

log = logging.getLogger("octotp.purge")

PURGE_ORDER = ("idempotency keys", "jobs", "tokens", "sessions", "audit events")
"""The kinds a purge deletes, in order (jobs before the tokens they belong to)."""

OnProgress = Callable[[str, int], object]
"""Called after each batch with its kind and the rows it deleted."""


@dataclass(frozen=True)
class PurgeCounts:
    """How many rows one purge deleted, per kind."""

    tokens: int = 0
    jobs: int = 0
    idempotency_keys: int = 0
    sessions: int = 0
    audit_events: int = 0

    def as_json(self) -> dict[str, int]:
        """The counts as ``octotp purge --json`` prints them (``deleted`` is the tokens)."""
        return {
            "deleted": self.tokens,
            "sessionsDeleted": self.sessions,
            "auditEventsDeleted": self.audit_events,
            "jobsDeleted": self.jobs,
            "idempotencyKeysDeleted": self.idempotency_keys,
        }


def purge_cutoffs(settings: Settings, now: dt.datetime, grace_seconds: int = 0) -> dict[str, dt.datetime]:
    """Each kind's cutoff: rows before it are deleted. ``grace_seconds`` keeps tokens (and their
    finished jobs) that expired less than that long ago; an expired session is useless at once."""
    grace = dt.timedelta(seconds=grace_seconds)
    return {
        "idempotency keys": now - IDEMPOTENCY_WINDOW,
        "jobs": now - grace,
        "tokens": now - grace,
        "sessions": now,
        "audit events": now - dt.timedelta(days=settings.audit_retention_days),
    }


def purge_all(
    store: Store,
    settings: Settings,
    clock: Clock,
    grace_seconds: int = 0,
    on_progress: OnProgress | None = None,
) -> PurgeCounts:
    """Delete everything past its retention, ``settings.purge_batch_size`` rows per transaction,
    ``settings.purge_pause_seconds`` apart."""
    cutoffs = purge_cutoffs(settings, clock.now(), grace_seconds)
    size, pause = settings.purge_batch_size, settings.purge_pause_seconds

    def batches(kind: str) -> Callable[[int], object] | None:
        if on_progress is None and not pause:
            return None

        def after_batch(deleted: int) -> None:
            if on_progress is not None:
                on_progress(kind, deleted)
            if pause:
                time.sleep(pause)  # real time, not the injectable clock: it spaces out database work

        return after_batch

    return PurgeCounts(
        idempotency_keys=store.purge_idempotency_keys(
            cutoffs["idempotency keys"], batch_size=size, on_batch=batches("idempotency keys")
        ),
        jobs=store.purge_jobs(cutoffs["jobs"], batch_size=size, on_batch=batches("jobs")),
        tokens=store.purge_tokens(cutoffs["tokens"], batch_size=size, on_batch=batches("tokens")),
        sessions=store.purge_sessions(cutoffs["sessions"], batch_size=size, on_batch=batches("sessions")),
        audit_events=store.purge_audit_events(
            cutoffs["audit events"], batch_size=size, on_batch=batches("audit events")
        ),
    )


def purgeable_counts(store: Store, settings: Settings, clock: Clock, grace_seconds: int = 0) -> dict[str, int]:
    """How many rows of each kind a purge would delete now (a progress bar's length)."""
    cutoffs = purge_cutoffs(settings, clock.now(), grace_seconds)
    return {kind: store.purgeable(kind, cutoffs[kind]) for kind in PURGE_ORDER}


class PurgeSchedule:
    """Runs ``purge_all`` every ``interval`` seconds in a daemon thread (``octotp serve
    --purge-every``), logging the counts; a failed run is logged and the next one is tried."""

    def __init__(
        self,
        store: Store,
        settings: Settings,
        clock: Clock,
        interval: float,
        *,
        close: Callable[[], object] | None = None,
    ) -> None:
        self.store, self.settings, self.clock, self.interval = store, settings, clock, interval
        self._close = close
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="octotp-purge", daemon=True)

    def start(self) -> PurgeSchedule:
        """Start the thread (the first purge runs at once)."""
        self._thread.start()
        return self

    def stop(self, timeout: float | None = None) -> None:
        """Stop after the batch in progress ends."""
        self._stopped.set()
        self._thread.join(timeout)

    def run_once(self) -> PurgeCounts:
        """One purge, logged."""
        counts = purge_all(self.store, self.settings, self.clock)
        log.info(
            "scheduled purge deleted tokens=%d jobs=%d idempotency_keys=%d sessions=%d audit_events=%d",
            counts.tokens,
            counts.jobs,
            counts.idempotency_keys,
            counts.sessions,
            counts.audit_events,
        )
        return counts

    def _run(self) -> None:
        try:
            while not self._stopped.is_set():
                try:
                    self.run_once()
                except Exception:  # the database may be down for a while: try again next time
                    log.exception("scheduled purge failed; next try in %s s", self.interval)
                self._stopped.wait(self.interval)
        finally:
            if self._close is not None:
                self._close()
