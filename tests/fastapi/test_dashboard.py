"""The dashboard conformance suite on a FastAPI host app (every database) and the standalone app,
plus what only FastAPI does: ``/`` redirects to the dashboard, ``dashboard=False`` turns it off."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from octotp_core import FrozenClock, Octotp, Settings
from octotp_core.testing.dashboard import DashboardSuite, MountedDashboard, RawResult
from octotp_fastapi import create_app, install


class RawTestClient:
    """The dashboard suite's ``RawClient`` over Starlette's TestClient (every ``Set-Cookie`` kept)."""

    def __init__(self, client: TestClient) -> None:
        self.client = client

    def request(
        self, method: str, path: str, *, headers: Mapping[str, str] | None = None, body: bytes | None = None
    ) -> RawResult:
        self.client.cookies.clear()  # the suite's browser keeps its own cookies
        r = self.client.request(method, path, headers=dict(headers or {}), content=body, follow_redirects=False)
        return RawResult(r.status_code, list(r.headers.multi_items()), r.content)


@pytest.fixture
def host(database_url: str, make_settings: Callable[..., Settings], clock: FrozenClock) -> Iterator[MountedDashboard]:
    octotp = Octotp(make_settings(database_url=database_url), clock=clock)
    app = FastAPI()
    install(app, octotp, prefix="/octotp")
    with TestClient(app) as client:
        yield MountedDashboard(RawTestClient(client), "/octotp/dashboard", "/octotp", octotp.accounts.create_account)
    octotp.close()


class TestFastAPIHostDashboard(DashboardSuite):
    @pytest.fixture
    def dashboard(self, host: MountedDashboard) -> MountedDashboard:
        return host


@pytest.fixture
def standalone_app(tmp_path: object, test_secret: str, clock: FrozenClock) -> Iterator[tuple[TestClient, Octotp]]:
    octotp = Octotp(Settings(data_dir=f"{tmp_path}", secret_key=test_secret), clock=clock)
    octotp.migrate()
    with TestClient(create_app(octotp=octotp)) as client:
        yield client, octotp


class TestStandaloneDashboard(DashboardSuite):
    @pytest.fixture
    def dashboard(self, standalone_app: tuple[TestClient, Octotp]) -> MountedDashboard:
        client, octotp = standalone_app
        return MountedDashboard(RawTestClient(client), "/dashboard", "", octotp.accounts.create_account)

    def test_root_redirects_to_the_dashboard(self, standalone_app: tuple[TestClient, Octotp]) -> None:
        client, _ = standalone_app
        r = client.get("/", follow_redirects=False)
        assert (r.status_code, r.headers["location"]) == (303, "/dashboard/")


def test_dashboard_can_be_turned_off(database_url: str, make_settings: Callable[..., Settings]) -> None:
    octotp = Octotp(make_settings(database_url=database_url))
    app = FastAPI()
    install(app, octotp, prefix="/octotp", dashboard=False)
    with TestClient(app) as client:
        r = client.get("/octotp/dashboard/login")
        assert r.status_code == 404
        assert r.headers["content-type"] == "application/problem+json"  # the API's own 404, no page
    octotp.close()


def test_dashboard_setting_turns_it_off(database_url: str, make_settings: Callable[..., Settings]) -> None:
    octotp = Octotp(make_settings(database_url=database_url, dashboard=False))
    with TestClient(create_app(octotp=octotp)) as client:
        assert client.get("/dashboard/login").status_code == 404
        assert client.get("/", follow_redirects=False).status_code == 404
