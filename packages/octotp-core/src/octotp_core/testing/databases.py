"""Temporary databases for tests, on the servers named by ``OCTOTP_TEST_POSTGRES_URL`` and
``OCTOTP_TEST_MYSQL_URL`` (SQLite needs nothing). Each temporary database has a unique name, so
parallel runs (tox envs, xdist workers) never meet.

With ``OCTOTP_TEST_REQUIRE_SERVICES=1`` (set in CI) a missing or unreachable service is an error,
never a skip.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

BACKENDS = ("sqlite", "postgres", "mysql")
ENV_VARS = {
    "postgres": "OCTOTP_TEST_POSTGRES_URL",
    "mysql": "OCTOTP_TEST_MYSQL_URL",
    "redis": "OCTOTP_TEST_REDIS_URL",
    "amqp": "OCTOTP_TEST_AMQP_URL",
}


class ServiceUnavailable(Exception):
    """A test service is not configured or does not answer."""


def services_required() -> bool:
    """True when a missing service must fail the run (CI)."""
    return os.environ.get("OCTOTP_TEST_REQUIRE_SERVICES", "") not in ("", "0", "false", "no")


def service_url(name: str) -> str:
    """The configured URL for ``postgres``, ``mysql``, ``redis`` or ``amqp`` (RabbitMQ, for the Celery
    test); ``ServiceUnavailable`` if unset."""
    url = os.environ.get(ENV_VARS[name], "")
    if not url:
        raise ServiceUnavailable(f"{ENV_VARS[name]} is not set")
    return url


def selected_backends() -> list[str]:
    """Backends to run, from ``OCTOTP_TEST_DATABASES`` (comma-separated; default all three)."""
    raw = os.environ.get("OCTOTP_TEST_DATABASES", "")
    chosen = [b.strip() for b in raw.split(",") if b.strip()] or list(BACKENDS)
    unknown = set(chosen) - set(BACKENDS)
    if unknown:
        raise ValueError(f"unknown OCTOTP_TEST_DATABASES entries: {sorted(unknown)}")
    return chosen


@contextmanager
def temporary_database(backend: str, directory: Path) -> Iterator[str]:
    """Yield the URL of a new, empty database on ``backend``, dropped afterwards."""
    if backend == "sqlite":
        yield f"sqlite:///{directory / f'octotp-{uuid.uuid4().hex[:8]}.db'}"
        return
    server_url = make_url(service_url(backend))
    name = f"octotp_test_{uuid.uuid4().hex[:12]}"
    try:
        admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f"CREATE DATABASE {name}"))
    except Exception as exc:
        raise ServiceUnavailable(f"{backend} at {server_url.render_as_string()} does not answer: {exc}") from exc
    try:
        yield server_url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            if backend == "postgres":
                conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            else:
                conn.execute(text(f"DROP DATABASE IF EXISTS {name}"))
        admin.dispose()


def migrated_sqlite_url(path: Path) -> str:
    """The URL of a SQLite database file at ``path``, created and migrated to octotp's newest schema."""
    from ..migrate import upgrade
    from ..store.engine import make_engine

    url = f"sqlite:///{path}"
    engine = make_engine(url)
    try:
        upgrade(engine)
    finally:
        engine.dispose()
    return url
