"""A Django site's own users reach the dashboard in a real browser: ``manage.py runserver`` on a
project with ``OCTOTP = {"DASHBOARD_AUTH": "django"}`` (``django_host_settings.py``), a Django user
with the ``octotp.add_project`` permission, Django's ``LoginView`` page → the dashboard, with no
second login → a project and its API key, shown once and accepted by the API → the audit log naming
the user → "Log out" (octotp's own small session; the site's stays).
"""

from __future__ import annotations

import json
import re
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from octotp_core.testing.http_clients import UrlClient
from octotp_core.testing.servers import clean_environment, free_port, wait_until_healthy

from .counts import expect_count

pytestmark = pytest.mark.xdist_group("browser")

ROOT = Path(__file__).resolve().parents[2]
USERNAME = "dana@shop-example.com"
PASSWORD = "walnut-harbour-cinnamon-42"
PROJECT_URL = re.compile(r".*/dashboard/projects/(?P<id>[0-9a-f-]{36})$")

MAKE_USER = """
import os
from django.contrib.auth.models import Permission, User

user = User.objects.create_user(os.environ["E2E_USERNAME"], os.environ["E2E_USERNAME"], os.environ["E2E_PASSWORD"])
user.user_permissions.add(Permission.objects.get(content_type__app_label="octotp", codename="add_project"))
"""
"""A Django user who may add projects, made the Django way (in ``manage.py shell``)."""


class DjangoDevServer:
    """``django-admin runserver`` (Django's development server, no autoreloader) on a free port, on a
    fresh SQLite file migrated first; the test user made before it starts."""

    def __init__(self, data_dir: Path, secret_key: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = data_dir / "runserver.log"
        self.env = clean_environment(
            {
                "DJANGO_SETTINGS_MODULE": "tests.e2e.django_host_settings",
                "PYTHONPATH": str(ROOT),
                "E2E_DJANGO_DATABASE": str(data_dir / "host.sqlite3"),
                "E2E_DJANGO_SECRET_KEY": secret_key,
                "E2E_USERNAME": USERNAME,
                "E2E_PASSWORD": PASSWORD,
            }
        )
        self.process: subprocess.Popen[bytes] | None = None

    def django(self, *arguments: str) -> None:
        """A ``django-admin`` command on the host project; its output in the failure when it fails."""
        result = subprocess.run(
            [sys.executable, "-m", "django", *arguments],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert result.returncode == 0, f"django-admin {arguments[0]} failed:\n{result.stdout}\n{result.stderr}"

    def __enter__(self) -> DjangoDevServer:
        self.django("migrate", "--noinput", "-v", "0")
        self.django("shell", "-c", MAKE_USER)
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "django", "runserver", f"127.0.0.1:{self.port}", "--noreload"],
                cwd=ROOT,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        wait_until_healthy(self.url, self.process, self.log)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@pytest.fixture
def django_host(tmp_path: Path) -> Iterator[DjangoDevServer]:
    with DjangoDevServer(tmp_path, secrets.token_urlsafe(32)) as server:
        yield server


def _create_token(url: str, api_key: str, project_id: str) -> tuple[int, Any]:
    body = json.dumps({"projectId": project_id, "recipientEmail": "jane.doe@example.com"}).encode()
    result = UrlClient(url).request(
        "POST", "/api/tokens", headers={"X-Api-Key": api_key, "Content-Type": "application/json"}, body=body
    )
    return result.status, result.json()


def test_djangos_login_page_opens_the_dashboard(page: Any, django_host: DjangoDevServer) -> None:
    url = django_host.url
    # Anonymous: the dashboard sends the browser to Django's LOGIN_URL, asking to come back.
    page.goto(f"{url}/dashboard/")
    assert page.url == f"{url}/accounts/login/?next=/dashboard/"
    assert page.locator("h1").inner_text() == "Log in to the shop"
    # octotp's own login page is not there in this mode.
    assert page.goto(f"{url}/dashboard/login").status == 404

    # Django's LoginView form (its own CSRF token), then straight back to the dashboard.
    page.goto(f"{url}/dashboard/")
    page.fill("input[name=username]", USERNAME)
    page.fill("input[name=password]", PASSWORD)
    page.click("button:has-text('Log in')")
    page.wait_for_url(f"{url}/dashboard/")
    assert page.locator("h1").inner_text() == "Projects"
    assert USERNAME in page.locator("header").inner_text()
    page.wait_for_load_state()
    expect_count(page.locator("input[name=password]"), 0)  # no second login
    cookies = {c["name"] for c in page.context.cookies()}
    assert {"sessionid", "csrftoken"} <= cookies  # Django's session and CSRF cookies

    # A project: the form carries Django's csrfmiddlewaretoken; its first API key is shown once.
    form = page.locator("form", has=page.locator("input[name=name]"))
    expect_count(form.locator("input[name=csrfmiddlewaretoken]"), 1)
    page.fill("input[name=name]", "Shop sign-ups")
    page.click("text=Create project")
    page.wait_for_url(PROJECT_URL)
    api_key = page.locator("#new-api-key").inner_text()
    project_id = page.locator("#project-id").inner_text()
    assert api_key.startswith("octotp_")
    assert page.url == f"{url}/dashboard/projects/{project_id}"
    page.reload()
    page.wait_for_load_state()
    expect_count(page.locator("#new-api-key"), 0)
    status, created = _create_token(url, api_key, project_id)
    assert status == 201, created
    page.goto(f"{url}/dashboard/")
    assert "Shop sign-ups" in page.locator("table").inner_text()
    page.goto(f"{url}/dashboard/projects/{project_id}/audit")
    assert USERNAME in page.locator("main").inner_text()  # the audit log names the Django user

    # "Log out" ends the dashboard's own session and goes to LOGOUT_REDIRECT_URL, the host's "/";
    # the site's session is the site's: the dashboard opens again without a login.
    session = next(c["value"] for c in page.context.cookies() if c["name"] == "octotp_session")
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(f"{url}/")
    assert page.locator("#who").inner_text() == f"Signed in: {USERNAME}"
    page.goto(f"{url}/dashboard/")
    assert page.locator("h1").inner_text() == "Projects"
    assert session not in [c["value"] for c in page.context.cookies() if c["name"] == "octotp_session"]

    log = django_host.output()
    assert PASSWORD not in log
    assert api_key not in log
