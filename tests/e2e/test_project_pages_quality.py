"""The project pages (tokens with search, filters and pages; the messages page; the webhooks pages;
revoking a key; deleting a project; the audit logs) walked with JavaScript disabled at 390 px and 1280 px against
``octotp serve``, through their forms and links only, each held to ``check_page`` (axe-core, no sideways scrolling, a
screenshot when ``OCTOTP_TEST_SCREENSHOTS`` is set) and to no axe violation of any impact."""

from __future__ import annotations

import json
import re
import secrets
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from octotp_core.testing.http_clients import UrlClient
from octotp_core.testing.servers import ServeProcess
from octotp_core.testing.webhook_receiver import running

from .counts import expect_count
from .quality import describe

pytestmark = pytest.mark.xdist_group("browser")

EMAIL = "operator.with.a.rather.long.address@customer-subdomain.example.com"
PASSWORD = "a long dashboard password"
PROJECT = "Checkout verification for the mobile storefront"
TOKENS = 52  # more than one page of 50

CheckPage = Callable[[Any, str], list[dict[str, Any]]]


def _api(url: str, key: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    headers = {"X-Api-Key": key, "Content-Type": "application/json"}
    result = UrlClient(url).request("POST", path, headers=headers, body=json.dumps(body).encode())
    assert result.status in (200, 201), result.body
    answer: dict[str, Any] = result.json()
    return answer


@pytest.mark.parametrize("viewport", ["narrow", "wide"])
def test_project_pages_meet_the_quality_bars(
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
        "OCTOTP_WEBHOOK_PRIVATE_ADDRESSES": "true",  # the webhook receiver is on 127.0.0.1
    }
    with ServeProcess(env) as server, running(lambda body, headers: None) as receiver:
        dashboard = f"{server.url}/dashboard"
        page.goto(f"{dashboard}/setup?token={setup_token}")
        page.fill("input[name=email]", EMAIL)
        page.fill("input[name=password]", PASSWORD)
        page.fill("input[name=password_confirm]", PASSWORD)
        page.click("text=Create account")
        page.wait_for_url(f"{dashboard}/")
        page.fill("input[name=name]", PROJECT)
        page.click("text=Create project")
        page.wait_for_url(re.compile(r".*/dashboard/projects/[0-9a-f-]{36}$"))
        key = page.locator("#new-api-key").inner_text()
        project_url = page.url
        project_id = project_url.rsplit("/", 1)[1]

        long_recipient = "jane.with.a.rather.long.address@customer-subdomain.example.com"
        first = _api(server.url, key, "/api/tokens", {"projectId": project_id, "recipientEmail": long_recipient})
        verdict = {"projectId": project_id, "recipientEmail": long_recipient, "code": first["code"]}
        assert _api(server.url, key, "/api/tokens/validate", verdict)["status"] == "approved"
        for i in range(TOKENS - 1):
            body = {"projectId": project_id, "recipientEmail": f"user{i}@example.com", "purpose": "sign-in.step-up"}
            _api(server.url, key, "/api/tokens", body)

        # The project page's short list leads to every token, 50 a page.
        page.goto(project_url)
        page.click("#all-tokens")
        expect_count(page.locator("#tokens tbody tr"), 50)
        check("tokens")
        page.click("a[rel=next]")
        expect_count(page.locator("#tokens tbody tr"), TOKENS - 50)
        check("tokens-page-2")

        # A search by the recipient typed in full, narrowed by state; then one the server cannot read.
        page.fill("input[name=recipient]", long_recipient.upper())
        page.select_option("select[name=state]", "approved")
        page.click("button:has-text('Search')")
        assert "match=" in page.url
        assert "jane" not in page.url
        expect_count(page.locator("#tokens tbody tr"), 1)
        assert "approved" in page.locator("#tokens tbody").inner_text()
        check("tokens-search")
        page.fill("input[name=recipient]", "not-an-address@")
        page.click("button:has-text('Search')")
        assert page.locator(".error").first.inner_text().startswith("Recipient:")
        check("tokens-search-error")

        # The project's messages: the form, a preview of a draft (its HTML shown as source), a refusal.
        page.goto(project_url)
        page.click("#messages-link")
        check("messages")
        page.fill("input[name=subject]", "{{ code }} is your Checkout verification code")
        page.fill("textarea[name=text]", "Your code is {{ code }}. It works for {{ minutes }} minutes.")
        wide = '<table role="presentation" width="100%" style="font-family:Helvetica,Arial,sans-serif">'
        page.fill("textarea[name=html]", wide + "<tr><td>Your code: <b>{{ code }}</b></td></tr></table>")
        page.click("button:has-text('Preview')")
        assert page.locator("#preview-subject").inner_text().endswith("is your Checkout verification code")
        assert "<b>" in page.locator("#preview-html").inner_text()  # the source, as text
        check("messages-preview")
        page.fill("textarea[name=html]", "{{ code }}{{ ''.__class__ }}")
        page.click("button:has-text('Save messages')")
        assert page.locator(".error").first.inner_text().startswith("HTML:")
        check("messages-error")

        # The webhooks: the list and its form, a refusal, an endpoint's page with its secret and its log.
        page.goto(project_url)
        page.click("#webhooks-link")
        check("webhooks")
        page.fill("input[name=url]", "ftp://hooks.example.com/octotp")
        page.click("button:has-text('Add endpoint')")
        assert page.locator(".error").first.inner_text().startswith("URL:")
        check("webhooks-error")
        page.fill("input[name=url]", receiver.url + "?token=" + "a-long-receiver-token" * 4)
        page.fill("input[name=description]", "Order service in the EU data centre")
        page.check("input[name=events][value='token.created']")
        page.click("button:has-text('Add endpoint')")
        assert page.locator("#webhook-secret").inner_text().startswith("whsec_")
        check("webhook-secret")
        _api(server.url, key, "/api/tokens", {"projectId": project_id, "recipientEmail": long_recipient})
        endpoint_url = page.url
        deadline = time.monotonic() + 20
        while "sent" not in (page.locator("#webhook-log tbody").all_inner_texts() or [""])[0]:
            assert time.monotonic() < deadline, "the event was not sent"
            time.sleep(0.2)
            page.goto(endpoint_url)
        check("webhook-log")
        page.click("#delete-webhook")
        check("webhook-delete")
        page.get_by_role("link", name="Cancel").click()
        assert page.url == endpoint_url

        # Revoking a key asks first, and says when the key was last used.
        page.goto(project_url)
        page.get_by_role("link", name=re.compile("^Revoke key")).first.click()
        assert page.locator("h1").inner_text().startswith("Revoke key default")
        assert page.locator("#last-used").inner_text() != "never"
        check("revoke-key")
        page.get_by_role("link", name="Cancel").click()
        assert page.url == project_url

        # The audit logs: the project's and the account's own.
        page.click("#project-audit")
        assert "created the project" in page.locator("#audit").inner_text()
        check("project-audit")
        page.goto(f"{dashboard}/")
        page.click("#account-activity")
        assert "signed" in page.locator("#audit").inner_text() or "created" in page.locator("#audit").inner_text()
        check("account-activity")

        # Deleting: the wrong name is refused, then the project goes.
        page.goto(project_url)
        page.click("#delete-project")
        check("delete-project")
        page.fill("input[name=name]", PROJECT.lower())
        page.click("button:has-text('Delete this project')")
        assert page.locator("#delete-error").inner_text().startswith("Name:")
        check("delete-project-error")
        page.fill("input[name=name]", PROJECT)
        page.click("button:has-text('Delete this project')")
        page.wait_for_url(f"{dashboard}/")
        assert PROJECT not in page.locator("main").inner_text()
        body = {"projectId": project_id, "recipientEmail": "after@example.com"}
        headers = {"X-Api-Key": key, "Content-Type": "application/json"}
        gone = UrlClient(server.url).request("POST", "/api/tokens", headers=headers, body=json.dumps(body).encode())
        assert gone.status == 401
