"""Fixtures for the octotp-django tests: a minimal Django project, configured for this directory only.

Django's settings are configured when this conftest is registered (its ``pytest_configure``), so the
other packages' tests never see Django even when collected in the same pytest process. Each test
picks the backend octotp's models are routed to through ``octotp_db`` (sqlite, postgres, mysql, as
``OCTOTP_TEST_DATABASES`` selects); with ``OCTOTP_TEST_REQUIRE_SERVICES=1`` an unreachable server
fails the test instead of skipping it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from octotp_core import FrozenClock, Octotp

from ..conftest import unavailable
from . import django_project_settings as project_settings
from . import octotp_test_router


def pytest_configure(config: pytest.Config) -> None:
    import django
    from django.conf import settings

    if not settings.configured:
        settings.configure(
            **{name: getattr(project_settings, name) for name in dir(project_settings) if name.isupper()}
        )
        django.setup()


def _route_octotp_to(backend: str) -> Iterator[str]:
    if backend in project_settings.UNAVAILABLE:
        unavailable(project_settings.UNAVAILABLE[backend])
    alias = project_settings.ALIASES[backend]
    octotp_test_router.ACTIVE["alias"] = alias
    yield alias
    octotp_test_router.ACTIVE["alias"] = "default"


@pytest.fixture(params=project_settings.SELECTED)
def octotp_db(request: pytest.FixtureRequest) -> Iterator[str]:
    """The database alias octotp's models are routed to for this test, once per selected backend."""
    yield from _route_octotp_to(str(request.param))


@pytest.fixture(params=[b for b in project_settings.SELECTED if b != "sqlite"])
def server_db(request: pytest.FixtureRequest) -> Iterator[str]:
    """Like ``octotp_db``, for the database servers only (PostgreSQL and MariaDB)."""
    yield from _route_octotp_to(str(request.param))


@pytest.fixture
def store(octotp_db: str) -> Any:
    """A ``DjangoStore`` that finds its database through the router (for the ``Store`` suite)."""
    from octotp_django.store import DjangoStore

    return DjangoStore()


@pytest.fixture
def octotp(store: Any, clock: FrozenClock) -> Octotp:
    """An ``Octotp`` on the Django store with a frozen clock (overrides the SQLAlchemy one)."""
    from octotp_django.conf import get_settings

    return Octotp(get_settings(), store=store, clock=clock)


@pytest.fixture
def django_octotp(octotp_db: str) -> Iterator[Octotp]:
    """The app's own ``get_octotp()`` (signals connected), rebuilt for each test."""
    from octotp_django.api import get_octotp, reset_octotp

    reset_octotp()
    yield get_octotp()
    reset_octotp()
