"""Fixtures for the production-topology tests: Debian's nginx, PgBouncer and private Redis servers
as child processes in front of (or behind) real ``octotp serve`` processes.

Each tool is a Debian package ``.ci/run`` installs; without it a test fails in CI
(``OCTOTP_TEST_REQUIRE_SERVICES=1``) and is skipped elsewhere, naming the package. Every child runs
in its own process group and is stopped with it when its fixture ends.
"""

from __future__ import annotations

import configparser
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from octotp_core.testing.databases import ServiceUnavailable, temporary_database
from octotp_core.testing.servers import free_port

from ..conftest import unavailable
from .children import Child, tool
from .documented import documented_block

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


class PgBouncer:
    """Debian's PgBouncer, configured by the deployment page's ``pgbouncer.ini`` (pool mode and pool
    sizes as documented), in front of the test PostgreSQL server, trusting its one user."""

    def __init__(self, directory: Path, server_url: str) -> None:
        server = make_url(server_url)
        self.user = server.username or "postgres"
        self.port = free_port()
        parser = configparser.ConfigParser(interpolation=None)
        parser.read_string(documented_block("pgbouncer.ini"))
        self.documented = {key: parser["pgbouncer"][key] for key in parser["pgbouncer"]}
        parser.remove_section("databases")
        parser["databases"] = {"*": f"host={server.host or '127.0.0.1'} port={server.port or 5432}"}
        parser["pgbouncer"].update(
            {
                "listen_addr": "127.0.0.1",
                "listen_port": str(self.port),
                "unix_socket_dir": "",
                "auth_type": "trust",  # the test server trusts its user; production uses scram-sha-256
                "auth_file": str(directory / "userlist.txt"),
                "logfile": str(directory / "pgbouncer.log"),
                "pidfile": str(directory / "pgbouncer.pid"),
            }
        )
        (directory / "userlist.txt").write_text(f'"{self.user}" ""\n')
        config = directory / "pgbouncer.ini"
        with config.open("w") as out:
            parser.write(out)
        command = [tool("pgbouncer", "pgbouncer")]
        if os.geteuid() == 0:  # PgBouncer refuses to run as root
            command += ["-u", "postgres"]
            for path in (directory, *directory.iterdir()):
                shutil.chown(path, "postgres")
        self.child = Child([*command, str(config)], directory / "pgbouncer.out", port=self.port)

    def url(self, database_url: str, **query: str) -> str:
        """``database_url`` (a database on the test server) reached through this PgBouncer."""
        return (
            make_url(database_url)
            .set(host="127.0.0.1", port=self.port)
            .update_query_dict(query)
            .render_as_string(hide_password=False)
        )

    def log(self) -> str:
        path = Path(self.child.command[-1]).with_name("pgbouncer.log")
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self) -> None:
        self.child.stop()


@pytest.fixture(scope="module")
def postgres_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A fresh, empty database on the test PostgreSQL server for the module, dropped afterwards."""
    try:
        with temporary_database("postgres", tmp_path_factory.mktemp("postgres")) as url:
            yield url
    except ServiceUnavailable as exc:
        unavailable(exc)


@pytest.fixture(scope="module")
def pgbouncer(postgres_database: str) -> Iterator[PgBouncer]:
    """PgBouncer in transaction pooling mode in front of the test PostgreSQL server (stopped before
    the database is dropped). Its files are in a directory of its own: it runs as ``postgres`` when
    the tests run as root."""
    directory = Path(tempfile.mkdtemp(prefix="octotp-pgbouncer-"))
    try:
        bouncer = PgBouncer(directory, postgres_database)
        try:
            yield bouncer
        finally:
            bouncer.stop()
    finally:
        shutil.rmtree(directory, ignore_errors=True)
