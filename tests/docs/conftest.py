"""The docs runner's session state: one temp tree for every document run, servers stopped at the end."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .run import Runtime


@pytest.fixture(scope="session")
def docs_runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runtime]:
    runtime = Runtime(tmp_path_factory.mktemp("docs"))
    yield runtime
    runtime.close()
