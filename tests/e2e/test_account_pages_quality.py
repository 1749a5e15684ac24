"""The account pages (sign-up, verification, reset, the account page) walked with JavaScript disabled
at 390 px and 1280 px against ``octotp serve`` with open sign-up, mail read from a real SMTP server;
each page held to ``check_page`` (no axe-core violation, no sideways scrolling, a screenshot when
``OCTOTP_TEST_SCREENSHOTS`` is set)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from octotp_core.testing.mailbox import Mailbox
from octotp_core.testing.servers import ServeProcess

from .counts import expect_count
from .quality import describe

pytestmark = pytest.mark.xdist_group("browser")

EMAIL = "new.customer.with.a.rather.long.address@customer-subdomain.example.com"
PASSWORD = "a long dashboard password"
NEW_PASSWORD = "violet harbour lantern 42"

CheckPage = Callable[[Any, str], list[dict[str, Any]]]


@pytest.mark.parametrize("viewport", ["narrow", "wide"])
def test_the_account_pages_meet_the_quality_bars(
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
        shot = f"account-{name}-{width}"
        violations = check_page(page, shot)
        assert not violations, f"{shot}: axe-core found:\n{describe(violations)}"

    env = {
        "OCTOTP_DATA_DIR": str(tmp_path),
        "OCTOTP_SECRET_KEY": test_secret,
        "OCTOTP_DASHBOARD_SIGNUP": "open",
        **mailbox.delivery_environment,
    }
    with ServeProcess(env) as server:
        dashboard = f"{server.url}/dashboard"

        # The login page links to sign-up and reset; sign-up refuses a common password, then signs up.
        page.goto(f"{dashboard}/login")
        page.click("text=Create an account")
        page.wait_for_url(f"{dashboard}/signup")
        check("signup")
        page.fill("input[name=email]", EMAIL)
        page.fill("input[name=password]", "password1234")
        page.fill("input[name=password_confirm]", "password1234")
        page.click("button:has-text('Sign up')")
        assert "Password is too common" in page.locator(".error").inner_text()
        check("signup-error")
        page.fill("input[name=password]", PASSWORD)
        page.fill("input[name=password_confirm]", PASSWORD)
        page.click("button:has-text('Sign up')")
        page.wait_for_url(f"{dashboard}/verify")
        assert page.locator("input[type=email][name=email]").input_value() == EMAIL
        check("verify")

        # A wrong code, then the right one with the password: signed in, verified.
        code = mailbox.code_for(EMAIL)
        page.fill("input[name=code]", f"{(int(code) + 1) % 1_000_000:06d}")
        page.fill("input[name=password]", PASSWORD)
        page.click("button:has-text('Verify')")
        assert "That code is not correct." in page.locator(".error").inner_text()
        check("verify-error")
        page.fill("input[name=code]", code)
        page.fill("input[name=password]", PASSWORD)
        page.click("button:has-text('Verify')")
        page.wait_for_url(f"{dashboard}/")
        assert "not verified" not in page.locator("main").inner_text()

        # The account page: a refused change, then a change; the sessions list.
        page.click("nav >> text=Account")
        page.wait_for_url(f"{dashboard}/account")
        assert "This session" in page.locator("table").inner_text()
        check("account")
        page.fill("input[name=current_password]", "not the password")
        page.fill("input[name=password]", NEW_PASSWORD)
        page.fill("input[name=password_confirm]", NEW_PASSWORD)
        page.click("button:has-text('Change password')")
        assert "The current password is not correct." in page.locator(".error").inner_text()
        check("account-error")
        page.fill("input[name=current_password]", PASSWORD)
        page.fill("input[name=password]", NEW_PASSWORD)
        page.fill("input[name=password_confirm]", NEW_PASSWORD)
        page.check("input[name=sign_out_others]")
        page.click("button:has-text('Change password')")
        page.wait_for_url(f"{dashboard}/account?done=password")
        assert "Your password is changed." in page.locator(".notice").inner_text()

        # Reset by code, signed out: every session ends.
        page.get_by_role("button", name="Log out").click()
        page.wait_for_url(f"{dashboard}/login")
        page.click("text=Forgot your password?")
        page.wait_for_url(f"{dashboard}/reset")
        check("reset")
        page.fill("input[name=email]", EMAIL)
        page.click("button:has-text('Send a code')")
        page.wait_for_url(f"{dashboard}/reset/code")
        check("reset-code")
        page.fill("input[name=code]", mailbox.code_for(EMAIL, "password reset"))
        page.fill("input[name=password]", PASSWORD)
        page.fill("input[name=password_confirm]", PASSWORD)
        page.click("button:has-text('Set the new password')")
        page.wait_for_url(f"{dashboard}/reset/done")
        check("reset-done")

        # An account that is not verified yet: the notice on every page, and the code-only form.
        other = f"second.{EMAIL}"
        page.goto(f"{dashboard}/signup")
        page.fill("input[name=email]", other)
        page.fill("input[name=password]", PASSWORD)
        page.fill("input[name=password_confirm]", PASSWORD)
        page.click("button:has-text('Sign up')")
        page.goto(f"{dashboard}/login")
        page.fill("input[name=email]", other)
        page.fill("input[name=password]", PASSWORD)
        page.click("button:has-text('Log in')")
        page.wait_for_url(f"{dashboard}/")
        assert "not verified yet" in page.locator(".notice").inner_text()
        check("unverified-projects")
        page.click(".notice >> text=Enter the code")
        page.wait_for_url(f"{dashboard}/verify")
        page.wait_for_load_state()
        expect_count(page.locator("input[name=password]"), 0)
        check("verify-signed-in")
