"""Single use and the attempt cap under real concurrency, on SQLite, PostgreSQL and MariaDB.

Each round releases 50 threads at once (a ``threading.Barrier``) against one freshly created
code, through two ``Octotp`` instances with separate engines and connection pools (as two server
processes would be). No sleeping: the barrier is the only synchronisation.
"""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy import Engine, event

from octotp_core import FrozenClock, Octotp, Plan, Settings, Validation
from octotp_core.store import Project, make_engine

THREADS = 50
ROUNDS = 100
ARGON2_ROUNDS = 10
WRONG_GUESS_ROUNDS = 5
# Per instance: 20 transactions in flight at once while the other threads queue for a connection,
# which keeps well inside a server's max_connections even with several test workers.
POOL_SIZE = 10

# Enough headroom that the plan limit never interferes with the rounds.
BULK_PLANS = {"bulk": Plan(creates_per_minute=1_000_000)}


def _skip_commit_flush(dbapi_connection: Any, _record: Any) -> None:
    # Durability is irrelevant in a throwaway test database, and waiting for each commit's WAL
    # flush dominated the PostgreSQL rounds. Visibility and locking, what this file tests, are
    # unchanged.
    with dbapi_connection.cursor() as cursor:
        cursor.execute("SET synchronous_commit TO off")
    dbapi_connection.commit()


def _engine(database_url: str) -> Engine:
    """An engine whose fixed pool is opened in the first round and reused (no per-round reconnects)."""
    engine = make_engine(database_url, pool_size=POOL_SIZE, max_overflow=0)
    if engine.dialect.name == "postgresql":
        event.listen(engine, "connect", _skip_commit_flush)
    return engine


@pytest.fixture(scope="module")
def pool() -> Iterator[ThreadPoolExecutor]:
    """One pool of ``THREADS`` workers reused by every round (starting threads is not what we test)."""
    with ThreadPoolExecutor(max_workers=THREADS, thread_name_prefix="validate") as executor:
        yield executor


@pytest.fixture
def make_octotps(
    database_url: str, make_settings: Callable[..., Settings], clock: FrozenClock
) -> Iterator[Callable[..., list[Octotp]]]:
    """Build two ``Octotp`` instances on the session database sharing settings and clock."""
    made: list[Octotp] = []

    def factory(**overrides: object) -> list[Octotp]:
        settings = make_settings(database_url=database_url, plans=BULK_PLANS, default_plan="bulk", **overrides)
        pair = [Octotp(settings, clock=clock, engine=_engine(database_url)) for _ in range(2)]
        made.extend(pair)
        return pair

    yield factory
    for instance in made:
        instance.close()


def _race(pool: ThreadPoolExecutor, octotps: list[Octotp], project: Project, email: str, code: str) -> list[str]:
    """``THREADS`` validations of ``code`` released at the same instant; their statuses."""
    barrier = threading.Barrier(THREADS, timeout=60)

    def attempt(index: int) -> Validation:
        barrier.wait()
        # The Project record, as the HTTP layer passes it after authenticating the key.
        return octotps[index % len(octotps)].tokens.validate(project, email=email, code=code)

    futures = [pool.submit(attempt, i) for i in range(THREADS)]
    return [f.result(timeout=120).status for f in futures]


def _wrong(code: str) -> str:
    return str((int(code) + 1) % 10 ** len(code)).zfill(len(code))


def _double_spend_rounds(pool: ThreadPoolExecutor, octotps: list[Octotp], rounds: int) -> None:
    issuer = octotps[0]
    project = issuer.accounts.create_project("double spend").project
    for round_number in range(rounds):
        email = f"race-{round_number}-{uuid.uuid4().hex[:8]}@example.com"
        created = issuer.create_token(project.id, email=email)
        assert created.code is not None
        statuses = Counter(_race(pool, octotps, project, email, created.code))
        assert statuses["approved"] == 1, f"round {round_number}: {dict(statuses)}"
        # The losers saw a token someone else closed, or (under the default cap) no attempt left.
        assert set(statuses) <= {"approved", "not_found", "locked"}, f"round {round_number}: {dict(statuses)}"
        token = issuer.store.get_token(created.id)
        assert token is not None
        assert token.closed_reason == "approved"
    for instance in octotps:  # each process writes its own added-up counts
        instance.tokens.meter.flush()
    approved = sum(day.approved for day in issuer.store.usage(project.id, issuer.clock.now().date()))
    assert approved == rounds


@pytest.mark.slow
def test_one_approval_per_round_hmac(pool: ThreadPoolExecutor, make_octotps: Callable[..., list[Octotp]]) -> None:
    # A cap as large as the crowd lets every thread reserve and verify, so all 50 race to consume.
    _double_spend_rounds(pool, make_octotps(hasher="hmac", max_attempts=THREADS), ROUNDS)


def test_one_approval_per_round_argon2(pool: ThreadPoolExecutor, make_octotps: Callable[..., list[Octotp]]) -> None:
    # The shipped defaults: argon2id (otp profile) and 5 attempts per code.
    _double_spend_rounds(pool, make_octotps(hasher="argon2"), ARGON2_ROUNDS)


@pytest.mark.parametrize("hasher", ["hmac", "argon2"])
def test_parallel_wrong_guesses_never_pass_the_attempt_cap(
    pool: ThreadPoolExecutor, make_octotps: Callable[..., list[Octotp]], hasher: str
) -> None:
    octotps = make_octotps(hasher=hasher)
    issuer = octotps[0]
    cap = issuer.settings.max_attempts
    project = issuer.accounts.create_project("wrong guesses").project
    for round_number in range(WRONG_GUESS_ROUNDS):
        email = f"guess-{round_number}-{uuid.uuid4().hex[:8]}@example.com"
        created = issuer.create_token(project.id, email=email)
        assert created.code is not None
        statuses = Counter(_race(pool, octotps, project, email, _wrong(created.code)))
        assert statuses["incorrect"] <= cap, f"round {round_number}: {dict(statuses)}"
        assert statuses["incorrect"] + statuses["locked"] == THREADS, f"round {round_number}: {dict(statuses)}"
        token = issuer.store.get_token(created.id)
        assert token is not None
        assert token.attempts <= cap
        # Every reservation was spent on a wrong guess, so the right code now finds the code locked.
        assert token.attempts == statuses["incorrect"]
        assert issuer.validate_token(project.id, email=email, code=created.code).status == "locked"
