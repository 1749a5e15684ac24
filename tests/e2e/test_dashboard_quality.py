"""Every page the dashboard has, walked with JavaScript disabled at 390 px (a phone) and 1280 px (a
laptop) against ``octotp serve``, through its forms only, each held to ``check_page``: no serious or
critical axe-core violation, no sideways scrolling, a screenshot when ``OCTOTP_TEST_SCREENSHOTS`` is
set. Today's pages are held to more: no axe violation of any impact.

The values are long on purpose (an email address, a project name, an API key and UUIDs that do not
fit in 390 px unbroken), as real ones are."""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from octotp_core.testing.servers import ServeProcess

from .counts import expect_count
from .quality import describe

pytestmark = pytest.mark.xdist_group("browser")

EMAIL = "operator.with.a.rather.long.address@customer-subdomain.example.com"
PASSWORD = "a long dashboard password"
PROJECT = "Checkout verification for the mobile storefront"
LOGINS_PER_EMAIL = 3

CheckPage = Callable[[Any, str], list[dict[str, Any]]]


@pytest.mark.parametrize("viewport", ["narrow", "wide"])
def test_every_page_meets_the_quality_bars(
    viewport: str, request: pytest.FixtureRequest, check_page: CheckPage, tmp_path: Path, test_secret: str
) -> None:
    page = request.getfixturevalue(f"{viewport}_page")
    width = page.viewport_size["width"]

    def check(name: str) -> None:
        shot = f"{name}-{width}"
        violations = check_page(page, shot)
        assert not violations, f"{shot}: axe-core found:\n{describe(violations)}"

    setup_token = secrets.token_urlsafe(32)
    env = {
        "OCTOTP_DATA_DIR": str(tmp_path),
        "OCTOTP_SECRET_KEY": test_secret,
        "OCTOTP_DASHBOARD_SETUP_TOKEN": setup_token,
        "OCTOTP_DASHBOARD_LOGIN_LIMIT_PER_EMAIL": f"{LOGINS_PER_EMAIL}/hour",
    }
    with ServeProcess(env) as server:
        dashboard = f"{server.url}/dashboard"

        # The setup link, refusing mismatched passwords, then creating the first account.
        page.goto(f"{dashboard}/setup?token={setup_token}")
        assert page.locator("h1").inner_text() == "Welcome to octotp"
        check("setup")
        page.fill("input[name=email]", EMAIL)
        page.fill("input[name=password]", PASSWORD)
        page.fill("input[name=password_confirm]", PASSWORD + " typo")
        page.click("text=Create account")
        assert "The passwords do not match." in page.locator(".error").inner_text()
        check("setup-error")
        page.fill("input[name=password]", PASSWORD)
        page.fill("input[name=password_confirm]", PASSWORD)
        page.click("text=Create account")
        page.wait_for_url(f"{dashboard}/")
        assert EMAIL in page.locator("header").inner_text()
        check("projects-empty")

        # A project name the server refuses, then a project: its page shows the new key once.
        page.fill("input[name=name]", "   ")
        page.click("text=Create project")
        assert "name" in page.locator(".error").inner_text()
        check("projects-error")
        page.fill("input[name=name]", PROJECT)
        page.click("text=Create project")
        page.wait_for_url(re.compile(r".*/dashboard/projects/[0-9a-f-]{36}$"))
        assert page.locator("#new-api-key").inner_text().startswith("octotp_")
        check("project-new-key")
        project_url = page.url

        # The settings form with a validation error (the browser's own constraints pass, the server's not).
        page.fill("input[name=expiry_min]", "500")
        page.fill("input[name=expiry_max]", "100")
        page.click("text=Save settings")
        assert page.locator(".error").count() >= 1
        assert "expiry" in page.locator(".error").first.inner_text().lower()
        check("project-settings-error")
        page.goto(project_url)
        page.wait_for_load_state()
        expect_count(page.locator("#new-api-key"), 0)
        check("project")

        page.goto(f"{dashboard}/")
        assert PROJECT in page.locator("main table").inner_text()
        check("projects")

        # The keyboard: the first Tab shows the skip link, with a visible focus outline, and it leads to main.
        page.keyboard.press("Tab")
        focused = page.locator(":focus")
        assert focused.inner_text() == "Skip to content"
        assert focused.bounding_box()["y"] >= 0
        assert focused.evaluate("e => parseFloat(getComputedStyle(e).outlineWidth)") >= 2
        page.keyboard.press("Enter")
        assert page.url.endswith("#content")

        page.goto(f"{dashboard}/no-such-page")
        assert page.locator("h1").inner_text() == "Not found"
        check("not-found")

        # Logged out: the login page, a failed login, the setup link now dead.
        page.goto(f"{dashboard}/")
        page.get_by_role("button", name="Log out").click()
        page.wait_for_url(f"{dashboard}/login")
        check("login")
        page.fill("input[name=email]", EMAIL)
        page.fill("input[name=password]", "not the password")
        page.click("button:has-text('Log in')")
        assert "Invalid email or password." in page.locator(".error").inner_text()
        check("login-failed")
        page.goto(f"{dashboard}/setup?token={setup_token}")
        assert page.locator("h1").inner_text() == "Setup link not valid"
        check("setup-link-not-valid")

        # Too many attempts for one address: the 429 page.
        for _ in range(LOGINS_PER_EMAIL + 1):
            page.goto(f"{dashboard}/login")
            page.fill("input[name=email]", "someone.else@example.com")
            page.fill("input[name=password]", "guessing")
            page.click("button:has-text('Log in')")
        assert page.locator("h1").inner_text() == "Too many attempts"
        check("too-many-attempts")
