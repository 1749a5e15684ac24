"""The dashboard conformance suite, written once, run against every adapter (like ``contract.py``).

Subclass ``DashboardSuite`` and provide a ``dashboard`` fixture returning a ``MountedDashboard``:
a ``RawClient`` for the host app (full paths, every ``Set-Cookie`` kept), where the dashboard and
the API are mounted, and a way to create accounts in the app's database. Every adapter must pass
it with the same statuses, headers, cookies and pages, because core decides them all.

``DashboardBrowser`` is a small cookie-keeping form client over any ``RawClient``; the core tests
drive ``DashboardHandler`` with it directly.
"""

from __future__ import annotations

import html
import json
import re
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from typing import Any, Protocol
from urllib.parse import urlencode

import pytest

from ..console.host import HostIdentity
from ..store import Account

HOST = "testserver"
SECURITY_HEADERS = {
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
}


@dataclass
class RawResult:
    """One response with every header kept in order (several ``Set-Cookie`` included)."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        """The first header of this name (case-insensitive)."""
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)

    def all(self, name: str) -> list[str]:
        """Every header of this name, in order."""
        return [v for k, v in self.headers if k.lower() == name.lower()]

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


class RawClient(Protocol):
    """Sends one request to the host app; ``path`` is from the app's root, query string included."""

    def request(
        self, method: str, path: str, *, headers: Mapping[str, str] | None = None, body: bytes | None = None
    ) -> RawResult: ...


def hidden_field(page: RawResult | str, name: str) -> str:
    """The value of a hidden input on a page."""
    text = page if isinstance(page, str) else page.text
    match = re.search(rf'<input type="hidden" name="{re.escape(name)}" value="([^"]*)">', text)
    assert match is not None, f"no hidden field {name!r} on the page"
    return html.unescape(match.group(1))


def set_cookie_attributes(header: str) -> dict[str, str]:
    """``name=value; Path=/x; HttpOnly`` → ``{"name": "value", "path": "/x", "httponly": ""}`` (keys lower-cased
    except the cookie's own name)."""
    parts = [p.strip() for p in header.split(";")]
    name, _, value = parts[0].partition("=")
    attributes = {name: value}
    for part in parts[1:]:
        key, _, val = part.partition("=")
        attributes[key.lower()] = val
    return attributes


class HostDriver(Protocol):
    """A test host app's own users and login page, for the dashboard signed in by the host
    (``HostConsoleSuite``). Each adapter's tests implement it for their host app."""

    login_path: str
    """Where the dashboard sends anonymous visitors, from the app's root, without ``?next=``."""

    def create_user(
        self, email: str, password: str, *, permissions: Iterable[str] = (), operator: bool = False
    ) -> HostIdentity:
        """Make a user the host's own way; the identity the adapter will hand the dashboard for it."""
        ...

    def login(self, browser: DashboardBrowser, email: str, password: str) -> RawResult:
        """Sign in on the host's real login page (``browser.request``); the host's answer."""
        ...

    def post_headers(self, browser: DashboardBrowser) -> dict[str, str]:
        """Headers the host's own CSRF protection wants on a POST (Django: ``X-CSRFToken``), or none."""
        ...


class DashboardBrowser:
    """Keeps cookies like a browser, sends ``Host`` (and ``Origin`` on POST) like one, posts forms."""

    def __init__(
        self,
        client: RawClient,
        base: str,
        *,
        host: str = HOST,
        scheme: str = "http",
        host_login: HostDriver | None = None,
    ) -> None:
        self.client, self.base, self.host, self.scheme = client, base.rstrip("/"), host, scheme
        self.cookies: dict[str, str] = {}
        self.host_login = host_login
        """The host app's login, when the host signs the dashboard in: ``login`` goes through it."""

    @property
    def origin(self) -> str:
        return f"{self.scheme}://{self.host}"

    def _headers(self, extra: Mapping[str, str | None] | None) -> dict[str, str]:
        headers: dict[str, str | None] = {"Host": self.host}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        headers.update(extra or {})
        return {k: v for k, v in headers.items() if v is not None}

    def _keep_cookies(self, result: RawResult) -> RawResult:
        for header in result.all("set-cookie"):
            jar: SimpleCookie = SimpleCookie()
            jar.load(header)
            for name, morsel in jar.items():
                if morsel["max-age"] == "0" or not morsel.value:
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value
        return result

    def request(
        self,
        method: str,
        path: str,
        fields: Mapping[str, str] | None = None,
        headers: Mapping[str, str | None] | None = None,
    ) -> RawResult:
        """A request to a path from the app's root (the host's own pages), keeping cookies; with
        ``fields``, a form POST from this browser's origin."""
        extra: dict[str, str | None] = {}
        body = None
        if fields is not None:
            extra = {"Content-Type": "application/x-www-form-urlencoded", "Origin": self.origin}
            body = urlencode(dict(fields)).encode()
        extra.update(headers or {})
        return self._keep_cookies(self.client.request(method, path, headers=self._headers(extra), body=body))

    def get(self, path: str, headers: Mapping[str, str | None] | None = None) -> RawResult:
        """GET a dashboard path ("/login")."""
        return self._keep_cookies(self.client.request("GET", self.base + path, headers=self._headers(headers)))

    def head(self, path: str) -> RawResult:
        """HEAD a dashboard path."""
        return self._keep_cookies(self.client.request("HEAD", self.base + path, headers=self._headers(None)))

    def post(
        self,
        path: str,
        fields: Mapping[str, str | Sequence[str]],
        headers: Mapping[str, str | None] | None = None,
        *,
        origin: bool = True,
    ) -> RawResult:
        """POST a form to a dashboard path, with this browser's ``Origin`` unless ``origin=False``
        (a header given as None is left out). A field given a list is sent once per value (checkboxes)."""
        extra: dict[str, str | None] = {"Content-Type": "application/x-www-form-urlencoded"}
        if origin:
            extra["Origin"] = self.origin
        if self.host_login is not None:
            extra.update(self.host_login.post_headers(self))
        extra.update(headers or {})
        body = urlencode(dict(fields), doseq=True).encode()
        return self._keep_cookies(
            self.client.request("POST", self.base + path, headers=self._headers(extra), body=body)
        )

    def follow(self, result: RawResult) -> RawResult:
        """GET where a 303 answer points (it must point into the dashboard), as a browser would."""
        location = result.header("location") or ""
        assert result.status == 303, (result.status, location)
        assert location.startswith(self.base + "/"), location
        return self.get(location[len(self.base) :])

    def login(self, email: str, password: str) -> RawResult:
        """Open the login page and submit it. With the host's login: sign in on the host's page, then
        open the dashboard (its 303 to the home page, as after octotp's own login)."""
        if self.host_login is not None:
            answer = self.host_login.login(self, email, password)
            assert answer.status in (302, 303), ("the host's login failed", answer.status, answer.text[:300])
            return self.get("")
        page = self.get("/login")
        return self.post(
            "/login", {"csrf_token": hidden_field(page, "csrf_token"), "email": email, "password": password}
        )

    def csrf_token(self) -> str:
        """The signed-in session's CSRF token, read from the projects page."""
        return hidden_field(self.get("/"), "csrf_token")


@dataclass
class MountedDashboard:
    """A host app with octotp (API and dashboard) mounted, as the suite sees it."""

    client: RawClient
    base: str
    """Where the dashboard is, from the app's root ("/octotp/dashboard")."""
    api_prefix: str
    """Where the API is, from the app's root ("/octotp"; "" at the root)."""
    create_account: Callable[[str, str], Account]
    """Makes a user who may create projects: an octotp account, or with ``host`` a host user with
    ``add_project`` (and returns the account that stands for it, ``AccountService.host_account``)."""
    extra: dict[str, Any] = field(default_factory=dict)
    octotp: Any = None
    """The app's ``Octotp`` (its store, services and clock), for what a suite sets up behind the pages:
    an operator account, an advanced ``FrozenClock``."""
    host: HostDriver | None = None
    """Set when the host app signs the dashboard in (``HostConsoleSuite``)."""

    def browser(self) -> DashboardBrowser:
        return DashboardBrowser(self.client, self.base, host_login=self.host)

    def create_token(self, api_key: str, project_id: str, email: str) -> RawResult:
        body = json.dumps({"projectId": project_id, "recipientEmail": email}).encode()
        headers = {"Host": HOST, "Content-Type": "application/json", "X-Api-Key": api_key}
        return self.client.request("POST", self.api_prefix + "/api/tokens", headers=headers, body=body)


PASSWORD = "correct horse battery staple"  # noqa: S105 - a test account's password


def _email() -> str:
    return f"owner-{uuid.uuid4().hex[:10]}@example.com"


NEW_KEY = re.compile(r'<code id="new-api-key">(octotp_\w+)</code>')
PROJECT_ID = re.compile(r'<code id="project-id">([0-9a-f-]{36})</code>')


SVG = "http://www.w3.org/2000/svg"
SNIPPET = re.compile(r'<details class="snippet" id="snippet-(\w+)".*?<pre><code[^>]*>(.*?)</code></pre>', re.S)


def usage_chart_svg(page: str) -> ET.Element:
    """The usage chart on a project page, parsed."""
    found = re.search(r'<svg xmlns="http://www.w3.org/2000/svg".*?</svg>', page, re.S)
    assert found is not None, "no usage chart on the page"
    return ET.fromstring(found.group(0))  # noqa: S314 - the page of the server under test


def chart_points(svg: ET.Element, series: str) -> list[str]:
    """The tooltips of one series' points, oldest day first ("2026-02-14: 3 created")."""
    group = svg.find(f"{{{SVG}}}g[@class='series series-{series}']")
    assert group is not None, series
    return [t.text or "" for t in group.findall(f"*[@class='point']/{{{SVG}}}title")]


def new_key(page: RawResult) -> str | None:
    """The API key a page shows once, if it shows one."""
    found = NEW_KEY.search(page.text)
    return found.group(1) if found else None


def project_id(page: RawResult) -> str:
    """The id on a project's page."""
    found = PROJECT_ID.search(page.text)
    assert found is not None, "not a project page"
    return found.group(1)


def assert_security_headers(result: RawResult) -> None:
    """The headers every dashboard answer carries."""
    for name, value in SECURITY_HEADERS.items():
        assert result.header(name) == value, (name, result.headers)
    csp = result.header("content-security-policy") or ""
    assert "default-src 'self'" in csp, csp
    assert "frame-ancestors 'none'" in csp, csp


class DashboardSuite:
    """What every adapter's dashboard must answer, identically."""

    @pytest.fixture
    def dashboard(self) -> MountedDashboard:
        raise NotImplementedError("provide a `dashboard` fixture returning MountedDashboard")

    @pytest.fixture
    def owner(self, dashboard: MountedDashboard) -> tuple[str, DashboardBrowser]:
        """A signed-in browser of a fresh account: (email, browser)."""
        email = _email()
        dashboard.create_account(email, PASSWORD)
        browser = dashboard.browser()
        assert browser.login(email, PASSWORD).status == 303
        return email, browser

    def test_signed_out_pages_redirect_to_login(self, dashboard: MountedDashboard) -> None:
        browser = dashboard.browser()
        bare = browser.get("")
        assert (bare.status, bare.header("location")) == (303, dashboard.base + "/")
        home = browser.get("/")
        assert (home.status, home.header("location")) == (303, dashboard.base + "/login")
        assert_security_headers(home)

    def test_login_page_headers_and_csrf_cookie(self, dashboard: MountedDashboard) -> None:
        page = dashboard.browser().get("/login")
        assert page.status == 200
        assert page.header("content-type") == "text/html; charset=utf-8"
        assert page.header("cache-control") == "no-store"
        assert_security_headers(page)
        (cookie,) = page.all("set-cookie")
        attributes = set_cookie_attributes(cookie)
        assert len(attributes["octotp_login_csrf"]) == 43
        assert attributes["path"] == dashboard.base
        assert "httponly" in attributes
        assert attributes["samesite"] == "Lax"
        assert "secure" not in attributes
        assert f'action="{dashboard.base}/login"' in page.text
        css = dashboard.browser().get("/static/dashboard.css")
        assert (css.status, css.header("content-type")) == (200, "text/css; charset=utf-8")

    def test_every_page_carries_a_request_id(self, dashboard: MountedDashboard) -> None:
        browser = dashboard.browser()
        pages = [browser.get("/login"), browser.get("/"), browser.get("/nowhere"), browser.post("/login", {})]
        ids = [page.header("x-request-id") for page in pages]
        assert all(ids), ids
        assert len(set(ids)) == len(ids), ids
        traced = browser.get("/login", headers={"X-Request-Id": "trace-1234"})
        assert traced.header("x-request-id") == "trace-1234"  # the caller's id, when it is a safe token
        unsafe = browser.get("/login", headers={"X-Request-Id": "not a safe id!"})
        assert unsafe.header("x-request-id") not in (None, "not a safe id!")

    def test_login_sets_a_session_cookie_and_logout_ends_it(self, dashboard: MountedDashboard) -> None:
        email = _email()
        dashboard.create_account(email, PASSWORD)
        browser = dashboard.browser()
        result = browser.login(email, PASSWORD)
        assert (result.status, result.header("location")) == (303, dashboard.base + "/")
        session_id = browser.cookies["octotp_session"]
        assert len(session_id) >= 43  # 256 random bits
        (cookie,) = [c for c in result.all("set-cookie") if c.startswith("octotp_session=")]
        attributes = set_cookie_attributes(cookie)
        assert attributes["path"] == dashboard.base
        assert "httponly" in attributes
        assert attributes["samesite"] == "Lax"
        assert "octotp_login_csrf" not in browser.cookies  # spent
        home = browser.get("/")
        assert home.status == 200
        assert email in home.text
        assert browser.post("/logout", {"csrf_token": hidden_field(home, "csrf_token")}).header("location") == (
            dashboard.base + "/login"
        )
        assert "octotp_session" not in browser.cookies
        browser.cookies["octotp_session"] = session_id  # an old copy of the cookie no longer works
        assert browser.get("/").status == 303

    def test_unknown_email_and_wrong_password_answer_the_same(self, dashboard: MountedDashboard) -> None:
        email = _email()
        dashboard.create_account(email, PASSWORD)
        answers = []
        for tried in (email, _email()):
            browser = dashboard.browser()
            result = browser.login(tried, "not the password")
            assert result.status == 200
            assert "Invalid email or password." in result.text
            assert "octotp_session" not in browser.cookies
            answers.append(result.text.replace(tried, "EMAIL").replace(hidden_field(result, "csrf_token"), "TOKEN"))
        assert answers[0] == answers[1]

    def test_posts_without_csrf_token_or_from_another_site_are_refused(
        self, dashboard: MountedDashboard, owner: tuple[str, DashboardBrowser]
    ) -> None:
        _, browser = owner
        token = browser.csrf_token()
        cases: list[tuple[dict[str, str], dict[str, str | None]]] = [
            ({"name": "no token"}, {}),
            ({"name": "wrong token", "csrf_token": "x" * 43}, {}),
            ({"name": "cross site", "csrf_token": token}, {"Origin": "https://evil.example"}),
            ({"name": "cross referer", "csrf_token": token}, {"Origin": None, "Referer": "https://evil.example/x"}),
        ]
        for fields, headers in cases:
            refused = browser.post("/projects", fields, headers)
            assert refused.status == 403, fields
            assert_security_headers(refused)
        assert "no token" not in browser.get("/").text
        assert "cross site" not in browser.get("/").text
        anonymous = dashboard.browser()
        anonymous.get("/login")
        assert anonymous.post("/login", {"email": "a@example.com", "password": "x"}).status == 403

    def test_project_key_token_and_revocation(
        self, dashboard: MountedDashboard, owner: tuple[str, DashboardBrowser]
    ) -> None:
        _, browser = owner
        posted = browser.post("/projects", {"csrf_token": browser.csrf_token(), "name": "Shop <b>", "plan": "free"})
        assert posted.status == 303
        created = browser.follow(posted)
        assert created.status == 200
        assert "Shop &lt;b&gt;" in created.text
        assert "Shop <b>" not in created.text
        key = new_key(created)
        assert key is not None
        pid = project_id(created)
        page_path = f"/projects/{pid}"
        assert posted.header("location") == dashboard.base + page_path
        page = browser.get(page_path)
        assert page.status == 200
        assert key not in page.text
        assert key[:12] in page.text  # the prefix identifies it

        token = dashboard.create_token(key, pid, "jane.doe@example.com")
        assert token.status == 201, token.body
        code = json.loads(token.body)["code"]
        page = browser.get(page_path)
        assert "j***@example.com" in page.text
        assert "jane.doe" not in page.text
        assert code not in page.text.replace(pid, "")
        assert "argon2" not in page.text
        assert "hmac-sha256" not in page.text

        key_id = re.search(rf"{page_path}/keys/([0-9a-f-]{{36}})/revoke", page.text)
        assert key_id is not None
        revoked = browser.post(f"{page_path}/keys/{key_id.group(1)}/revoke", {"csrf_token": browser.csrf_token()})
        assert (revoked.status, revoked.header("location")) == (303, dashboard.base + page_path)
        assert "revoked" in browser.get(page_path).text
        again = dashboard.create_token(key, pid, "jane.doe@example.com")
        assert again.status == 401

    def test_usage_includes_counts_not_yet_written_and_says_how_fresh_it_is(
        self, dashboard: MountedDashboard, owner: tuple[str, DashboardBrowser]
    ) -> None:
        """Usage counters are added up in memory (``UsageMeter``): the page writes this process's
        first, so a code created and approved just now is counted, and it says how current it is."""
        _, browser = owner
        created = browser.follow(browser.post("/projects", {"csrf_token": browser.csrf_token(), "name": "Usage"}))
        key, pid = new_key(created), project_id(created)
        assert key is not None
        token = dashboard.create_token(key, pid, "jane.doe@example.com")
        assert token.status == 201, token.body
        code = json.loads(token.body)["code"]
        body = json.dumps({"projectId": pid, "recipientEmail": "jane.doe@example.com", "code": code})
        headers = {"Host": HOST, "Content-Type": "application/json", "X-Api-Key": key}
        validated = dashboard.client.request(
            "POST", dashboard.api_prefix + "/api/tokens/validate", headers=headers, body=body.encode()
        )
        assert json.loads(validated.body)["status"] == "approved"
        page = browser.get(f"/projects/{pid}").text
        day_row = r'<tr><th scope="row">\d{4}-\d\d-\d\d</th><td>1</td><td>1</td><td>0</td><td>0</td></tr>'
        assert re.search(day_row, page), page
        assert 'id="usage-freshness"' in page
        assert "this server process" in page

    def test_project_page_charts_usage_as_svg_and_table(
        self, dashboard: MountedDashboard, owner: tuple[str, DashboardBrowser]
    ) -> None:
        """A token created through the API shows in the usage chart (a server-rendered SVG), the
        approval rate and the table that carries the same numbers for screen readers."""
        _, browser = owner
        created = browser.follow(browser.post("/projects", {"csrf_token": browser.csrf_token(), "name": "Chart"}))
        key, pid = new_key(created), project_id(created)
        assert key is not None
        empty = usage_chart_svg(created.text)
        assert chart_points(empty, "created")[-1].endswith(": 0 created")
        assert "Approval rate (approved ÷ created): <strong>—</strong>" in created.text
        token = dashboard.create_token(key, pid, "jane.doe@example.com")
        assert token.status == 201, token.body
        page = browser.get(f"/projects/{pid}").text
        svg = usage_chart_svg(page)
        assert svg.get("role") == "img"
        title = svg.find(f"{{{SVG}}}title")
        assert title is not None
        assert svg.get("aria-labelledby") == title.get("id")
        for name in ("created", "approved", "failed", "rate_limited"):
            assert len(chart_points(svg, name)) == 30, name  # every day of the 30, zero-filled
        created_points = chart_points(svg, "created")
        assert created_points[-1].endswith(": 1 created")  # today, UTC
        assert all(p.endswith(": 0 created") for p in created_points[:-1])
        # The default plan (free) states 10,000 creations a month: its daily share is drawn.
        limit = svg.find(f"{{{SVG}}}g[@class='limit']")
        assert limit is not None
        assert "".join(limit.itertext()) == "Plan free, 10,000 a month: 333"
        assert "Approval rate (approved ÷ created): <strong>0.0%</strong> (0 approved of 1 created)" in page
        assert '<tr><th scope="row">Total</th><td>1</td><td>0</td><td>0</td><td>0</td></tr>' in page
        assert "<caption>Tokens per day" in page

    def test_project_page_offers_snippets_with_the_project_id(
        self, dashboard: MountedDashboard, owner: tuple[str, DashboardBrowser]
    ) -> None:
        """curl, Python and JavaScript snippets with this project's id and the API's URL as the browser
        reached it (mount prefix included); the API key is never in them."""
        _, browser = owner
        created = browser.follow(browser.post("/projects", {"csrf_token": browser.csrf_token(), "name": "Snip"}))
        key, pid = new_key(created), project_id(created)
        assert key is not None
        for page in (created.text, browser.get(f"/projects/{pid}").text):
            found = dict(SNIPPET.findall(page))
            assert set(found) == {"curl", "python", "javascript"}
            for name, code in found.items():
                text = html.unescape(code)
                assert "<" not in code  # escaped: whatever a snippet holds, it is text on the page
                assert pid in text, name
                assert f"http://{HOST}{dashboard.api_prefix}" in text, name
                assert key not in text, name
                assert "OCTOTP_API_KEY" in text, name

    def test_new_keys_post_redirect_get_and_show_once(
        self, dashboard: MountedDashboard, owner: tuple[str, DashboardBrowser]
    ) -> None:
        email, browser = owner
        posted = browser.post("/projects", {"csrf_token": browser.csrf_token(), "name": "PRG"})
        assert posted.status == 303
        assert new_key(posted) is None
        assert "octotp_" not in (posted.header("location") or "")
        assert not [c for c in posted.all("set-cookie") if "octotp_" in c.partition("=")[2]]  # no key in a cookie
        path = (posted.header("location") or "")[len(dashboard.base) :]
        other = dashboard.browser()  # another session of the same account
        assert other.login(email, PASSWORD).status == 303
        assert other.get(path).status == 200
        assert new_key(other.get(path)) is None  # never another session's flash ...
        shown = browser.get(path)
        first_key = new_key(shown)  # ... which is still there for its own session, once
        assert first_key is not None
        assert new_key(browser.get(path)) is None  # a reload shows nothing
        assert browser.get("/").text.count(">PRG<") == 1  # and created nothing
        assert dashboard.create_token(first_key, project_id(shown), "a@example.com").status == 201

        added = browser.post(f"{path}/keys", {"csrf_token": browser.csrf_token(), "name": "second"})
        assert (added.status, added.header("location")) == (303, dashboard.base + path)
        assert new_key(added) is None
        head = browser.head(path)
        assert (head.status, head.body) == (200, b"")  # HEAD does not spend the key
        second_key = new_key(browser.get(path))
        assert second_key is not None
        assert second_key != first_key
        reloaded = browser.get(path)
        assert new_key(reloaded) is None
        assert reloaded.text.count("<td>second</td>") == 1
        assert dashboard.create_token(second_key, project_id(shown), "b@example.com").status == 201

    def test_another_accounts_project_is_not_found(
        self, dashboard: MountedDashboard, owner: tuple[str, DashboardBrowser]
    ) -> None:
        _, browser = owner
        created = browser.follow(browser.post("/projects", {"csrf_token": browser.csrf_token(), "name": "Mine"}))
        pid = project_id(created)
        other_email = _email()
        dashboard.create_account(other_email, PASSWORD)
        other = dashboard.browser()
        other.login(other_email, PASSWORD)
        assert "Mine" not in other.get("/").text
        assert other.get(f"/projects/{pid}").status == 404
        token = other.csrf_token()
        renamed = other.post(f"/projects/{pid}/settings", {"csrf_token": token, "name": "Stolen"})
        assert renamed.status == 404
        assert other.post(f"/projects/{pid}/keys", {"csrf_token": token}).status == 404
        assert "Mine" in browser.get(f"/projects/{pid}").text

    def test_unknown_page_and_wrong_method(self, dashboard: MountedDashboard) -> None:
        browser = dashboard.browser()
        missing = browser.get("/nothing-here")
        assert missing.status == 404
        assert missing.header("content-type") == "text/html; charset=utf-8"
        assert_security_headers(missing)
        wrong = browser.get("/logout")
        assert (wrong.status, wrong.header("allow")) == (405, "POST")
