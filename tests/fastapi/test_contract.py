"""The HTTP contract suite against a FastAPI host app (every database) and against ``octotp serve``."""

from __future__ import annotations

import pytest

from octotp_core import Octotp
from octotp_core.testing.contract import ClockContract, ContractSuite, IdempotencyContract, MountedOctotp
from octotp_core.testing.http_clients import UrlClient
from octotp_core.testing.servers import ServeProcess

from .conftest import project_factory


class TestFastAPIHost(ContractSuite, ClockContract, IdempotencyContract):
    @pytest.fixture
    def mounted(self, host_app: MountedOctotp) -> MountedOctotp:
        return host_app


@pytest.mark.xdist_group("standalone")
class TestStandaloneServer(ContractSuite, IdempotencyContract):
    @pytest.fixture
    def mounted(self, standalone: tuple[ServeProcess, Octotp]) -> MountedOctotp:
        server, octotp = standalone
        return MountedOctotp(
            UrlClient(server.url),
            project_factory(octotp),
            octotp.accounts.revoke_api_key,
            configure_project=octotp.accounts.configure_project,
        )
