"""Fixtures for the core tests (the shared ones live in ``tests/conftest.py``)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from octotp_core import FrozenClock, Octotp, Settings
from octotp_core.testing.databases import ServiceUnavailable, selected_backends, temporary_database

from ..conftest import unavailable

MakeOctotp = Callable[..., Octotp]


@pytest.fixture(params=[b for b in selected_backends() if b != "sqlite"])
def server_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A brand-new, empty database on each selected database server (PostgreSQL, MariaDB), for what
    SQLite has not: a server to lose, a password in the URL."""
    try:
        with temporary_database(request.param, tmp_path) as url:
            yield url
    except ServiceUnavailable as exc:
        unavailable(exc)


@pytest.fixture
def empty_database_url(db_backend: str, database_url: str, tmp_path: Path) -> Iterator[str]:
    """A brand-new, empty (unmigrated) database on the current backend, dropped afterwards.

    Depends on ``database_url`` only so that an unreachable server fails or skips the same way.
    """
    with temporary_database(db_backend, tmp_path) as url:
        yield url


@pytest.fixture
def make_octotp(database_url: str, make_settings: Callable[..., Settings], clock: FrozenClock) -> Iterator[MakeOctotp]:
    """Build ``Octotp`` instances on the session database (settings overridable, the test's clock
    unless ``octotp_clock`` is given); each is closed after the test."""
    made: list[Octotp] = []

    def factory(*, octotp_clock: FrozenClock | None = None, **overrides: object) -> Octotp:
        instance = Octotp(make_settings(database_url=database_url, **overrides), clock=octotp_clock or clock)
        made.append(instance)
        return instance

    yield factory
    for instance in made:
        instance.close()
