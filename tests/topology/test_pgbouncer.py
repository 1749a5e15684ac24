"""octotp on PostgreSQL through Debian's PgBouncer in transaction pooling mode, configured by the
deployment page's ``pgbouncer.ini``: psycopg's prepared statements break there unless the database
URL says ``prepare_threshold=none``; with it, the HTTP contract suite passes against ``octotp serve``
and concurrent validations of one code approve it exactly once."""

from __future__ import annotations

import json
import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import ProgrammingError

from octotp_core import Octotp, Plan, Settings
from octotp_core.migrate import upgrade
from octotp_core.store import make_engine
from octotp_core.testing.contract import ContractSuite, MountedOctotp, ProjectKey, contract_settings
from octotp_core.testing.http_clients import UrlClient
from octotp_core.testing.servers import ServeProcess

from .conftest import PgBouncer

pytestmark = pytest.mark.xdist_group("topology")

POOLER = {"prepare_threshold": "none"}
"""The database URL option the deployment page prescribes behind a transaction pooler."""

THREADS = 40
ROUNDS = 5


def test_the_documented_pool_mode_is_transaction(pgbouncer: PgBouncer) -> None:
    assert pgbouncer.documented["pool_mode"] == "transaction"
    assert "pool_mode = transaction" in (Path(pgbouncer.child.command[-1])).read_text()


def _alternate(url: str, times: int) -> None:
    """Two pooled connections take turns running one statement, one transaction each time."""
    engine = make_engine(url, pool_size=2, max_overflow=0)
    try:
        with engine.connect() as first, engine.connect() as second:
            for i in range(times):
                for conn in (first, second):
                    assert conn.execute(text("SELECT CAST(:i AS integer) + 1"), {"i": i}).scalar_one() == i + 1
                    conn.commit()  # the end of a transaction: PgBouncer may hand the server connection on
    finally:
        engine.dispose()


def test_prepared_statements_break_behind_the_pooler_without_the_option(
    pgbouncer: PgBouncer, postgres_database: str
) -> None:
    """psycopg prepares a statement on its sixth run; in transaction mode both clients' ``_pg3_0``
    land on the one server connection PgBouncer lends them in turn."""
    with pytest.raises(ProgrammingError) as failure:
        _alternate(pgbouncer.url(postgres_database), 6)
    assert isinstance(failure.value.orig, psycopg.errors.DuplicatePreparedStatement), failure.value
    _alternate(pgbouncer.url(postgres_database, **POOLER), 50)  # the documented URL: never prepared
    _alternate(postgres_database, 50)  # straight to PostgreSQL, preparing is fine (and kept)


@pytest.fixture(scope="module")
def bounced_url(pgbouncer: PgBouncer, postgres_database: str) -> str:
    return pgbouncer.url(postgres_database, **POOLER)


@pytest.fixture(scope="module")
def bounced_server(
    bounced_url: str, tmp_path_factory: pytest.TempPathFactory, test_secret: str
) -> Iterator[tuple[ServeProcess, Octotp]]:
    """``octotp serve`` on the fresh database through PgBouncer (its migrations too), and an Octotp
    on the same URL for the suite's projects."""
    data_dir = tmp_path_factory.mktemp("serve-pgbouncer")
    env = {
        "OCTOTP_DATA_DIR": str(data_dir),
        "OCTOTP_SECRET_KEY": test_secret,
        "OCTOTP_DATABASE_URL": bounced_url,
        "OCTOTP_RATE_LIMIT_STORAGE": "database://",  # its advisory locks are per transaction: they work here
        "OCTOTP_PLANS": json.dumps(contract_settings()["plans"]),
    }
    with ServeProcess(env) as server:
        octotp = Octotp(
            Settings(data_dir=data_dir, secret_key=test_secret, database_url=bounced_url, **contract_settings())
        )
        try:
            yield server, octotp
        finally:
            octotp.close()


class TestContractThroughPgBouncer(ContractSuite):
    """The whole HTTP contract against ``octotp serve`` whose every query goes through PgBouncer."""

    @pytest.fixture
    def mounted(self, bounced_server: tuple[ServeProcess, Octotp]) -> MountedOctotp:
        server, octotp = bounced_server

        def new_project(plan: str | None) -> ProjectKey:
            created = octotp.accounts.create_project("contract", plan=plan)
            return ProjectKey(created.project.id, created.api_key.secret, created.api_key.key.id)

        return MountedOctotp(
            UrlClient(server.url),
            new_project,
            octotp.accounts.revoke_api_key,
            lacks=frozenset({"clock", "listeners"}),
            read_logs=server.output,
            configure_project=octotp.accounts.configure_project,
        )


def test_one_approval_per_round_through_pgbouncer(bounced_url: str, tmp_path: Path, test_secret: str) -> None:
    """The double-spend probe of ``tests/core/test_concurrency.py``: ``THREADS`` validations of one
    correct code released at once, through two Octotps (two pools) on PgBouncer: one approval."""
    engine = make_engine(bounced_url)
    upgrade(engine)
    engine.dispose()
    settings = Settings(
        data_dir=tmp_path,
        secret_key=test_secret,
        database_url=bounced_url,
        plans={"bulk": Plan(creates_per_minute=1_000_000)},
        default_plan="bulk",
        hasher="hmac",
        max_attempts=THREADS,  # every thread may reserve an attempt, so all of them race to consume
    )
    octotps = [Octotp(settings, engine=make_engine(bounced_url, pool_size=10, max_overflow=0)) for _ in range(2)]
    try:
        project = octotps[0].accounts.create_project("double spend").project
        with ThreadPoolExecutor(THREADS) as pool:
            for round_number in range(ROUNDS):
                email = f"race-{round_number}-{uuid.uuid4().hex[:8]}@example.com"
                created = octotps[0].create_token(project.id, email=email)
                assert created.code is not None
                barrier = threading.Barrier(THREADS, timeout=60)

                def attempt(
                    index: int, email: str = email, code: str = created.code, barrier: threading.Barrier = barrier
                ) -> str:
                    barrier.wait()
                    return octotps[index % 2].tokens.validate(project, email=email, code=code).status

                statuses = Counter(pool.map(attempt, range(THREADS)))
                assert statuses["approved"] == 1, (round_number, dict(statuses))
                assert set(statuses) <= {"approved", "not_found", "locked"}, (round_number, dict(statuses))
    finally:
        for octotp in octotps:
            octotp.close()
