"""``DatabaseStorage`` (``database://``): limits' moving window on octotp's database, exact under
threads through separate engines (as separate processes), on SQLite, PostgreSQL and MariaDB.

Every test uses fresh keys on the shared session database; only the sweep test deletes, and only
entries it dated in an era nobody else uses."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from limits import parse
from limits.strategies import MovingWindowRateLimiter
from sqlalchemy import Engine, func, select

from octotp_core.limitstorage import DatabaseStorage, Window, hits
from octotp_core.store import make_engine

THREADS = 24


@pytest.fixture
def engines(database_url: str) -> Iterator[Callable[[], Engine]]:
    """New engines on the session database (each with its own pool, as another process would have)."""
    made: list[Engine] = []

    def engine() -> Engine:
        made.append(make_engine(database_url, pool_size=THREADS, max_overflow=0))
        return made[-1]

    yield engine
    for e in made:
        e.dispose()


def fresh() -> str:
    return str(uuid.uuid4())


def run_together(count: int, action: Callable[[int], bool]) -> list[bool]:
    barrier = threading.Barrier(count, timeout=60)

    def task(n: int) -> bool:
        barrier.wait()
        return action(n)

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(task, range(count)))


def rows(engine: Engine, key: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(hits).where(hits.c.key == key)).scalar_one())


def test_limits_moving_window_is_exact_under_threads(engines: Callable[[], Engine]) -> None:
    limiters = [MovingWindowRateLimiter(DatabaseStorage(engines())) for _ in range(2)]
    item, key = parse("10/minute"), fresh()
    outcomes = run_together(THREADS * 2, lambda n: limiters[n % 2].hit(item, key))
    assert outcomes.count(True) == 10
    for limiter in limiters:
        assert limiter.get_window_stats(item, key).remaining == 0
        assert not limiter.test(item, key)


def test_acquire_all_takes_every_window_or_none_under_threads(engines: Callable[[], Engine]) -> None:
    """Two windows sharing one key (a recipient's budget and a plan): every admitted call took both,
    no refused call took either."""
    storages = [DatabaseStorage(engines()) for _ in range(2)]
    plan = fresh()
    outcomes = run_together(
        THREADS * 2,
        lambda n: (
            storages[n % 2].acquire_all([Window(f"send/{n % 3}/{plan}", 5, 600), Window(plan, 12, 60)], 1).refused
            is None
        ),
    )
    engine = storages[0].engine
    assert outcomes.count(True) == 12
    assert rows(engine, plan) == 12
    assert sum(rows(engine, f"send/{n}/{plan}") for n in range(3)) == 12
    assert all(rows(engine, f"send/{n}/{plan}") <= 5 for n in range(3))


def test_acquire_all_reports_the_first_full_window_and_the_reported_one(engines: Callable[[], Engine]) -> None:
    storage, send, plan = DatabaseStorage(engines()), fresh(), fresh()
    windows = [Window(send, 2, 600), Window(plan, 3, 60)]
    first = storage.acquire_all(windows, stats=1)
    assert (first.refused, first.in_window) == (None, 1)
    assert storage.acquire_all(windows, stats=1).in_window == 2
    refused = storage.acquire_all(windows, stats=1)
    assert refused.refused == 0
    assert 595 < refused.reset_at - time.time() <= 600  # the send window's oldest entry + 600 s
    assert rows(storage.engine, plan) == 2  # the refusal took nothing


def test_release_gives_entries_back(engines: Callable[[], Engine]) -> None:
    storage, key = DatabaseStorage(engines()), fresh()
    windows = [Window(key, 1, 3600)]
    taken = storage.acquire_all(windows)
    assert storage.acquire_all(windows).refused == 0
    storage.release(windows, taken.receipt)
    assert storage.acquire_all(windows).refused is None


def test_long_keys_are_stored_as_digests(engines: Callable[[], Engine]) -> None:
    limiter = MovingWindowRateLimiter(DatabaseStorage(engines()))
    item, long_id = parse("2/minute"), "x" * 500 + fresh()
    assert limiter.hit(item, long_id)
    assert limiter.hit(item, long_id)
    assert not limiter.hit(item, long_id)
    assert limiter.hit(item, long_id[:-1] + "?")  # another long key has its own window


def test_expired_entries_are_swept(engines: Callable[[], Engine]) -> None:
    """The table stays bounded: entries whose window has passed are deleted by the next sweep."""
    era = 100_000.0  # 1970: nobody else's entries live there
    now = [era]
    storage = DatabaseStorage(engines(), sweep_seconds=60, clock=lambda: now[0])
    old, recent = fresh(), fresh()
    assert storage.acquire_entry(old, 5, 10)
    assert storage.acquire_entry(recent, 5, 3600)
    now[0] += 30  # the old window has passed; the next sweep is not due yet
    assert storage.acquire_entry(recent, 5, 3600)
    assert rows(storage.engine, old) == 1
    now[0] += 60
    assert storage.acquire_entry(recent, 5, 3600)  # a sweep is due
    assert rows(storage.engine, old) == 0
    assert rows(storage.engine, recent) == 3


def test_limits_reads_and_clears(engines: Callable[[], Engine]) -> None:
    storage, key = DatabaseStorage(engines()), fresh()
    limiter, item = MovingWindowRateLimiter(storage), parse("3/minute")
    assert limiter.hit(item, key, cost=2)
    assert not limiter.hit(item, key, cost=2)
    assert limiter.get_window_stats(item, key).remaining == 1
    storage.clear(item.key_for(key))
    assert limiter.get_window_stats(item, key).remaining == 3
    assert storage.check()
