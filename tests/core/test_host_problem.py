"""``host_problem``: the problem body every adapter's opt-in handler answers for an error of the
in-process API, decided with the HTTP layer's one mapping but naming the Python arguments."""

from __future__ import annotations

import json

from octotp_core.errors import FieldError, InvalidInput, NotFound, RateLimited
from octotp_core.http import host_problem, problem_for


def test_fields_keep_their_python_names_where_the_api_uses_json_members() -> None:
    error = InvalidInput([FieldError("email", "bad"), FieldError("expires_in", "too long")])
    hosted = host_problem(error, "trace-1")
    api = problem_for(error, "trace-1")
    assert hosted.status == api.status == 400
    assert [e["field"] for e in json.loads(hosted.body)["errors"]] == ["email", "expires_in"]
    assert [e["field"] for e in json.loads(api.body)["errors"]] == ["recipientEmail", "expiresInSeconds"]
    assert json.loads(hosted.body)["detail"] == "email: bad; expires_in: too long"
    assert hosted.header("Content-Type") == "application/problem+json"
    assert hosted.header("X-Request-Id") == "trace-1"


def test_status_headers_and_request_id_follow_the_api() -> None:
    limited = host_problem(RateLimited("slow down", limit=5, retry_after=7, scope="recipient"))
    assert limited.status == 429
    assert limited.header("Retry-After") == "7"
    body = json.loads(limited.body)
    assert body["code"] == "rate_limited"
    assert body["requestId"] == limited.header("X-Request-Id")
    assert len(body["requestId"]) == 32  # a fresh one: none was given
    unsafe = host_problem(NotFound("no such token"), "evil\r\nSet-Cookie: x")
    assert unsafe.status == 404
    assert unsafe.header("X-Request-Id") != "evil\r\nSet-Cookie: x"
