"""End to end in a real browser against ``octotp serve``: the first-run setup link, a project, its
API key shown once, a token created through the API and listed masked, revocation, logout."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from octotp_core.testing.http_clients import UrlClient
from octotp_core.testing.servers import ServeProcess

from .counts import expect_count

pytestmark = pytest.mark.xdist_group("browser")

EMAIL = "operator@example.com"
PASSWORD = "a long dashboard password"


def _create_token(url: str, api_key: str, project_id: str, email: str) -> tuple[int, Any]:
    body = json.dumps({"projectId": project_id, "recipientEmail": email}).encode()
    result = UrlClient(url).request(
        "POST", "/api/tokens", headers={"X-Api-Key": api_key, "Content-Type": "application/json"}, body=body
    )
    return result.status, result.json()


def test_first_run_to_logout(page: Any, tmp_path: Path, test_secret: str) -> None:
    env = {"OCTOTP_DATA_DIR": str(tmp_path), "OCTOTP_SECRET_KEY": test_secret, "OCTOTP_API_KEY_CACHE_SECONDS": "0"}
    with ServeProcess(env) as server:
        found = re.search(r"(http://127\.0\.0\.1:\d+/dashboard/setup\?token=[A-Za-z0-9_%-]+)", server.output())
        assert found is not None, server.output()
        setup_link = found.group(1)

        # Nobody gets in without the link: the bare setup page and the home page refuse.
        page.goto(f"{server.url}/dashboard/setup")
        assert page.locator("h1").inner_text() == "Setup link not valid"
        page.goto(server.url + "/")
        assert page.url == f"{server.url}/dashboard/login"

        # First run: the printed link creates the first account and signs it in.
        page.goto(setup_link)
        page.fill("input[name=email]", EMAIL)
        page.fill("input[name=password]", PASSWORD)
        page.fill("input[name=password_confirm]", PASSWORD)
        page.click("text=Create account")
        page.wait_for_url(f"{server.url}/dashboard/")
        assert page.locator("h1").inner_text() == "Projects"
        assert EMAIL in page.locator("header").inner_text()
        session = next(c for c in page.context.cookies() if c["name"] == "octotp_session")
        assert (session["httpOnly"], session["sameSite"], session["path"]) == (True, "Lax", "/dashboard")

        # A project: the POST answers 303 to the project's page, which shows its first API key once.
        page.fill("input[name=name]", "E2E shop")
        page.click("text=Create project")
        page.wait_for_url(re.compile(r".*/dashboard/projects/[0-9a-f-]{36}$"))
        api_key = page.locator("#new-api-key").inner_text()
        project_id = page.locator("#project-id").inner_text()
        assert api_key.startswith("octotp_")
        project_url = f"{server.url}/dashboard/projects/{project_id}"
        assert page.url == project_url
        page.reload()  # a GET: re-submits nothing, and the key is gone
        assert api_key not in page.content()
        page.wait_for_load_state()
        expect_count(page.locator("#new-api-key"), 0)
        page.goto(f"{server.url}/dashboard/")
        assert page.locator("table").inner_text().count("E2E shop") == 1
        page.goto(project_url)

        # A token through the API shows up in the dashboard, masked, without its code.
        status, created = _create_token(server.url, api_key, project_id, "jane.doe@example.com")
        assert status == 201, created
        page.reload()
        tokens = page.locator("#tokens").inner_text()
        assert "j***@example.com" in tokens
        assert "pending" in tokens
        assert "jane.doe" not in page.content()
        assert created["code"] not in page.content().replace(project_id, "")

        # Revoking the key (after a confirmation that says when it was last used): the API refuses it at once.
        page.locator("#api-keys").get_by_role("link", name=re.compile("^Revoke key")).click()
        assert page.locator("#last-used").inner_text() != "never"
        page.get_by_role("button", name=re.compile("^Revoke key")).click()
        page.wait_for_url(project_url)
        assert "revoked" in page.locator("#api-keys").inner_text()
        status, problem = _create_token(server.url, api_key, project_id, "jane.doe@example.com")
        assert (status, problem["code"]) == (401, "invalid_api_key")

        # Logout ends the session; the setup link is dead now that an account exists.
        page.get_by_role("button", name="Log out").click()
        page.wait_for_url(f"{server.url}/dashboard/login")
        assert not [c for c in page.context.cookies() if c["name"] == "octotp_session"]
        page.goto(f"{server.url}/dashboard/projects/{project_id}")
        assert page.url == f"{server.url}/dashboard/login"
        page.goto(setup_link)
        assert page.locator("h1").inner_text() == "Setup link not valid"

        # Logging in again works, with the generic error first.
        page.goto(f"{server.url}/dashboard/login")
        page.fill("input[name=email]", EMAIL)
        page.fill("input[name=password]", "not the password")
        page.click("button:has-text('Log in')")
        assert "Invalid email or password." in page.locator(".error").inner_text()
        page.fill("input[name=password]", PASSWORD)
        page.click("button:has-text('Log in')")
        page.wait_for_url(f"{server.url}/dashboard/")
        assert "E2E shop" in page.locator("table").inner_text()

        # The setup token, passwords and keys never reach the server's log (only the console line).
        log = server.output()
        assert log.count(setup_link.split("token=")[1]) == 1
        assert PASSWORD not in log
        assert api_key not in log
