"""Every error class, raised from a real server's real response."""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from typing import Any

import pytest

from octotp_client import (
    APIError,
    AsyncOctotpClient,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    DeliveryError,
    FieldError,
    NotFoundError,
    OctotpError,
    PermissionDeniedError,
    RateLimitError,
    ServiceUnavailableError,
)
from octotp_client.errors import error_for_response

pytestmark = pytest.mark.xdist_group("client")

REQUEST_ID = re.compile(r"^[0-9a-f]{32}$")


def assert_problem(error: APIError, status: int, code: str) -> None:
    """The error carries the status, the problem body, its code and the request id."""
    assert isinstance(error, OctotpError)
    assert error.status == status
    assert error.code == code
    assert error.body is not None
    assert error.body["status"] == status
    assert error.body["code"] == code
    assert error.request_id is not None
    assert REQUEST_ID.match(error.request_id)
    assert error.body["requestId"] == error.request_id
    assert str(status) in str(error)
    assert error.request_id in str(error)


def test_invalid_fields_are_a_bad_request_naming_each_field(project: Any, make_client: Any, recipient: str) -> None:
    client = make_client(project)
    with pytest.raises(BadRequestError) as caught:
        client.create_token(email=recipient, channel="fax", project_id="not-a-uuid")
    assert_problem(caught.value, 400, "invalid_field")
    assert {e.field for e in caught.value.errors} == {"projectId", "channel"}
    assert all(isinstance(e, FieldError) and e.reason for e in caught.value.errors)

    with pytest.raises(BadRequestError) as caught:
        client.create_token(email=recipient, expires_in=5)
    assert caught.value.errors == [FieldError("expiresInSeconds", "must be an integer from 30 to 600 seconds")]


@pytest.mark.parametrize("server", ["standalone", "hosted"])
def test_bad_key_is_an_authentication_error(server: str, request: pytest.FixtureRequest, make_client: Any) -> None:
    project = request.getfixturevalue(server).project()
    wrong = type(project)(project.base_url, project.id, "octotp_" + "x" * 40)
    with pytest.raises(AuthenticationError) as caught:
        make_client(wrong).create_token(email="someone@example.com")
    assert_problem(caught.value, 401, "invalid_api_key")


def test_revoked_key_is_an_authentication_error(standalone: Any, make_client: Any, recipient: str) -> None:
    created = standalone.core.accounts.create_project("revoked")
    project = type(standalone.project())(standalone.base_url, created.project.id, created.api_key.secret)
    standalone.core.accounts.revoke_api_key(created.api_key.key.id)
    with pytest.raises(AuthenticationError):
        make_client(project).create_token(email=recipient)


def test_another_projects_id_is_permission_denied(standalone: Any, make_client: Any, recipient: str) -> None:
    mine, theirs = standalone.project(), standalone.project()
    with pytest.raises(PermissionDeniedError) as caught:
        make_client(mine).create_token(email=recipient, project_id=theirs.id)
    assert_problem(caught.value, 403, "project_mismatch")


def test_an_idempotency_key_reused_for_another_request_is_a_conflict(
    project: Any, make_client: Any, recipient: str
) -> None:
    client = make_client(project)
    client.create_token(email=recipient, idempotency_key="signup-1")
    with pytest.raises(ConflictError) as caught:
        client.create_token(email="other-" + recipient, idempotency_key="signup-1")
    assert_problem(caught.value, 409, "idempotency_key_reused")


def test_cancelling_an_unknown_token_is_not_found(project: Any, make_client: Any) -> None:
    with pytest.raises(NotFoundError) as caught:
        make_client(project).cancel_token(str(uuid.uuid4()))
    assert_problem(caught.value, 404, "not_found")


def test_plan_limit_is_a_rate_limit_error_with_retry_after(
    standalone: Any, scripted: Any, make_client: Any, recipient: str
) -> None:
    tiny = standalone.project(plan="tiny")  # one creation a minute
    client = make_client(tiny, base_url=scripted.base_url)  # scripted only proxies here: it counts attempts
    client.create_token(email=recipient)
    started = time.monotonic()
    with pytest.raises(RateLimitError) as caught:
        client.create_token(email=recipient)
    assert_problem(caught.value, 429, "rate_limited")
    assert caught.value.retry_after is not None
    assert 0 < caught.value.retry_after <= 60
    assert caught.value.body is not None
    assert caught.value.body["retryAfter"] == caught.value.retry_after
    # Retry-After is longer than the client waits (10 s): raised at once, not retried.
    assert len(scripted.received) == 2
    assert time.monotonic() - started < 10


def test_failed_delivery_is_a_delivery_error_and_not_retried(
    project: Any, scripted: Any, make_client: Any, recipient: str
) -> None:
    client = make_client(project, base_url=scripted.base_url)
    with pytest.raises(DeliveryError) as caught:
        client.create_token(email=recipient, send=True)  # the server's SMTP host is a dead port
    assert_problem(caught.value, 502, "delivery_failed")
    assert len(scripted.received) == 1


def test_rate_limit_storage_down_is_service_unavailable(redis_down: Any, make_client: Any, recipient: str) -> None:
    client = make_client(redis_down.project(), max_retries=0)
    with pytest.raises(ServiceUnavailableError) as caught:
        client.create_token(email=recipient)
    assert_problem(caught.value, 503, "storage_unavailable")
    with pytest.raises(ServiceUnavailableError):
        client.ready()
    assert client.health().status == "ok"  # alive, just not ready


def test_database_dropped_is_service_unavailable(postgres_hosted: Any, make_client: Any, recipient: str) -> None:
    client = make_client(postgres_hosted.project(), max_retries=0)
    assert client.create_token(email=recipient).code is not None
    assert client.ready().status == "ready"
    postgres_hosted.drop_database()
    with pytest.raises(ServiceUnavailableError) as caught:
        client.create_token(email=recipient)
    assert_problem(caught.value, 503, "storage_unavailable")
    with pytest.raises(ServiceUnavailableError):
        client.ready()


def test_async_client_raises_the_same_errors(standalone: Any, redis_down: Any, recipient: str) -> None:
    project, other = standalone.project(), standalone.project()

    async def scenario() -> None:
        async with AsyncOctotpClient(project.api_key, project.base_url, project_id=project.id) as client:
            with pytest.raises(BadRequestError) as bad:
                await client.create_token(email="not-an-email")
            assert bad.value.errors[0].field == "recipientEmail"
            with pytest.raises(PermissionDeniedError):
                await client.validate_token(email=recipient, code="123456", project_id=other.id)
            with pytest.raises(NotFoundError) as missing:
                await client.cancel_token(str(uuid.uuid4()))
            assert_problem(missing.value, 404, "not_found")
        async with AsyncOctotpClient("octotp_" + "x" * 40, project.base_url, project_id=project.id) as client:
            with pytest.raises(AuthenticationError):
                await client.create_token(email=recipient)
        down = redis_down.project()
        async with AsyncOctotpClient(down.api_key, down.base_url, project_id=down.id, max_retries=0) as client:
            with pytest.raises(ServiceUnavailableError):
                await client.create_token(email=recipient)

    asyncio.run(scenario())


def test_other_statuses_from_a_real_socket(scripted: Any, project: Any, make_client: Any) -> None:
    scripted.then(
        scripted.problem(500, "internal_error"),
        scripted.answer(502, {"Content-Type": "text/html"}, "<h1>Bad Gateway</h1>"),
    )
    client = make_client(project, base_url=scripted.base_url)
    with pytest.raises(APIError) as internal:
        client.cancel_token(str(uuid.uuid4()))
    assert type(internal.value) is APIError
    assert internal.value.status == 500
    with pytest.raises(APIError) as gateway:  # a proxy's own 502 is not octotp's delivery failure
        client.cancel_token(str(uuid.uuid4()))
    assert type(gateway.value) is APIError
    assert gateway.value.body is None
    assert "Bad Gateway" in str(gateway.value)


@pytest.mark.parametrize(
    ("status", "code", "cls"),
    [
        (400, "invalid_field", BadRequestError),
        (401, "invalid_api_key", AuthenticationError),
        (403, "project_mismatch", PermissionDeniedError),
        (404, "not_found", NotFoundError),
        (409, "conflict", ConflictError),
        (429, "rate_limited", RateLimitError),
        (502, "delivery_failed", DeliveryError),
        (502, None, APIError),
        (503, "storage_unavailable", ServiceUnavailableError),
        (413, "payload_too_large", APIError),
        (500, "internal_error", APIError),
    ],
)
def test_status_to_class_table(status: int, code: str | None, cls: type[APIError]) -> None:
    body = {"status": status, "code": code} if code else None
    error = error_for_response(status, body, {"retry-after": "7"})
    assert type(error) is cls
    assert isinstance(error, APIError)
    if isinstance(error, RateLimitError):
        assert error.retry_after == 7
