"""``UsageMeter``: per-project daily counters, added up in memory and written to the store in batches.

Counting inside every token transaction made each create and approval upsert the same row (one per
project per day): a hot row that every concurrent request of a project waited on, and one more
statement per request. The meter instead adds counts up in the process and writes them with one
upsert per (project, day) at most every ``flush_seconds`` — on the request that finds the interval
passed, when usage is read through ``TokenService.usage``, on ``Octotp.close()`` and at interpreter
exit. A process that is killed outright loses at most that interval's counts; counters are metering,
never a security decision (limits and single use never read them).
"""

from __future__ import annotations

import atexit
import datetime as dt
import logging
import threading
import time
import weakref
from collections import Counter
from typing import Literal

from .store import Store

log = logging.getLogger("octotp.usage")

Counted = Literal["created", "approved", "failed", "rate_limited"]


class UsageMeter:
    """Counts token events per project and UTC day; ``flush`` writes them to the store."""

    def __init__(self, store: Store, flush_seconds: float) -> None:
        self.store = store
        self.flush_seconds = flush_seconds
        self._pending: Counter[tuple[str, dt.date, Counted]] = Counter()
        self._lock = threading.Lock()
        self._flush_lock = threading.Lock()
        self._last_flush = time.monotonic()
        atexit.register(_flush_at_exit, weakref.ref(self))

    def count(self, project_id: str, day: dt.date, what: Counted) -> None:
        """Add one to a counter; write everything pending if the flush interval has passed."""
        with self._lock:
            self._pending[(project_id, day, what)] += 1
        if time.monotonic() - self._last_flush >= self.flush_seconds:
            self.flush(wait=False)

    def flush(self, *, wait: bool = True) -> None:
        """Write every pending count (one upsert per project and day). A failed write keeps the counts
        for the next flush. With ``wait=False`` a flush already running in another thread is enough."""
        if not self._flush_lock.acquire(blocking=wait):
            return
        try:
            self._last_flush = time.monotonic()
            with self._lock:
                pending, self._pending = self._pending, Counter()
            if not pending:
                return
            days: dict[tuple[str, dt.date], dict[str, int]] = {}
            for (project_id, day, what), n in pending.items():
                days.setdefault((project_id, day), {})[what] = n
            written: list[tuple[str, dt.date]] = []
            try:
                for (project_id, day), counts in days.items():
                    self.store.add_usage(project_id, day, **counts)
                    written.append((project_id, day))
            except Exception as exc:  # the database is down: keep what was not written
                log.warning("usage counters not written yet: %s", type(exc).__name__)
                with self._lock:
                    for key, n in pending.items():
                        if key[:2] not in written:
                            self._pending[key] += n
        finally:
            self._flush_lock.release()


def freshness(flush_seconds: float) -> str:
    """How current the usage counters on a page are, once the page's own process has flushed: the one
    sentence every place that shows usage (dashboard, Django admin) prints next to them."""
    if flush_seconds <= 0:
        return "Usage counters are written as they happen."
    return (
        "Includes this server process's counts up to now. Any other server process writes its counts "
        f"with its next token request at least {flush_seconds:g} s after its last write (usage_flush_seconds), "
        "and when it stops."
    )


def _flush_at_exit(ref: weakref.ReferenceType[UsageMeter]) -> None:
    meter = ref()
    if meter is not None:
        meter.flush()
