"""The team pages walked in Chromium with JavaScript disabled, at 390 px (a phone) and 1280 px (a
laptop), against ``octotp serve`` mailing a real SMTP server, through their forms only: members
(empty, with an error, with an invitation, with a team), an invitation's link signed out (sign-up,
its error), for an address with an account (log in, come back, Join), for another account (refused)
and once used (not valid). Each page is held to ``check_page`` with no axe-core violation of any
impact and no sideways scrolling; long values, as real ones are."""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from octotp_core.testing.mailbox import Mailbox
from octotp_core.testing.servers import ServeProcess

from .counts import expect_count
from .quality import describe

pytestmark = pytest.mark.xdist_group("browser")

OWNER = "project.owner.with.a.long.address@customer-subdomain.example.com"
VIEWER = "a.colleague.who.only.reads@customer-subdomain.example.com"
OTHER = "someone.not.yet.signed.up@another-subdomain.example.com"
PASSWORD = "a long dashboard password"
PROJECT = "Checkout verification for the mobile storefront"
SECOND = "Password reset codes for the support desk"

CheckPage = Callable[[Any, str], list[dict[str, Any]]]


@pytest.mark.parametrize("viewport", ["narrow", "wide"])
def test_team_pages_meet_the_quality_bars(
    viewport: str,
    request: pytest.FixtureRequest,
    check_page: CheckPage,
    mailbox: Mailbox,
    tmp_path: Path,
    test_secret: str,
) -> None:
    page = request.getfixturevalue(f"{viewport}_page")
    width = page.viewport_size["width"]

    def check(name: str) -> None:
        shot = f"{name}-{width}"
        violations = check_page(page, shot)
        assert not violations, f"{shot}: axe-core found:\n{describe(violations)}"

    def log_in(email: str) -> None:
        page.fill("input[name=email]", email)
        page.fill("input[name=password]", PASSWORD)
        page.click("button:has-text('Log in')")

    def log_out() -> None:
        page.get_by_role("button", name="Log out").first.click()
        page.wait_for_url(f"{dashboard}/login")

    def link_to(email: str, after: int = 0) -> str:
        return urlsplit(mailbox.link_for(email, "invited you", after=after)).path

    setup_token = secrets.token_urlsafe(32)
    env = {
        "OCTOTP_DATA_DIR": str(tmp_path),
        "OCTOTP_SECRET_KEY": test_secret,
        "OCTOTP_DASHBOARD_SETUP_TOKEN": setup_token,
        **mailbox.delivery_environment,
    }
    with ServeProcess(env) as server:
        dashboard = f"{server.url}/dashboard"
        page.goto(f"{dashboard}/setup?token={setup_token}")
        page.fill("input[name=email]", OWNER)
        page.fill("input[name=password]", PASSWORD)
        page.fill("input[name=password_confirm]", PASSWORD)
        page.click("text=Create account")
        page.wait_for_url(f"{dashboard}/")
        page.fill("input[name=name]", PROJECT)
        page.click("text=Create project")
        page.wait_for_url(re.compile(r".*/dashboard/projects/[0-9a-f-]{36}$"))
        page.click("#members-link")
        page.wait_for_url(re.compile(r".*/members$"))
        members_url = page.url
        assert page.locator("h1").inner_text() == "Members"
        check("members-empty")

        # An address the browser accepts and the server does not.
        page.fill("input[name=email]", "someone@localhost")
        page.click("text=Send invitation")
        assert page.locator(".error").first.inner_text().startswith("Email: ")
        check("members-invite-error")
        page.fill("input[name=email]", VIEWER)
        page.select_option("select[name=role]", "viewer")
        page.click("text=Send invitation")
        page.wait_for_url(members_url)
        page.fill("input[name=email]", OTHER)
        page.click("text=Send invitation")
        page.wait_for_url(members_url)
        expect_count(page.locator("#invitations tbody tr"), 2)
        check("members-invited")
        viewer_link, other_link = link_to(VIEWER), link_to(OTHER)

        # Signed out, the viewer's link: a sign-up form; mismatched passwords; the account.
        log_out()
        page.goto(server.url + viewer_link)
        assert page.locator("#invited-role").inner_text() == "viewer"
        check("invitation")
        page.fill("input[name=password]", PASSWORD)
        page.fill("input[name=password_confirm]", PASSWORD + " typo")
        page.click("text=Create account and join")
        assert "The passwords do not match." in page.locator(".error").inner_text()
        check("invitation-error")
        page.fill("input[name=password]", PASSWORD)
        page.fill("input[name=password_confirm]", PASSWORD)
        page.click("text=Create account and join")
        page.wait_for_url(re.compile(r".*/dashboard/projects/[0-9a-f-]{36}$"))
        page.goto(members_url)
        expect_count(page.locator("text=Leave the project"), 1)
        check("members-as-viewer")
        page.goto(server.url + other_link)
        expect_count(page.locator("#wrong-account"), 1)
        check("invitation-wrong-account")
        page.goto(server.url + viewer_link)
        assert page.locator("h1").inner_text() == "Invitation not valid"
        check("invitation-not-valid")

        # The owner sees the team, and invites the viewer's account to a second project.
        log_out()
        log_in(OWNER)
        page.wait_for_url(f"{dashboard}/")
        page.goto(members_url)
        assert page.locator("text=Transfer ownership").count() >= 1
        check("members-team")
        page.goto(f"{dashboard}/")
        page.fill("input[name=name]", SECOND)
        page.click("text=Create project")
        page.wait_for_url(re.compile(r".*/dashboard/projects/[0-9a-f-]{36}$"))
        page.click("#members-link")
        page.fill("input[name=email]", VIEWER)
        page.select_option("select[name=role]", "developer")
        page.click("text=Send invitation")
        second_link = link_to(VIEWER, after=1)
        assert second_link != viewer_link

        # Signed out, a link for an address with an account: log in, come back, Join.
        log_out()
        page.goto(server.url + second_link)
        check("invitation-has-account")
        page.click("#login-link")
        log_in(VIEWER)
        page.wait_for_url(server.url + second_link)
        check("invitation-join")
        page.get_by_role("button", name=f"Join {SECOND}").click()
        page.wait_for_url(re.compile(r".*/dashboard/projects/[0-9a-f-]{36}$"))
        assert page.locator("h1").inner_text() == SECOND
