"""Fixtures for the production-topology tests: Debian's nginx, PgBouncer and private Redis servers
as child processes in front of (or behind) real ``octotp serve`` processes.

Each tool is a Debian package ``.ci/run`` installs; without it a test fails in CI
(``OCTOTP_TEST_REQUIRE_SERVICES=1``) and is skipped elsewhere, naming the package. Every child runs
in its own process group and is stopped with it when its fixture ends.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from octotp_core.testing.servers import free_port

from .children import Child, tool

# Every test here starts server processes: keep them on one xdist worker, out of the other group's way.
pytestmark = pytest.mark.xdist_group("topology")

ROOMY_PLANS = json.dumps({"free": {"creates_per_minute": 100_000}, "tiny": {"creates_per_minute": 5}})
"""Plans for the topology servers: load never meets the default plan; ``tiny`` is the exact-limit probe."""


def redis_command(directory: Path, port: int, *extra: str) -> list[str]:
    """A private ``redis-server`` on 127.0.0.1:``port`` keeping nothing on disk."""
    binary = tool("redis-server", "redis-server")
    keep_nothing = ["--save", "", "--appendonly", "no", "--dir", str(directory)]
    return [binary, "--port", str(port), "--bind", "127.0.0.1", *keep_nothing, *extra]


@pytest.fixture
def start_redis(tmp_path: Path) -> Iterator[Callable[..., Child]]:
    """``start_redis(port=None, *extra)``: a private ``redis-server`` (never the shared 6379) on
    ``port`` (a free one by default), stopped at the end of the test; call again with the same port
    to restart it there. ``extra`` arguments come last, so they override (``--port 0 --tls-port P``)."""
    started: list[Child] = []

    def start(port: int | None = None, *extra: str) -> Child:
        port = free_port() if port is None else port
        child = Child(redis_command(tmp_path, port, *extra), tmp_path / f"redis-{port}.log", port=port)
        started.append(child)
        return child

    yield start
    for child in started:
        child.stop()
