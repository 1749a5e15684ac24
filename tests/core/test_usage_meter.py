"""Usage counters are added up in memory and written in batches (``octotp_core.usage.UsageMeter``)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable

from octotp_core import Octotp, Settings
from octotp_core.clock import FrozenClock
from octotp_core.store import SqlAlchemyStore, UsageDay, make_engine
from octotp_core.usage import UsageMeter

MakeOctotp = Callable[..., Octotp]


def test_counts_wait_for_the_interval_then_go_in_one_write(make_octotp: MakeOctotp, clock: FrozenClock) -> None:
    octotp = make_octotp(usage_flush_seconds=3600)
    project = octotp.accounts.create_project("batched").project
    day = clock.now().date()
    for n in range(5):
        octotp.create_token(project.id, email=f"batch-{n}@example.com")
    assert octotp.store.usage(project.id, day) == []  # nothing written yet
    octotp.tokens.meter.flush()
    assert octotp.store.usage(project.id, day) == [UsageDay(project.id, day, created=5)]
    octotp.tokens.meter.flush()  # nothing pending: nothing added twice
    assert octotp.store.usage(project.id, day) == [UsageDay(project.id, day, created=5)]


def test_reading_through_the_service_includes_pending_counts(make_octotp: MakeOctotp, clock: FrozenClock) -> None:
    octotp = make_octotp(usage_flush_seconds=3600)
    project = octotp.accounts.create_project("read").project
    created = octotp.create_token(project.id, email="reader@example.com")
    assert created.code is not None
    assert octotp.validate_token(project.id, email="reader@example.com", code=created.code).is_valid
    day = clock.now().date()
    assert octotp.tokens.usage(project.id, day) == [UsageDay(project.id, day, created=1, approved=1)]


def test_zero_interval_writes_every_count_at_once(make_octotp: MakeOctotp, clock: FrozenClock) -> None:
    octotp = make_octotp(usage_flush_seconds=0)
    project = octotp.accounts.create_project("write-through").project
    octotp.create_token(project.id, email="now@example.com")
    octotp.validate_token(project.id, email="now@example.com", code="000000")
    day = clock.now().date()
    [usage] = octotp.store.usage(project.id, day)
    assert (usage.created, usage.failed) == (1, 1)


def test_close_writes_what_is_pending(
    database_url: str, make_settings: Callable[..., Settings], clock: FrozenClock
) -> None:
    octotp = Octotp(make_settings(database_url=database_url, usage_flush_seconds=3600), clock=clock)
    project = octotp.accounts.create_project("closing").project
    octotp.create_token(project.id, email="closing@example.com")
    octotp.close()
    reader = SqlAlchemyStore(make_engine(database_url))
    try:
        assert reader.usage(project.id, clock.now().date()) == [UsageDay(project.id, clock.now().date(), created=1)]
    finally:
        reader.engine.dispose()


def test_counts_survive_a_database_outage(octotp: Octotp, clock: FrozenClock) -> None:
    project = octotp.accounts.create_project("outage").project
    day = clock.now().date()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    down = SqlAlchemyStore(make_engine(f"postgresql+psycopg://nobody@127.0.0.1:{port}/none", pool_pre_ping=False))
    meter = UsageMeter(down, flush_seconds=3600)
    meter.count(project.id, day, "created")
    meter.count(project.id, day, "failed")
    meter.flush()  # the write fails: kept, not raised, not lost
    meter.count(project.id, day, "created")
    meter.store = octotp.store  # the database is back
    meter.flush()
    assert octotp.store.usage(project.id, day) == [UsageDay(project.id, day, created=2, failed=1)]
    down.engine.dispose()


def test_concurrent_counting_loses_nothing(octotp: Octotp, clock: FrozenClock) -> None:
    project = octotp.accounts.create_project("threads").project
    day = clock.now().date()
    meter = UsageMeter(octotp.store, flush_seconds=0.001)  # flushes keep racing the counting threads
    barrier = threading.Barrier(8)

    def count() -> None:
        barrier.wait()
        for _ in range(200):
            meter.count(project.id, day, "approved")

    threads = [threading.Thread(target=count) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    meter.flush()
    assert octotp.store.usage(project.id, day) == [UsageDay(project.id, day, approved=1600)]


def test_freshness_says_how_current_a_usage_page_is() -> None:
    from octotp_core.usage import freshness

    assert freshness(0) == "Usage counters are written as they happen."
    assert "at least 2.5 s after its last write" in freshness(2.5)
    assert "this server process's counts up to now" in freshness(1.0)
