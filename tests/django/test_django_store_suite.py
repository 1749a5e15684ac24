"""The shared ``Store`` conformance suite on ``DjangoStore``, on every selected database."""

from __future__ import annotations

import pytest

from octotp_core.store import Store
from octotp_core.testing.store_suite import StoreSuite

# transaction=True: the suite's concurrency tests use threads, which must see committed rows.
pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")


class TestDjangoStore(StoreSuite):
    """A ``DjangoStore`` routed to each selected backend (``octotp_db`` from tests/django/conftest.py)."""

    @pytest.fixture
    def store(self, octotp_db: str) -> Store:
        from octotp_django.store import DjangoStore

        return DjangoStore()

    def thread_done(self) -> None:
        from django.db import connections

        # Each racing thread opened its own server connections; close them so the test databases can be
        # dropped. (SQLite's shared in-memory test database must stay open.)
        for connection in connections.all():
            if connection.vendor != "sqlite":
                connection.close()
