"""``http.bodies.body_refusal``: the one 413/415 rule both bodies the API reads keep (the token API's
JSON, Twilio's form), checked on the helper and through both endpoints."""

from __future__ import annotations

import json

import pytest

from octotp_core.http import MAX_BODY_BYTES, ApiHandler, Request
from octotp_core.http.bodies import FORM, JSON, BodyRefusal, body_refusal, media_type
from octotp_core.testing.twilio_server import TwilioServer

from .conftest import MakeOctotp


def _request(content_type: str | None, body: bytes = b"{}") -> Request:
    return Request("POST", "/", {"Content-Type": content_type} if content_type else {}, body)


@pytest.mark.parametrize(
    ("content_type", "expected", "accepted"),
    [
        ("application/json", JSON, True),
        ("Application/JSON; charset=utf-8", JSON, True),
        ("application/merge-patch+json", JSON, True),
        ("text/json", JSON, False),
        (None, JSON, False),
        (FORM, JSON, False),
        ("application/x-www-form-urlencoded; charset=UTF-8", FORM, True),
        ("application/json", FORM, False),
        ("application/x+json", FORM, False),  # the +json suffix is JSON's alone
    ],
)
def test_the_media_type_is_the_expected_one(content_type: str | None, expected: str, accepted: bool) -> None:
    refusal = body_refusal(_request(content_type), expected, 10)
    if accepted:
        assert refusal is None
    else:
        assert refusal == BodyRefusal(415, "unsupported_media_type", f"send the body as {expected}")


def test_size_is_checked_first_and_parameters_never_count() -> None:
    assert body_refusal(_request(None, b"x" * 11), JSON, 10) == BodyRefusal(
        413, "payload_too_large", "the body must be at most 10 bytes"
    )
    assert body_refusal(_request(JSON, b"x" * 10), JSON, 10) is None
    assert media_type(_request(" Application/Json ;charset=utf-8")) == "application/json"
    assert media_type(_request(None)) == ""


def test_both_endpoints_answer_the_same_refusals(make_octotp: MakeOctotp) -> None:
    twilio = TwilioServer().start()
    try:
        octotp = make_octotp(**twilio.delivery_settings(status_callback_url="https://x.example/cb"))
        key = octotp.accounts.create_project("Bodies").api_key.secret
        api = ApiHandler(octotp)
        big = b"a" * (MAX_BODY_BYTES + 1)
        for path, wrong in (("/api/tokens", FORM), ("/api/delivery/twilio/status", JSON)):
            headers = {"Content-Type": wrong, "X-Api-Key": key}
            answer = api.handle(Request("POST", path, headers, b"a=1"))
            assert (answer.status, json.loads(answer.body)["code"]) == (415, "unsupported_media_type")
            answer = api.handle(Request("POST", path, headers, big))
            assert (answer.status, json.loads(answer.body)["code"]) == (413, "payload_too_large")
            assert answer.content_type == "application/problem+json"
    finally:
        twilio.stop()
