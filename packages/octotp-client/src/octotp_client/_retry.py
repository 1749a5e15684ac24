"""When a failed call is repeated, and after how long (shared by the sync and async clients).

The rule (also in the README):

- Only failures in which the server did not act are retried: no response at all (a connection
  failure), ``429 Too Many Requests``, ``503 Service Unavailable``, and ``409`` with code
  ``request_in_progress`` (a create with the same ``Idempotency-Key`` is still running).
- A connection failure is retried only if repeating the call is safe:
  ``create_token`` sends an ``Idempotency-Key`` (one per call, the same on every attempt), and
  ``get_token``, ``health`` and ``ready`` are reads, so they are retried after any connection
  failure, timeouts included. ``validate_token`` (a wrong code counts as an attempt) and ``cancel_token`` (a repeat
  would answer 404) are retried only when the connection failed before the request was sent.
- The wait is ``Retry-After`` when the server sends one, otherwise a capped, jittered exponential
  backoff (0.5 s, 1 s, 2 s ... at most 8 s, each shortened by up to 25%). A ``Retry-After`` longer
  than ``max_retry_after`` (10 s) is not waited for: the error is raised at once, with
  ``retry_after`` set, for the caller to decide.
- At most ``max_retries`` retries (default 2, so 3 attempts); then the last error is raised.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from ._http import HttpResponse, Outcome, TransportFailure, parse_retry_after

RETRYABLE_STATUSES = frozenset({429, 503})
IN_PROGRESS = (409, "request_in_progress")


@dataclass(frozen=True)
class RetryPolicy:
    """How many times, and how patiently, a call is repeated."""

    max_retries: int = 2
    initial_delay: float = 0.5
    max_delay: float = 8.0
    max_retry_after: float = 10.0

    def backoff(self, retries_done: int) -> float:
        """The jittered exponential wait before retry number ``retries_done + 1``."""
        delay = min(self.max_delay, self.initial_delay * 2.0**retries_done)
        return delay * (1.0 - 0.25 * random.random())

    def delay_before_retry(self, outcome: Outcome, retries_done: int, *, repeatable_after_send: bool) -> float | None:
        """Seconds to wait before repeating the call, or ``None`` when it must not be repeated.

        ``repeatable_after_send`` says whether the call is safe to repeat even if the server may
        have received it (idempotent, or carrying an ``Idempotency-Key``).
        """
        if retries_done >= self.max_retries:
            return None
        if isinstance(outcome, TransportFailure):
            if not outcome.retryable or (outcome.sent and not repeatable_after_send):
                return None
            return self.backoff(retries_done)
        assert isinstance(outcome, HttpResponse)
        if outcome.status not in RETRYABLE_STATUSES and not _in_progress(outcome):
            return None
        retry_after = parse_retry_after(outcome.headers.get("retry-after"))
        if retry_after is None:
            return self.backoff(retries_done)
        if retry_after > self.max_retry_after:
            return None
        return retry_after


def _in_progress(response: HttpResponse) -> bool:
    """A 409 saying the first request with this ``Idempotency-Key`` is still running (nothing was done)."""
    if response.status != IN_PROGRESS[0]:
        return False
    body = response.json()
    return isinstance(body, dict) and body.get("code") == IN_PROGRESS[1]
