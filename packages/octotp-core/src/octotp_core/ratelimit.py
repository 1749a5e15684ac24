"""Rate limits and budgets on the ``limits`` library (moving window: never more than N in any window).

Storages (``rate_limit_storage``):

- ``memory://`` counts within one process (``limitstorage.WindowMemoryStorage``): the embedded
  default, exact for one process only;
- ``database://`` counts in octotp's own database (``limitstorage.DatabaseStorage``), so every
  process of one deployment shares it with no other service; what ``octotp serve --workers N``
  uses by default;
- ``redis://`` (and ``limits``' other shared storages) counts across every process; the choice
  for scale.

A create is admitted by ``admit_create``: the recipient's send budget must have room (checked first,
so a create refused for its recipient spends none of the project's plan), then the project's plan
must have room, and then both are counted, atomically: in one lock on memory and on the database,
in one Lua script on a plain Redis — one round trip, atomic across processes — that works on
``limits``' own moving-window lists (same keys, same entries), so ``limits`` reads and writes them
exactly as if it had made them.

The failure budget is spent *before* a code is verified (``spend_failure``: a hit that fails means
the budget is exhausted) and given back when the code was right (``refund_failure``), so N
concurrent wrong guesses with k left in the budget are evaluated exactly k times.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from limits import RateLimitItem, RateLimitItemPerMinute, parse
from limits.storage import RedisStorage, Storage, storage_from_string
from limits.strategies import MovingWindowRateLimiter

from .errors import RateLimited, StorageUnavailable
from .limitstorage import Acquisition, DatabaseStorage, Window, WindowMemoryStorage, WindowStorage

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from .settings import Settings

MEMORY_SCHEME = "memory"
DATABASE_SCHEME = "database"
LIMIT_STORAGE = "rate_limit_storage"
"""``StorageUnavailable.source`` when the rate-limit storage (Redis, or octotp's database) failed."""


def storage_scheme(uri: str) -> str:
    """The scheme of a rate-limit storage URI (``memory``, ``database``, ``redis``, ...)."""
    return urlsplit(uri).scheme.lower()


def is_per_process(uri: str) -> bool:
    """True when the storage counts within one process only, so several processes multiply limits."""
    return storage_scheme(uri) == MEMORY_SCHEME


def worker_storage_warning(settings: Settings, *, database_storage_available: bool = True) -> str | None:
    """What a host framework (Flask, Django) logs when its workers may not share the limits, or None.

    A host cannot see how many worker processes its server runs; with a per-process storage each of
    them counts alone and a plan of 60/minute becomes 60 per worker.
    """
    if not is_per_process(settings.rate_limit_storage):
        return None
    shared = "redis://HOST:6379/0" + (" or database:// (octotp's own database)" if database_storage_available else "")
    return (
        f"rate_limit_storage is {settings.rate_limit_storage!r}, which counts in each process: behind a "
        f"server with several worker processes every limit is multiplied by their number. "
        f"Set rate_limit_storage to {shared} unless the app runs in exactly one process."
    )


@dataclass(frozen=True)
class LimitState:
    """What the HTTP layer reports in ``RateLimit-*`` headers after a decision."""

    limit: int
    remaining: int
    reset_after: int


# One entry in every window or in none. KEYS: limits' moving-window lists (newest entry first,
# trimmed to the limit), checked in order. ARGV: now (the exact string pushed, so ``release`` can
# remove it), the 1-based index of the window to report, then limit and window seconds per key.
# Returns {0, entries in the reported window, oldest of them} when admitted, {i, entry that blocks}
# when window i is full. Timestamps go back as strings (Lua numbers would be truncated to integers).
_ACQUIRE_ALL = """
local now = tonumber(ARGV[1])
local stats = tonumber(ARGV[2])
local function limit_of(i) return tonumber(ARGV[1 + 2 * i]) end
local function window_of(i) return tonumber(ARGV[2 + 2 * i]) end

for i = 1, #KEYS do
    local entry = redis.call('lindex', KEYS[i], limit_of(i) - 1)
    if entry and tonumber(entry) >= now - window_of(i) then
        return {i, entry}
    end
end
for i = 1, #KEYS do
    redis.call('lpush', KEYS[i], ARGV[1])
    redis.call('ltrim', KEYS[i], 0, limit_of(i) - 1)
    redis.call('expire', KEYS[i], window_of(i))
end

-- entries of the reported window still in it (binary search, as limits' moving_window.lua does)
local key, start = KEYS[stats], now - window_of(stats)
local low, high, last = 0, redis.call('llen', key) - 1, 0
while low <= high do
    local mid = math.floor((low + high) / 2)
    if tonumber(redis.call('lindex', key, mid)) >= start then
        last = mid
        low = mid + 1
    else
        high = mid - 1
    end
end
return {0, last + 1, redis.call('lindex', key, last)}
"""


class _RedisWindows:
    """``acquire_all``/``release`` on a plain Redis, on ``limits``' own lists (one script, atomic)."""

    def __init__(self, storage: RedisStorage) -> None:
        self._storage = storage
        self._script = storage.get_connection().register_script(_ACQUIRE_ALL.encode())

    def acquire_all(self, windows: Sequence[Window], stats: int = 0) -> Acquisition:
        now = repr(time.time())
        keys = [self._storage.prefixed_key(w.key) for w in windows]
        args: list[Any] = [now, stats + 1]
        for window in windows:
            args += [window.limit, window.expiry]
        outcome, *rest = self._script(keys=keys, args=args)
        if outcome:
            return Acquisition(int(outcome) - 1, float(rest[0]) + windows[int(outcome) - 1].expiry)
        return Acquisition(None, float(rest[1]) + windows[stats].expiry, int(rest[0]), now)

    def release(self, windows: Sequence[Window], receipt: Any) -> None:
        if receipt is None:
            return
        connection: Any = self._storage.get_connection()
        for window in windows:
            connection.lrem(self._storage.prefixed_key(window.key), 1, receipt)


class _LimiterWindows:
    """``acquire_all`` through ``limits``' public API, for storages octotp has no script for (Redis
    Cluster and Sentinel, memcached, MongoDB): each window is exact, the pair is not atomic (a create
    that loses the race for a recipient's last slot after taking a plan slot keeps the plan slot),
    and ``release`` cannot give an entry back."""

    def __init__(self, storage: Storage) -> None:
        self._limiter = MovingWindowRateLimiter(storage)
        self._storage: Any = storage

    def _stats(self, window: Window) -> tuple[float, int]:
        start, count = self._storage.get_moving_window(window.key, window.limit, window.expiry)
        return float(start), int(count)

    def acquire_all(self, windows: Sequence[Window], stats: int = 0) -> Acquisition:
        for index, window in enumerate(windows[:-1]):  # the last one is tested by its hit below
            start, count = self._stats(window)
            if count >= window.limit:
                return Acquisition(index, start + window.expiry)
        for index in reversed(range(len(windows))):
            window = windows[index]
            if not self._storage.acquire_entry(window.key, window.limit, window.expiry):
                return Acquisition(index, self._stats(window)[0] + window.expiry)
        start, count = self._stats(windows[stats])
        return Acquisition(None, start + windows[stats].expiry, count)

    def release(self, windows: Sequence[Window], receipt: Any) -> None:
        return None


def describe_limit(item: RateLimitItem) -> str:
    """A limit in words: ``5 per 10 minutes``, ``60 per minute`` (``limits`` says "10 minute")."""
    unit = item.GRANULARITY.name
    return f"{item.amount} per {unit if item.multiples == 1 else f'{item.multiples} {unit}s'}"


def _reset_after(reset_at: float) -> int:
    return max(1, math.ceil(reset_at - time.time()))


def make_storage(uri: str, engine: Engine | None = None) -> Storage:
    """The ``limits`` storage for ``uri``: octotp's own for ``memory://`` and ``database://``
    (which needs octotp's SQLAlchemy engine), ``limits``' for anything else."""
    scheme = storage_scheme(uri)
    if scheme == MEMORY_SCHEME:
        return WindowMemoryStorage(uri)
    if scheme == DATABASE_SCHEME:
        if engine is None:
            raise ValueError(
                "rate_limit_storage 'database://' needs octotp's SQLAlchemy store; set a redis:// storage instead"
            )
        return DatabaseStorage(engine)
    storage = storage_from_string(uri)
    if not isinstance(storage, Storage):
        raise ValueError(f"{uri!r} is an async storage; use a synchronous one")
    return storage


class RateLimits:
    """The plan limit per project, the send and failure budgets per recipient, and the limit on
    anonymous validates per client address."""

    def __init__(
        self,
        storage_uri: str,
        send_budget: str,
        failure_budget: str,
        *,
        anonymous_validate_limit: str = "60/minute",
        engine: Engine | None = None,
    ) -> None:
        self.storage = make_storage(storage_uri, engine)
        self.storage_uri = storage_uri
        self._send_budget = parse(send_budget)
        self._failure_budget = parse(failure_budget)
        self._anonymous_validate = parse(anonymous_validate_limit)
        self._plan_items: dict[int, RateLimitItem] = {}
        # Sentinel and cluster storages subclass RedisStorage; a cluster cannot run a script over two
        # keys in different slots, so only a plain Redis gets the one-round-trip path.
        self._windows: WindowStorage
        if isinstance(self.storage, (WindowMemoryStorage, DatabaseStorage)):
            self._windows = self.storage
        elif type(self.storage) is RedisStorage:
            self._windows = _RedisWindows(self.storage)
        else:
            self._windows = _LimiterWindows(self.storage)

    @classmethod
    def from_settings(cls, settings: Settings, engine: Engine | None = None) -> RateLimits:
        """The limits ``settings`` describe; ``engine`` is octotp's database (for ``database://``)."""
        return cls(
            settings.rate_limit_storage,
            settings.recipient_send_budget,
            settings.recipient_failure_budget,
            anonymous_validate_limit=settings.anonymous_validate_limit_per_address,
            engine=engine,
        )

    def _plan_item(self, per_minute: int) -> RateLimitItem:
        item = self._plan_items.get(per_minute)
        if item is None:
            item = self._plan_items[per_minute] = RateLimitItemPerMinute(per_minute)
        return item

    @staticmethod
    def _window(item: RateLimitItem, *identifiers: str) -> Window:
        return Window(item.key_for(*identifiers), item.amount, item.get_expiry())

    @staticmethod
    def _unavailable(exc: Exception) -> StorageUnavailable:
        return StorageUnavailable(f"rate-limit storage unavailable: {type(exc).__name__}", source=LIMIT_STORAGE)

    def _acquire(self, windows: Sequence[Window], stats: int = 0) -> Acquisition:
        try:
            return self._windows.acquire_all(windows, stats)
        except Exception as exc:  # the backend (e.g. Redis, the database) is down
            raise self._unavailable(exc) from exc

    def admit_create(self, project_id: str, per_minute: int, recipient_digest: str) -> LimitState:
        """Count one token creation against the recipient's send budget and the project's plan.

        Raises ``RateLimited`` (scope ``recipient`` or ``project``) and then counts nothing, or
        ``StorageUnavailable``. Returns the plan's state for the ``RateLimit-*`` headers.
        """
        plan = self._plan_item(per_minute)
        send = self._send_budget
        windows = [self._window(send, "send", project_id, recipient_digest), self._window(plan, "plan", project_id)]
        outcome = self._acquire(windows, stats=1)
        if outcome.refused == 0:
            raise RateLimited(
                f"too many codes for this recipient (at most {describe_limit(send)})",
                limit=send.amount,
                retry_after=_reset_after(outcome.reset_at),
                scope="recipient",
            )
        if outcome.refused == 1:
            raise RateLimited(
                f"the project's plan allows {per_minute} token creations per minute",
                limit=per_minute,
                retry_after=_reset_after(outcome.reset_at),
                scope="project",
            )
        return LimitState(
            limit=plan.amount,
            remaining=max(0, plan.amount - outcome.in_window),
            reset_after=_reset_after(outcome.reset_at),
        )

    def admit_anonymous_validate(self, address: str | None) -> LimitState:
        """Count one validate sent without an API key against its client address's limit.

        Raises ``RateLimited`` (scope ``address``) or ``StorageUnavailable``; called before any
        hashing, so a flood from one address costs no argon2 work.
        """
        item = self._anonymous_validate
        outcome = self._acquire([self._window(item, "anonymous-validate", address or "unknown")])
        if outcome.refused is not None:
            raise RateLimited(
                f"too many validations without an API key from this address (at most {describe_limit(item)})",
                limit=item.amount,
                retry_after=_reset_after(outcome.reset_at),
                scope="address",
            )
        return LimitState(
            limit=item.amount,
            remaining=max(0, item.amount - outcome.in_window),
            reset_after=_reset_after(outcome.reset_at),
        )

    # -- the failure budget ------------------------------------------------------------------
    def spend_failure(self, project_id: str, recipient_digest: str) -> Acquisition | None:
        """Spend one entry of the recipient's failure budget before a code is verified.

        None when the budget is exhausted (the code must not be checked). Otherwise the spent entry,
        to hand to ``refund_failure`` when the code turns out right (or was never checked).
        """
        outcome = self._acquire([self._window(self._failure_budget, "fail", project_id, recipient_digest)])
        return None if outcome.refused is not None else outcome

    def refund_failure(self, project_id: str, recipient_digest: str, spent: Acquisition) -> None:
        """Give back an entry ``spend_failure`` took (on storages that can; see ``_LimiterWindows``)."""
        try:
            self._windows.release(
                [self._window(self._failure_budget, "fail", project_id, recipient_digest)], spent.receipt
            )
        except Exception as exc:
            raise self._unavailable(exc) from exc

    def failure_budget_exhausted(self, project_id: str, recipient_digest: str) -> bool:
        """True when the recipient has used up their wrong-code budget (a read: it decides nothing
        under concurrency; ``spend_failure`` does)."""
        try:
            return not MovingWindowRateLimiter(self.storage).test(
                self._failure_budget, "fail", project_id, recipient_digest
            )
        except Exception as exc:
            raise self._unavailable(exc) from exc

    def record_failure(self, project_id: str, recipient_digest: str) -> None:
        """Count one wrong code against the recipient's failure budget (resends do not reset it)."""
        self._acquire([self._window(self._failure_budget, "fail", project_id, recipient_digest)])

    def ping(self) -> None:
        """Raise ``StorageUnavailable`` unless the rate-limit storage answers.

        ``limits``' ``check()`` of a Redis storage swallows the reason (a refused password, a TLS
        failure, a closed port) and answers False; octotp PINGs Redis itself so the error says why.
        """
        try:
            if isinstance(self.storage, RedisStorage):  # Sentinel and cluster storages included
                ok = bool(self.storage.get_connection().ping())
            else:
                ok = self.storage.check()
        except Exception as exc:
            raise self._unavailable(exc) from exc
        if not ok:
            raise StorageUnavailable("rate-limit storage unavailable", source=LIMIT_STORAGE)

    def reset(self) -> None:
        """Forget every counter (tests and ``octotp`` maintenance only)."""
        self.storage.reset()
