"""The dashboard on the host's own users (``install(..., dashboard_auth=...)``): core's host-mode
console suite on the test host of ``host_login`` (Starlette sessions and a login form of its own),
and what only the FastAPI adapter does: FastAPI resolves the dependency (sync or async, with its own
``Depends``), an ``HTTPException`` it raises is the host's answer, and ``install`` checks its
arguments. SQLite only: the console suite runs on every database in own-accounts mode already."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi import FastAPI, HTTPException
from fastapi.testclient import TestClient

from octotp_core import FrozenClock, Octotp, Settings
from octotp_core.testing.dashboard import DashboardBrowser, MountedDashboard
from octotp_core.testing.host_console import HostConsoleSuite, host_create_account
from octotp_fastapi import HostIdentity, create_app, install

from .host_login import SESSION_COOKIE, HostAppDriver, UserTable, async_identity, create_host_app, session_identity
from .test_dashboard import RawTestClient

pytestmark = pytest.mark.one_database

PASSWORD = "correct horse battery staple"
# The tests' apps share one database, where an email names one account: each test its own addresses.
JANE, NOBODY, ASYNC = (f"{who}-{uuid.uuid4().hex[:8]}@example.com" for who in ("jane", "nobody", "async"))
BASE = "/octotp/dashboard"


@pytest.fixture
def make_host_login(
    database_url: str, make_settings: Callable[..., Settings], clock: FrozenClock, test_secret: str
) -> Iterator[Callable[..., MountedDashboard]]:
    """``make_host_login(dashboard_auth=session_identity, **settings)``: the test host app with octotp
    under ``/octotp``, its dashboard on the host's users."""
    with ExitStack() as stack:

        def build(*, dashboard_auth: Any = session_identity, **settings: Any) -> MountedDashboard:
            octotp = Octotp(make_settings(database_url=database_url, **settings), clock=clock)
            stack.callback(octotp.close)
            users = UserTable()
            driver = HostAppDriver(users)
            app = create_host_app(octotp, users, secret_key=test_secret, dashboard_auth=dashboard_auth)
            client = stack.enter_context(TestClient(app))
            create_account = host_create_account(octotp, driver)
            return MountedDashboard(
                RawTestClient(client), BASE, "/octotp", create_account, octotp=octotp, host=driver, extra={"app": app}
            )

        yield build


class TestFastAPIHostLogin(HostConsoleSuite):
    @pytest.fixture
    def make_dashboard(self, make_host_login: Callable[..., MountedDashboard]) -> Callable[..., MountedDashboard]:
        return make_host_login


def signed_in(mounted: MountedDashboard, email: str, **user: Any) -> DashboardBrowser:
    """A browser signed in through the host's login page as a new host user."""
    mounted.host.create_user(email, PASSWORD, **user)
    browser = mounted.browser()
    assert browser.login(email, PASSWORD).status == 303
    assert SESSION_COOKIE in browser.cookies
    return browser


def test_anonymous_visitors_sign_in_on_the_host_login_page_and_come_back(
    make_host_login: Callable[..., MountedDashboard],
) -> None:
    mounted = make_host_login()
    browser = mounted.browser()
    answer = browser.get("/account/activity?page=1")
    assert answer.status == 303
    location = urlsplit(answer.header("location") or "")
    assert location.path == "/login"
    assert parse_qs(location.query) == {"next": [f"{BASE}/account/activity?page=1"]}
    posted = browser.post("/projects", {"name": "anonymous"})
    assert posted.status == 303
    assert urlsplit(posted.header("location") or "").path == "/login"

    mounted.host.create_user(JANE, PASSWORD, permissions={"add_project"})
    form = browser.request("GET", f"{location.path}?{location.query}")
    assert form.status == 200
    signed = browser.request("POST", f"{location.path}?{location.query}", {"email": JANE, "password": PASSWORD})
    assert (signed.status, signed.header("location")) == (303, f"{BASE}/account/activity?page=1")
    page = browser.get("/account/activity?page=1")
    assert page.status == 200
    assert JANE in page.text
    assert 'name="password"' not in browser.get("/").text  # no second login, no octotp password


def test_a_host_user_without_permission_is_refused_every_page_and_action(
    make_host_login: Callable[..., MountedDashboard],
) -> None:
    mounted = make_host_login()
    project = mounted.octotp.accounts.create_project("Someone's").project.id
    browser = signed_in(mounted, NOBODY)
    pages = [
        "/",
        "/account/activity",
        "/plans",
        "/operator/accounts",
        "/operator/projects",
        f"/projects/{project}",
        f"/projects/{project}/tokens",
        f"/projects/{project}/members",
        f"/projects/{project}/audit",
        f"/projects/{project}/delete",
    ]
    for path in pages:
        refused = browser.get(path)
        assert refused.status == 403, path
        assert "Not allowed" in refused.text, path
    actions = [
        ("/projects", {"name": "Mine now"}),
        (f"/projects/{project}/settings", {"name": "Renamed"}),
        (f"/projects/{project}/keys", {"name": "stolen"}),
        (f"/projects/{project}/delete", {}),
        (f"/projects/{project}/invitations", {"email": "friend@example.com", "role": "admin"}),
    ]
    for path, fields in actions:
        refused = browser.post(path, fields)
        assert refused.status == 403, path
        assert "Not allowed" in refused.text, path
    assert mounted.octotp.accounts.get_project(project).name == "Someone's"
    assert "Mine now" not in [p.name for p in mounted.octotp.accounts.list_projects()]


def test_an_async_dependency_with_its_own_dependency_is_resolved_by_fastapi(
    make_host_login: Callable[..., MountedDashboard],
) -> None:
    mounted = make_host_login(dashboard_auth=async_identity)
    anonymous = mounted.browser().get("/")
    assert anonymous.status == 303
    assert urlsplit(anonymous.header("location") or "").path == "/login"
    browser = signed_in(mounted, ASYNC, permissions={"add_project"})
    home = browser.get("/")
    assert home.status == 200
    assert ASYNC in home.text


def test_an_http_exception_from_the_dependency_is_the_hosts_answer(
    make_host_login: Callable[..., MountedDashboard],
) -> None:
    def bearer_only() -> HostIdentity | None:
        raise HTTPException(401, "Bearer token required", headers={"WWW-Authenticate": "Bearer"})

    mounted = make_host_login(dashboard_auth=bearer_only)
    for answer in (mounted.browser().get("/"), mounted.browser().post("/projects", {"name": "x"})):
        assert answer.status == 401
        assert answer.header("www-authenticate") == "Bearer"
        assert answer.header("content-type") == "application/json"
        assert answer.body == b'{"detail":"Bearer token required"}'


def test_the_dependency_must_return_a_host_identity(make_host_login: Callable[..., MountedDashboard]) -> None:
    mounted = make_host_login(dashboard_auth=lambda: {"id": "1", "email": "a@example.com"})
    with pytest.raises(TypeError, match="must return a HostIdentity"):
        mounted.browser().get("/")


def test_the_dashboard_stays_out_of_the_openapi_document(make_host_login: Callable[..., MountedDashboard]) -> None:
    app: FastAPI = make_host_login().extra["app"]
    paths = app.openapi()["paths"]
    assert "/octotp/api/tokens" in paths
    assert not [path for path in paths if "dashboard" in path]


def test_install_says_which_argument_does_not_fit(make_settings: Callable[..., Settings]) -> None:
    octotp = Octotp(make_settings())
    cases: list[tuple[dict[str, Any], type[Exception], str]] = [
        ({"dashboard_auth": session_identity, "dashboard": False}, ValueError, "the dashboard is off"),
        ({"dashboard_auth": session_identity, "login_url": None}, ValueError, "needs login_url"),
        ({"dashboard_auth": session_identity, "login_url": ""}, ValueError, "needs login_url"),
        ({"logout_url": "/bye"}, ValueError, "give dashboard_auth too"),
        ({"login_url": "/signin"}, ValueError, "give dashboard_auth too"),
        ({"dashboard_auth": "session_identity"}, TypeError, "a callable"),
    ]
    for options, error, message in cases:
        app = FastAPI()
        routes = list(app.routes)
        with pytest.raises(error, match=message):
            install(app, octotp, prefix="/octotp", **options)
        assert app.routes == routes, options  # nothing half-installed
    octotp.close()

    off = Octotp(make_settings(dashboard=False))
    with pytest.raises(ValueError, match="the dashboard is off"):
        install(FastAPI(), off, dashboard_auth=session_identity)
    off.close()


def test_the_standalone_service_keeps_octotps_own_accounts(tmp_path: Any, test_secret: str) -> None:
    octotp = Octotp(Settings(data_dir=str(tmp_path), secret_key=test_secret))
    octotp.migrate()
    octotp.accounts.create_account("owner@example.com", PASSWORD)
    with TestClient(create_app(octotp=octotp)) as client:
        browser = DashboardBrowser(RawTestClient(client), "/dashboard")
        home = browser.get("/")
        assert (home.status, home.header("location")) == (303, "/dashboard/login")
        assert browser.get("/login").status == 200
        assert browser.login("owner@example.com", PASSWORD).status == 303
        assert "owner@example.com" in browser.get("/").text
