"""The console's whole journey in a real browser, as a stranger and their team live it: JavaScript
disabled, every page held to ``check_page`` at 390 px (no serious or critical axe-core finding, no
sideways scrolling, a screenshot when ``OCTOTP_TEST_SCREENSHOTS`` is set), every email read from a
real SMTP server (aiosmtpd, ``Mailbox``), every API call over HTTP.

Against ``octotp serve`` with open sign-up: the landing page → sign up → verify by the emailed code
→ a project and its key → a token created through the API with that key, found in the token list, by
a search for its exact recipient, and in the usage chart → a viewer invited by email, who signs up
from the link in a second browser, sees the project and cannot manage keys (no form; a POST with a
valid CSRF token answers 403) → the owner resets the password by emailed code, signed out, and logs
in with the new one → the audit logs show every step.

Then the journey's core (sign up → verify → project → key → token listed) on a Flask host app
(``flask_host.py``) served by a WSGI server in a thread.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from octotp_core.testing.http_clients import UrlClient
from octotp_core.testing.mailbox import Mailbox
from octotp_core.testing.servers import ServeProcess, ThreadedWsgi

from .conftest import NARROW_VIEWPORT, WIDE_VIEWPORT
from .counts import expect_count
from .flask_host import create_host_app

pytestmark = pytest.mark.xdist_group("browser")

CheckPage = Callable[[Any, str], list[dict[str, Any]]]

OWNER = "Owner.Of.The.Storefront@customer-example.com"
"""Mixed case on purpose: every step must find the account by its normalised address."""
OWNER_NORMALISED = OWNER.lower()
VIEWER = "viewer.on.the.team@customer-example.com"
PASSWORD = "mulberry-quartz-lantern-91"
NEW_PASSWORD = "harbour-violet-compass-27"
VIEWER_PASSWORD = "saffron-glacier-tandem-58"
PROJECT = "Checkout verification for the mobile storefront"
RECIPIENT = "jane.doe+checkout@shopper-example.com"
PROJECT_URL = re.compile(r".*/dashboard/projects/(?P<id>[0-9a-f-]{36})$")


@dataclass
class Visit:
    """One browser (a context of its own: its cookies) on the console under ``base``."""

    page: Any
    origin: str
    """``http://127.0.0.1:PORT``"""
    prefix: str
    """The console's path (``/dashboard``, ``/octotp/dashboard``): its forms' actions start with it."""
    check_page: CheckPage
    host: str = ""
    """Prefixes the screenshots' names (``flask-``), so each host's pictures keep their own names."""

    @property
    def base(self) -> str:
        """The console's address."""
        return self.origin + self.prefix

    def check(self, step: str) -> None:
        """The quality bars on what the page shows now, named ``<host><step>-<width>``."""
        self.check_page(self.page, f"{self.host}{step}-{self.page.viewport_size['width']}")

    def at_both_widths(self, step: str) -> None:
        """``check`` at 390 px, then again at 1280 px, then back (the same page, re-laid out)."""
        self.check(step)
        self.page.set_viewport_size(WIDE_VIEWPORT)
        try:
            self.check(step)
        finally:
            self.page.set_viewport_size(NARROW_VIEWPORT)

    def heading(self) -> str:
        return str(self.page.locator("h1").inner_text())

    def submit(self, button: str) -> None:
        """Click the submit button named ``button`` and wait for the answer (a POST, maybe a redirect)."""
        with self.page.expect_navigation():
            self.page.get_by_role("button", name=button, exact=True).click()

    def form(self, action: str) -> Any:
        """The form posting to ``action`` (a path under ``base``)."""
        return self.page.locator(f"form[action='{self.prefix}{action}']")

    def hidden(self, form_action: str, name: str) -> str:
        """A hidden field of the form posting to ``form_action`` (a path under ``base``)."""
        value = self.form(form_action).locator(f"input[name={name}]").get_attribute("value")
        assert value, f"no {name} in the form posting to {form_action}"
        return str(value)


def create_token(api: str, api_key: str, project_id: str, recipient: str) -> dict[str, Any]:
    """A token created through the API over HTTP with the project's key (201 asserted)."""
    body = json.dumps({"projectId": project_id, "recipientEmail": recipient}).encode()
    result = UrlClient(api).request(
        "POST", "/api/tokens", headers={"X-Api-Key": api_key, "Content-Type": "application/json"}, body=body
    )
    assert result.status == 201, result.json()
    created: dict[str, Any] = result.json()
    return created


def validate_token(api: str, api_key: str, project_id: str, recipient: str, code: str) -> int:
    """The status of a validate over HTTP."""
    body = json.dumps({"projectId": project_id, "recipientEmail": recipient, "code": code}).encode()
    result = UrlClient(api).request(
        "POST", "/api/tokens/validate", headers={"X-Api-Key": api_key, "Content-Type": "application/json"}, body=body
    )
    return result.status


# -- the steps every host goes through ------------------------------------------------------------
def sign_up_and_verify(visit: Visit, mailbox: Mailbox, email: str, password: str) -> None:
    """The sign-up page → the verify page → the emailed code (with the password) → the projects page."""
    page = visit.page
    page.goto(f"{visit.base}/signup")
    assert visit.heading() == "Create an account"
    visit.check("signup")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    page.fill("input[name=password_confirm]", password)
    visit.submit("Sign up")
    assert page.url.startswith(f"{visit.base}/verify")
    assert visit.heading() == "Verify your email"
    form = visit.form("/verify")
    assert form.locator("input[name=email]").input_value() == email.lower()
    visit.check("verify")

    code = mailbox.code_for(email.lower())
    assert code not in page.content()
    form.locator("input[name=code]").fill(code)
    form.locator("input[name=password]").fill(password)
    visit.submit("Verify")
    assert page.url == f"{visit.base}/"
    assert visit.heading() == "Projects"
    assert email.lower() in page.locator("header").inner_text()


def create_project(visit: Visit) -> tuple[str, str]:
    """A project from the projects page: its id and the API key its page shows once."""
    page = visit.page
    visit.check("projects-empty")
    page.fill("input[name=name]", PROJECT)
    visit.submit("Create project")
    found = PROJECT_URL.match(page.url)
    assert found is not None, page.url
    api_key = str(page.locator("#new-api-key").inner_text())
    assert api_key.startswith("octotp_")
    assert page.locator("#project-id").inner_text() == found.group("id")
    visit.check("project-new-key")
    return found.group("id"), api_key


def create_key(visit: Visit, project_id: str, name: str) -> str:
    """A second key, named, from the project page's form: the key its page shows once."""
    page = visit.page
    page.goto(f"{visit.base}/projects/{project_id}")
    visit.form(f"/projects/{project_id}/keys").locator("input[name=name]").fill(name)
    visit.submit("Create API key")
    api_key = str(page.locator("#new-api-key").inner_text())
    assert api_key.startswith("octotp_")
    assert name in page.locator("#api-keys").inner_text()
    page.reload()
    assert api_key not in page.content()
    return api_key


def token_listed(visit: Visit, project_id: str, token: dict[str, Any]) -> None:
    """The token is on the project page, masked, without its code."""
    page = visit.page
    page.goto(f"{visit.base}/projects/{project_id}")
    recent = str(page.locator("#tokens").inner_text())
    assert "j***@shopper-example.com" in recent
    assert RECIPIENT not in page.content()
    assert token["code"] not in page.content().replace(project_id, "")


# -- octotp serve ---------------------------------------------------------------------------------
def test_the_console_journey_on_octotp_serve(
    chromium: Any, check_page: CheckPage, mailbox: Mailbox, tmp_path: Path, test_secret: str
) -> None:
    env = {
        "OCTOTP_DATA_DIR": str(tmp_path),
        "OCTOTP_SECRET_KEY": test_secret,
        "OCTOTP_DASHBOARD_SIGNUP": "open",
        "OCTOTP_API_KEY_CACHE_SECONDS": "0",
        **mailbox.delivery_environment,
    }
    # Three browsers with cookies of their own: the owner's, the viewer's, the owner's second device.
    contexts = [chromium.new_context(viewport=NARROW_VIEWPORT, java_script_enabled=False) for _ in range(3)]
    try:
        with ServeProcess(env) as server:
            owner, viewer, elsewhere = (Visit(c.new_page(), server.url, "/dashboard", check_page) for c in contexts)
            for visit in (owner, viewer, elsewhere):
                visit.page.set_default_timeout(15_000)
            journey_on_serve(server, owner, viewer, elsewhere, mailbox)
            log = server.output()
    finally:
        for context in contexts:
            context.close()
    # Nothing the journey typed or was mailed reaches the server's log.
    for secret in (PASSWORD, NEW_PASSWORD, VIEWER_PASSWORD, RECIPIENT, OWNER_NORMALISED, VIEWER):
        assert secret not in log, f"{secret!r} in the server's log"


def log_in(visit: Visit, email: str, password: str) -> None:
    """The login form, filled and sent."""
    visit.page.goto(f"{visit.base}/login")
    visit.page.fill("input[name=email]", email)
    visit.page.fill("input[name=password]", password)
    visit.submit("Log in")


def journey_on_serve(server: ServeProcess, owner: Visit, viewer: Visit, elsewhere: Visit, mailbox: Mailbox) -> None:
    page, base = owner.page, owner.base

    # The landing page: what octotp does, the plans, and the way in.
    page.goto(server.url + "/")
    assert page.get_by_role("link", name="Sign up").count() >= 1
    owner.at_both_widths("landing")
    with page.expect_navigation():
        page.get_by_role("link", name="Sign up").first.click()
    assert page.url == f"{base}/signup"

    sign_up_and_verify(owner, mailbox, OWNER, PASSWORD)
    project_id, first_key = create_project(owner)
    api_key = create_key(owner, project_id, "storefront backend")
    owner.at_both_widths("project")

    # A token through the API with the new key; it is validated with its code, so the chart has both.
    token = create_token(server.url, api_key, project_id, RECIPIENT)
    assert validate_token(server.url, api_key, project_id, RECIPIENT, token["code"]) == 200
    token_listed(owner, project_id, token)
    described = str(page.locator("#usage-section svg desc").text_content())
    assert "1 created, 1 approved" in described, described
    assert page.locator("#usage tfoot").inner_text().split()[1:3] == ["1", "1"]
    owner.check("project-with-usage")

    # The plans page: the project's plan and this month's use against it.
    page.get_by_role("link", name="Plans").first.click()
    page.wait_for_url(f"{base}/plans")
    used = str(page.locator(f"#plan-use-{project_id} .month-use-text").inner_text())
    assert used.startswith("1 of "), used
    owner.check("plans")

    # The token list, and a search by the exact recipient (its digest: the address is never stored).
    page.goto(f"{base}/projects/{project_id}/tokens")
    assert "j***@shopper-example.com" in page.locator("#tokens").inner_text()
    owner.check("tokens")
    page.fill("input[name=recipient]", RECIPIENT.upper())
    owner.submit("Search")
    assert RECIPIENT not in page.url
    rows = page.locator("#tokens tbody tr")
    expect_count(rows, 1)
    assert "j***@shopper-example.com" in rows.inner_text()
    owner.check("tokens-search")
    page.fill("input[name=recipient]", "someone.else@shopper-example.com")
    owner.submit("Search")
    assert page.locator("#no-tokens").inner_text() == "No token matches."

    # Invite a viewer by email.
    page.goto(f"{base}/projects/{project_id}/members")
    assert owner.heading() == "Members"
    invite = owner.form(f"/projects/{project_id}/invitations")
    invite.locator("input[name=email]").fill(VIEWER)
    invite.locator("select[name=role]").select_option("viewer")
    owner.submit("Send invitation")
    assert VIEWER in page.locator("main").inner_text()
    owner.check("members")

    # The viewer, in a browser of their own, signs up from the link in the email.
    link = mailbox.link_for(VIEWER)
    assert link.startswith(f"{base}/invitations/")
    viewer.page.goto(link)
    assert viewer.heading() == f"Join {PROJECT}"
    assert viewer.page.locator("#invited-role").inner_text() == "viewer"
    viewer.check("invitation")
    viewer.page.fill("input[name=password]", VIEWER_PASSWORD)
    viewer.page.fill("input[name=password_confirm]", VIEWER_PASSWORD)
    viewer.submit("Create account and join")
    viewer.page.goto(f"{base}/")
    assert PROJECT in viewer.page.locator("main table").inner_text()
    viewer.page.goto(f"{base}/projects/{project_id}")
    assert viewer.page.locator("#project-id").inner_text() == project_id
    assert "j***@shopper-example.com" in viewer.page.locator("#tokens").inner_text()
    viewer.check("project-as-viewer")

    # A viewer cannot manage keys: no form to create or revoke one, and the server refuses the POST
    # itself, sent with the session's valid CSRF token (taken from the page's log-out form).
    viewer.page.wait_for_load_state()
    expect_count(viewer.page.locator(f"form[action='{owner.prefix}/projects/{project_id}/keys']"), 0)
    expect_count(viewer.page.locator("a[href$='/revoke']"), 0)
    csrf = viewer.hidden("/logout", "csrf_token")
    refused = viewer.page.request.post(
        f"{base}/projects/{project_id}/keys",
        form={"csrf_token": csrf, "name": "not allowed"},
        headers={"Origin": server.url},
        max_redirects=0,
    )
    assert refused.status == 403, refused.text()
    assert "Not allowed" in refused.text()
    owner.page.goto(f"{base}/projects/{project_id}")
    assert "not allowed" not in owner.page.locator("#api-keys").inner_text()

    # The owner forgets the password: signed out, a code by email, a new password, every session ends
    # (the one on a second device too).
    log_in(elsewhere, OWNER, PASSWORD)
    assert elsewhere.page.url == f"{base}/"
    owner.page.get_by_role("button", name="Log out").click()
    page.wait_for_url(f"{base}/login")
    page.get_by_role("link", name=re.compile("forgot|reset", re.IGNORECASE)).first.click()
    page.wait_for_url(f"{base}/reset")
    assert owner.heading() == "Reset your password"
    owner.check("reset")
    sent_before = len(mailbox.to(OWNER_NORMALISED))
    page.fill("input[name=email]", OWNER)
    owner.submit("Send a code")
    assert page.url == f"{base}/reset/code"
    owner.check("reset-code")
    code = mailbox.code_for(OWNER_NORMALISED, after=sent_before)
    page.fill("input[name=code]", code)
    page.fill("input[name=password]", NEW_PASSWORD)
    page.fill("input[name=password_confirm]", NEW_PASSWORD)
    owner.submit("Set the new password")
    assert page.url == f"{base}/reset/done"
    owner.check("reset-done")
    elsewhere.page.goto(f"{base}/projects/{project_id}")
    assert elsewhere.page.url.startswith(f"{base}/login")

    # The old password no longer opens the account; the new one does.
    log_in(owner, OWNER, PASSWORD)
    assert "Invalid email or password." in page.locator(".error").inner_text()
    log_in(owner, OWNER, NEW_PASSWORD)
    assert page.url == f"{base}/"
    assert PROJECT in page.locator("main table").inner_text()

    # The audit logs tell the story: the project's, and the account's own.
    page.goto(f"{base}/projects/{project_id}/audit")
    project_log = str(page.locator("#audit").inner_text())
    for said in ("created the project", "created an API key", "invited a member", "joined the project"):
        assert said in project_log, f"{said!r} not in the project's audit log:\n{project_log}"
    assert "storefront backend" in project_log
    assert VIEWER in project_log
    owner.at_both_widths("audit")
    page.goto(f"{base}/account/activity")
    account_log = str(page.locator("#audit").inner_text())
    for said in ("signed up", "verified the email address", "signed in", "reset the password"):
        assert said in account_log, f"{said!r} not in the account's activity:\n{account_log}"
    owner.check("account-activity")
    for secret in (first_key, api_key, token["code"], RECIPIENT, code):
        assert secret not in page.content()


# -- a Flask host ---------------------------------------------------------------------------------
def test_the_console_journey_on_a_flask_host(
    narrow_page: Any,
    check_page: CheckPage,
    mailbox: Mailbox,
    tmp_path: Path,
    test_secret: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    app = create_host_app(
        database_url=f"sqlite:///{tmp_path / 'host.sqlite3'}",
        secret_key=test_secret,
        data_dir=tmp_path / "octotp",
        mail=mailbox.delivery_settings,
    )
    with ThreadedWsgi(app) as server:
        api = f"{server.url}/octotp"
        visit = Visit(narrow_page, server.url, "/octotp/dashboard", check_page, host="flask-")
        # The host's own page is untouched by octotp.
        narrow_page.goto(server.url + "/")
        assert "A shop that verifies its customers" in narrow_page.content()

        email = f"host.{secrets.token_hex(4)}@customer-example.com"
        sign_up_and_verify(visit, mailbox, email, PASSWORD)
        project_id, api_key = create_project(visit)
        token = create_token(api, api_key, project_id, RECIPIENT)
        token_listed(visit, project_id, token)
        visit.check("project")
    # octotp's log in the host (``logging``, from the server's threads) keeps every secret out; the
    # test's own SMTP server (aiosmtpd's ``mail.log``) is not octotp and says whom it received for.
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("octotp"))
    assert "dashboard" in logged, "octotp logged nothing: the check below would prove nothing"
    for secret in (PASSWORD, api_key, token["code"], RECIPIENT, email):
        assert secret not in logged, "a secret in octotp's log"
