"""Rate limits and budgets on the ``limits`` library (moving window: never more than N in any window).

``memory://`` storage counts within one process; ``redis://`` counts across every process.

A create is admitted by ``admit_create``: the recipient's send budget must have room (checked first,
so a create refused for its recipient spends none of the project's plan), then the project's plan is
hit, then the send budget (so a plan refusal spends no recipient budget). On a plain Redis this is
one Lua script — one round trip, atomic across processes — that works on ``limits``' own moving-window
lists (same keys, same entries), so ``limits`` reads and writes them exactly as if it had made them.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass
from typing import Any

from limits import RateLimitItem, RateLimitItemPerMinute, parse
from limits.storage import MemoryStorage, RedisStorage, Storage, storage_from_string
from limits.strategies import MovingWindowRateLimiter

from .errors import RateLimited, StorageUnavailable


@dataclass(frozen=True)
class LimitState:
    """What the HTTP layer reports in ``RateLimit-*`` headers after a decision."""

    limit: int
    remaining: int
    reset_after: int


class LazySweepMemoryStorage(MemoryStorage):
    """``limits``' memory storage, sweeping expired entries at most every ``SWEEP_SECONDS``.

    ``MemoryStorage`` re-arms a 10 ms timer on every hit that walks *every* key under its lock: with
    tens of thousands of recipients that sweep alone kept a core busy. Expired entries never count
    (every decision compares timestamps), so sweeping less often changes no decision, only how long
    memory of an expired entry is held. Not registered as a URI scheme: ``RateLimits`` picks it for
    ``memory://``, other users of ``limits`` in the process are unaffected.
    """

    SWEEP_SECONDS = 5.0

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, **options: str) -> None:
        self._next_sweep = 0.0
        self._sweep_lock = threading.Lock()
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)

    # MemoryStorage calls ``self.__schedule_expiry()`` (name-mangled to this) on every write.
    def _MemoryStorage__schedule_expiry(self) -> None:
        now = time.monotonic()
        if now < self._next_sweep or not self._sweep_lock.acquire(blocking=False):
            return
        try:
            self._next_sweep = now + self.SWEEP_SECONDS
            if not self.timer.is_alive():
                self.timer = threading.Timer(0.01, self._MemoryStorage__expire_events)  # type: ignore[attr-defined]
                self.timer.daemon = True
                self.timer.start()
        finally:
            self._sweep_lock.release()


# KEYS: the plan's list, the send budget's list (limits' moving-window keys: newest entry first,
# trimmed to the limit). ARGV: now, plan limit, plan window seconds, send limit, send window seconds.
# Returns {0, entries in the plan window, oldest of them} when admitted,
# {1, send entry that blocks} when the recipient is over budget, {2, plan entry that blocks} when
# the plan is used up. Timestamps go back as strings (Lua numbers would be truncated to integers).
_ADMIT_CREATE = """
local now = tonumber(ARGV[1])
local plan_limit, plan_window = tonumber(ARGV[2]), tonumber(ARGV[3])
local send_limit, send_window = tonumber(ARGV[4]), tonumber(ARGV[5])

local function blocking(key, limit, window)
    local entry = redis.call('lindex', key, limit - 1)
    if entry and tonumber(entry) >= now - window then
        return entry
    end
    return nil
end

local function add(key, limit, window)
    redis.call('lpush', key, ARGV[1])
    redis.call('ltrim', key, 0, limit - 1)
    redis.call('expire', key, window)
end

local entry = blocking(KEYS[2], send_limit, send_window)
if entry then
    return {1, entry}
end
entry = blocking(KEYS[1], plan_limit, plan_window)
if entry then
    return {2, entry}
end
add(KEYS[1], plan_limit, plan_window)
add(KEYS[2], send_limit, send_window)

-- entries of the plan still in the window (binary search, as limits' moving_window.lua does)
local low, high, last = 0, redis.call('llen', KEYS[1]) - 1, 0
while low <= high do
    local mid = math.floor((low + high) / 2)
    if tonumber(redis.call('lindex', KEYS[1], mid)) >= now - plan_window then
        last = mid
        low = mid + 1
    else
        high = mid - 1
    end
end
return {0, last + 1, redis.call('lindex', KEYS[1], last)}
"""


def _reset_after(reset_at: float) -> int:
    return max(1, math.ceil(reset_at - time.time()))


class RateLimits:
    """The plan limit per project, the send budget and the failure budget per recipient."""

    def __init__(self, storage_uri: str, send_budget: str, failure_budget: str) -> None:
        if storage_uri.split("://", 1)[0] == "memory":
            storage: Any = LazySweepMemoryStorage(storage_uri)
        else:
            storage = storage_from_string(storage_uri)
        if not isinstance(storage, Storage):
            raise ValueError(f"{storage_uri!r} is an async storage; use a synchronous one")
        self.storage = storage
        self._limiter = MovingWindowRateLimiter(self.storage)
        self._send_budget = parse(send_budget)
        self._failure_budget = parse(failure_budget)
        self._plan_items: dict[int, RateLimitItem] = {}
        # Sentinel and cluster storages subclass RedisStorage; a cluster cannot run a script over two
        # keys in different slots, so only a plain Redis gets the one-round-trip path.
        self._admit_script = (
            storage.get_connection().register_script(_ADMIT_CREATE.encode()) if type(storage) is RedisStorage else None
        )

    def _plan_item(self, per_minute: int) -> RateLimitItem:
        item = self._plan_items.get(per_minute)
        if item is None:
            item = self._plan_items[per_minute] = RateLimitItemPerMinute(per_minute)
        return item

    @staticmethod
    def _unavailable(exc: Exception) -> StorageUnavailable:
        return StorageUnavailable(f"rate-limit storage unavailable: {type(exc).__name__}")

    def _plan_refused(self, per_minute: int, reset_at: float) -> RateLimited:
        return RateLimited(
            f"the project's plan allows {per_minute} token creations per minute",
            limit=per_minute,
            retry_after=_reset_after(reset_at),
            scope="project",
        )

    def _send_refused(self, reset_at: float) -> RateLimited:
        return RateLimited(
            f"too many codes for this recipient (at most {self._send_budget})",
            limit=self._send_budget.amount,
            retry_after=_reset_after(reset_at),
            scope="recipient",
        )

    def admit_create(self, project_id: str, per_minute: int, recipient_digest: str) -> LimitState:
        """Count one token creation against the recipient's send budget and the project's plan.

        Raises ``RateLimited`` (scope ``recipient`` or ``project``) and then counts nothing, or
        ``StorageUnavailable``. Returns the plan's state for the ``RateLimit-*`` headers.
        """
        plan = self._plan_item(per_minute)
        send = self._send_budget
        try:
            if self._admit_script is not None:
                return self._admit_in_one_script(plan, send, project_id, recipient_digest)
            limiter = self._limiter
            if not limiter.test(send, "send", project_id, recipient_digest):
                raise self._send_refused(
                    limiter.get_window_stats(send, "send", project_id, recipient_digest).reset_time
                )
            if not limiter.hit(plan, "plan", project_id):
                raise self._plan_refused(per_minute, limiter.get_window_stats(plan, "plan", project_id).reset_time)
            stats = limiter.get_window_stats(plan, "plan", project_id)
            if not limiter.hit(send, "send", project_id, recipient_digest):  # lost a race for the last slot
                raise self._send_refused(
                    limiter.get_window_stats(send, "send", project_id, recipient_digest).reset_time
                )
        except RateLimited:
            raise
        except Exception as exc:  # the backend (e.g. Redis) is down
            raise self._unavailable(exc) from exc
        return LimitState(
            limit=plan.amount, remaining=max(0, stats.remaining), reset_after=_reset_after(stats.reset_time)
        )

    def _admit_in_one_script(
        self, plan: RateLimitItem, send: RateLimitItem, project_id: str, recipient_digest: str
    ) -> LimitState:
        assert self._admit_script is not None
        storage: RedisStorage = self.storage  # type: ignore[assignment]
        keys = [
            storage.prefixed_key(plan.key_for("plan", project_id)),
            storage.prefixed_key(send.key_for("send", project_id, recipient_digest)),
        ]
        args = [time.time(), plan.amount, plan.get_expiry(), send.amount, send.get_expiry()]
        outcome, *rest = self._admit_script(keys=keys, args=args)
        if outcome == 1:
            raise self._send_refused(float(rest[0]) + send.get_expiry())
        if outcome == 2:
            raise self._plan_refused(plan.amount, float(rest[0]) + plan.get_expiry())
        in_window, oldest = int(rest[0]), float(rest[1])
        return LimitState(
            limit=plan.amount,
            remaining=max(0, plan.amount - in_window),
            reset_after=_reset_after(oldest + plan.get_expiry()),
        )

    def failure_budget_exhausted(self, project_id: str, recipient_digest: str) -> bool:
        """True when the recipient has used up their wrong-code budget."""
        try:
            return not self._limiter.test(self._failure_budget, "fail", project_id, recipient_digest)
        except Exception as exc:
            raise self._unavailable(exc) from exc

    def record_failure(self, project_id: str, recipient_digest: str) -> None:
        """Count one wrong code against the recipient's failure budget (resends do not reset it)."""
        try:
            self._limiter.hit(self._failure_budget, "fail", project_id, recipient_digest)
        except Exception as exc:
            raise self._unavailable(exc) from exc

    def ping(self) -> None:
        """Raise ``StorageUnavailable`` unless the rate-limit storage answers."""
        try:
            ok = self.storage.check()
        except Exception as exc:
            raise self._unavailable(exc) from exc
        if not ok:
            raise StorageUnavailable("rate-limit storage unavailable")

    def reset(self) -> None:
        """Forget every counter (tests and ``octotp`` maintenance only)."""
        self.storage.reset()
