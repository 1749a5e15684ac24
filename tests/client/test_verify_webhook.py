"""``octotp_client.verify_webhook`` in a real receiver on 127.0.0.1, fed by octotp's code-delivery
webhook backend: it accepts what octotp signs, agrees with the ``standardwebhooks`` package, and
refuses a tampered body, another secret, a stale timestamp and missing headers, each with its code."""

from __future__ import annotations

import datetime as dt
import urllib.error
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from standardwebhooks import Webhook

import octotp_client
from octotp_client import ConfigurationError, OctotpError, WebhookVerificationError, verify_webhook
from octotp_core import FrozenClock, Octotp, Settings
from octotp_core.clock import SystemClock
from octotp_core.delivery import Message
from octotp_core.delivery.webhook import WebhookBackend
from octotp_core.webhooks import WebhookEvent, new_secret, signature_headers

from ..webhook_receiver import Verify, WebhookReceiver, running

pytestmark = pytest.mark.xdist_group("client")

MESSAGE = Message("sms", "+442079460123", "042917", "", "Your code is 042917.", "en")


def with_client(secret: str) -> Verify:
    def verify(body: bytes, headers: Mapping[str, str]) -> Any:
        return verify_webhook(body, headers, secret)

    return verify


def refusal(receiver: WebhookReceiver) -> WebhookVerificationError:
    error = receiver.last.error
    assert isinstance(error, WebhookVerificationError), error
    return error


def test_it_is_exported_and_part_of_the_error_hierarchy() -> None:
    assert octotp_client.verify_webhook is verify_webhook
    assert {"verify_webhook", "WebhookVerificationError"} <= set(octotp_client.__all__)
    assert issubclass(WebhookVerificationError, OctotpError)
    assert octotp_client.errors.WebhookVerificationError is WebhookVerificationError


def test_a_code_delivered_by_octotp_verifies(tmp_path: Path) -> None:
    secret = new_secret()
    with running(with_client(secret)) as receiver:
        settings = Settings(
            data_dir=tmp_path,
            database_url=f"sqlite:///{tmp_path}/octotp.db",
            delivery_sms_backend="octotp_core.delivery.webhook.WebhookBackend",
            delivery_options={"webhook": {"url": receiver.url, "secret": secret}},
        )
        octotp = Octotp(settings)
        try:
            octotp.migrate()
            project = octotp.accounts.create_project("Client verifies").project
            created = octotp.create_token(project.id, phone="+442079460123", send=True)
        finally:
            octotp.close()
    received = receiver.last
    assert received.error is None
    assert received.result["to"] == "+442079460123"
    assert received.result["code"] == created.code
    # The package itself reads the same request the same way.
    assert Webhook(secret).verify(received.body, received.headers) == received.result


def test_headers_in_any_case_and_a_text_body_verify() -> None:
    secret = new_secret()
    body = WebhookEvent("token.created", SystemClock().now(), {"projectId": "p"}).body()
    headers = signature_headers(secret, body, timestamp=SystemClock().now())
    title_case = {name.title(): value for name, value in headers.items()}  # Django's request.headers
    assert verify_webhook(body, title_case, secret)["type"] == "token.created"
    assert verify_webhook(body.decode(), headers, secret)["data"] == {"projectId": "p"}


def test_an_old_plain_secret_verifies() -> None:
    with running(with_client("webhook signing secret")) as receiver:
        WebhookBackend(receiver.url, "webhook signing secret").send(MESSAGE)
    assert receiver.last.error is None
    assert receiver.last.result["code"] == "042917"


def test_a_tampered_body_and_missing_headers_are_refused() -> None:
    secret = new_secret()
    with running(with_client(secret)) as receiver:
        WebhookBackend(receiver.url, secret).send(MESSAGE)
        genuine = receiver.last
        sent = {k: genuine.headers[k] for k in ("content-type", "webhook-id", "webhook-timestamp", "webhook-signature")}

        assert receiver.post(genuine.body.replace(b"042917", b"000000"), sent) == 400
        assert refusal(receiver).code == "invalid_signature"
        for name in ("webhook-id", "webhook-timestamp", "webhook-signature"):
            assert receiver.post(genuine.body, {k: v for k, v in sent.items() if k != name}) == 400
            error = refusal(receiver)
            assert (error.code, str(error)) == ("missing_header", f"missing webhook header {name}")
        assert receiver.post(genuine.body, {**sent, "webhook-signature": "v1"}) == 400
        assert refusal(receiver).code == "invalid_header"
        assert receiver.post(genuine.body, {**sent, "webhook-timestamp": "yesterday"}) == 400
        assert refusal(receiver).code == "invalid_header"
        assert receiver.post(genuine.body, sent) == 204


def test_another_secret_is_refused() -> None:
    with running(with_client(new_secret())) as receiver, pytest.raises(urllib.error.HTTPError, match="400"):
        WebhookBackend(receiver.url, new_secret()).send(MESSAGE)
    error = refusal(receiver)
    assert error.code == "invalid_signature"
    assert "042917" not in str(error)


@pytest.mark.parametrize(("minutes", "code"), [(-6, "timestamp_too_old"), (6, "timestamp_too_new")])
def test_a_timestamp_more_than_five_minutes_off_is_refused(minutes: int, code: str) -> None:
    secret = new_secret()
    with running(with_client(secret)) as receiver:
        clock = FrozenClock(SystemClock().now() + dt.timedelta(minutes=minutes))
        with pytest.raises(urllib.error.HTTPError, match="400"):
            WebhookBackend(receiver.url, secret, clock=clock).send(MESSAGE)
        assert refusal(receiver).code == code
        recent = FrozenClock(SystemClock().now() - dt.timedelta(minutes=4))
        WebhookBackend(receiver.url, secret, clock=recent).send(MESSAGE)
    assert receiver.last.error is None


def test_a_body_that_is_not_a_json_object_is_refused() -> None:
    secret, now = new_secret(), SystemClock().now()
    for body in (b"[1, 2]", b"not json"):
        with pytest.raises(WebhookVerificationError) as refused:
            verify_webhook(body, signature_headers(secret, body, timestamp=now), secret)
        assert refused.value.code == "invalid_payload"


def test_an_unusable_secret_is_a_configuration_error() -> None:
    body = b"{}"
    headers = signature_headers(new_secret(), body, timestamp=SystemClock().now())
    for secret in ("", "whsec_*not-a-secret*"):
        with pytest.raises(ConfigurationError) as refused:
            verify_webhook(body, headers, secret)
        assert secret == "" or secret not in str(refused.value)
