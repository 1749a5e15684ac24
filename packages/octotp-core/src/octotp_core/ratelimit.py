"""Rate limits and budgets on the ``limits`` library (moving window: never more than N in any window).

``memory://`` storage counts within one process; ``redis://`` counts across every process.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from limits import RateLimitItem, RateLimitItemPerMinute, parse
from limits.storage import Storage, storage_from_string
from limits.strategies import MovingWindowRateLimiter

from .errors import RateLimited, StorageUnavailable


@dataclass(frozen=True)
class LimitState:
    """What the HTTP layer reports in ``RateLimit-*`` headers after a decision."""

    limit: int
    remaining: int
    reset_after: int


class RateLimits:
    """The plan limit per project, the send budget and the failure budget per recipient."""

    def __init__(self, storage_uri: str, send_budget: str, failure_budget: str) -> None:
        storage = storage_from_string(storage_uri)
        if not isinstance(storage, Storage):
            raise ValueError(f"{storage_uri!r} is an async storage; use a synchronous one")
        self.storage = storage
        self._limiter = MovingWindowRateLimiter(self.storage)
        self._send_budget = parse(send_budget)
        self._failure_budget = parse(failure_budget)
        self._plan_items: dict[int, RateLimitItem] = {}

    def _plan_item(self, per_minute: int) -> RateLimitItem:
        item = self._plan_items.get(per_minute)
        if item is None:
            item = self._plan_items[per_minute] = RateLimitItemPerMinute(per_minute)
        return item

    def _hit(self, item: RateLimitItem, *identifiers: str) -> bool:
        try:
            return self._limiter.hit(item, *identifiers)
        except Exception as exc:  # the backend (e.g. Redis) is down
            raise StorageUnavailable(f"rate-limit storage unavailable: {type(exc).__name__}") from exc

    def _state(self, item: RateLimitItem, *identifiers: str) -> LimitState:
        try:
            stats = self._limiter.get_window_stats(item, *identifiers)
        except Exception as exc:
            raise StorageUnavailable(f"rate-limit storage unavailable: {type(exc).__name__}") from exc
        return LimitState(
            limit=item.amount,
            remaining=max(0, stats.remaining),
            reset_after=max(1, math.ceil(stats.reset_time - time.time())),
        )

    def hit_plan(self, project_id: str, per_minute: int) -> LimitState:
        """Count one token creation against the project's plan; raise ``RateLimited`` when over."""
        item = self._plan_item(per_minute)
        allowed = self._hit(item, "plan", project_id)
        state = self._state(item, "plan", project_id)
        if not allowed:
            raise RateLimited(
                f"the project's plan allows {per_minute} token creations per minute",
                limit=per_minute,
                retry_after=state.reset_after,
                scope="project",
            )
        return state

    def check_send_budget(self, project_id: str, recipient_digest: str) -> None:
        """Raise ``RateLimited`` if the recipient's send budget is already used up; counts nothing.

        Checked before the plan limit is hit, so a create refused for its recipient does not use up
        one of the project's plan creations.
        """
        try:
            allowed = self._limiter.test(self._send_budget, "send", project_id, recipient_digest)
        except Exception as exc:
            raise StorageUnavailable(f"rate-limit storage unavailable: {type(exc).__name__}") from exc
        if not allowed:
            raise self._send_budget_exceeded(project_id, recipient_digest)

    def hit_send_budget(self, project_id: str, recipient_digest: str) -> None:
        """Count one creation for the recipient, delivered or not; raise ``RateLimited`` when over."""
        if not self._hit(self._send_budget, "send", project_id, recipient_digest):
            raise self._send_budget_exceeded(project_id, recipient_digest)

    def _send_budget_exceeded(self, project_id: str, recipient_digest: str) -> RateLimited:
        state = self._state(self._send_budget, "send", project_id, recipient_digest)
        return RateLimited(
            f"too many codes for this recipient (at most {self._send_budget})",
            limit=self._send_budget.amount,
            retry_after=state.reset_after,
            scope="recipient",
        )

    def failure_budget_exhausted(self, project_id: str, recipient_digest: str) -> bool:
        """True when the recipient has used up their wrong-code budget."""
        try:
            return not self._limiter.test(self._failure_budget, "fail", project_id, recipient_digest)
        except Exception as exc:
            raise StorageUnavailable(f"rate-limit storage unavailable: {type(exc).__name__}") from exc

    def record_failure(self, project_id: str, recipient_digest: str) -> None:
        """Count one wrong code against the recipient's failure budget (resends do not reset it)."""
        self._hit(self._failure_budget, "fail", project_id, recipient_digest)

    def ping(self) -> None:
        """Raise ``StorageUnavailable`` unless the rate-limit storage answers."""
        try:
            ok = self.storage.check()
        except Exception as exc:
            raise StorageUnavailable(f"rate-limit storage unavailable: {type(exc).__name__}") from exc
        if not ok:
            raise StorageUnavailable("rate-limit storage unavailable")

    def reset(self) -> None:
        """Forget every counter (tests and ``octotp`` maintenance only)."""
        self.storage.reset()
