"""Fixtures shared by every package's tests: databases on each backend, Redis, a ready Octotp."""

from __future__ import annotations

import importlib.util
import os
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher

from octotp_core import FrozenClock, Octotp, Settings, passwords
from octotp_core.migrate import upgrade
from octotp_core.store import make_engine
from octotp_core.testing.databases import (
    ServiceUnavailable,
    selected_backends,
    service_url,
    services_required,
    temporary_database,
)

# Dashboard passwords in this test process are argon2id at its cheapest cost, as Django's own test
# settings swap in a fast hasher: the console suites sign up and sign in ~10 accounts per test on every
# adapter, and RFC 9106's profile (64 MiB, t=3: octotp's default, checked in a process of its own by
# tests/core/test_passwords.py) made that the suite's largest cost. Codes keep their real hasher;
# servers the tests start as processes keep the default too.
passwords._HASHER = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)

# tests/django needs Django and pytest-django (the octotp-django test deps); without them, skip the directory.
collect_ignore = [] if all(importlib.util.find_spec(m) for m in ("octotp_django", "pytest_django")) else ["django"]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    """Each test gives back the environment it started with, after all its fixtures are torn down:
    code under test may set OCTOTP_* variables for the processes it starts (``octotp serve`` hands
    its workers their settings that way), and a value left behind would silently configure every
    later Octotp in the same test process (monkeypatch cannot undo a variable it never saw)."""
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)


DATABASE_PARAMETERS = ("db_backend", "octotp_db")
"""The fixtures that run a test once per selected database (core and Django)."""


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """``@pytest.mark.one_database``: keep such a test on the first selected database only. Its
    behaviour is decided above the store (pages, permissions), and the store suites and the core
    and Django console suites run on every database."""
    first = selected_backends()[0]
    kept, dropped = [], []
    for item in items:
        params = getattr(getattr(item, "callspec", None), "params", {})
        on = next((params[name] for name in DATABASE_PARAMETERS if name in params), first)
        (dropped if item.get_closest_marker("one_database") and on != first else kept).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


def unavailable(exc: Exception | str) -> None:
    """Fail in CI (OCTOTP_TEST_REQUIRE_SERVICES=1); skip, saying why, on a developer machine."""
    if services_required():
        pytest.fail(f"required test service unavailable: {exc}", pytrace=False)
    pytest.skip(f"service not available locally: {exc}")


@pytest.fixture(scope="session", params=selected_backends())
def db_backend(request: pytest.FixtureRequest) -> str:
    """Each selected database backend in turn: sqlite, postgres, mysql."""
    return str(request.param)


@pytest.fixture(scope="session")
def database_url(db_backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A migrated, session-wide temporary database on ``db_backend``."""
    try:
        with temporary_database(db_backend, tmp_path_factory.mktemp("db")) as url:
            engine = make_engine(url)
            upgrade(engine)
            engine.dispose()
            yield url
    except ServiceUnavailable as exc:
        unavailable(exc)


@pytest.fixture(scope="session")
def redis_url() -> str:
    """The test Redis (``OCTOTP_TEST_REDIS_URL``), checked to answer."""
    try:
        url = service_url("redis")
        import redis

        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except Exception as exc:
        unavailable(exc)
    return url


@pytest.fixture(scope="session")
def test_secret() -> str:
    return secrets.token_urlsafe(32)


@pytest.fixture
def clock() -> FrozenClock:
    """A clock that starts at the real now and only moves when told."""
    from octotp_core.clock import SystemClock

    return FrozenClock(SystemClock().now())


@pytest.fixture
def make_settings(tmp_path: Path, test_secret: str) -> Callable[..., Settings]:
    """Settings with a fixed secret and a temp data dir; keyword arguments override."""

    def factory(**overrides: Any) -> Settings:
        values: dict[str, Any] = {"data_dir": tmp_path, "secret_key": test_secret}
        values.update(overrides)
        return Settings(**values)

    return factory


@pytest.fixture
def octotp(database_url: str, make_settings: Callable[..., Settings], clock: FrozenClock) -> Iterator[Octotp]:
    """An Octotp on the session database of the current backend, with a frozen clock."""
    instance = Octotp(make_settings(database_url=database_url), clock=clock)
    yield instance
    instance.close()
