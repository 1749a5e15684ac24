"""The pool pings a connection only after it sat idle, and replaces one the database dropped."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from octotp_core.store import SqlAlchemyStore, make_engine
from octotp_core.store import engine as engine_module


def _kill_server_side(engine: Engine, backend_pid: int) -> None:
    """End one session from another connection, as a database restart would."""
    killer = make_engine(engine.url.render_as_string(hide_password=False))
    try:
        with killer.begin() as conn:
            if engine.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": backend_pid})
            else:
                conn.execute(text(f"KILL {int(backend_pid)}"))
    finally:
        killer.dispose()


def _backend_pid(engine: Engine) -> int:
    query = "SELECT pg_backend_pid()" if engine.dialect.name == "postgresql" else "SELECT CONNECTION_ID()"
    with engine.connect() as conn:
        return int(conn.execute(text(query)).scalar_one())


def _count_pings(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    pings: list[object] = []
    real = engine_module._ping

    def counting(dbapi_connection: object) -> None:
        pings.append(dbapi_connection)
        real(dbapi_connection)

    monkeypatch.setattr(engine_module, "_ping", counting)
    return pings


@pytest.fixture
def server_engine(server_database_url: str) -> Iterator[Engine]:  # SQLite has no server to lose
    engine = make_engine(server_database_url, pool_size=1, max_overflow=0)
    yield engine
    engine.dispose()


def test_an_idle_connection_the_server_dropped_is_replaced(
    server_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = SqlAlchemyStore(server_engine)
    pid = _backend_pid(server_engine)
    _kill_server_side(server_engine, pid)
    pings = _count_pings(monkeypatch)
    monkeypatch.setattr(engine_module, "IDLE_PING_SECONDS", 0.0)  # the pooled connection counts as idle
    store.ping()  # no error: the checkout's ping found it dead and the pool connected afresh
    assert pings  # the first ping met the dropped connection
    assert _backend_pid(server_engine) != pid


def test_a_busy_connection_is_not_pinged(server_engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    store = SqlAlchemyStore(server_engine)
    pings = _count_pings(monkeypatch)
    for _ in range(3):
        store.ping()
    assert pings == []  # a fresh connection, then one back from the pool within seconds: no ping
    monkeypatch.setattr(engine_module, "IDLE_PING_SECONDS", 0.0)
    store.ping()
    assert len(pings) == 1  # an idle one is pinged


def test_sqlite_writers_of_one_process_queue_instead_of_failing(tmp_path: Path) -> None:
    """With SQLite's busy handler off, concurrent writers would fail with "database is locked"; the
    store's own writers take turns, so none does."""
    from concurrent.futures import ThreadPoolExecutor

    from sqlalchemy import event

    from octotp_core.migrate import upgrade
    from octotp_core.store import NewToken, Project

    engine = make_engine(f"sqlite:///{tmp_path / 'busy.db'}")
    upgrade(engine)
    event.listen(engine, "connect", lambda conn, _record: conn.execute("PRAGMA busy_timeout=0"))
    engine.dispose()  # every connection from now on has no busy timeout
    store = SqlAlchemyStore(engine)
    now = dt.datetime.now(dt.timezone.utc)
    project = Project(id=str(uuid.uuid4()), name="busy", owner_id=None, plan="free", created_at=now)
    store.create_project(project)

    def create(n: int) -> None:
        for i in range(20):
            token = NewToken(
                id=str(uuid.uuid4()),
                project_id=project.id,
                recipient_digest=f"{n:032x}{i:032x}",
                recipient_hint="u***@example.com",
                channel="email",
                purpose="",
                code_hash="x",
                created_at=now,
                expires_at=now + dt.timedelta(minutes=5),
                max_attempts=5,
            )
            store.insert_token(token)
            assert store.reserve_attempt(token.id, now)
            assert store.consume_token(token.id, now)

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(create, range(16)))
    assert len(store.list_tokens(project.id, limit=1000)) == 16 * 20
    engine.dispose()


def test_prepare_threshold_url_option_is_read_by_octotp_for_psycopg_only() -> None:
    """``?prepare_threshold=none`` (behind PgBouncer in transaction mode: tests/topology/test_pgbouncer.py)
    becomes psycopg's connect argument and leaves the URL; a bad value or another driver is refused."""
    with pytest.raises(ValueError, match="must be 'none'"):
        make_engine("postgresql+psycopg://u@127.0.0.1:1/db?prepare_threshold=sometimes")
    with pytest.raises(ValueError, match="postgresql\\+psycopg"):
        make_engine("mysql+pymysql://u@127.0.0.1:1/db?prepare_threshold=none")
    engine = make_engine("postgresql+psycopg://u@127.0.0.1:1/db?prepare_threshold=none&connect_timeout=1")
    try:
        assert "prepare_threshold" not in engine.url.query  # not passed on to libpq, which would refuse it
        assert engine.url.query["connect_timeout"] == "1"
    finally:
        engine.dispose()
