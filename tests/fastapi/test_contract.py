"""The HTTP contract suite against a FastAPI host app (every database) and against ``octotp serve``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from starlette.types import Receive, Scope, Send

from octotp_core import Octotp, Settings
from octotp_core.testing.contract import ContractSuite, MountedOctotp, assert_trusted_proxy_names_the_client
from octotp_core.testing.databases import migrated_sqlite_url
from octotp_core.testing.http_clients import UrlClient
from octotp_core.testing.servers import ServeProcess
from octotp_fastapi import install

from .conftest import TestClientAdapter as StarletteClientAdapter
from .conftest import project_factory


class TestFastAPIHost(ContractSuite):
    @pytest.fixture
    def mounted(self, host_app: MountedOctotp) -> MountedOctotp:
        return host_app


@pytest.mark.xdist_group("standalone")
class TestStandaloneServer(ContractSuite):
    """``octotp serve`` in its own process: its clock is real and its listeners are out of reach."""

    @pytest.fixture
    def mounted(self, standalone: tuple[ServeProcess, Octotp]) -> MountedOctotp:
        server, octotp = standalone
        return MountedOctotp(
            UrlClient(server.url),
            project_factory(octotp),
            octotp.accounts.revoke_api_key,
            lacks=frozenset({"clock", "listeners"}),
            read_logs=server.output,
            configure_project=octotp.accounts.configure_project,
        )


def test_trusted_proxies_setting_is_honoured(tmp_path: Path, make_settings: Callable[..., Settings]) -> None:
    """The router reads ``trusted_proxies``; the peer is the ASGI ``client`` (here set by a wrapper,
    as a server without proxy headers would)."""
    octotp = Octotp(
        make_settings(
            database_url=migrated_sqlite_url(tmp_path / "proxy.db"),
            trusted_proxies=["10.0.0.0/8"],
            dashboard_login_limit_per_address="3/minute",
        )
    )
    app = FastAPI()
    install(app, octotp, prefix="/octotp")

    async def from_proxy(scope: Scope, receive: Receive, send: Send) -> None:
        await app({**scope, "client": ("10.0.0.2", 4711)} if scope["type"] == "http" else scope, receive, send)

    try:
        with TestClient(from_proxy) as client:
            assert_trusted_proxy_names_the_client(StarletteClientAdapter(client, "/octotp"), 3)
    finally:
        octotp.close()
