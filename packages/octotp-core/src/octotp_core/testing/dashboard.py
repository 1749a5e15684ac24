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
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from typing import Any, Protocol
from urllib.parse import urlencode

import pytest

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


class DashboardBrowser:
    """Keeps cookies like a browser, sends ``Host`` (and ``Origin`` on POST) like one, posts forms."""

    def __init__(self, client: RawClient, base: str, *, host: str = HOST, scheme: str = "http") -> None:
        self.client, self.base, self.host, self.scheme = client, base.rstrip("/"), host, scheme
        self.cookies: dict[str, str] = {}

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

    def get(self, path: str, headers: Mapping[str, str | None] | None = None) -> RawResult:
        """GET a dashboard path ("/login")."""
        return self._keep_cookies(self.client.request("GET", self.base + path, headers=self._headers(headers)))

    def post(
        self,
        path: str,
        fields: Mapping[str, str],
        headers: Mapping[str, str | None] | None = None,
        *,
        origin: bool = True,
    ) -> RawResult:
        """POST a form to a dashboard path, with this browser's ``Origin`` unless ``origin=False``
        (a header given as None is left out)."""
        extra: dict[str, str | None] = {"Content-Type": "application/x-www-form-urlencoded"}
        if origin:
            extra["Origin"] = self.origin
        extra.update(headers or {})
        body = urlencode(dict(fields)).encode()
        return self._keep_cookies(
            self.client.request("POST", self.base + path, headers=self._headers(extra), body=body)
        )

    def login(self, email: str, password: str) -> RawResult:
        """Open the login page and submit it."""
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
    extra: dict[str, Any] = field(default_factory=dict)

    def browser(self) -> DashboardBrowser:
        return DashboardBrowser(self.client, self.base)

    def create_token(self, api_key: str, project_id: str, email: str) -> RawResult:
        body = json.dumps({"projectId": project_id, "recipientEmail": email}).encode()
        headers = {"Host": HOST, "Content-Type": "application/json", "X-Api-Key": api_key}
        return self.client.request("POST", self.api_prefix + "/api/tokens", headers=headers, body=body)


PASSWORD = "correct horse battery staple"  # noqa: S105 - a test account's password


def _email() -> str:
    return f"owner-{uuid.uuid4().hex[:10]}@example.com"


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
        created = browser.post("/projects", {"csrf_token": browser.csrf_token(), "name": "Shop <b>", "plan": "free"})
        assert created.status == 201
        assert "Shop &lt;b&gt;" in created.text
        assert "Shop <b>" not in created.text
        key = re.search(r'<code id="new-api-key">(octotp_\w+)</code>', created.text)
        assert key is not None
        project_id = re.search(r'<code id="project-id">([0-9a-f-]{36})</code>', created.text)
        assert project_id is not None
        page_path = f"/projects/{project_id.group(1)}"
        page = browser.get(page_path)
        assert page.status == 200
        assert key.group(1) not in page.text
        assert key.group(1)[:12] in page.text  # the prefix identifies it

        token = dashboard.create_token(key.group(1), project_id.group(1), "jane.doe@example.com")
        assert token.status == 201, token.body
        code = json.loads(token.body)["code"]
        page = browser.get(page_path)
        assert "j***@example.com" in page.text
        assert "jane.doe" not in page.text
        assert code not in page.text.replace(project_id.group(1), "")
        assert "argon2" not in page.text
        assert "hmac-sha256" not in page.text

        key_id = re.search(rf"{page_path}/keys/([0-9a-f-]{{36}})/revoke", page.text)
        assert key_id is not None
        revoked = browser.post(f"{page_path}/keys/{key_id.group(1)}/revoke", {"csrf_token": browser.csrf_token()})
        assert (revoked.status, revoked.header("location")) == (303, dashboard.base + page_path)
        assert "revoked" in browser.get(page_path).text
        again = dashboard.create_token(key.group(1), project_id.group(1), "jane.doe@example.com")
        assert again.status == 401

    def test_another_accounts_project_is_not_found(
        self, dashboard: MountedDashboard, owner: tuple[str, DashboardBrowser]
    ) -> None:
        _, browser = owner
        created = browser.post("/projects", {"csrf_token": browser.csrf_token(), "name": "Mine"})
        project_id = re.search(r'<code id="project-id">([0-9a-f-]{36})</code>', created.text)
        assert project_id is not None
        other_email = _email()
        dashboard.create_account(other_email, PASSWORD)
        other = dashboard.browser()
        other.login(other_email, PASSWORD)
        assert "Mine" not in other.get("/").text
        assert other.get(f"/projects/{project_id.group(1)}").status == 404
        token = other.csrf_token()
        renamed = other.post(f"/projects/{project_id.group(1)}/settings", {"csrf_token": token, "name": "Stolen"})
        assert renamed.status == 404
        assert other.post(f"/projects/{project_id.group(1)}/keys", {"csrf_token": token}).status == 404
        assert "Mine" in browser.get(f"/projects/{project_id.group(1)}").text

    def test_unknown_page_and_wrong_method(self, dashboard: MountedDashboard) -> None:
        browser = dashboard.browser()
        missing = browser.get("/nothing-here")
        assert missing.status == 404
        assert missing.header("content-type") == "text/html; charset=utf-8"
        assert_security_headers(missing)
        wrong = browser.get("/logout")
        assert (wrong.status, wrong.header("allow")) == (405, "POST")
