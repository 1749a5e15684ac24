"""Rate limits give the same decisions on ``memory://`` and on a real Redis.

The Redis is shared with other test runs: every test uses fresh identifiers and nothing here ever
resets or flushes it.
"""

from __future__ import annotations

import socket
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest
from limits import parse
from limits.strategies import MovingWindowRateLimiter

from octotp_core import RateLimited, StorageUnavailable
from octotp_core.ratelimit import LazySweepMemoryStorage, RateLimits

SEND_BUDGET = "3/10 minutes"
FAILURE_BUDGET = "4/hour"


@pytest.fixture(params=["memory", "redis"])
def storage_uri(request: pytest.FixtureRequest) -> str:
    """Each storage in turn: ``memory://`` and the test Redis."""
    if request.param == "memory":
        return "memory://"
    return str(request.getfixturevalue("redis_url"))


def limits_on(uri: str) -> RateLimits:
    return RateLimits(uri, SEND_BUDGET, FAILURE_BUDGET)


def fresh() -> str:
    return str(uuid.uuid4())


def decisions(attempt: Callable[[], object], times: int) -> list[str]:
    """Call ``attempt`` ``times`` times; 'ok' or the refusal's scope for each."""
    seen = []
    for _ in range(times):
        try:
            attempt()
        except RateLimited as exc:
            seen.append(f"refused:{exc.scope}")
        else:
            seen.append("ok")
    return seen


def scripted_run(limits: RateLimits) -> list[object]:
    """One fixed sequence of plan, send-budget and failure-budget decisions (fresh identifiers)."""
    project, neighbour, busy, recipient, other = fresh(), fresh(), fresh(), fresh(), fresh()
    trace: list[object] = []
    trace += decisions(lambda: limits.admit_create(project, 4, fresh()), 6)
    trace += decisions(lambda: limits.admit_create(neighbour, 4, fresh()), 1)
    # The send budget: 3 for one recipient, refusals spend none of the plan (4 per minute).
    trace += decisions(lambda: limits.admit_create(busy, 4, recipient), 5)
    trace += decisions(lambda: limits.admit_create(busy, 4, other), 2)
    trace += decisions(lambda: limits.admit_create(neighbour, 4, recipient), 1)  # budgets are per project
    for _ in range(5):
        trace.append(limits.failure_budget_exhausted(project, recipient))
        limits.record_failure(project, recipient)
    trace.append(limits.failure_budget_exhausted(project, other))
    return trace


EXPECTED_TRACE: list[object] = [
    *["ok"] * 4,
    *["refused:project"] * 2,  # plan: 4 per minute
    "ok",  # another project's plan
    *["ok"] * 3,
    *["refused:recipient"] * 2,  # send budget: 3 per 10 minutes
    "ok",  # the plan's 4th creation: the refusals above spent none of it
    "refused:project",
    "ok",
    *[False] * 4,
    True,  # failure budget: 4 per hour
    False,
]


def test_decisions_follow_the_limits(storage_uri: str) -> None:
    assert scripted_run(limits_on(storage_uri)) == EXPECTED_TRACE


def test_memory_and_redis_decide_alike(redis_url: str) -> None:
    assert scripted_run(limits_on("memory://")) == scripted_run(limits_on(redis_url))


def test_a_plan_refusal_spends_no_send_budget(storage_uri: str) -> None:
    limits, project, recipient = limits_on(storage_uri), fresh(), fresh()
    limits.admit_create(project, 1, fresh())
    for _ in range(5):
        with pytest.raises(RateLimited) as caught:
            limits.admit_create(project, 1, recipient)
        assert caught.value.scope == "project"
    # limits' own reading of the recipient's moving window: nothing was counted.
    limiter = MovingWindowRateLimiter(limits.storage)
    assert limiter.get_window_stats(parse(SEND_BUDGET), "send", project, recipient).remaining == 3


def test_entries_are_limits_own(storage_uri: str) -> None:
    """What admit_create counts, limits reads back through its own API (same keys, same entries)."""
    limits, project, recipient = limits_on(storage_uri), fresh(), fresh()
    for _ in range(2):
        limits.admit_create(project, 5, recipient)
    limiter = MovingWindowRateLimiter(limits.storage)
    assert limiter.get_window_stats(parse("5/minute"), "plan", project).remaining == 3
    assert limiter.get_window_stats(parse(SEND_BUDGET), "send", project, recipient).remaining == 1
    assert limiter.hit(parse(SEND_BUDGET), "send", project, recipient)
    with pytest.raises(RateLimited) as caught:
        limits.admit_create(project, 5, recipient)
    assert caught.value.scope == "recipient"


def test_plan_state_and_retry_after(storage_uri: str) -> None:
    limits, project = limits_on(storage_uri), fresh()
    states = [limits.admit_create(project, 3, fresh()) for _ in range(3)]
    assert [s.remaining for s in states] == [2, 1, 0]
    assert {s.limit for s in states} == {3}
    assert all(1 <= s.reset_after <= 60 for s in states)
    with pytest.raises(RateLimited) as caught:
        limits.admit_create(project, 3, fresh())
    assert (caught.value.scope, caught.value.limit) == ("project", 3)
    assert 1 <= caught.value.retry_after <= 60


def test_send_budget_retry_after(storage_uri: str) -> None:
    limits, project, recipient = limits_on(storage_uri), fresh(), fresh()
    for _ in range(3):
        limits.admit_create(project, 100, recipient)
    for _ in range(2):
        with pytest.raises(RateLimited) as caught:
            limits.admit_create(project, 100, recipient)
        assert (caught.value.scope, caught.value.limit) == ("recipient", 3)
        assert 595 <= caught.value.retry_after <= 600


def test_concurrent_admissions_never_pass_the_plan(storage_uri: str) -> None:
    limits, project = limits_on(storage_uri), fresh()
    barrier = threading.Barrier(8)

    def admit() -> list[bool]:
        barrier.wait()
        outcomes = []
        for _ in range(10):
            try:
                limits.admit_create(project, 25, fresh())
                outcomes.append(True)
            except RateLimited:
                outcomes.append(False)
        return outcomes

    with ThreadPoolExecutor(8) as pool:
        results = [ok for outcomes in pool.map(lambda _: admit(), range(8)) for ok in outcomes]
    assert results.count(True) == 25


def test_memory_sweeps_at_most_every_few_seconds() -> None:
    """The in-memory storage does not re-walk every key after every hit (limits' default: 10 ms)."""
    limits = limits_on("memory://")
    storage = limits.storage
    assert isinstance(storage, LazySweepMemoryStorage)
    sweeps = []
    original = storage._MemoryStorage__expire_events  # type: ignore[attr-defined]

    def counting_sweep() -> None:
        sweeps.append(time.monotonic())
        original()

    storage._MemoryStorage__expire_events = counting_sweep  # type: ignore[attr-defined]
    project = fresh()
    started = time.monotonic()
    while time.monotonic() - started < 0.3:
        limits.admit_create(project, 1_000_000, fresh())
        time.sleep(0.005)
    time.sleep(0.05)
    assert len(sweeps) <= 1


def test_expired_entries_are_swept(monkeypatch: pytest.MonkeyPatch) -> None:
    """The lazy sweep still frees memory: entries older than their window go at the next sweep."""
    monkeypatch.setattr(LazySweepMemoryStorage, "SWEEP_SECONDS", 0.0)
    limits = RateLimits("memory://", "3/second", FAILURE_BUDGET)
    project = fresh()
    limits.admit_create(project, 1000, fresh())
    storage = limits.storage
    assert isinstance(storage, LazySweepMemoryStorage)
    time.sleep(1.1)  # the 1-second send window passes (limits windows run on the wall clock)
    limits.admit_create(project, 1000, fresh())  # schedules a sweep
    time.sleep(0.1)
    send_keys = [key for key, events in storage.events.items() if "send" in key and events]
    assert len(send_keys) == 1


def test_redis_counts_across_processes(redis_url: str) -> None:
    first, second = limits_on(redis_url), limits_on(redis_url)
    project = fresh()
    first.admit_create(project, 2, fresh())
    second.admit_create(project, 2, fresh())
    for limits in (first, second):
        with pytest.raises(RateLimited):
            limits.admit_create(project, 2, fresh())


def test_memory_counts_within_one_process_only() -> None:
    first, second = limits_on("memory://"), limits_on("memory://")
    project = fresh()
    first.admit_create(project, 1, fresh())
    with pytest.raises(RateLimited):
        first.admit_create(project, 1, fresh())
    assert second.admit_create(project, 1, fresh()).remaining == 0


def test_ping(storage_uri: str) -> None:
    limits_on(storage_uri).ping()


def _refused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_unreachable_redis_is_storage_unavailable() -> None:
    limits = limits_on(f"redis://127.0.0.1:{_refused_port()}/0")
    for call in (
        limits.ping,
        lambda: limits.admit_create(fresh(), 10, fresh()),
        lambda: limits.failure_budget_exhausted(fresh(), fresh()),
        lambda: limits.record_failure(fresh(), fresh()),
    ):
        with pytest.raises(StorageUnavailable):
            call()
