"""The ``Store`` conformance suite on ``SqlAlchemyStore``, against SQLite, PostgreSQL and MariaDB."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from octotp_core.store import SqlAlchemyStore, Store, make_engine
from octotp_core.testing.store_suite import StoreSuite


class TestSqlAlchemyStore(StoreSuite):
    """Every protocol method on every configured database (``db_backend`` parametrises ``database_url``)."""

    @pytest.fixture
    def store(self, database_url: str) -> Iterator[Store]:
        engine = make_engine(database_url)
        yield SqlAlchemyStore(engine)
        engine.dispose()
