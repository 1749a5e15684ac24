"""End to end in a real browser against ``octotp serve``: a project's webhook endpoint added on the
webhooks page, its secret shown once, a token's event sent by the server's own worker to a real
receiver on 127.0.0.1 (verifying with the secret the page showed), the delivery log listing it, and
a Re-send from the log arriving again with the same ``webhook-id``."""

from __future__ import annotations

import json
import re
import secrets
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest
from standardwebhooks import Webhook

from octotp_core.testing.http_clients import UrlClient
from octotp_core.testing.servers import ServeProcess
from octotp_core.testing.webhook_receiver import WebhookReceiver, running

from .counts import expect_count

pytestmark = pytest.mark.xdist_group("browser")

EMAIL = "operator@example.com"
PASSWORD = "a long dashboard password"


def _wait_for(what: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not what():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def _received(receiver: WebhookReceiver, count: int) -> Callable[[], bool]:
    return lambda: len(receiver.received) >= count


def test_add_an_endpoint_see_its_secret_once_and_resend_from_the_log(
    page: Any, tmp_path: Path, test_secret: str
) -> None:
    setup_token = secrets.token_urlsafe(32)
    env = {
        "OCTOTP_DATA_DIR": str(tmp_path),
        "OCTOTP_SECRET_KEY": test_secret,
        "OCTOTP_DASHBOARD_SETUP_TOKEN": setup_token,
        "OCTOTP_WEBHOOK_PRIVATE_ADDRESSES": "true",  # the receiver is on 127.0.0.1
    }
    shown: dict[str, str] = {}

    def verify(body: bytes, headers: Mapping[str, str]) -> Any:
        return Webhook(shown["secret"]).verify(body, dict(headers))

    with ServeProcess(env) as server, running(verify) as receiver:
        dashboard = f"{server.url}/dashboard"
        page.goto(f"{dashboard}/setup?token={setup_token}")
        page.fill("input[name=email]", EMAIL)
        page.fill("input[name=password]", PASSWORD)
        page.fill("input[name=password_confirm]", PASSWORD)
        page.click("text=Create account")
        page.wait_for_url(f"{dashboard}/")
        page.fill("input[name=name]", "Hooked shop")
        page.click("text=Create project")
        page.wait_for_url(re.compile(r".*/dashboard/projects/[0-9a-f-]{36}$"))
        api_key = page.locator("#new-api-key").inner_text()
        project_id = page.locator("#project-id").inner_text()

        # The webhooks page: no endpoint yet; add one for token.created only.
        page.click("#webhooks-link")
        assert page.locator("h1").inner_text() == "Webhooks"
        expect_count(page.locator("#no-webhooks"), 1)
        page.fill("input[name=url]", receiver.url)
        page.fill("input[name=description]", "Order service")
        page.check("input[name=events][value='token.created']")
        page.click("button:has-text('Add endpoint')")
        page.wait_for_url(re.compile(r".*/webhooks/[0-9a-f-]{36}$"))
        endpoint_url = page.url
        secret = page.locator("#webhook-secret").inner_text()
        assert secret.startswith("whsec_")
        shown["secret"] = secret
        page.reload()  # once: a GET shows it no more
        page.wait_for_load_state()
        expect_count(page.locator("#webhook-secret"), 0)
        assert secret not in page.content()
        expect_count(page.locator("#no-messages"), 1)
        page.click("text=Webhooks of Hooked shop")
        assert receiver.url in page.locator("#webhooks").inner_text()
        assert "token.created" in page.locator("#webhooks").inner_text()

        # A token's event: the server's own worker sends it, signed with the secret the page showed.
        body = json.dumps({"projectId": project_id, "recipientEmail": "jane@example.com"}).encode()
        headers = {"X-Api-Key": api_key, "Content-Type": "application/json"}
        created = UrlClient(server.url).request("POST", "/api/tokens", headers=headers, body=body)
        assert created.status == 201, created.body
        _wait_for(_received(receiver, 1))
        first = receiver.received[0]
        assert first.error is None, first.error
        assert first.result["type"] == "token.created"
        webhook_id = first.headers["webhook-id"]

        def log_says_sent() -> bool:
            page.goto(endpoint_url)
            return (
                page.locator("#webhook-log").count() == 1 and "sent" in page.locator("#webhook-log tbody").inner_text()
            )

        _wait_for(log_says_sent)  # the worker writes the outcome just after the receiver answers
        row = page.locator(f"#message-{webhook_id}")
        assert "token.created" in row.inner_text()
        assert webhook_id in row.inner_text()

        # Re-send from the log: the same message again, with the same webhook-id.
        row.get_by_role("button", name=re.compile("^Re-send")).click()
        page.wait_for_url(re.compile(rf".*\?resent={webhook_id}$"))
        assert webhook_id in page.locator("#webhook-resent").inner_text()
        _wait_for(_received(receiver, 2))
        again = receiver.received[1]
        assert again.error is None, again.error
        assert again.headers["webhook-id"] == webhook_id
        assert again.body == first.body
        page.goto(f"{dashboard}/projects/{project_id}/audit")
        assert "re-sent a webhook message" in page.locator("#audit").inner_text()
        assert secret not in server.output()
