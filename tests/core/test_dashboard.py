"""The dashboard on core's own handler, through neutral requests: sessions, CSRF, throttling,
enumeration, ownership, secrets shown once, and the shared conformance suite."""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import re
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from octotp_core import FrozenClock, HostIdentity, HostLogin, Octotp, Settings
from octotp_core.dashboard import DashboardHandler, setup_url
from octotp_core.http import ApiHandler, Request
from octotp_core.store import Account
from octotp_core.testing.console import ConsoleSuite
from octotp_core.testing.dashboard import (
    PASSWORD,
    DashboardBrowser,
    MountedDashboard,
    RawResult,
    hidden_field,
    new_key,
    set_cookie_attributes,
)
from octotp_core.testing.databases import migrated_sqlite_url
from octotp_core.testing.host_console import HostConsoleSuite, host_create_account

from .conftest import MakeOctotp

BASE = "/dashboard"


class HandlerClient:
    """A tiny neutral "adapter": paths under the dashboard go to ``DashboardHandler``, the rest to ``ApiHandler``."""

    def __init__(self, octotp: Octotp, *, scheme: str = "http", client: str = "203.0.113.7") -> None:
        self.dashboard, self.api = DashboardHandler(octotp), ApiHandler(octotp)
        self.scheme, self.client = scheme, client

    def request(
        self, method: str, path: str, *, headers: Mapping[str, str] | None = None, body: bytes | None = None
    ) -> RawResult:
        parts = urlsplit(path)
        neutral = Request(method, parts.path, dict(headers or {}), body or b"", parts.query, self.client, self.scheme)
        if parts.path == BASE or parts.path.startswith(BASE + "/"):
            neutral = dataclasses.replace(neutral, path=parts.path[len(BASE) :])
            response = self.dashboard.handle(neutral, BASE)
        else:
            response = self.api.handle(neutral)
        return RawResult(response.status, list(response.headers), response.body)


def _mounted(octotp: Octotp, client: HandlerClient) -> MountedDashboard:
    return MountedDashboard(client, BASE, "", octotp.accounts.create_account, {"octotp": octotp}, octotp=octotp)


class TestCoreHandler(ConsoleSuite):
    @pytest.fixture
    def make_dashboard(self, make_octotp: MakeOctotp) -> Callable[..., MountedDashboard]:
        def build(**settings: object) -> MountedDashboard:
            octotp = make_octotp(**settings)
            return _mounted(octotp, HandlerClient(octotp))

        return build


class NeutralHost:
    """A host app of its own in front of core's handler: users in a dict, a login form at
    ``/host/login`` that sets the host's own cookie, and the ``HostIdentity`` it hands the dashboard."""

    login_path = "/host/login"
    COOKIE = "host_session"

    def __init__(self) -> None:
        self.users: dict[str, tuple[str, HostIdentity]] = {}
        self.sessions: dict[str, HostIdentity] = {}

    # -- HostDriver ---------------------------------------------------------------------------
    def create_user(
        self, email: str, password: str, *, permissions: Iterable[str] = (), operator: bool = False
    ) -> HostIdentity:
        identity = HostIdentity(uuid.uuid4().hex, email, operator, frozenset(permissions), email.split("@")[0])
        self.users[email] = (password, identity)
        return identity

    def login(self, browser: DashboardBrowser, email: str, password: str) -> RawResult:
        browser.request("GET", self.login_path)
        return browser.request("POST", self.login_path, {"email": email, "password": password})

    def post_headers(self, browser: DashboardBrowser) -> dict[str, str]:
        return {}

    # -- the host app's side --------------------------------------------------------------------
    def answer(self, request: Request) -> RawResult:
        if request.method == "GET":
            return RawResult(200, [("Content-Type", "text/html")], b"<form method=post>...</form>")
        email, password = (request.form.get(k, [""])[0] for k in ("email", "password"))
        known = self.users.get(email)
        if known is None or known[0] != password:
            return RawResult(200, [("Content-Type", "text/html")], b"wrong")
        session = uuid.uuid4().hex
        self.sessions[session] = known[1]
        return RawResult(302, [("Location", "/"), ("Set-Cookie", f"{self.COOKIE}={session}; Path=/")], b"")

    def identity(self, request: Request) -> HostIdentity | None:
        return self.sessions.get(request.cookies.get(self.COOKIE, ""))


class HostHandlerClient(HandlerClient):
    """``HandlerClient`` with the dashboard signed in by ``NeutralHost``."""

    def __init__(self, octotp: Octotp, host: NeutralHost) -> None:
        super().__init__(octotp)
        self.host = host
        self.dashboard = DashboardHandler(octotp, host_login=HostLogin(host.login_path, "/host/logout"))

    def request(
        self, method: str, path: str, *, headers: Mapping[str, str] | None = None, body: bytes | None = None
    ) -> RawResult:
        parts = urlsplit(path)
        neutral = Request(method, parts.path, dict(headers or {}), body or b"", parts.query, self.client, self.scheme)
        if parts.path == self.host.login_path:
            return self.host.answer(neutral)
        if parts.path == BASE or parts.path.startswith(BASE + "/"):
            identity = self.host.identity(neutral)
            neutral = dataclasses.replace(neutral, path=parts.path[len(BASE) :])
            response = self.dashboard.handle(neutral, BASE, identity=identity)
            return RawResult(response.status, list(response.headers), response.body)
        return super().request(method, path, headers=headers, body=body)


@pytest.mark.one_database
class TestCoreHandlerWithHostLogin(HostConsoleSuite):
    @pytest.fixture
    def make_dashboard(self, make_octotp: MakeOctotp) -> Callable[..., MountedDashboard]:
        def build(**settings: object) -> MountedDashboard:
            octotp, host = make_octotp(**settings), NeutralHost()
            client = HostHandlerClient(octotp, host)
            create = host_create_account(octotp, host)
            return MountedDashboard(client, BASE, "", create, {"octotp": octotp}, octotp=octotp, host=host)

        return build


@pytest.fixture
def client(octotp: Octotp) -> HandlerClient:
    return HandlerClient(octotp)


@pytest.fixture
def browser(client: HandlerClient) -> DashboardBrowser:
    return DashboardBrowser(client, BASE)


@pytest.fixture
def account_email(octotp: Octotp) -> str:
    email = f"me-{uuid.uuid4().hex}@example.com"  # the session database outlives this test
    octotp.accounts.create_account(email, PASSWORD)
    return email


def _digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def _project_id(created: RawResult) -> str:
    """The new project's id from the 303 that answers its creation."""
    found = re.fullmatch(rf"{BASE}/projects/([0-9a-f-]{{36}})", created.header("location") or "")
    assert created.status == 303, (created.status, created.headers)
    assert found is not None, created.headers
    return found.group(1)


# -- login, sessions --------------------------------------------------------------------------
def test_session_id_is_stored_only_as_a_digest(octotp: Octotp, browser: DashboardBrowser, account_email: str) -> None:
    assert browser.login(account_email, PASSWORD).status == 303
    session_id = browser.cookies["octotp_session"]
    assert octotp.store.get_session(session_id) is None
    stored = octotp.store.get_session(_digest(session_id))
    assert stored is not None
    assert stored.account_id == octotp.accounts.account_by_email(account_email).id
    assert session_id not in stored.csrf_token


def test_login_rotates_the_session(octotp: Octotp, browser: DashboardBrowser, account_email: str) -> None:
    browser.login(account_email, PASSWORD)
    first = browser.cookies.pop("octotp_session")
    page = browser.get("/login")  # signed-in browsers are sent home; open the form as if signed out
    browser.cookies["octotp_session"] = first  # ... and log in again while still sending the first cookie
    browser.post(
        "/login", {"csrf_token": hidden_field(page, "csrf_token"), "email": account_email, "password": PASSWORD}
    )
    second = browser.cookies["octotp_session"]
    assert second != first
    assert octotp.store.get_session(_digest(first)) is None  # destroyed server-side
    assert octotp.store.get_session(_digest(second)) is not None


def test_planted_session_cookie_is_replaced_at_login(
    octotp: Octotp, browser: DashboardBrowser, account_email: str
) -> None:
    browser.cookies["octotp_session"] = "attacker-chosen-value-attacker-chosen-value"
    browser.login(account_email, PASSWORD)
    assert browser.cookies["octotp_session"] != "attacker-chosen-value-attacker-chosen-value"
    assert browser.get("/").status == 200


def test_logout_destroys_the_session_server_side(octotp: Octotp, browser: DashboardBrowser, account_email: str) -> None:
    browser.login(account_email, PASSWORD)
    session_id = browser.cookies["octotp_session"]
    result = browser.post("/logout", {"csrf_token": browser.csrf_token()})
    assert result.status == 303
    assert octotp.store.get_session(_digest(session_id)) is None
    (cleared,) = [c for c in result.all("set-cookie") if c.startswith("octotp_session=")]
    assert set_cookie_attributes(cleared)["max-age"] == "0"


def test_logout_needs_the_csrf_token(octotp: Octotp, browser: DashboardBrowser, account_email: str) -> None:
    browser.login(account_email, PASSWORD)
    assert browser.post("/logout", {}).status == 403
    assert browser.get("/").status == 200


def test_idle_timeout_and_absolute_lifetime(
    database_url: str, make_settings: Callable[..., Settings], clock: FrozenClock
) -> None:
    settings = make_settings(
        database_url=database_url, dashboard_session_idle_timeout=600, dashboard_session_lifetime=1800
    )
    octotp = Octotp(settings, clock=clock)
    try:
        email = f"idle-{uuid.uuid4().hex}@example.com"
        octotp.accounts.create_account(email, PASSWORD)
        browser = DashboardBrowser(HandlerClient(octotp), BASE)
        browser.login(email, PASSWORD)
        for _ in range(3):  # active every 500 s: stays signed in past the idle timeout
            clock.advance(500)
            assert browser.get("/").status == 200
        clock.advance(301)  # 1801 s after login: past the absolute lifetime however active
        assert browser.get("/").status == 303
        browser.login(email, PASSWORD)
        clock.advance(601)  # idle too long
        assert browser.get("/").status == 303
    finally:
        octotp.close()


def test_secure_cookie_over_https(octotp: Octotp, account_email: str) -> None:
    browser = DashboardBrowser(HandlerClient(octotp, scheme="https"), BASE, scheme="https")
    page = browser.get("/login")
    assert "secure" in set_cookie_attributes(page.all("set-cookie")[0])
    result = browser.login(account_email, PASSWORD)
    (cookie,) = [c for c in result.all("set-cookie") if c.startswith("octotp_session=")]
    assert "secure" in set_cookie_attributes(cookie)


def test_disabled_account_cannot_sign_in_and_loses_its_sessions(
    octotp: Octotp, browser: DashboardBrowser, account_email: str
) -> None:
    browser.login(account_email, PASSWORD)
    account = octotp.accounts.account_by_email(account_email)
    assert octotp.store.delete_account_sessions(account.id) == 1
    assert browser.get("/").status == 303


# -- login CSRF, enumeration, throttling ------------------------------------------------------
def test_login_form_token_must_match_its_cookie(octotp: Octotp, client: HandlerClient, account_email: str) -> None:
    one, two = DashboardBrowser(client, BASE), DashboardBrowser(client, BASE)
    token_one = hidden_field(one.get("/login"), "csrf_token")
    two.get("/login")
    refused = two.post("/login", {"csrf_token": token_one, "email": account_email, "password": PASSWORD})
    assert refused.status == 403
    assert "octotp_session" not in two.cookies
    null_origin = one.post(
        "/login", {"csrf_token": token_one, "email": account_email, "password": PASSWORD}, {"Origin": "null"}
    )
    assert null_origin.status == 403
    no_origin = one.post(
        "/login", {"csrf_token": token_one, "email": account_email, "password": PASSWORD}, origin=False
    )
    assert no_origin.status == 303  # no Origin/Referer (stripped by privacy tools): the token decides


class CountingAuthentication:
    """Wraps ``AccountService.authenticate_account`` to count how often passwords are verified."""

    def __init__(self, octotp: Octotp) -> None:
        self.calls = 0
        self._real = octotp.accounts.authenticate_account
        octotp.accounts.authenticate_account = self  # type: ignore[method-assign]

    def __call__(self, email: str, password: str) -> object:
        self.calls += 1
        return self._real(email, password)


def test_login_throttled_per_email_before_any_hashing(
    octotp: Octotp, browser: DashboardBrowser, account_email: str
) -> None:
    counter = CountingAuthentication(octotp)
    for _ in range(5):
        assert browser.login(account_email, "wrong password").status == 200
    assert counter.calls == 5
    throttled = browser.login(account_email.upper(), PASSWORD)  # the right password, same address (any case)
    assert throttled.status == 429
    assert 0 < int(throttled.header("retry-after") or 0) <= 60
    assert "Too many attempts" in throttled.text
    assert counter.calls == 5  # refused before argon2 ran
    assert "octotp_session" not in browser.cookies


def test_login_throttled_per_client_address(octotp: Octotp, client: HandlerClient) -> None:
    browser = DashboardBrowser(client, BASE)
    for i in range(20):
        assert browser.login(f"nobody-{i}@example.com", "x").status == 200
    assert browser.login("nobody-else@example.com", "x").status == 429
    other_address = DashboardBrowser(HandlerClient(octotp, client="198.51.100.9"), BASE)
    assert other_address.login("nobody-else@example.com", "x").status == 200


def test_throttle_limits_come_from_settings(
    database_url: str, make_settings: Callable[..., Settings], clock: FrozenClock
) -> None:
    octotp = Octotp(make_settings(database_url=database_url, dashboard_login_limit_per_email="2/hour"), clock=clock)
    try:
        browser = DashboardBrowser(HandlerClient(octotp), BASE)
        assert [browser.login("limit@example.com", "x").status for _ in range(3)] == [200, 200, 429]
    finally:
        octotp.close()


def test_malformed_email_gets_the_generic_error(browser: DashboardBrowser) -> None:
    result = browser.login("not an email", "whatever")
    assert result.status == 200
    assert "Invalid email or password." in result.text


# -- first-run setup --------------------------------------------------------------------------
@pytest.fixture
def fresh_octotp(empty_setup_db: str, make_settings: Callable[..., Settings], clock: FrozenClock) -> Iterator[Octotp]:
    octotp = Octotp(make_settings(database_url=empty_setup_db, dashboard_setup_token="s" * 43), clock=clock)
    yield octotp
    octotp.close()


@pytest.fixture
def empty_setup_db(tmp_path: Path) -> str:
    """A migrated SQLite database with no accounts (setup only works on an empty one)."""
    return migrated_sqlite_url(tmp_path / "setup.db")


def test_setup_creates_the_first_account_once(fresh_octotp: Octotp) -> None:
    client = HandlerClient(fresh_octotp)
    browser = DashboardBrowser(client, BASE)
    link = urlsplit(setup_url("http://127.0.0.1:8000/dashboard", "s" * 43))
    assert browser.get("/setup?token=wrong").status == 404
    assert browser.get("/setup").status == 404
    page = browser.get(f"/setup?{link.query}")
    assert page.status == 200
    fields = {
        "csrf_token": hidden_field(page, "csrf_token"),
        "setup_token": hidden_field(page, "setup_token"),
        "email": "first@example.com",
        "password": PASSWORD,
        "password_confirm": "something else",
    }
    mismatch = browser.post("/setup", fields)
    assert mismatch.status == 400
    assert "do not match" in mismatch.text
    assert fresh_octotp.store.list_accounts() == []
    created = browser.post("/setup", {**fields, "password_confirm": PASSWORD})
    assert (created.status, created.header("location")) == (303, BASE + "/")
    assert browser.get("/").status == 200  # signed in
    assert [a.email for a in fresh_octotp.store.list_accounts()] == ["first@example.com"]
    # Once an account exists the link is dead, for everyone.
    other = DashboardBrowser(client, BASE)
    assert other.get(f"/setup?{link.query}").status == 404
    assert other.post("/setup", {**fields, "email": "second@example.com"}).status in (403, 404)
    assert len(fresh_octotp.store.list_accounts()) == 1


SETUP_RACERS = 8


def test_concurrent_setup_submissions_create_exactly_one_account(
    empty_database_url: str, make_settings: Callable[..., Settings], clock: FrozenClock
) -> None:
    """Every submission passes the "no account yet" check before any inserts (a barrier holds them at
    the store), as two quick clicks or two tabs could; still exactly one account is made, on each
    database, through two instances with their own engines (two server processes)."""
    from octotp_core.migrate import upgrade
    from octotp_core.store import make_engine

    engine = make_engine(empty_database_url)
    upgrade(engine)
    engine.dispose()
    settings = make_settings(database_url=empty_database_url, dashboard_setup_token="r" * 43)
    instances = [Octotp(settings, clock=clock) for _ in range(2)]
    at_the_store = threading.Barrier(SETUP_RACERS, timeout=60)
    try:
        for instance in instances:
            real_create = instance.store.create_account

            def create_together(account: Account, real: Callable[[Account], None] = real_create) -> None:
                at_the_store.wait()  # all racers got past the check; now they insert at once
                real(account)

            instance.store.create_account = create_together  # type: ignore[method-assign]
        browsers = []
        for i in range(SETUP_RACERS):
            browser = DashboardBrowser(HandlerClient(instances[i % 2], client=f"198.51.100.{i}"), BASE)
            page = browser.get("/setup?token=" + "r" * 43)
            assert page.status == 200
            browsers.append((browser, hidden_field(page, "csrf_token")))

        def submit(index: int) -> RawResult:
            browser, csrf = browsers[index]
            fields = {"csrf_token": csrf, "setup_token": "r" * 43, "password": PASSWORD, "password_confirm": PASSWORD}
            return browser.post("/setup", {**fields, "email": f"racer-{index}@example.com"})

        with ThreadPoolExecutor(max_workers=SETUP_RACERS) as pool:
            results = list(pool.map(submit, range(SETUP_RACERS)))
        assert sorted(r.status for r in results) == [303] + [404] * (SETUP_RACERS - 1)
        assert all("Setup link not valid" in r.text for r in results if r.status == 404)
        (winner,) = [i for i, r in enumerate(results) if r.status == 303]
        accounts = instances[0].store.list_accounts()
        assert [a.email for a in accounts] == [f"racer-{winner}@example.com"]
        assert browsers[winner][0].get("/").status == 200  # the winner is signed in
        assert all("octotp_session" not in b.cookies for i, (b, _) in enumerate(browsers) if i != winner)
    finally:
        for instance in instances:
            instance.close()


def test_setup_is_off_without_a_token(octotp: Octotp, browser: DashboardBrowser) -> None:
    assert octotp.settings.dashboard_setup_token is None
    assert browser.get("/setup?token=").status == 404


# -- state changes need CSRF; ownership; secrets ----------------------------------------------
@pytest.fixture
def signed_in(browser: DashboardBrowser, account_email: str) -> DashboardBrowser:
    assert browser.login(account_email, PASSWORD).status == 303
    return browser


def test_csrf_failures_change_nothing(octotp: Octotp, signed_in: DashboardBrowser) -> None:
    project_id = _project_id(signed_in.post("/projects", {"csrf_token": signed_in.csrf_token(), "name": "Kept"}))
    path = f"/projects/{project_id}"
    (key,) = octotp.store.list_api_keys(project_id)
    attempts = [
        (f"{path}/settings", {"name": "Changed", "code_length": "8"}),
        (f"{path}/keys", {"name": "sneaky"}),
        (f"{path}/keys/{key.id}/revoke", {}),
        ("/projects", {"name": "Another"}),
    ]
    for target, fields in attempts:
        assert signed_in.post(target, fields).status == 403
        assert signed_in.post(target, {**fields, "csrf_token": "A" * 43}).status == 403
    project = octotp.store.get_project(project_id)
    assert project is not None
    assert (project.name, project.code_length) == ("Kept", None)
    assert [k.revoked_at for k in octotp.store.list_api_keys(project_id)] == [None]
    assert len(octotp.store.list_projects(owner_id=project.owner_id)) == 1


def test_settings_are_validated_by_the_account_service(octotp: Octotp, signed_in: DashboardBrowser) -> None:
    project_id = _project_id(signed_in.post("/projects", {"csrf_token": signed_in.csrf_token(), "name": "Conf"}))
    path = f"/projects/{project_id}/settings"
    token = signed_in.csrf_token()
    bad = signed_in.post(path, {"csrf_token": token, "name": "Conf", "code_length": "12"})
    assert bad.status == 400
    assert "codeLength: must be 6-10 digits" in bad.text
    assert signed_in.post(path, {"csrf_token": token, "name": "Conf", "code_length": "x"}).status == 400
    inverted = signed_in.post(path, {"csrf_token": token, "name": "Conf", "expiry_min": "700"})
    assert inverted.status == 400
    assert "expiry" in inverted.text
    unchanged = octotp.store.get_project(project_id)
    assert unchanged is not None
    assert (unchanged.code_length, unchanged.plan, unchanged.expiry_min) == (None, "free", None)
    ok = signed_in.post(
        path,
        {
            "csrf_token": token,
            "name": "Renamed",
            "code_length": "8",
            "expiry_default": "120",
            "expiry_min": "60",
            "expiry_max": "900",
            "default_phone_region": "gb",
            "deliver_only": "on",
            "validate_requires_key": "on",
        },
    )
    assert ok.status == 303
    project = octotp.store.get_project(project_id)
    assert project is not None
    assert (project.name, project.plan, project.code_length) == ("Renamed", "free", 8)
    assert (project.expiry_default, project.expiry_min, project.expiry_max) == (120, 60, 900)
    assert (project.default_phone_region, project.deliver_only, project.validate_requires_key) == ("GB", True, True)
    signed_in.post(path, {"csrf_token": token, "name": "Renamed"})  # unticked boxes: both off again
    project = octotp.store.get_project(project_id)
    assert project is not None
    assert (project.deliver_only, project.validate_requires_key) == (False, False)


def test_owner_cannot_pick_a_plan(octotp: Octotp, signed_in: DashboardBrowser) -> None:
    """Plans are the operator's: the owner's forms offer none, and a plan sent anyway changes nothing."""
    created = signed_in.post("/projects", {"csrf_token": signed_in.csrf_token(), "name": "Cheap", "plan": "pro"})
    project_id = _project_id(created)
    assert octotp.accounts.get_project(project_id).plan == "free"
    page = signed_in.get(f"/projects/{project_id}").text
    assert 'name="plan"' not in page
    assert 'name="plan"' not in signed_in.get("/").text
    assert re.search(r'id="project-plan">free<', page)
    posted = signed_in.post(
        f"/projects/{project_id}/settings", {"csrf_token": signed_in.csrf_token(), "name": "Cheap", "plan": "pro"}
    )
    assert posted.status == 303
    assert octotp.accounts.get_project(project_id).plan == "free"


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("code_length", "4", "codeLength: must be 6-10 digits"),
        ("code_length", "5", "codeLength: must be 6-10 digits"),
        ("expiry_max", "1000000000000", "expiryMax: must be 1-3600 seconds"),
        ("expiry_max", "3601", "expiryMax: must be 1-3600 seconds"),
        ("expiry_default", str(10**30), "expiryDefault: must be 1-3600 seconds"),
    ],
)
def test_owner_chooses_within_the_operators_bounds(
    octotp: Octotp, signed_in: DashboardBrowser, field: str, value: str, reason: str
) -> None:
    project_id = _project_id(signed_in.post("/projects", {"csrf_token": signed_in.csrf_token(), "name": "Bounds"}))
    posted = signed_in.post(
        f"/projects/{project_id}/settings", {"csrf_token": signed_in.csrf_token(), "name": "Bounds", field: value}
    )
    assert posted.status == 400
    assert reason in posted.text
    project = octotp.accounts.get_project(project_id)
    assert getattr(project, field) is None
    # What the server allows is on the page, and the inputs say so too.
    assert "codes of 6-10 digits and expiries up to 3600 s" in posted.text
    assert 'name="code_length" min="6" max="10"' in posted.text


def test_new_project_requires_a_key_to_validate_and_the_page_says_so(
    octotp: Octotp, signed_in: DashboardBrowser
) -> None:
    project_id = _project_id(signed_in.post("/projects", {"csrf_token": signed_in.csrf_token(), "name": "Keyed"}))
    assert octotp.accounts.get_project(project_id).validate_requires_key is True
    page = signed_in.get(f"/projects/{project_id}").text
    assert re.search(r'<input type="checkbox" name="validate_requires_key" checked>', page)


def test_new_key_is_shown_once_and_works(octotp: Octotp, signed_in: DashboardBrowser) -> None:
    project_id = _project_id(signed_in.post("/projects", {"csrf_token": signed_in.csrf_token(), "name": "Keys"}))
    posted = signed_in.post(f"/projects/{project_id}/keys", {"csrf_token": signed_in.csrf_token(), "name": "ci"})
    assert (posted.status, posted.header("location")) == (303, f"{BASE}/projects/{project_id}")
    secret = new_key(signed_in.follow(posted))
    assert secret is not None
    key, project = octotp.accounts.authenticate(secret)
    assert (key.name, project.id) == ("ci", project_id)
    assert secret not in signed_in.get(f"/projects/{project_id}").text
    assert secret not in signed_in.get("/").text


def _stored_flash(octotp: Octotp, browser: DashboardBrowser) -> str | None:
    session = octotp.store.get_session(_digest(browser.cookies["octotp_session"]))
    assert session is not None
    return session.flash


def test_new_key_waits_sealed_in_the_session_row_until_its_page_shows_it(
    octotp: Octotp, signed_in: DashboardBrowser
) -> None:
    posted = signed_in.post("/projects", {"csrf_token": signed_in.csrf_token(), "name": "Sealed"})
    project_id = _project_id(posted)
    sealed = _stored_flash(octotp, signed_in)
    assert sealed is not None
    secret = octotp.store.list_api_keys(project_id)[0].prefix
    assert secret not in sealed
    assert project_id not in sealed
    assert signed_in.get("/").status == 200  # another page leaves it for the page it is meant for
    assert _stored_flash(octotp, signed_in) == sealed
    shown = new_key(signed_in.get(f"/projects/{project_id}"))
    assert shown is not None
    assert shown.startswith(secret)
    assert _stored_flash(octotp, signed_in) is None  # cleared by the GET that showed it


def test_a_flash_copied_into_another_session_cannot_be_read(
    octotp: Octotp, client: HandlerClient, signed_in: DashboardBrowser, account_email: str
) -> None:
    project_id = _project_id(signed_in.post("/projects", {"csrf_token": signed_in.csrf_token(), "name": "Copied"}))
    sealed = _stored_flash(octotp, signed_in)
    assert sealed is not None
    thief = DashboardBrowser(client, BASE)
    thief.login(account_email, PASSWORD)
    assert octotp.store.set_session_flash(_digest(thief.cookies["octotp_session"]), sealed)
    page = thief.get(f"/projects/{project_id}")
    assert page.status == 200
    assert new_key(page) is None  # sealed under the other session's id
    assert _stored_flash(octotp, thief) is None  # and dropped
    assert new_key(signed_in.get(f"/projects/{project_id}")) is not None  # the owner still gets it


def test_revoking_a_key_of_another_project_is_not_found(octotp: Octotp, signed_in: DashboardBrowser) -> None:
    mine = _project_id(signed_in.post("/projects", {"csrf_token": signed_in.csrf_token(), "name": "Mine"}))
    theirs = octotp.accounts.create_project("Theirs")  # no owner
    target = f"/projects/{mine}/keys/{theirs.api_key.key.id}/revoke"
    assert signed_in.post(target, {"csrf_token": signed_in.csrf_token()}).status == 404
    assert signed_in.get(f"/projects/{theirs.project.id}").status == 404
    assert octotp.store.list_api_keys(theirs.project.id)[0].revoked_at is None


def test_pages_never_show_codes_hashes_or_recipients(octotp: Octotp, signed_in: DashboardBrowser) -> None:
    project_id = _project_id(signed_in.post("/projects", {"csrf_token": signed_in.csrf_token(), "name": "Leaks"}))
    codes = [
        octotp.create_token(project_id, email="alice.wonder@example.com").code,
        octotp.create_token(project_id, phone="+442079460123").code,
    ]
    octotp.validate_token(project_id, email="alice.wonder@example.com", code="0000000000"[: len(codes[0] or "")])
    page = signed_in.get(f"/projects/{project_id}")
    assert page.status == 200
    assert "a***@example.com" in page.text
    assert "+44" in page.text
    stored = octotp.store.list_tokens(project_id)
    text = page.text.replace(project_id, "")
    for token in stored:
        assert token.code_hash not in text
        assert token.recipient_digest not in text
    for code in codes:
        assert code is not None
        assert not re.search(rf"(?<!\d){code}(?!\d)", text)
    assert "alice.wonder" not in text
    assert "2079460123" not in text
    (today,) = octotp.tokens.usage(project_id, octotp.clock.now().date())
    assert today.created == 2
    row = f"<td>{today.created}</td><td>{today.approved}</td><td>{today.failed}</td><td>{today.rate_limited}</td>"
    assert row in page.text


def test_token_statuses(octotp: Octotp, signed_in: DashboardBrowser, clock: FrozenClock) -> None:
    project_id = _project_id(signed_in.post("/projects", {"csrf_token": signed_in.csrf_token(), "name": "St"}))
    approved = octotp.create_token(project_id, email="a@example.com")
    assert approved.code is not None
    octotp.validate_token(project_id, email="a@example.com", code=approved.code)
    octotp.create_token(project_id, email="b@example.com", expires_in=30)
    clock.advance(31)
    octotp.create_token(project_id, email="c@example.com")
    text = signed_in.get(f"/projects/{project_id}").text
    for status in ("approved", "expired", "pending"):
        assert f'class="status-{status}">{status}<' in text


# -- headers, logs ----------------------------------------------------------------------------
def test_head_and_not_found_pages_carry_the_security_headers(browser: DashboardBrowser) -> None:
    head = browser.client.request("HEAD", BASE + "/login", headers={"Host": "testserver"})
    assert head.status == 200
    assert head.body == b""
    assert head.header("x-frame-options") == "DENY"


def test_logs_never_hold_passwords_session_ids_csrf_tokens_or_keys(
    octotp: Octotp, browser: DashboardBrowser, account_email: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="octotp")
    browser.login(account_email, "a wrong password")
    login_cookie = browser.cookies["octotp_login_csrf"]
    browser.login(account_email, PASSWORD)
    session_id = browser.cookies["octotp_session"]
    token = browser.csrf_token()
    secret = new_key(browser.follow(browser.post("/projects", {"csrf_token": token, "name": "Logged"})))
    assert secret is not None
    browser.post("/logout", {"csrf_token": token})
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert re.search(r"dashboard request_id=[0-9a-f]{32} method=POST path=/login status=303", logged)
    for secret_value in (PASSWORD, "a wrong password", login_cookie, session_id, token, secret):
        assert secret_value not in logged
    assert account_email not in logged


def test_flash_sealing_needs_the_same_secret_and_session_and_detects_tampering() -> None:
    from octotp_core.dashboard.flash import seal, unseal

    message = {"project": "p", "key": "octotp_" + "k" * 40}
    sealed = seal(b"secret", "session-one", message)
    assert "octotp_" not in sealed
    assert sealed != seal(b"secret", "session-one", message)  # a fresh nonce each time
    assert unseal(b"secret", "session-one", sealed) == message
    assert unseal(b"secret", "session-two", sealed) is None
    assert unseal(b"rotated", "session-one", sealed) is None
    flipped = sealed[:30] + ("A" if sealed[30] != "A" else "B") + sealed[31:]
    assert unseal(b"secret", "session-one", flipped) is None
    assert unseal(b"secret", "session-one", "not base64!") is None
    assert unseal(b"secret", "session-one", "") is None
