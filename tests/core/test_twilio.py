"""Twilio SMS against a local Twilio (``octotp_core.testing.twilio_server``) that checks the request
Twilio's Messages API documents and answers as Twilio does: the SID recorded as the job's provider
id, Twilio's refusals of a number as permanent failures in both delivery modes, its 429/5xx answers
retried, and its status callbacks, signed as Twilio signs them, recorded on the job."""

from __future__ import annotations

import datetime as dt
import json
import re
import urllib.error
import urllib.parse
import uuid
from collections.abc import Iterator

import pytest

from octotp_core import DeliveryFailed, FrozenClock, Octotp, TokenEvent
from octotp_core.delivery import Message, PermanentFailure
from octotp_core.delivery.twilio import TwilioSmsBackend, signature_valid, twilio_signature
from octotp_core.http import ApiHandler, Request
from octotp_core.testing.twilio_server import TwilioServer

from ..outbox_runs import run_due, run_out_leftover_jobs
from .conftest import MakeOctotp

CALLBACK = "https://verify.example.com/api/delivery/twilio/status"
STATUS_PATH = "/api/delivery/twilio/status"


@pytest.fixture
def twilio() -> Iterator[TwilioServer]:
    server = TwilioServer().start()
    yield server
    server.stop()


def _message(to: str) -> Message:
    return Message(channel="sms", to=to, code="123456", subject="", body="Your code is 123456", locale="en")


def _queued(make_octotp: MakeOctotp, twilio: TwilioServer, **settings: object) -> tuple[Octotp, str]:
    octotp = make_octotp(delivery_mode="queue", **twilio.delivery_settings(status_callback_url=CALLBACK), **settings)
    run_out_leftover_jobs(octotp)
    twilio.fail_next.clear()
    return octotp, octotp.accounts.create_project("Twilio project").project.id


def _number() -> str:
    return f"+1415555{uuid.uuid4().int % 10_000:04d}"


def test_the_signature_is_the_one_in_twilios_docs() -> None:
    # The worked example of https://www.twilio.com/docs/usage/webhooks/webhooks-security
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    params = {
        "CallSid": "CA1234567890ABCDE",
        "Caller": "+12349013030",
        "Digits": "1234",
        "From": "+12349013030",
        "To": "+18005551212",
    }
    assert twilio_signature("12345", url, params.items()) == "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
    assert signature_valid("12345", url, params.items(), "0/KCTR6DLpKmkAf8muzZqo1nDgQ=")
    assert not signature_valid("12345", url, params.items(), None)
    assert not signature_valid("12346", url, params.items(), "0/KCTR6DLpKmkAf8muzZqo1nDgQ=")
    assert not signature_valid("12345", url + "&baz=3", params.items(), "0/KCTR6DLpKmkAf8muzZqo1nDgQ=")


def test_send_posts_twilios_documented_request_and_returns_the_sid(twilio: TwilioServer) -> None:
    backend = TwilioSmsBackend(**twilio.backend_options(status_callback_url=CALLBACK))
    sid = backend.send(_message("+14155550100"))
    assert re.fullmatch(r"SM[0-9a-f]{32}", sid)
    [sent] = twilio.to("+14155550100")
    assert sent.sid == sid
    assert sent.resource["status"] == "queued"
    assert sent.form == {
        "To": "+14155550100",
        "Body": "Your code is 123456",
        "From": "+15005550006",
        "StatusCallback": CALLBACK,
    }


def test_a_messaging_service_is_sent_instead_of_a_from_number(twilio: TwilioServer) -> None:
    options = twilio.backend_options(messaging_service_sid="MG" + "0" * 32)
    del options["from_number"]
    sid = TwilioSmsBackend(**options).send(_message("+14155550101"))
    [sent] = twilio.to("+14155550101")
    assert (sent.sid, sent.resource["status"]) == (sid, "accepted")
    assert "From" not in sent.form
    assert "StatusCallback" not in sent.form


@pytest.mark.parametrize(
    ("to", "code", "reason"),
    [
        ("+15005550001", 21211, "invalid_recipient"),
        ("+15005550002", 21612, "invalid_recipient"),
        ("+15005550003", 21408, "region_not_enabled"),
        ("+15005550004", 21610, "unsubscribed"),
        ("+15005550009", 21614, "invalid_recipient"),
        ("0800 not a number", 21211, "invalid_recipient"),
    ],
)
def test_twilios_refusals_of_a_number_are_permanent(twilio: TwilioServer, to: str, code: int, reason: str) -> None:
    with pytest.raises(PermanentFailure) as failure:
        TwilioSmsBackend(**twilio.backend_options()).send(_message(to))
    assert failure.value.reason == reason
    assert to not in str(failure.value)
    [(status, body)] = twilio.refused
    assert (status, body["code"], body["status"]) == (400, code, 400)
    assert body["more_info"] == f"https://www.twilio.com/docs/errors/{code}"


def test_a_wrong_auth_token_is_permanent_and_named_as_such(twilio: TwilioServer) -> None:
    options = twilio.backend_options() | {"auth_token": "not-the-token"}
    with pytest.raises(PermanentFailure) as failure:
        TwilioSmsBackend(**options).send(_message("+14155550102"))
    assert failure.value.reason == "provider_auth"
    assert "not-the-token" not in str(failure.value)
    assert twilio.refused[0][0] == 401
    assert twilio.messages == []


@pytest.mark.parametrize("status", [429, 500, 503])
def test_429_and_5xx_are_transient(twilio: TwilioServer, status: int) -> None:
    twilio.fail_next = [status]
    with pytest.raises(urllib.error.HTTPError) as failure:
        TwilioSmsBackend(**twilio.backend_options()).send(_message("+14155550103"))
    assert not isinstance(failure.value, PermanentFailure)
    assert failure.value.code == status


def test_an_unreachable_twilio_is_transient() -> None:
    server = TwilioServer()
    options = server.backend_options()  # never started: nothing listens there
    server.stop()
    with pytest.raises(urllib.error.URLError) as failure:
        TwilioSmsBackend(**options).send(_message("+14155550104"))
    assert not isinstance(failure.value, PermanentFailure)


# -- both delivery modes ----------------------------------------------------------------------


def _create(api: ApiHandler, key: str, project: str, phone: str) -> tuple[int, dict[str, object]]:
    headers = {"Content-Type": "application/json", "X-Api-Key": key}
    body = json.dumps({"projectId": project, "recipientPhone": phone, "send": True}).encode()
    answer = api.handle(Request("POST", "/api/tokens", headers, body))
    return answer.status, json.loads(answer.body)


def test_sync_mode_answers_502_for_an_invalid_number_and_201_for_a_good_one(
    make_octotp: MakeOctotp, twilio: TwilioServer
) -> None:
    octotp = make_octotp(delivery_mode="sync", **twilio.delivery_settings())
    created = octotp.accounts.create_project("Twilio sync")
    api = ApiHandler(octotp)
    status, body = _create(api, created.api_key.secret, created.project.id, "+15005550001")
    assert (status, body["code"]) == (502, "delivery_failed")
    assert twilio.messages == []
    status, body = _create(api, created.api_key.secret, created.project.id, "+14155550105")
    assert (status, body["sent"]) == (201, True)
    [sent] = twilio.to("+14155550105")
    assert body["code"] in sent.form["Body"]


def test_sync_mode_records_the_send_and_takes_twilios_callbacks(
    make_octotp: MakeOctotp, twilio: TwilioServer, clock: FrozenClock
) -> None:
    octotp = make_octotp(delivery_mode="sync", **twilio.delivery_settings(status_callback_url=CALLBACK))
    created = octotp.accounts.create_project("Twilio sync callbacks")
    key, project = created.api_key.secret, created.project.id
    events: list[TokenEvent] = []
    octotp.tokens.listeners.append(events.append)
    api = ApiHandler(octotp)
    phone = _number()
    status, body = _create(api, key, project, phone)
    assert status == 201, body
    [sent] = twilio.to(phone)
    job = octotp.store.get_token_job(str(body["id"]))
    assert job is not None
    assert (job.kind, job.state, job.attempts, job.provider_id, job.payload) == ("code", "sent", 1, sent.sid, None)
    assert job.sent_at == clock.now()

    def delivery() -> dict[str, object]:
        answer = api.handle(Request("GET", f"/api/tokens/{body['id']}", {"X-Api-Key": key}))
        assert answer.status == 200
        state: dict[str, object] = json.loads(answer.body)["delivery"]
        return state

    assert delivery()["state"] == "sent"
    clock.advance(3)
    params = {"MessageSid": sent.sid, "MessageStatus": "delivered"}
    assert _callback(api, params, twilio_signature(twilio.auth_token, CALLBACK, params.items()))[0] == 204
    assert delivery() == {
        "state": "delivered",
        "reason": None,
        "attempts": 1,
        "sentAt": (clock.now() - dt.timedelta(seconds=3)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "deliveredAt": clock.now().strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    assert [e.kind for e in events] == ["created", "delivery.sent", "delivery.delivered"]
    assert events[1].token_id == body["id"]


def test_a_failed_sync_send_records_no_delivery(make_octotp: MakeOctotp, twilio: TwilioServer) -> None:
    octotp = make_octotp(delivery_mode="sync", **twilio.delivery_settings())
    project = octotp.accounts.create_project("Twilio sync refused").project.id
    with pytest.raises(DeliveryFailed):
        octotp.tokens.create(project, phone="+15005550001", send=True)
    [token] = octotp.store.list_tokens(project)
    assert token.closed_reason == "delivery_failed"
    assert octotp.store.get_token_job(token.id) is None


def test_queue_mode_fails_an_invalid_number_at_once_and_retries_nothing(
    make_octotp: MakeOctotp, twilio: TwilioServer, clock: FrozenClock
) -> None:
    octotp, project = _queued(make_octotp, twilio)
    created = octotp.tokens.create(project, phone="+15005550001", send=True)
    run_due(octotp)
    job = octotp.store.get_token_job(created.id)
    assert job is not None
    assert (job.state, job.reason, job.attempts, job.payload) == ("failed", "invalid_recipient", 1, None)
    clock.advance(120)
    run_due(octotp)
    assert len(twilio.refused) == 1  # asked once, never again
    assert octotp.tokens.validate(project, phone="+15005550001", code=created.code or "").is_valid is False


def test_queue_mode_retries_a_503_and_records_the_sid(
    make_octotp: MakeOctotp, twilio: TwilioServer, clock: FrozenClock
) -> None:
    octotp, project = _queued(make_octotp, twilio, delivery_retry_seconds=2.0)
    phone = _number()
    created = octotp.tokens.create(project, phone=phone, send=True)
    twilio.fail_next = [503]
    run_due(octotp)
    first = octotp.store.get_token_job(created.id)
    assert first is not None
    assert (first.state, first.attempts, first.reason) == ("queued", 1, "HTTPError")
    clock.advance(5)
    run_due(octotp)
    [sent] = twilio.to(phone)
    job = octotp.store.get_token_job(created.id)
    assert job is not None
    assert (job.state, job.attempts, job.provider_id) == ("sent", 2, sent.sid)
    assert sent.form["StatusCallback"] == CALLBACK


# -- status callbacks through core's HTTP API -------------------------------------------------


def _callback(api: ApiHandler, params: dict[str, str], signature: str | None) -> tuple[int, dict[str, object]]:
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if signature is not None:
        headers["X-Twilio-Signature"] = signature
    answer = api.handle(Request("POST", STATUS_PATH, headers, urllib.parse.urlencode(params).encode()))
    return answer.status, json.loads(answer.body) if answer.body else {}


def _sent(make_octotp: MakeOctotp, twilio: TwilioServer) -> tuple[Octotp, str, str]:
    octotp, project = _queued(make_octotp, twilio)
    created = octotp.tokens.create(project, phone=_number(), send=True)
    run_due(octotp)
    job = octotp.store.get_token_job(created.id)
    assert job is not None
    assert job.provider_id
    return octotp, created.id, job.provider_id


def test_a_signed_delivered_callback_marks_the_job_delivered(
    make_octotp: MakeOctotp, twilio: TwilioServer, clock: FrozenClock
) -> None:
    octotp, token_id, sid = _sent(make_octotp, twilio)
    events: list[TokenEvent] = []
    octotp.outbox.listeners.append(events.append)
    api = ApiHandler(octotp)
    params = {"AccountSid": twilio.account_sid, "MessageSid": sid, "MessageStatus": "sent", "SmsSid": sid}
    assert _callback(api, params, twilio_signature(twilio.auth_token, CALLBACK, params.items()))[0] == 204
    assert octotp.store.get_token_job(token_id).state == "sent"  # type: ignore[union-attr]
    assert events == []
    params["MessageStatus"] = "delivered"
    assert _callback(api, params, twilio_signature(twilio.auth_token, CALLBACK, params.items()))[0] == 204
    job = octotp.store.get_token_job(token_id)
    assert job is not None
    assert (job.state, job.delivered_at) == ("delivered", clock.now())
    token = octotp.store.get_token(token_id)
    assert token is not None
    assert [(e.kind, e.project_id, e.token_id, e.recipient_hint, e.reason) for e in events] == [
        ("delivery.delivered", job.project_id, token_id, token.recipient_hint, None)
    ]
    # Late and repeated callbacks are answered (Twilio would retry otherwise) and change nothing.
    for late in ("delivered", "undelivered", "sent"):
        params |= {"MessageStatus": late, "ErrorCode": "30003"}
        assert _callback(api, params, twilio_signature(twilio.auth_token, CALLBACK, params.items()))[0] == 204
    assert octotp.store.get_token_job(token_id) == job
    assert len(events) == 1


@pytest.mark.parametrize("status", ["undelivered", "failed"])
def test_a_signed_failure_callback_fails_the_job_with_twilios_code(
    make_octotp: MakeOctotp, twilio: TwilioServer, status: str
) -> None:
    octotp, token_id, sid = _sent(make_octotp, twilio)
    events: list[TokenEvent] = []
    octotp.outbox.listeners.append(events.append)
    params = {"MessageSid": sid, "MessageStatus": status, "ErrorCode": "30003"}
    signature = twilio_signature(twilio.auth_token, CALLBACK, params.items())
    assert _callback(ApiHandler(octotp), params, signature)[0] == 204
    job = octotp.store.get_token_job(token_id)
    assert job is not None
    assert (job.state, job.reason) == ("failed", "twilio_30003")
    assert [(e.kind, e.token_id, e.reason) for e in events] == [("delivery.failed", token_id, "twilio_30003")]
    params = {"MessageSid": sid, "MessageStatus": "delivered"}  # a late one: the message failed for good
    assert (
        _callback(ApiHandler(octotp), params, twilio_signature(twilio.auth_token, CALLBACK, params.items()))[0] == 204
    )
    assert octotp.store.get_token_job(token_id) == job
    assert len(events) == 1


def test_a_bad_or_missing_signature_is_403_and_changes_nothing(make_octotp: MakeOctotp, twilio: TwilioServer) -> None:
    octotp, token_id, sid = _sent(make_octotp, twilio)
    api = ApiHandler(octotp)
    params = {"MessageSid": sid, "MessageStatus": "delivered"}
    wrong_key = twilio_signature("not-the-auth-token", CALLBACK, params.items())
    wrong_url = twilio_signature(twilio.auth_token, "http://127.0.0.1" + STATUS_PATH, params.items())
    other_params = twilio_signature(twilio.auth_token, CALLBACK, {**params, "MessageStatus": "sent"}.items())
    for signature in (None, "", wrong_key, wrong_url, other_params):
        status, body = _callback(api, params, signature)
        assert (status, body["code"]) == (403, "invalid_signature")
        assert body["type"] == "https://octotp.dev/problems/invalid-signature"
    assert octotp.store.get_token_job(token_id).state == "sent"  # type: ignore[union-attr]


def test_an_unknown_sid_is_404_and_a_missing_field_400(make_octotp: MakeOctotp, twilio: TwilioServer) -> None:
    octotp, _, _ = _sent(make_octotp, twilio)
    api = ApiHandler(octotp)
    unknown = {"MessageSid": "SM" + "0" * 32, "MessageStatus": "delivered"}
    status, body = _callback(api, unknown, twilio_signature(twilio.auth_token, CALLBACK, unknown.items()))
    assert (status, body["code"]) == (404, "not_found")
    missing = {"MessageSid": "SM" + "1" * 32}
    status, body = _callback(api, missing, twilio_signature(twilio.auth_token, CALLBACK, missing.items()))
    assert (status, body["code"]) == (400, "invalid_field")
    assert [e["field"] for e in body["errors"]] == ["MessageStatus"]  # type: ignore[index]


def test_public_url_is_the_signed_url_without_a_status_callback_url(
    make_octotp: MakeOctotp, twilio: TwilioServer
) -> None:
    octotp = make_octotp(public_url="https://proxy.example.org/", **twilio.delivery_settings())
    api = ApiHandler(octotp)
    params = {"MessageSid": "SM" + "2" * 32, "MessageStatus": "delivered"}
    url = "https://proxy.example.org" + STATUS_PATH
    assert _callback(api, params, twilio_signature(twilio.auth_token, url, params.items()))[0] == 404  # signed, unknown
    assert _callback(api, params, twilio_signature(twilio.auth_token, CALLBACK, params.items()))[0] == 403


def test_without_twilio_the_endpoint_is_404(make_octotp: MakeOctotp) -> None:
    status, body = _callback(ApiHandler(make_octotp()), {"MessageSid": "SM1", "MessageStatus": "sent"}, "x")
    assert (status, body["code"]) == (404, "not_found")


@pytest.mark.parametrize(
    ("content_type", "body", "status", "code"),
    [
        ("application/json", b'{"MessageSid": "SM1"}', 415, "unsupported_media_type"),
        (None, b"MessageSid=SM1", 415, "unsupported_media_type"),
        ("application/x-www-form-urlencoded", b"\xff\xfe=\x00", 403, "invalid_signature"),
        ("application/x-www-form-urlencoded", b"MessageSid=SM1&MessageSid=SM2", 403, "invalid_signature"),
        ("application/x-www-form-urlencoded", b"a" * (64 * 1024 + 1), 413, "payload_too_large"),
    ],
)
def test_odd_bodies_are_refused_with_a_problem_never_a_500(
    make_octotp: MakeOctotp, twilio: TwilioServer, content_type: str | None, body: bytes, status: int, code: str
) -> None:
    api = ApiHandler(make_octotp(**twilio.delivery_settings(status_callback_url=CALLBACK)))
    headers = {"X-Twilio-Signature": "x"} | ({"Content-Type": content_type} if content_type else {})
    answer = api.handle(Request("POST", STATUS_PATH, headers, body))
    assert (answer.status, json.loads(answer.body)["code"]) == (status, code)
    assert answer.content_type == "application/problem+json"


def test_a_get_is_405(make_octotp: MakeOctotp) -> None:
    answer = ApiHandler(make_octotp()).handle(Request("GET", STATUS_PATH))
    assert (answer.status, answer.header("Allow")) == (405, "POST")
