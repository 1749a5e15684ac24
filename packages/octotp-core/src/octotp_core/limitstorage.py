"""Moving-window storages for ``limits`` that octotp owns: one per process (``memory://``) and one
on octotp's own database (``database://``), shared by every process of a deployment.

Both implement ``limits``' public storage interface (``limits.storage.Storage`` and
``MovingWindowSupport``), so ``MovingWindowRateLimiter`` works on them unchanged, and add the two
operations octotp's budgets need and ``limits`` lacks (``WindowStorage``):

- ``acquire_all``: take one entry in each of several windows, or in none (the create admission:
  the recipient's send budget and the project's plan, atomically);
- ``release``: give back entries taken by ``acquire_all`` (a failure-budget entry spent before a
  code is verified is given back when the code was right).

Only the moving-window strategy is supported; the fixed-window methods of the interface raise
``NotImplementedError``.
"""

from __future__ import annotations

import bisect
import contextlib
import hashlib
import threading
import time
import weakref
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from limits.storage import MovingWindowSupport, Storage
from sqlalchemy import Connection, Engine, Table, bindparam, delete, func, insert, select, text
from sqlalchemy.exc import SQLAlchemyError

from .store.models import RateLimitHitRow

hits: Table = RateLimitHitRow.__table__  # type: ignore[assignment]

_FIXED_WINDOW = "octotp's limit storages support the moving-window strategy only"


class _MovingWindowOnly(Storage, MovingWindowSupport):
    """A ``limits`` storage that answers the moving-window strategy only: the fixed-window calls
    ``Storage`` requires are refused, so a misconfigured strategy fails loudly instead of counting wrong."""

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        raise NotImplementedError(_FIXED_WINDOW)

    def get(self, key: str) -> int:
        raise NotImplementedError(_FIXED_WINDOW)

    def get_expiry(self, key: str) -> float:
        raise NotImplementedError(_FIXED_WINDOW)


@dataclass(frozen=True)
class Window:
    """One moving window: at most ``limit`` entries under ``key`` in any ``expiry`` seconds."""

    key: str
    limit: int
    expiry: int


@dataclass(frozen=True)
class Acquisition:
    """The outcome of ``acquire_all``.

    ``refused`` is the index of the first window that was full (nothing was taken), else None.
    ``reset_at`` is when the refused window frees an entry, or, when admitted, when the oldest entry
    of the ``stats`` window leaves it; ``in_window`` the entries of the ``stats`` window after the
    admission. ``receipt`` identifies what was taken, for ``release``.
    """

    refused: int | None
    reset_at: float
    in_window: int = 0
    receipt: Any = None


class WindowStorage(Protocol):
    """The operations octotp needs beyond ``limits``' storage interface."""

    def acquire_all(self, windows: Sequence[Window], stats: int = 0) -> Acquisition:
        """One entry in every window, or none when any of them is full (checked in order)."""
        ...

    def release(self, windows: Sequence[Window], receipt: Any) -> None:
        """Give back the entries an admitted ``acquire_all`` took (no-op for anything else)."""
        ...


class WindowMemoryStorage(_MovingWindowOnly):
    """Moving windows in this process's memory, expired entries swept at most every ``SWEEP_SECONDS``.

    ``limits``' own ``MemoryStorage`` re-arms a 10 ms timer on every hit that walks every key under
    its lock (with tens of thousands of recipients that sweep alone kept a core busy), and the only
    way to change that is through its name-mangled internals. Expired entries never count, so
    sweeping rarely changes no decision, only how long an expired entry stays in memory. One lock
    guards everything: each operation is a few list operations, and ``acquire_all`` must be atomic.
    Not registered as a ``limits`` URI scheme, so other users of ``limits`` in the process are
    unaffected; ``RateLimits`` picks it for ``memory://``. ``clock`` gives seconds since the epoch
    (``time.time``, as ``limits`` counts; tests pass their own).
    """

    STORAGE_SCHEME = None
    SWEEP_SECONDS = 5.0

    def __init__(
        self,
        uri: str | None = None,
        wrap_exceptions: bool = False,
        *,
        clock: Callable[[], float] = time.time,
        **options: Any,
    ) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        # Per key: entry timestamps, oldest first, and the window length they were taken for.
        self._events: dict[str, list[float]] = {}
        self._expiry: dict[str, int] = {}
        self._next_sweep = 0.0
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)

    @property
    def base_exceptions(self) -> type[Exception] | tuple[type[Exception], ...]:
        return ValueError

    # -- moving window (limits' interface) -------------------------------------------------
    def _in_window(self, key: str, expiry: int, now: float) -> list[float]:
        events = self._events.get(key, [])
        return events[bisect.bisect_right(events, now - expiry) :]

    def _take(self, key: str, expiry: int, now: float, amount: int) -> None:
        events = self._events.setdefault(key, [])
        del events[: bisect.bisect_right(events, now - expiry)]  # a hot key stays as short as its limit
        events.extend([now] * amount)
        self._expiry[key] = expiry

    def _sweep(self, now: float) -> None:
        if now < self._next_sweep:
            return
        self._next_sweep = now + self.SWEEP_SECONDS
        for key in list(self._events):
            events = self._events[key]
            del events[: bisect.bisect_right(events, now - self._expiry.get(key, 0))]
            if not events:
                del self._events[key]
                self._expiry.pop(key, None)

    def acquire_entry(self, key: str, limit: int, expiry: int, amount: int = 1) -> bool:
        """Take ``amount`` entries if the window has room for all of them."""
        if amount > limit:
            return False
        with self._lock:
            now = self._clock()
            self._sweep(now)
            if len(self._in_window(key, expiry, now)) + amount > limit:
                return False
            self._take(key, expiry, now, amount)
            return True

    def get_moving_window(self, key: str, limit: int, expiry: int) -> tuple[float, int]:
        """(oldest entry in the window, or now when empty; entries in the window)."""
        with self._lock:
            now = self._clock()
            window = self._in_window(key, expiry, now)
            return (window[0] if window else now), len(window)

    # -- octotp's operations ---------------------------------------------------------------
    def acquire_all(self, windows: Sequence[Window], stats: int = 0) -> Acquisition:
        with self._lock:
            now = self._clock()
            self._sweep(now)
            for index, window in enumerate(windows):
                entries = self._in_window(window.key, window.expiry, now)
                if len(entries) >= window.limit:
                    blocking = entries[len(entries) - window.limit] if window.limit else now
                    return Acquisition(index, blocking + window.expiry)
            for window in windows:
                self._take(window.key, window.expiry, now, 1)
            counted = self._in_window(windows[stats].key, windows[stats].expiry, now)
            return Acquisition(None, counted[0] + windows[stats].expiry, len(counted), now)

    def release(self, windows: Sequence[Window], receipt: Any) -> None:
        if receipt is None:
            return
        with self._lock:
            for window in windows:
                events = self._events.get(window.key, [])
                at = bisect.bisect_left(events, receipt)
                if at < len(events) and events[at] == receipt:
                    del events[at]

    # -- the rest of limits' interface -----------------------------------------------------
    def key_count(self) -> int:
        """How many keys hold entries (expired ones go at the next sweep)."""
        with self._lock:
            return len(self._events)

    def check(self) -> bool:
        return True

    def reset(self) -> int | None:
        with self._lock:
            count = len(self._events)
            self._events.clear()
            self._expiry.clear()
            return count

    def clear(self, key: str) -> None:
        with self._lock:
            self._events.pop(key, None)
            self._expiry.pop(key, None)


# SQLite has one writer at a time; this process's writers of one database queue on a lock (which
# hands over at once) rather than in SQLite's busy handler (which sleeps 1, 2, 5 ... 100 ms).
_sqlite_locks: weakref.WeakKeyDictionary[Engine, threading.Lock] = weakref.WeakKeyDictionary()
_sqlite_locks_guard = threading.Lock()

_COUNT_WINDOW = select(func.count(), func.min(hits.c.hit_at)).where(
    hits.c.key == bindparam("key"), hits.c.hit_at > bindparam("start")
)
_INSERT_HIT = insert(hits)
_DELETE_EXPIRED = delete(hits).where(hits.c.expires_at <= bindparam("now"))
_LOCK_TIMEOUT_SECONDS = 10


def _stored_key(key: str) -> str:
    # limits' keys are short ("LIMITER/plan/<uuid>/60/1/minute"); a longer one is stored as its digest.
    return key if len(key) <= 200 else "sha256:" + hashlib.sha256(key.encode()).hexdigest()


def _lock_digest(key: str) -> bytes:
    return hashlib.sha256(b"octotp-rate-limit:" + key.encode()).digest()


class LockTimeout(Exception):
    """A per-key lock of the database storage was not granted in time."""


class DatabaseStorage(_MovingWindowOnly):
    """Moving windows in octotp's database (table ``octotp_rate_limit_hits``), exact across every
    process that uses the database, on SQLite, PostgreSQL and MariaDB/MySQL.

    Each decision holds a lock on its keys while it counts the window and inserts: a transaction
    advisory lock per key on PostgreSQL (``pg_advisory_xact_lock``), a named lock per key on
    MariaDB/MySQL (``GET_LOCK``, with the reads in READ COMMITTED so they see what the previous
    holder committed), the database's single writer lock on SQLite (``BEGIN IMMEDIATE``). Keys are
    locked in one order, so two decisions never wait on each other. Expired entries are deleted at
    most every ``sweep_seconds`` per process, so the table holds about one window of entries.
    ``clock`` gives seconds since the epoch (``time.time``, as ``limits`` counts).
    """

    STORAGE_SCHEME = None

    def __init__(self, engine: Engine, *, sweep_seconds: float = 30.0, clock: Callable[[], float] = time.time) -> None:
        self.engine = engine
        self._clock = clock
        self.sweep_seconds = sweep_seconds
        self._dialect = engine.dialect.name
        self._next_sweep = 0.0
        self._sweep_guard = threading.Lock()
        self._sqlite_lock: threading.Lock | None = None
        if self._dialect == "sqlite":
            with _sqlite_locks_guard:
                self._sqlite_lock = _sqlite_locks.setdefault(engine, threading.Lock())
        super().__init__(None)

    @property
    def base_exceptions(self) -> type[Exception] | tuple[type[Exception], ...]:
        return (SQLAlchemyError, LockTimeout)

    # -- transactions ----------------------------------------------------------------------
    @contextlib.contextmanager
    def _locked(self, keys: Sequence[str]) -> Iterator[Connection]:
        """A transaction holding the lock of every key (sorted: one global order, no deadlocks)."""
        ordered = sorted({_lock_digest(k) for k in keys})
        if self._sqlite_lock is not None:
            with self._sqlite_lock, self.engine.connect() as conn:
                # The driver leaves transaction control to us, so the transaction can start as a writer.
                conn = conn.execution_options(isolation_level="AUTOCOMMIT")
                conn.exec_driver_sql("BEGIN IMMEDIATE")
                try:
                    yield conn
                except BaseException:
                    conn.exec_driver_sql("ROLLBACK")
                    raise
                conn.exec_driver_sql("COMMIT")
        elif self._dialect == "postgresql":
            with self.engine.begin() as conn:
                for digest in ordered:
                    conn.execute(
                        text("SELECT pg_advisory_xact_lock(:id)"),
                        {"id": int.from_bytes(digest[:8], "big", signed=True)},
                    )
                yield conn
        else:
            with self._mysql_locked(ordered) as conn:
                yield conn

    @contextlib.contextmanager
    def _mysql_locked(self, ordered: list[bytes]) -> Iterator[Connection]:
        with self.engine.connect() as conn:
            # READ COMMITTED: each read sees what the lock's previous holder committed (under the
            # default REPEATABLE READ a snapshot taken before the lock was granted could not).
            conn.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL READ COMMITTED")
            held: list[str] = []
            try:
                for digest in ordered:
                    name = "octotp_rl:" + digest[:20].hex()  # lock names are at most 64 characters
                    got = conn.execute(
                        text("SELECT GET_LOCK(:name, :timeout)"), {"name": name, "timeout": _LOCK_TIMEOUT_SECONDS}
                    ).scalar()
                    if got != 1:
                        raise LockTimeout(f"rate-limit lock not granted within {_LOCK_TIMEOUT_SECONDS} s")
                    held.append(name)
                try:
                    yield conn
                except BaseException:
                    conn.rollback()
                    raise
                conn.commit()  # before the locks go: the next holder must see these entries
            finally:
                for name in held:
                    conn.execute(text("SELECT RELEASE_LOCK(:name)"), {"name": name})
                conn.commit()

    @contextlib.contextmanager
    def _writing(self) -> Iterator[Connection]:
        """A write transaction that needs no key lock (deletes only ever free room)."""
        if self._sqlite_lock is not None:
            with self._sqlite_lock, self.engine.begin() as conn:
                yield conn
        else:
            with self.engine.begin() as conn:
                if self._dialect in ("mysql", "mariadb"):
                    # No gap locks: a sweep must not hold up inserts of new entries.
                    conn.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL READ COMMITTED")
                yield conn

    def _maybe_sweep(self) -> None:
        now = self._clock()
        if now < self._next_sweep or not self._sweep_guard.acquire(blocking=False):
            return
        try:
            self._next_sweep = now + self.sweep_seconds
            self.purge_expired(now)
        finally:
            self._sweep_guard.release()

    def purge_expired(self, now: float | None = None) -> int:
        """Delete entries that have left their window; return how many."""
        with self._writing() as conn:
            return conn.execute(_DELETE_EXPIRED, {"now": self._clock() if now is None else now}).rowcount

    @staticmethod
    def _window(conn: Connection, key: str, expiry: int, now: float) -> tuple[int, float | None]:
        count, oldest = conn.execute(_COUNT_WINDOW, {"key": key, "start": now - expiry}).one()
        return int(count), (None if oldest is None else float(oldest))

    # -- moving window (limits' interface) -------------------------------------------------
    def acquire_entry(self, key: str, limit: int, expiry: int, amount: int = 1) -> bool:
        """Take ``amount`` entries if the window has room for all of them."""
        if amount > limit:
            return False
        stored = _stored_key(key)
        with self._locked([stored]) as conn:
            now = self._clock()
            if self._window(conn, stored, expiry, now)[0] + amount > limit:
                return False
            conn.execute(_INSERT_HIT, [{"key": stored, "hit_at": now, "expires_at": now + expiry}] * amount)
        self._maybe_sweep()
        return True

    def get_moving_window(self, key: str, limit: int, expiry: int) -> tuple[float, int]:
        """(oldest entry in the window, or now when empty; entries in the window)."""
        now = self._clock()
        with self.engine.connect() as conn:
            count, oldest = self._window(conn, _stored_key(key), expiry, now)
        return (now if oldest is None else oldest), count

    # -- octotp's operations ---------------------------------------------------------------
    def acquire_all(self, windows: Sequence[Window], stats: int = 0) -> Acquisition:
        keys = [_stored_key(w.key) for w in windows]
        with self._locked(keys) as conn:
            now = self._clock()
            for index, (window, key) in enumerate(zip(windows, keys, strict=True)):
                count, oldest = self._window(conn, key, window.expiry, now)
                if count >= window.limit:
                    return Acquisition(index, (now if oldest is None else oldest) + window.expiry)
            receipt = []
            for window, key in zip(windows, keys, strict=True):
                result = conn.execute(_INSERT_HIT, {"key": key, "hit_at": now, "expires_at": now + window.expiry})
                primary_key = result.inserted_primary_key
                assert primary_key is not None
                receipt.append(primary_key[0])
            count, oldest = self._window(conn, keys[stats], windows[stats].expiry, now)
        self._maybe_sweep()
        return Acquisition(None, (now if oldest is None else oldest) + windows[stats].expiry, count, receipt)

    def release(self, windows: Sequence[Window], receipt: Any) -> None:
        if not receipt:
            return
        with self._writing() as conn:
            conn.execute(delete(hits).where(hits.c.pk.in_(receipt)))

    # -- the rest of limits' interface -----------------------------------------------------
    def check(self) -> bool:
        with self.engine.connect() as conn:
            conn.execute(select(func.count()).select_from(hits).where(hits.c.pk == 0))
        return True

    def reset(self) -> int | None:
        with self._writing() as conn:
            return conn.execute(delete(hits)).rowcount

    def clear(self, key: str) -> None:
        with self._writing() as conn:
            conn.execute(delete(hits).where(hits.c.key == _stored_key(key)))
