"""The code-delivery webhook backend against a real HTTP receiver on 127.0.0.1 that verifies each
request with the ``standardwebhooks`` package itself, as a user's endpoint would; and the old
``X-Octotp-Signature`` header, still sent (and valid) for one release."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import urllib.error
from collections.abc import Mapping
from typing import Any

import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from octotp_core import DeliveryFailed, FrozenClock
from octotp_core.clock import SystemClock
from octotp_core.delivery import Message
from octotp_core.delivery.webhook import WebhookBackend
from octotp_core.webhooks import new_secret

from ..outbox_runs import run_out_leftover_jobs
from ..webhook_receiver import Verify, running
from .conftest import MakeOctotp

BACKEND = "octotp_core.delivery.webhook.WebhookBackend"
MESSAGE = Message("email", "kim@example.com", "042917", "Your code", "Your code is 042917.", "en")


def standard(secret: str | bytes) -> Verify:
    """What a receiver does with the ``standardwebhooks`` package: verify, or raise."""

    def verify(body: bytes, headers: Mapping[str, str]) -> Any:
        return Webhook(secret).verify(body, dict(headers))

    return verify


def legacy_valid(secret: str, headers: Mapping[str, str], body: bytes) -> bool:
    """The old receiver's check of ``X-Octotp-Signature: t=<unix time>,v1=<hex HMAC-SHA256>``."""
    fields = dict(part.split("=", 1) for part in headers["x-octotp-signature"].split(","))
    expected = hmac.new(secret.encode(), f"{fields['t']}.".encode() + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(fields["v1"], expected)


def test_a_code_sent_through_the_webhook_verifies_with_the_package(make_octotp: MakeOctotp) -> None:
    secret = new_secret()
    with running(standard(secret)) as receiver:
        octotp = make_octotp(
            delivery_email_backend=BACKEND, delivery_options={"webhook": {"url": receiver.url, "secret": secret}}
        )
        project = octotp.accounts.create_project("Webhook delivery").project
        created = octotp.create_token(project.id, email="kim@example.com", send=True)
    (request,) = receiver.received
    assert request.error is None
    assert request.path == "/hooks/octotp"
    assert request.result == json.loads(request.body)
    assert (request.result["to"], request.result["code"], request.result["channel"]) == (
        "kim@example.com",
        created.code,
        "email",
    )
    assert request.headers["content-type"] == "application/json"
    assert request.headers["webhook-id"].startswith("msg_")
    # The real clock: what a receiver checks within five minutes.
    assert abs(int(request.headers["webhook-timestamp"]) - SystemClock().now().timestamp()) < 60


def test_the_old_header_is_still_sent_and_valid() -> None:
    """For one release: a receiver written for X-Octotp-Signature keeps working, with a plain secret
    (as before) and with a whsec_ one (keyed with the secret as configured)."""
    for secret in ("webhook signing secret", new_secret()):
        with running(standard(secret if secret.startswith("whsec_") else secret.encode())) as receiver:
            WebhookBackend(receiver.url, secret).send(MESSAGE)
        request = receiver.last
        assert request.error is None
        assert legacy_valid(secret, request.headers, request.body)
        assert request.headers["x-octotp-signature"].startswith(f"t={request.headers['webhook-timestamp']},v1=")
        assert not legacy_valid("another secret", request.headers, request.body)


def test_an_old_plain_secret_signs_with_its_utf8_bytes(make_octotp: MakeOctotp) -> None:
    with running(standard(b"webhook signing secret")) as receiver:
        octotp = make_octotp(
            delivery_email_backend=BACKEND,
            delivery_options={"webhook": {"url": receiver.url, "secret": "webhook signing secret"}},
        )
        project = octotp.accounts.create_project("Plain secret").project
        octotp.create_token(project.id, email="kim@example.com", send=True)
    assert receiver.last.error is None
    assert receiver.last.result["to"] == "kim@example.com"


def test_tampered_forged_and_headerless_requests_are_refused() -> None:
    secret = new_secret()
    with running(standard(secret)) as receiver:
        WebhookBackend(receiver.url, secret).send(MESSAGE)
        genuine = receiver.last
        assert genuine.error is None
        sent = {
            name: genuine.headers[name]
            for name in ("content-type", "webhook-id", "webhook-timestamp", "webhook-signature")
        }
        assert receiver.post(genuine.body, sent) == 204  # the same request again still verifies (dedupe on webhook-id)

        tampered = genuine.body.replace(b"kim@example.com", b"eve@example.com")
        assert receiver.post(tampered, sent) == 400
        for name in ("webhook-id", "webhook-timestamp", "webhook-signature"):
            assert receiver.post(genuine.body, {k: v for k, v in sent.items() if k != name}) == 400
        other_id = {**sent, "webhook-id": "msg_another"}
        assert receiver.post(genuine.body, other_id) == 400
    refusals = receiver.received[2:]
    assert len(refusals) == 5
    assert all(isinstance(request.error, WebhookVerificationError) for request in refusals)


def test_another_secret_is_refused_and_the_delivery_fails(make_octotp: MakeOctotp) -> None:
    with running(standard(new_secret())) as receiver:
        octotp = make_octotp(
            delivery_email_backend=BACKEND,
            delivery_options={"webhook": {"url": receiver.url, "secret": new_secret()}},
        )
        project = octotp.accounts.create_project("Wrong secret").project
        with pytest.raises(DeliveryFailed):
            octotp.create_token(project.id, email="kim@example.com", send=True)
    assert isinstance(receiver.last.error, WebhookVerificationError)


@pytest.mark.parametrize("minutes", [-6, 6])
def test_a_timestamp_more_than_five_minutes_off_is_refused(minutes: int) -> None:
    secret = new_secret()
    clock = FrozenClock(SystemClock().now() + dt.timedelta(minutes=minutes))
    with running(standard(secret)) as receiver:
        with pytest.raises(urllib.error.HTTPError, match="400"):
            WebhookBackend(receiver.url, secret, clock=clock).send(MESSAGE)
        WebhookBackend(receiver.url, secret, clock=FrozenClock(SystemClock().now() - dt.timedelta(minutes=4))).send(
            MESSAGE
        )
    stale, recent = receiver.received
    assert isinstance(stale.error, WebhookVerificationError)
    assert "too old" in str(stale.error) if minutes < 0 else "too new" in str(stale.error)
    assert int(stale.headers["webhook-timestamp"]) == int(clock.now().timestamp())
    assert recent.error is None


def test_a_malformed_whsec_secret_is_refused_at_startup_without_being_quoted() -> None:
    with pytest.raises(ValueError, match="base64") as refused:
        WebhookBackend("https://example.com/hook", "whsec_not base64 at all")
    assert "not base64 at all" not in str(refused.value)
    with pytest.raises(ValueError, match="empty"):
        WebhookBackend("https://example.com/hook", "")


def test_a_queued_delivery_keeps_its_webhook_id_across_retries(make_octotp: MakeOctotp, clock: FrozenClock) -> None:
    """Through the outbox, ``webhook-id`` is the job's id on every attempt, so a receiver that got a
    message whose answer was lost can drop the repeat."""
    secret = new_secret()
    with running(standard(secret), answers=[503]) as receiver:
        octotp = make_octotp(
            delivery_mode="queue",
            delivery_retry_seconds=1.0,
            delivery_email_backend=BACKEND,
            delivery_options={"webhook": {"url": receiver.url, "secret": secret}},
        )
        run_out_leftover_jobs(octotp)
        project = octotp.accounts.create_project("Webhook retries").project
        created = octotp.create_token(project.id, email="kim@example.com", send=True)
        for _ in range(3):
            octotp.outbox.run_once("test-worker", 100)
            clock.advance(2)
    mine = [r for r in receiver.received if r.result and r.result.get("code") == created.code]
    assert [r.status for r in mine] == [503, 204]
    job = octotp.store.get_token_job(created.id)
    assert job is not None
    assert job.state == "sent"
    assert {r.headers["webhook-id"] for r in mine} == {job.id}
