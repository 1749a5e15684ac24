"""Rate limits give the same decisions on ``memory://``, a real Redis and ``database://`` (SQLite,
PostgreSQL, MariaDB).

The Redis and the databases are shared with other test runs: every test uses fresh identifiers and
nothing here ever resets or flushes them.
"""

from __future__ import annotations

import socket
import threading
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack

import pytest
from limits import parse
from limits.strategies import MovingWindowRateLimiter
from sqlalchemy import Engine

from octotp_core import RateLimited, StorageUnavailable
from octotp_core.limitstorage import WindowMemoryStorage
from octotp_core.migrate import upgrade
from octotp_core.ratelimit import RateLimits, describe_limit
from octotp_core.store import make_engine
from octotp_core.testing.databases import ServiceUnavailable, selected_backends, temporary_database

from ..conftest import unavailable

SEND_BUDGET = "3/10 minutes"
FAILURE_BUDGET = "4/hour"


STORAGES = ["memory", "redis", *(f"database-{b}" for b in selected_backends())]


@pytest.fixture(scope="module")
def limit_engines(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[str], Engine]]:
    """A migrated temporary database per backend, made on first use, for ``database://``."""
    engines: dict[str, Engine] = {}
    with ExitStack() as stack:

        def engine_for(backend: str) -> Engine:
            if backend not in engines:
                try:
                    url = stack.enter_context(temporary_database(backend, tmp_path_factory.mktemp("limits")))
                except ServiceUnavailable as exc:
                    unavailable(exc)
                engines[backend] = make_engine(url)
                upgrade(engines[backend])
            return engines[backend]

        yield engine_for
        for engine in engines.values():
            engine.dispose()


@pytest.fixture(params=STORAGES)
def make_limits(request: pytest.FixtureRequest, limit_engines: Callable[[str], Engine]) -> Callable[..., RateLimits]:
    """``RateLimits`` on each storage in turn: ``memory://``, the test Redis, ``database://`` on each
    selected database (every call on the database gets its own engine, as another process would)."""
    kind: str = request.param

    def factory(send_budget: str = SEND_BUDGET, failure_budget: str = FAILURE_BUDGET, **options: str) -> RateLimits:
        if kind == "memory":
            return RateLimits("memory://", send_budget, failure_budget, **options)
        if kind == "redis":
            return RateLimits(str(request.getfixturevalue("redis_url")), send_budget, failure_budget, **options)
        shared = limit_engines(kind.removeprefix("database-"))
        engine = make_engine(shared.url.render_as_string(hide_password=False))
        request.addfinalizer(engine.dispose)
        return RateLimits("database://", send_budget, failure_budget, engine=engine, **options)

    return factory


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


def test_decisions_follow_the_limits(make_limits: Callable[..., RateLimits]) -> None:
    assert scripted_run(make_limits()) == EXPECTED_TRACE


def test_memory_and_redis_decide_alike(redis_url: str) -> None:
    assert scripted_run(limits_on("memory://")) == scripted_run(limits_on(redis_url))


def test_a_plan_refusal_spends_no_send_budget(make_limits: Callable[..., RateLimits]) -> None:
    limits, project, recipient = make_limits(), fresh(), fresh()
    limits.admit_create(project, 1, fresh())
    for _ in range(5):
        with pytest.raises(RateLimited) as caught:
            limits.admit_create(project, 1, recipient)
        assert caught.value.scope == "project"
    # limits' own reading of the recipient's moving window: nothing was counted.
    limiter = MovingWindowRateLimiter(limits.storage)
    assert limiter.get_window_stats(parse(SEND_BUDGET), "send", project, recipient).remaining == 3


def test_entries_are_limits_own(make_limits: Callable[..., RateLimits]) -> None:
    """What admit_create counts, limits reads back through its own API (same keys, same entries)."""
    limits, project, recipient = make_limits(), fresh(), fresh()
    for _ in range(2):
        limits.admit_create(project, 5, recipient)
    limiter = MovingWindowRateLimiter(limits.storage)
    assert limiter.get_window_stats(parse("5/minute"), "plan", project).remaining == 3
    assert limiter.get_window_stats(parse(SEND_BUDGET), "send", project, recipient).remaining == 1
    assert limiter.hit(parse(SEND_BUDGET), "send", project, recipient)
    with pytest.raises(RateLimited) as caught:
        limits.admit_create(project, 5, recipient)
    assert caught.value.scope == "recipient"


def test_plan_state_and_retry_after(make_limits: Callable[..., RateLimits]) -> None:
    limits, project = make_limits(), fresh()
    states = [limits.admit_create(project, 3, fresh()) for _ in range(3)]
    assert [s.remaining for s in states] == [2, 1, 0]
    assert {s.limit for s in states} == {3}
    assert all(1 <= s.reset_after <= 60 for s in states)
    with pytest.raises(RateLimited) as caught:
        limits.admit_create(project, 3, fresh())
    assert (caught.value.scope, caught.value.limit) == ("project", 3)
    assert 1 <= caught.value.retry_after <= 60


def test_send_budget_retry_after(make_limits: Callable[..., RateLimits]) -> None:
    limits, project, recipient = make_limits(), fresh(), fresh()
    for _ in range(3):
        limits.admit_create(project, 100, recipient)
    for _ in range(2):
        with pytest.raises(RateLimited) as caught:
            limits.admit_create(project, 100, recipient)
        assert (caught.value.scope, caught.value.limit) == ("recipient", 3)
        assert 595 <= caught.value.retry_after <= 600


def test_concurrent_admissions_never_pass_the_plan(make_limits: Callable[..., RateLimits]) -> None:
    limits, project = make_limits(), fresh()
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


def test_ping(make_limits: Callable[..., RateLimits]) -> None:
    make_limits().ping()


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
        lambda: limits.spend_failure(fresh(), fresh()),
        lambda: limits.admit_anonymous_validate("192.0.2.1"),
    ):
        with pytest.raises(StorageUnavailable):
            call()


# -- the failure budget: spent before verifying, given back on success ----------------------------
def test_failure_budget_is_spent_before_and_given_back(make_limits: Callable[..., RateLimits]) -> None:
    limits, project, recipient = make_limits(), fresh(), fresh()
    spent = [limits.spend_failure(project, recipient) for _ in range(4)]
    assert all(s is not None for s in spent)
    assert limits.spend_failure(project, recipient) is None  # 4 per hour: exhausted
    assert limits.failure_budget_exhausted(project, recipient)
    assert spent[0] is not None
    limits.refund_failure(project, recipient, spent[0])  # that code was right after all
    assert not limits.failure_budget_exhausted(project, recipient)
    assert limits.spend_failure(project, recipient) is not None
    assert limits.spend_failure(project, recipient) is None
    assert limits.spend_failure(project, fresh()) is not None  # per recipient


@pytest.mark.parametrize("left", [1, 3])
def test_concurrent_spends_never_pass_the_failure_budget(make_limits: Callable[..., RateLimits], left: int) -> None:
    """N threads at once with k entries left: exactly k spend (on shared storages through two
    RateLimits, as two processes would)."""
    first = make_limits(failure_budget="10/hour")
    second = first if isinstance(first.storage, WindowMemoryStorage) else make_limits(failure_budget="10/hour")
    project, recipient = fresh(), fresh()
    for _ in range(10 - left):
        assert first.spend_failure(project, recipient) is not None
    barrier = threading.Barrier(20)

    def spend(limits: RateLimits) -> bool:
        barrier.wait()
        return limits.spend_failure(project, recipient) is not None

    with ThreadPoolExecutor(20) as pool:
        results = list(pool.map(spend, [first, second] * 10))
    assert results.count(True) == left


def test_anonymous_validates_are_limited_per_address(make_limits: Callable[..., RateLimits]) -> None:
    limits = make_limits(anonymous_validate_limit="3/minute")
    address = f"198.51.100.{uuid.uuid4().int % 250}:{fresh()}"
    states = [limits.admit_anonymous_validate(address) for _ in range(3)]
    assert [s.remaining for s in states] == [2, 1, 0]
    with pytest.raises(RateLimited) as caught:
        limits.admit_anonymous_validate(address)
    assert (caught.value.scope, caught.value.limit) == ("address", 3)
    assert 1 <= caught.value.retry_after <= 60
    assert limits.admit_anonymous_validate(fresh()).remaining == 2  # another address


# -- octotp's memory storage: limits' public storage interface, swept rarely ------------------------
class FakeTime:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def test_memory_storage_sweeps_expired_entries_at_most_every_few_seconds() -> None:
    clock = FakeTime()
    storage = WindowMemoryStorage(clock=clock)
    limiter = MovingWindowRateLimiter(storage)
    item = parse("2/second")
    for n in range(100):
        assert limiter.hit(item, "k", str(n))
    assert storage.key_count() == 100
    clock.now += 2  # every window has passed, but the last sweep was just now
    assert limiter.hit(item, "other")
    assert storage.key_count() == 101
    clock.now += WindowMemoryStorage.SWEEP_SECONDS
    assert limiter.hit(item, "other")
    assert storage.key_count() == 1  # expired keys are gone at the next sweep
    assert limiter.get_window_stats(item, "other").remaining == 1


def test_memory_storage_is_exact_under_threads() -> None:
    storage = WindowMemoryStorage()
    limiter = MovingWindowRateLimiter(storage)
    item, barrier = parse("25/minute"), threading.Barrier(8)

    def hits() -> int:
        barrier.wait()
        return sum(limiter.hit(item, "exact") for _ in range(10))

    with ThreadPoolExecutor(8) as pool:
        assert sum(pool.map(lambda _: hits(), range(8))) == 25
    assert limiter.get_window_stats(item, "exact").remaining == 0
    assert not limiter.hit(parse("1/minute"), "big", cost=2)  # never more than the limit in one hit


def test_unreachable_database_is_storage_unavailable() -> None:
    engine = make_engine(f"postgresql+psycopg://postgres@127.0.0.1:{_refused_port()}/none")
    limits = RateLimits("database://", SEND_BUDGET, FAILURE_BUDGET, engine=engine)
    try:
        for call in (
            limits.ping,
            lambda: limits.admit_create(fresh(), 10, fresh()),
            lambda: limits.spend_failure(fresh(), fresh()),
        ):
            with pytest.raises(StorageUnavailable):
                call()
    finally:
        engine.dispose()


def test_database_storage_needs_a_sqlalchemy_engine() -> None:
    with pytest.raises(ValueError, match="redis://"):
        RateLimits("database://", SEND_BUDGET, FAILURE_BUDGET)


@pytest.mark.parametrize(
    ("limit", "words"),
    [
        ("5/10 minutes", "5 per 10 minutes"),
        ("60/minute", "60 per minute"),
        ("10/hour", "10 per hour"),
        ("2/3 seconds", "2 per 3 seconds"),
    ],
)
def test_limits_are_described_in_words(limit: str, words: str) -> None:
    """What a 429's detail says ("at most 5 per 10 minutes", not limits' own "5 per 10 minute")."""
    assert describe_limit(parse(limit)) == words
