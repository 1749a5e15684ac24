"""Creating SQLAlchemy engines with the per-database settings octotp relies on."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DisconnectionError

from ..files import create_private_file, make_private_dir

# A pooled connection idle for longer than this is pinged before use; busier ones are not.
IDLE_PING_SECONDS = 10.0


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets readers run beside the writer; busy_timeout makes writers queue instead of failing.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _remember_checkin(_dbapi_connection: Any, record: Any) -> None:
    record.info["octotp_checked_in"] = time.monotonic()


def _ping(dbapi_connection: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("SELECT 1")
        cursor.fetchall()
    finally:
        cursor.close()
    dbapi_connection.rollback()  # leave no transaction open behind the ping


def _ping_if_idle(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
    """Ping a connection that sat idle in the pool (the kind a database restart leaves dead)."""
    if time.monotonic() - record.info.get("octotp_checked_in", 0.0) < IDLE_PING_SECONDS:
        return
    try:
        _ping(dbapi_connection)
    except Exception as exc:
        raise DisconnectionError(f"pooled connection is gone: {type(exc).__name__}") from exc


PREPARE_THRESHOLD_OPTION = "prepare_threshold"
"""The URL query option (``postgresql+psycopg://…?prepare_threshold=none``) that sets psycopg's
``prepare_threshold``: ``none`` turns server-side prepared statements off, for a database reached
through a pooler in transaction mode (PgBouncer ``pool_mode = transaction`` before 1.21, or without
``max_prepared_statements``); a whole number prepares a statement after that many executions."""


def _prepare_threshold(parsed: URL) -> tuple[URL, dict[str, Any]]:
    """``parsed`` without the ``prepare_threshold`` option, and the psycopg connect argument it asks for.

    psycopg takes ``prepare_threshold`` as a keyword of ``connect()`` (an integer or None), while
    SQLAlchemy hands the URL's query to the driver as strings: octotp reads the option itself.
    """
    if PREPARE_THRESHOLD_OPTION not in parsed.query:
        return parsed, {}
    raw = parsed.query[PREPARE_THRESHOLD_OPTION]
    value = (raw[-1] if isinstance(raw, tuple) else raw).strip().lower()
    if parsed.get_backend_name() != "postgresql" or parsed.get_driver_name() != "psycopg":
        raise ValueError(f"database_url: {PREPARE_THRESHOLD_OPTION} applies to postgresql+psycopg:// URLs only")
    if value == "none":
        return parsed.difference_update_query([PREPARE_THRESHOLD_OPTION]), {PREPARE_THRESHOLD_OPTION: None}
    if value.isdigit():
        return parsed.difference_update_query([PREPARE_THRESHOLD_OPTION]), {PREPARE_THRESHOLD_OPTION: int(value)}
    raise ValueError(
        f"database_url: {PREPARE_THRESHOLD_OPTION} must be 'none' (no prepared statements: behind a transaction"
        " pooler) or a whole number"
    )


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for ``url``: SQLite in WAL mode with a busy timeout; for server databases a pool that
    pings a connection before use only when it sat idle for ``IDLE_PING_SECONDS``.

    SQLAlchemy's ``pool_pre_ping`` costs a round trip on *every* checkout — several per request. A
    connection in steady use is known to be alive; the ones a restart of the database leaves dead are
    the idle ones, and a failed ping makes the pool replace them (``DisconnectionError``) before any
    statement runs. Pass ``pool_pre_ping=True`` to ping always.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:" and not database.startswith("file:"):
            path = Path(database).expanduser()
            make_private_dir(path.parent)
            create_private_file(path)  # before SQLite makes it 0644: it holds hashes and sessions
        kwargs.setdefault("connect_args", {}).setdefault("check_same_thread", False)
        engine = create_engine(parsed, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    parsed, prepare = _prepare_threshold(parsed)
    if prepare:
        kwargs["connect_args"] = {**prepare, **kwargs.get("connect_args", {})}
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    kwargs.setdefault("pool_recycle", 1800)
    engine = create_engine(parsed, **kwargs)
    if not kwargs.get("pool_pre_ping"):
        event.listen(engine, "connect", _remember_checkin)  # a new connection is known to be alive
        event.listen(engine, "checkin", _remember_checkin)
        event.listen(engine, "checkout", _ping_if_idle)
    return engine
