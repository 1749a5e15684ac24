"""Rate limits give the same decisions on ``memory://`` and on a real Redis.

The Redis is shared with other test runs: every test uses fresh identifiers and nothing here ever
resets or flushes it.
"""

from __future__ import annotations

import socket
import uuid
from collections.abc import Callable

import pytest

from octotp_core import RateLimited, StorageUnavailable
from octotp_core.ratelimit import RateLimits

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
    project, neighbour, recipient, other = fresh(), fresh(), fresh(), fresh()
    trace: list[object] = []
    trace += decisions(lambda: limits.hit_plan(project, 4), 6)
    trace += decisions(lambda: limits.hit_plan(neighbour, 4), 1)
    trace += decisions(lambda: limits.check_send_budget(project, recipient), 2)  # counts nothing
    trace += decisions(lambda: limits.hit_send_budget(project, recipient), 4)
    trace += decisions(lambda: limits.check_send_budget(project, recipient), 1)
    trace += decisions(lambda: limits.hit_send_budget(project, other), 1)
    trace += decisions(lambda: limits.hit_send_budget(neighbour, recipient), 1)  # budgets are per project
    for _ in range(5):
        trace.append(limits.failure_budget_exhausted(project, recipient))
        limits.record_failure(project, recipient)
    trace.append(limits.failure_budget_exhausted(project, other))
    return trace


EXPECTED_TRACE: list[object] = [
    *["ok"] * 4,
    *["refused:project"] * 2,  # plan: 4 per minute
    "ok",  # another project's plan
    *["ok"] * 2,  # checking the budget does not spend it
    *["ok"] * 3,
    "refused:recipient",  # send budget: 3 per 10 minutes
    "refused:recipient",
    "ok",
    "ok",
    *[False] * 4,
    True,  # failure budget: 4 per hour
    False,
]


def test_decisions_follow_the_limits(storage_uri: str) -> None:
    assert scripted_run(limits_on(storage_uri)) == EXPECTED_TRACE


def test_memory_and_redis_decide_alike(redis_url: str) -> None:
    assert scripted_run(limits_on("memory://")) == scripted_run(limits_on(redis_url))


def test_plan_state_and_retry_after(storage_uri: str) -> None:
    limits, project = limits_on(storage_uri), fresh()
    states = [limits.hit_plan(project, 3) for _ in range(3)]
    assert [s.remaining for s in states] == [2, 1, 0]
    assert {s.limit for s in states} == {3}
    assert all(1 <= s.reset_after <= 60 for s in states)
    with pytest.raises(RateLimited) as caught:
        limits.hit_plan(project, 3)
    assert (caught.value.scope, caught.value.limit) == ("project", 3)
    assert 1 <= caught.value.retry_after <= 60


def test_send_budget_retry_after(storage_uri: str) -> None:
    limits, project, recipient = limits_on(storage_uri), fresh(), fresh()
    for _ in range(3):
        limits.hit_send_budget(project, recipient)
    for refuse in (limits.hit_send_budget, limits.check_send_budget):
        with pytest.raises(RateLimited) as caught:
            refuse(project, recipient)
        assert (caught.value.scope, caught.value.limit) == ("recipient", 3)
        assert 1 <= caught.value.retry_after <= 600


def test_redis_counts_across_processes(redis_url: str) -> None:
    first, second = limits_on(redis_url), limits_on(redis_url)
    project = fresh()
    first.hit_plan(project, 2)
    second.hit_plan(project, 2)
    for limits in (first, second):
        with pytest.raises(RateLimited):
            limits.hit_plan(project, 2)


def test_memory_counts_within_one_process_only() -> None:
    first, second = limits_on("memory://"), limits_on("memory://")
    project = fresh()
    first.hit_plan(project, 1)
    with pytest.raises(RateLimited):
        first.hit_plan(project, 1)
    assert second.hit_plan(project, 1).remaining == 0


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
        lambda: limits.hit_plan(fresh(), 10),
        lambda: limits.check_send_budget(fresh(), fresh()),
        lambda: limits.hit_send_budget(fresh(), fresh()),
        lambda: limits.failure_budget_exhausted(fresh(), fresh()),
        lambda: limits.record_failure(fresh(), fresh()),
    ):
        with pytest.raises(StorageUnavailable):
            call()
