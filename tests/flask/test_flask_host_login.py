"""The dashboard signed in by the host's users: ``Octotp(app, dashboard_auth=..., login_url=...)``
on a Flask app with real Flask-Login (``login_host.py``).

The host-mode console suite runs on it (SQLite), then what is Flask's own: the redirect to the
host's login view (an endpoint or a path, under a ``SCRIPT_NAME`` too), 403 for a user without
permission on every page and form, logging out of the host signing out of the dashboard, the
``init_app`` form, and the mistakes ``init_app`` refuses.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from flask import Flask
from flask.testing import FlaskClient

from octotp_core import FrozenClock
from octotp_core.store import Account
from octotp_core.testing.dashboard import DashboardBrowser, MountedDashboard, hidden_field
from octotp_core.testing.host_console import HostConsoleSuite
from octotp_flask import ConfigurationError, Octotp, get_octotp

from .login_host import FlaskLoginDriver, create_login_host, current_identity, host_users
from .test_flask_dashboard import RawFlaskClient, config

PASSWORD = "a host user's long password"
MakeHost = Callable[..., Flask]


@pytest.fixture
def make_host(tmp_path: Path, test_secret: str, clock: FrozenClock, shared_sqlite_url: str) -> Iterator[MakeHost]:
    """``make_host(**options)``: ``create_login_host`` on the shared SQLite database (options as its)."""
    apps: list[Flask] = []

    def build(**options: Any) -> Flask:
        options.setdefault("database_url", shared_sqlite_url)
        options.setdefault("clock", clock)
        options["config"] = {"TESTING": True, **options.get("config", {})}
        app = create_login_host(secret_key=test_secret, data_dir=tmp_path / f"host-{len(apps)}", **options)
        apps.append(app)
        return app

    yield build
    for app in apps:
        app.extensions["octotp"].close()


def mounted(app: Flask, prefix: str) -> MountedDashboard:
    """The app as the suites see it, in host mode: accounts are host users who may create projects."""
    driver = FlaskLoginDriver(host_users(app))

    def create_account(email: str, password: str) -> Account:
        identity = driver.create_user(email, password, permissions={"add_project"})
        with app.app_context():
            return get_octotp().accounts.host_account(identity)

    client = RawFlaskClient(app.test_client(use_cookies=False))
    octotp = app.extensions["octotp"]
    return MountedDashboard(client, prefix + "/dashboard", prefix, create_account, octotp=octotp, host=driver)


@pytest.mark.one_database
class TestFlaskLoginHostConsole(HostConsoleSuite):
    @pytest.fixture
    def make_dashboard(self, make_host: MakeHost) -> Callable[..., MountedDashboard]:
        def build(**settings: Any) -> MountedDashboard:
            return mounted(make_host(config=config(settings)), "/octotp")

        return build


# -- Flask's own -----------------------------------------------------------------------------------
def sign_in(client: FlaskClient, email: str, password: str = PASSWORD, next_page: str = "") -> str:
    """The host's login form, posted; where it sends the browser."""
    assert client.get("/login").status_code == 200
    answer = client.post("/login", data={"email": email, "password": password, "next": next_page})
    assert answer.status_code == 303, answer.text
    return str(answer.headers["Location"])


def login_redirect(path: str) -> str:
    """Where the dashboard sends an anonymous visitor who asked for ``path``."""
    return "/login?next=" + quote(path, safe="/")


@pytest.mark.parametrize("login_url", ["login", "/login"])
def test_anonymous_visitors_go_to_the_hosts_login_and_come_back(make_host: MakeHost, login_url: str) -> None:
    app = make_host(login_url=login_url)
    host_users(app).add("ada@example.com", PASSWORD, permissions={"add_project"})
    client = app.test_client()
    for path in ("/octotp/dashboard/", "/octotp/dashboard/plans?q=x%40y"):
        answer = client.get(path)
        assert (answer.status_code, answer.headers["Location"]) == (303, login_redirect(path))
    posted = client.post("/octotp/dashboard/projects", data={"name": "x"})
    assert (posted.status_code, posted.headers["Location"].partition("?")[0]) == (303, "/login")

    # The host's login view sends the browser back to the page it asked for: no second login.
    assert sign_in(client, "ada@example.com", next_page="/octotp/dashboard/plans?q=x%40y") == (
        "/octotp/dashboard/plans?q=x%40y"
    )
    page = client.get("/octotp/dashboard/")
    assert page.status_code == 200
    assert "ada@example.com" in page.text


def test_the_login_endpoint_is_built_for_the_app_under_a_script_name(make_host: MakeHost) -> None:
    app = make_host()
    answer = app.test_client().get("/octotp/dashboard/", environ_overrides={"SCRIPT_NAME": "/shop"})
    assert answer.status_code == 303
    assert answer.headers["Location"] == "/shop" + login_redirect("/shop/octotp/dashboard/")


def test_octotps_own_account_pages_are_not_there(make_host: MakeHost) -> None:
    app = make_host()
    host_users(app).add("ada@example.com", PASSWORD, permissions={"add_project"})
    client = app.test_client()
    sign_in(client, "ada@example.com")
    for path in ("/login", "/setup", "/signup", "/verify", "/reset", "/account"):
        assert client.get("/octotp/dashboard" + path).status_code == 404, path


def test_a_user_without_permission_is_refused_every_page_and_form(make_host: MakeHost) -> None:
    app = make_host()
    users = host_users(app)
    owner = users.add("owner@example.com", PASSWORD, permissions={"add_project"})
    nobody = users.add("nobody@example.com", PASSWORD)
    with app.app_context():
        core = get_octotp()
        account = core.accounts.host_account(FlaskLoginDriver.identity(owner))
        pid = core.accounts.create_project("Shop", owner=account).project.id
    client = app.test_client()
    sign_in(client, nobody.email)
    pages = ["/", "/plans", "/account/activity", "/operator/accounts", "/operator/projects"]
    pages += [f"/projects/{pid}{page}" for page in ("", "/tokens", "/members", "/audit", "/delete")]
    for path in pages:
        answer = client.get("/octotp/dashboard" + path)
        assert (answer.status_code, "Not allowed" in answer.text) == (403, True), path
    forms = ["/projects", f"/operator/projects/{pid}/plan"]
    forms += [f"/projects/{pid}/{form}" for form in ("settings", "keys", "tokens", "delete", "invitations", "transfer")]
    for path in forms:
        answer = client.post("/octotp/dashboard" + path, data={"name": "Taken over", "email": nobody.email})
        assert (answer.status_code, "Not allowed" in answer.text) == (403, True), path
    with app.app_context():
        project = get_octotp().store.get_project(pid)
        assert project is not None
        assert project.name == "Shop"
        assert [p.name for p in get_octotp().accounts.list_projects()].count("Taken over") == 0


def test_logging_out_of_the_host_signs_out_of_the_dashboard(make_host: MakeHost) -> None:
    app = make_host()
    host_users(app).add("ada@example.com", PASSWORD, permissions={"add_project"})
    client = app.test_client()
    sign_in(client, "ada@example.com")
    assert client.get("/octotp/dashboard/").status_code == 200
    client.get("/logout")
    answer = client.get("/octotp/dashboard/")
    assert (answer.status_code, answer.headers["Location"]) == (303, login_redirect("/octotp/dashboard/"))


def test_log_out_leads_to_the_hosts_logout(make_host: MakeHost) -> None:
    app = make_host()
    host_users(app).add("ada@example.com", PASSWORD, permissions={"add_project"})
    client = app.test_client()
    sign_in(client, "ada@example.com")
    page = client.get("/octotp/dashboard/")
    answer = client.post(
        "/octotp/dashboard/logout",
        data={"csrf_token": hidden_field(page.text, "csrf_token")},
        headers={"Origin": "http://localhost"},
    )
    assert (answer.status_code, answer.headers["Location"]) == (303, "/logout")
    assert client.get("/logout").headers["Location"] == "/"
    assert client.get("/octotp/dashboard/").status_code == 303


def test_init_app_takes_the_host_login(make_host: MakeHost) -> None:
    extension = Octotp()
    app = make_host(extension=extension)
    host_users(app).add("ada@example.com", PASSWORD, permissions={"add_project"})
    client = app.test_client()
    assert client.get("/octotp/dashboard/").headers["Location"] == login_redirect("/octotp/dashboard/")
    sign_in(client, "ada@example.com")
    assert client.get("/octotp/dashboard/").status_code == 200


def test_init_app_arguments_win_over_the_extensions(make_host: MakeHost) -> None:
    extension = Octotp(dashboard_auth=lambda: None, login_url="/elsewhere")
    app = make_host(extension=extension, login_url="/login")
    assert app.test_client().get("/octotp/dashboard/").headers["Location"] == login_redirect("/octotp/dashboard/")


def flask_app(**config: Any) -> Flask:
    app = Flask("refused")
    app.config.update(TESTING=True, SECRET_KEY="refused-app-secret", **config)
    return app


@pytest.mark.parametrize(
    ("arguments", "config", "message"),
    [
        ({"dashboard_auth": current_identity}, {}, "dashboard_auth needs login_url"),
        ({"dashboard_auth": current_identity, "login_url": ""}, {}, "dashboard_auth needs login_url"),
        ({"login_url": "/login"}, {}, "login_url given without dashboard_auth"),
        ({"logout_url": "/logout"}, {}, "logout_url given without dashboard_auth"),
        (
            {"dashboard_auth": current_identity, "login_url": "/login"},
            {"OCTOTP_DASHBOARD": False},
            "the dashboard is off (OCTOTP_DASHBOARD is False)",
        ),
        (
            {"dashboard_auth": current_identity, "login_url": "/login"},
            {"OCTOTP_REGISTER_BLUEPRINT": False},
            "OCTOTP_REGISTER_BLUEPRINT is False",
        ),
    ],
)
def test_init_app_refuses_host_login_that_cannot_work(
    arguments: dict[str, Any], config: dict[str, Any], message: str, shared_sqlite_url: str
) -> None:
    app = flask_app(OCTOTP_DATABASE_URL=shared_sqlite_url, **config)
    with pytest.raises(ConfigurationError) as refused:
        Octotp(app, **arguments)
    assert message in str(refused.value)
    assert "octotp" not in app.extensions
    with pytest.raises(ConfigurationError, match=message.replace("(", r"\(").replace(")", r"\)")):
        Octotp().init_app(flask_app(OCTOTP_DATABASE_URL=shared_sqlite_url, **config), **arguments)


def test_dashboard_auth_must_be_callable(shared_sqlite_url: str) -> None:
    with pytest.raises(TypeError, match="dashboard_auth must be a function taking no arguments"):
        Octotp(flask_app(OCTOTP_DATABASE_URL=shared_sqlite_url), dashboard_auth="current_user", login_url="/login")  # type: ignore[arg-type]


def test_dashboard_auth_returning_something_else_fails_the_request(make_host: MakeHost) -> None:
    app = make_host(dashboard_auth=lambda: "ada@example.com")
    with pytest.raises(TypeError, match="dashboard_auth returned str"):
        app.test_client().get("/octotp/dashboard/")


def test_a_login_endpoint_the_app_does_not_have_fails_the_request(make_host: MakeHost) -> None:
    app = make_host(login_url="auth.login")
    with pytest.raises(RuntimeError, match=r"login_url='auth\.login' is neither a URL"):
        app.test_client().get("/octotp/dashboard/")


def test_own_accounts_stay_the_default(make_host: MakeHost, shared_sqlite_url: str) -> None:
    app = flask_app(OCTOTP_DATABASE_URL=shared_sqlite_url)
    Octotp(app)
    answer = app.test_client().get("/dashboard/")
    assert (answer.status_code, answer.headers["Location"]) == (303, "/dashboard/login")
    app.extensions["octotp"].close()


# -- the test host itself ----------------------------------------------------------------------------
def test_the_hosts_login_checks_the_password_and_its_next(make_host: MakeHost) -> None:
    app = make_host()
    host_users(app).add("ada@example.com", PASSWORD)
    client = app.test_client()
    refused = client.post("/login", data={"email": "ada@example.com", "password": "wrong"})
    assert (refused.status_code, "Wrong email or password" in refused.text) == (200, True)
    assert client.get("/account").status_code == 302  # Flask-Login's own redirect: still anonymous
    assert sign_in(client, "ada@example.com", next_page="//evil.example/") == "/"
    assert client.get("/account").status_code == 200


def test_the_driver_signs_in_through_the_form(make_host: MakeHost) -> None:
    app = make_host()
    driver = FlaskLoginDriver(host_users(app))
    identity = driver.create_user("ada@example.com", PASSWORD, permissions={"view_project"}, operator=True)
    assert (identity.email, identity.operator, identity.permissions) == (
        "ada@example.com",
        True,
        frozenset({"view_project"}),
    )
    browser = DashboardBrowser(RawFlaskClient(app.test_client(use_cookies=False)), "/octotp/dashboard")
    signed_in = driver.login(browser, "ada@example.com", PASSWORD)
    assert signed_in.status == 303
    assert browser.get("/").status == 200
