"""Fixtures for the core tests (the shared ones live in ``tests/conftest.py``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from octotp_core.testing.databases import temporary_database


@pytest.fixture
def empty_database_url(db_backend: str, database_url: str, tmp_path: Path) -> Iterator[str]:
    """A brand-new, empty (unmigrated) database on the current backend, dropped afterwards.

    Depends on ``database_url`` only so that an unreachable server fails or skips the same way.
    """
    with temporary_database(db_backend, tmp_path) as url:
        yield url
