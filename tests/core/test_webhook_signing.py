"""Standard Webhooks signing (``octotp_core.webhooks``): secrets, headers that the ``standardwebhooks``
package itself verifies, and event envelopes built from octotp's own records, which carry the masked
recipient and never a code."""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import json

import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from octotp_core import FrozenClock, TokenEvent
from octotp_core.webhooks import (
    DELIVERY_DELIVERED,
    DELIVERY_FAILED,
    EVENT_TYPES,
    PROJECT_PLAN_CHANGED,
    WebhookEvent,
    delivery_delivered,
    delivery_failed,
    delivery_sent,
    new_message_id,
    new_secret,
    plan_changed,
    signature_headers,
    signing_key,
    token_event,
)

from .conftest import MakeOctotp


@pytest.fixture
def now() -> dt.datetime:
    """This test's now (a module-level one would be minutes old by the time a late test runs, and
    the package refuses timestamps over five minutes old)."""
    return dt.datetime.now(dt.timezone.utc)


def test_a_new_secret_is_whsec_and_base64_of_at_least_24_random_bytes() -> None:
    secret = new_secret()
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret[len("whsec_") :], validate=True)) == 32
    assert signing_key(secret) == base64.b64decode(secret[6:])
    assert len(signing_key(new_secret(24))) == 24
    assert new_secret() != new_secret()
    with pytest.raises(ValueError, match="at least 24"):
        new_secret(16)


def test_the_package_verifies_what_octotp_signs(now: dt.datetime) -> None:
    secret, body = new_secret(), b'{"type":"token.created","timestamp":"2026-01-01T00:00:00Z","data":{}}'
    headers = signature_headers(secret, body, timestamp=now)
    assert sorted(headers) == ["webhook-id", "webhook-signature", "webhook-timestamp"]
    assert headers["webhook-id"].startswith("msg_")
    assert headers["webhook-timestamp"] == str(int(now.timestamp()))
    assert headers["webhook-signature"].startswith("v1,")
    assert Webhook(secret).verify(body, headers) == json.loads(body)
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(body, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body.replace(b"created", b"approved"), headers)


def test_one_message_keeps_its_id_and_a_timestamp_in_any_zone_is_utc(now: dt.datetime) -> None:
    secret, body, message_id = new_secret(), b"{}", new_message_id()
    paris = now.astimezone(dt.timezone(dt.timedelta(hours=2)))
    first = signature_headers(secret, body, timestamp=now, message_id=message_id)
    again = signature_headers(secret, body, timestamp=paris, message_id=message_id)
    assert first == again
    assert first["webhook-id"] == message_id
    with pytest.raises(ValueError, match="timezone-aware"):
        signature_headers(secret, body, timestamp=now.replace(tzinfo=None))


def test_an_old_plain_secret_signs_with_its_utf8_bytes(now: dt.datetime) -> None:
    body = b'{"code":"123456"}'
    headers = signature_headers("an old plain secret", body, timestamp=now)
    assert Webhook(b"an old plain secret").verify(body, headers) == {"code": "123456"}


@pytest.mark.parametrize(
    ("secret", "why"),
    [
        ("", "empty"),
        ("whsec_not*base64!", "base64"),
        ("whsec_" + base64.b64encode(b"short").decode(), "at least 24"),
    ],
)
def test_a_bad_secret_is_refused_without_being_quoted(secret: str, why: str) -> None:
    with pytest.raises(ValueError, match=why) as refused:
        signing_key(secret)
    assert secret == "" or secret not in str(refused.value)


def test_the_envelope_is_type_timestamp_and_data() -> None:
    at = dt.datetime(2026, 2, 14, 12, 0, 5, 999, tzinfo=dt.timezone.utc)
    event = WebhookEvent(PROJECT_PLAN_CHANGED, at, {"projectId": "p"})
    assert event.envelope() == {
        "type": "project.plan_changed",
        "timestamp": "2026-02-14T12:00:05Z",
        "data": {"projectId": "p"},
    }
    assert json.loads(event.body()) == event.envelope()
    assert b" " not in event.body()
    with pytest.raises(ValueError, match="unknown webhook event type"):
        WebhookEvent("token.eaten", at)


def test_the_event_types_are_the_issues() -> None:
    assert EVENT_TYPES == (
        "token.created",
        "token.approved",
        "token.failed",
        "token.locked",
        "delivery.sent",
        "delivery.delivered",
        "delivery.failed",
        "project.plan_changed",
    )


def test_events_from_the_service_carry_the_masked_recipient_and_never_the_code(
    make_octotp: MakeOctotp, now: dt.datetime
) -> None:
    clock = FrozenClock(now)
    octotp = make_octotp(octotp_clock=clock)
    project = octotp.accounts.create_project("Events").project
    told: list[TokenEvent] = []
    octotp.tokens.listeners.append(told.append)
    created = octotp.create_token(project.id, email="Alice.Liddell@example.com", purpose="login")
    assert created.code is not None
    wrong = "0" * len(created.code) if created.code != "0" * len(created.code) else "1" * len(created.code)
    octotp.validate_token(project.id, email="alice.liddell@example.com", code=wrong, purpose="login")
    octotp.validate_token(project.id, email="alice.liddell@example.com", code=created.code, purpose="login")
    token = octotp.store.get_token(created.id)
    assert token is not None

    events = [token_event(event, clock.now()) for event in told]
    events += [
        delivery_sent(token, clock.now(), provider_message_id="SM123"),
        delivery_failed(token, clock.now(), reason="invalid_recipient"),
        plan_changed(dataclasses.replace(project, plan="pro"), "free", clock.now()),
    ]
    assert [event.type for event in events] == [
        "token.created",
        "token.failed",
        "token.approved",
        "delivery.sent",
        "delivery.failed",
        "project.plan_changed",
    ]
    created_event, failed_event, approved_event, sent_event, undelivered_event, plan_event = (
        event.envelope() for event in events
    )
    assert created_event["data"] == {
        "projectId": project.id,
        "tokenId": created.id,
        "recipientHint": "a***@example.com",
        "purpose": "login",
        "status": None,
    }
    assert (failed_event["data"]["status"], approved_event["data"]["status"]) == ("incorrect", "approved")
    assert sent_event["data"] == {
        "projectId": project.id,
        "tokenId": created.id,
        "channel": "email",
        "recipientHint": "a***@example.com",
        "purpose": "login",
        "providerMessageId": "SM123",
    }
    assert undelivered_event["type"] == DELIVERY_FAILED
    assert undelivered_event["data"]["reason"] == "invalid_recipient"
    assert plan_event["data"] == {"projectId": project.id, "name": "Events", "plan": "pro", "previousPlan": "free"}
    for event in events:
        body = event.body().decode()
        assert created.code not in body
        assert "alice" not in body.lower()
        assert token.code_hash not in body
        assert token.recipient_digest not in body


def test_delivery_delivered_carries_the_token_and_never_the_code(make_octotp: MakeOctotp, now: dt.datetime) -> None:
    clock = FrozenClock(now)
    octotp = make_octotp(octotp_clock=clock)
    project = octotp.accounts.create_project("Delivered").project
    created = octotp.create_token(project.id, phone="+14155550123", purpose="login")
    token = octotp.store.get_token(created.id)
    assert token is not None
    event = delivery_delivered(token, clock.now())
    assert event.type == DELIVERY_DELIVERED == "delivery.delivered"
    assert event.envelope()["data"] == {
        "projectId": project.id,
        "tokenId": created.id,
        "channel": "sms",
        "recipientHint": token.recipient_hint,
        "purpose": "login",
    }
    assert created.code is not None
    assert created.code not in event.body().decode()
    assert "4155550123" not in event.body().decode()
