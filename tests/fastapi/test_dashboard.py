"""The dashboard conformance suite on a FastAPI host app (every database) and the standalone app,
plus what only FastAPI does: ``/`` redirects to the dashboard, ``dashboard=False`` turns it off."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from octotp_core import FrozenClock, Octotp, Settings
from octotp_core.testing.console import ConsoleSuite
from octotp_core.testing.dashboard import MountedDashboard, RawResult
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
def make_host(
    database_url: str, make_settings: Callable[..., Settings], clock: FrozenClock
) -> Iterator[Callable[..., MountedDashboard]]:
    """``make_host(**settings)``: a FastAPI host app with octotp under ``/octotp``."""
    with ExitStack() as stack:

        def build(**settings: Any) -> MountedDashboard:
            octotp = Octotp(make_settings(database_url=database_url, **settings), clock=clock)
            stack.callback(octotp.close)
            app = FastAPI()
            install(app, octotp, prefix="/octotp")
            client = stack.enter_context(TestClient(app))
            create = octotp.accounts.create_account
            return MountedDashboard(RawTestClient(client), "/octotp/dashboard", "/octotp", create, octotp=octotp)

        yield build


@pytest.mark.one_database  # core's and Django's console suites run on every database
class TestFastAPIHostDashboard(ConsoleSuite):
    @pytest.fixture
    def make_dashboard(self, make_host: Callable[..., MountedDashboard]) -> Callable[..., MountedDashboard]:
        return make_host


@pytest.fixture
def make_standalone(
    tmp_path: Path, test_secret: str, clock: FrozenClock
) -> Iterator[Callable[..., tuple[TestClient, Octotp]]]:
    """``make_standalone(**settings)``: the standalone app on its own SQLite file in ``tmp_path``."""
    made = itertools.count()
    with ExitStack() as stack:

        def build(**settings: Any) -> tuple[TestClient, Octotp]:
            data_dir = tmp_path / f"standalone-{next(made)}"  # a fresh database per app
            octotp = Octotp(Settings(data_dir=str(data_dir), secret_key=test_secret, **settings), clock=clock)
            octotp.migrate()
            return stack.enter_context(TestClient(create_app(octotp=octotp))), octotp

        yield build


@pytest.fixture
def standalone_app(make_standalone: Callable[..., tuple[TestClient, Octotp]]) -> tuple[TestClient, Octotp]:
    return make_standalone()


class TestStandaloneDashboard(ConsoleSuite):
    @pytest.fixture
    def make_dashboard(
        self, make_standalone: Callable[..., tuple[TestClient, Octotp]]
    ) -> Callable[..., MountedDashboard]:
        def build(**settings: Any) -> MountedDashboard:
            client, octotp = make_standalone(**settings)
            create = octotp.accounts.create_account
            return MountedDashboard(RawTestClient(client), "/dashboard", "", create, octotp=octotp)

        return build

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


def test_root_is_the_landing_page_while_sign_up_is_open(
    make_standalone: Callable[..., tuple[TestClient, Octotp]],
) -> None:
    """Core decides the standalone ``/``: the landing page with open sign-up (linking to sign-up, login
    and the API docs, listing the plans), a redirect to the dashboard in every other mode."""
    invite, _ = make_standalone(dashboard_signup="invite")
    r = invite.get("/", follow_redirects=False)
    assert (r.status_code, r.headers["location"]) == (303, "/dashboard/")

    plans = {
        "free": {"creates_per_minute": 60, "price": "Free", "description": "Start here."},
        "scale": {"creates_per_minute": 900},
    }
    client, _ = make_standalone(dashboard_signup="open", plans=plans)
    page = client.get("/", follow_redirects=False)
    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert "script-src 'none'" in page.headers["content-security-policy"]
    for link in ('href="/dashboard/signup"', 'href="/dashboard/login"', 'href="/docs"'):
        assert link in page.text, link
    assert 'id="plan-free"' in page.text
    assert "Start here." in page.text
    assert 'id="plan-scale"' in page.text
    assert "900 per project" in page.text
    assert client.get("/docs").status_code == 200  # the link leads somewhere
    assert client.get("/dashboard/welcome").text == page.text  # the same page, from the dashboard's own path
    head = client.head("/")
    assert (head.status_code, head.content) == (200, b"")
    posted = client.post("/", follow_redirects=False)
    assert (posted.status_code, posted.headers["allow"]) == (405, "GET, HEAD")


def test_landing_page_links_follow_the_root_path(tmp_path: Path, test_secret: str) -> None:
    octotp = Octotp(Settings(data_dir=str(tmp_path), secret_key=test_secret, dashboard_signup="open"))
    octotp.migrate()
    with TestClient(create_app(octotp=octotp), root_path="/svc") as client:
        page = client.get("/svc/", follow_redirects=False)
        assert page.status_code == 200, page.text
        assert 'href="/svc/dashboard/signup"' in page.text
        assert 'href="/svc/docs"' in page.text
