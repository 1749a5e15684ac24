"""Host login in a real browser: a Flask app with Flask-Login (``tests/flask/login_host.py``) served
over HTTP by a WSGI server in a thread, its dashboard signed in by the host's own login form.

The visitor asks for the dashboard, lands on the shop's sign-in page (not octotp's), signs in once,
is sent back to the dashboard it asked for, creates a project and sees its key; every page it was
shown was the host's or the console's, never octotp's own login. "Log out" ends both sessions: the
dashboard then sends the browser back to the shop's sign-in page.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from octotp_core.testing.http_clients import UrlClient
from octotp_core.testing.servers import ThreadedWsgi

from ..flask.login_host import UserTable, create_login_host

pytestmark = pytest.mark.xdist_group("browser")

EMAIL = "shopkeeper@shop-example.com"
PASSWORD = "juniper-cobalt-harvest-36"
PROJECT = "Checkout codes"
PROJECT_URL = re.compile(r".*/octotp/dashboard/projects/(?P<id>[0-9a-f-]{36})$")


def test_the_hosts_login_leads_into_the_dashboard(page: Any, tmp_path: Path, test_secret: str) -> None:
    users = UserTable()
    users.add(EMAIL, PASSWORD, name="Sam", permissions={"add_project"})
    app = create_login_host(
        database_url=f"sqlite:///{tmp_path / 'host.sqlite3'}",
        secret_key=test_secret,
        data_dir=tmp_path / "octotp",
        users=users,
        config={"OCTOTP_AUTO_MIGRATE": True, "OCTOTP_RATE_LIMIT_STORAGE": "database://"},
    )
    visited: list[str] = []
    page.on("request", lambda request: visited.append(request.url))
    with ThreadedWsgi(app) as server:
        dashboard = f"{server.url}/octotp/dashboard/"
        login_page = f"{server.url}/login?next={quote('/octotp/dashboard/', safe='/')}"

        # Anonymous: the dashboard sends the browser to the shop's own sign-in page.
        page.goto(dashboard)
        assert page.url == login_page
        assert page.locator("h1").inner_text() == "Sign in to the shop"

        # One sign-in, on the host's form, and the browser is back on the dashboard it asked for.
        page.fill("input[name=email]", EMAIL)
        page.fill("input[name=password]", PASSWORD)
        with page.expect_navigation():
            page.get_by_role("button", name="Sign in").click()
        assert page.url == dashboard
        assert page.locator("h1").inner_text() == "Projects"
        assert "Sam (shopkeeper@shop-example.com)" in page.locator("header").inner_text()  # the host's name for them

        # A project, and its key shown once.
        page.fill("input[name=name]", PROJECT)
        with page.expect_navigation():
            page.get_by_role("button", name="Create project").click()
        found = PROJECT_URL.match(page.url)
        assert found is not None, page.url
        api_key = str(page.locator("#new-api-key").inner_text())
        assert api_key.startswith("octotp_")
        assert page.locator("#project-id").inner_text() == found.group("id")

        # The key works against the host's API.
        body = json.dumps({"projectId": found.group("id"), "recipientEmail": "jane@example.com"}).encode()
        created = UrlClient(server.url + "/octotp").request(
            "POST", "/api/tokens", headers={"X-Api-Key": api_key, "Content-Type": "application/json"}, body=body
        )
        assert created.status == 201, created.json()

        # Never octotp's own login: only the host's sign-in page and the console's pages.
        assert not [url for url in visited if "/dashboard/login" in url or "/dashboard/setup" in url]

        # "Log out" leads to the host's logout, which ends the host's session too.
        with page.expect_navigation():
            page.get_by_role("button", name="Log out").click()
        assert page.url == f"{server.url}/"
        assert "Hello, a guest" in page.content()
        page.goto(dashboard)
        assert page.url == login_page
