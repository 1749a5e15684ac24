"""The dashboard inside a FastAPI host, on the host's own users, in a real browser: the test host of
``tests/fastapi/host_login.py`` (Starlette sessions and a login form of its own) served by uvicorn.
A visitor of the dashboard is sent to the host's login page, signs in there once, comes back to the
dashboard without a second login, and creates a project."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import quote

from octotp_core import Octotp, Settings
from octotp_core.testing.servers import ThreadedUvicorn

from ..fastapi.host_login import UserTable, create_host_app
from .counts import expect_count

PASSWORD = "a long host password"
PROJECT_URL = re.compile(r".*/octotp/dashboard/projects/(?P<id>[0-9a-f-]{36})$")


def test_a_host_user_signs_in_on_the_host_login_page_and_creates_a_project(
    page: Any, tmp_path: Path, test_secret: str
) -> None:
    octotp = Octotp(
        Settings(database_url=f"sqlite:///{tmp_path / 'host.sqlite3'}", data_dir=tmp_path, secret_key=test_secret)
    )
    octotp.migrate()
    users = UserTable()
    users.add("jane@shop.example", PASSWORD, name="Jane", permissions={"add_project"})
    app = create_host_app(octotp, users, secret_key=test_secret)
    try:
        with ThreadedUvicorn(app) as server:
            dashboard = f"{server.url}/octotp/dashboard/"
            page.goto(dashboard)
            assert page.url == f"{server.url}/login?next={quote('/octotp/dashboard/', safe='/')}", page.url
            assert page.locator("h1").inner_text() == "Sign in to Shop"
            page.get_by_label("Email").fill("jane@shop.example")
            page.get_by_label("Password").fill(PASSWORD)
            with page.expect_navigation():
                page.get_by_role("button", name="Sign in").click()
            assert page.url == dashboard
            assert "jane@shop.example" in page.content()
            page.wait_for_load_state()
            expect_count(page.locator("input[type=password]"), 0)  # no second login

            page.fill("input[name=name]", "Shop")
            with page.expect_navigation():
                page.get_by_role("button", name="Create project", exact=True).click()
            found = PROJECT_URL.match(page.url)
            assert found is not None, page.url
            assert page.locator("#new-api-key").inner_text().startswith("octotp_")
            (project,) = [p for p in octotp.accounts.list_projects() if p.id == found.group("id")]
            assert project.name == "Shop"
            page.goto(server.url + "/")
            assert "Signed in: jane@shop.example" in page.content()  # the host's own session, untouched
    finally:
        octotp.close()
