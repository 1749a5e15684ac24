"""The retry rule, proven against servers that really fail, stall or refuse first (real TCP)."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from typing import Any

import pytest

from octotp_client import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    AsyncOctotpClient,
    OctotpClient,
    RateLimitError,
    ServiceUnavailableError,
)
from octotp_client._http import HttpResponse, TransportFailure
from octotp_client._retry import RetryPolicy

pytestmark = pytest.mark.xdist_group("client")


def keys(received: list[Any]) -> list[str]:
    return [r.headers.get("idempotency-key", "") for r in received]


def test_create_is_retried_on_503_with_one_idempotency_key(
    standalone: Any, scripted: Any, project: Any, make_client: Any, recipient: str
) -> None:
    unavailable = scripted.problem(503, "storage_unavailable", retry_after="0")
    scripted.then(unavailable, unavailable)  # then the real server answers
    token = make_client(project, base_url=scripted.base_url).create_token(email=recipient)

    assert [r.path for r in scripted.received] == ["/api/tokens"] * 3
    assert len(set(keys(scripted.received))) == 1
    assert uuid.UUID(keys(scripted.received)[0]).version == 4
    assert len({r.body for r in scripted.received}) == 1
    assert token.code is not None  # the token really exists on the live server
    with OctotpClient(project.api_key, standalone.base_url, project_id=project.id) as direct:
        assert direct.validate_token(email=recipient, code=token.code).is_valid


def test_a_create_whose_answer_was_lost_is_retried_and_replayed(
    standalone: Any, scripted: Any, project: Any, make_client: Any, recipient: str
) -> None:
    scripted.then(scripted.PROXY_THEN_HANG_UP)  # the server creates a token; the answer never arrives
    token = make_client(project, base_url=scripted.base_url).create_token(email=recipient)

    assert len(scripted.received) == 2
    assert len(set(keys(scripted.received))) == 1
    first, second = scripted.upstream_answers
    assert first[0] == second[0] == 201
    assert "idempotent-replayed" not in first[1]
    assert second[1]["idempotent-replayed"] == "true"  # the live server recognised the retry
    assert token.replayed
    assert token.code is not None  # and the caller holds a working code
    with OctotpClient(project.api_key, standalone.base_url, project_id=project.id) as direct:
        assert direct.validate_token(email=recipient, code=token.code).is_valid


def test_a_create_still_in_progress_is_retried(scripted: Any, project: Any, make_client: Any, recipient: str) -> None:
    scripted.then(scripted.problem(409, "request_in_progress"))
    assert make_client(project, base_url=scripted.base_url).create_token(email=recipient).code is not None
    assert len(scripted.received) == 2


def test_every_create_call_has_its_own_idempotency_key(
    scripted: Any, project: Any, make_client: Any, recipient: str
) -> None:
    client = make_client(project, base_url=scripted.base_url)
    client.create_token(email=recipient)
    client.create_token(email=recipient)
    client.create_token(email=recipient, idempotency_key="order-42-otp")
    first, second, given = keys(scripted.received)
    assert first != second
    assert given == "order-42-otp"


def test_429_with_a_short_retry_after_is_retried(scripted: Any, project: Any, make_client: Any, recipient: str) -> None:
    scripted.then(scripted.problem(429, "rate_limited", retry_after="0"))
    assert make_client(project, base_url=scripted.base_url).create_token(email=recipient).code is not None
    assert len(scripted.received) == 2


def test_retry_after_is_honoured(scripted: Any, project: Any, make_client: Any, recipient: str) -> None:
    scripted.then(scripted.problem(503, "storage_unavailable", retry_after="1"))
    started = time.monotonic()
    make_client(project, base_url=scripted.base_url).create_token(email=recipient)
    assert time.monotonic() - started >= 1.0
    assert len(scripted.received) == 2


def test_without_retry_after_the_client_backs_off(
    scripted: Any, project: Any, make_client: Any, recipient: str
) -> None:
    scripted.then(scripted.problem(503, "storage_unavailable"))
    started = time.monotonic()
    make_client(project, base_url=scripted.base_url).create_token(email=recipient)
    assert time.monotonic() - started >= 0.5 * 0.75  # the first backoff step, at most 25% jitter off
    assert len(scripted.received) == 2


def test_retries_are_capped_by_max_retries(scripted: Any, project: Any, make_client: Any, recipient: str) -> None:
    unavailable = scripted.problem(503, "storage_unavailable", retry_after="0")
    scripted.then(*[unavailable] * 4)
    with pytest.raises(ServiceUnavailableError):
        make_client(project, base_url=scripted.base_url, max_retries=2).create_token(email=recipient)
    assert len(scripted.received) == 3
    with pytest.raises(ServiceUnavailableError):
        make_client(project, base_url=scripted.base_url, max_retries=0).create_token(email=recipient)
    assert len(scripted.received) == 4


def test_a_retry_after_longer_than_the_client_waits_is_raised_at_once(
    scripted: Any, project: Any, make_client: Any, recipient: str
) -> None:
    scripted.then(scripted.problem(429, "rate_limited", retry_after="3600"))
    with pytest.raises(RateLimitError) as caught:
        make_client(project, base_url=scripted.base_url).create_token(email=recipient)
    assert caught.value.retry_after == 3600
    assert len(scripted.received) == 1


def test_validate_is_retried_when_the_server_did_not_act(
    standalone: Any, scripted: Any, project: Any, make_client: Any, recipient: str
) -> None:
    token = make_client(project).create_token(email=recipient)
    scripted.then(
        scripted.problem(503, "storage_unavailable", retry_after="0"),
        scripted.problem(429, "rate_limited", retry_after="0"),
    )
    client = make_client(project, base_url=scripted.base_url)
    assert client.validate_token(email=recipient, code=token.code).is_valid
    assert len(scripted.received) == 3


@pytest.mark.parametrize("status", [500, 502, 504])
def test_other_server_errors_are_not_retried(
    status: int, scripted: Any, project: Any, make_client: Any, recipient: str
) -> None:
    scripted.then(scripted.problem(status, "internal_error", retry_after="0"))
    with pytest.raises(APIError) as caught:
        make_client(project, base_url=scripted.base_url).validate_token(email=recipient, code="123456")
    assert caught.value.status == status
    assert len(scripted.received) == 1


# -- no response at all ------------------------------------------------------------------------
def test_a_stalled_server_times_out_within_the_timeout(stalling: Any, project: Any, make_client: Any) -> None:
    client = make_client(project, base_url=stalling.base_url, timeout=0.5, max_retries=0)
    started = time.monotonic()
    with pytest.raises(APITimeoutError) as caught:
        client.health()
    elapsed = time.monotonic() - started
    assert 0.5 <= elapsed < 0.5 + 2.0  # slack for a loaded test machine
    assert isinstance(caught.value, APIConnectionError)
    assert caught.value.status is None
    assert caught.value.request_id is None
    assert stalling.wait_for(1) == 1


def test_validate_is_not_retried_after_a_timeout(stalling: Any, project: Any, make_client: Any, recipient: str) -> None:
    client = make_client(project, base_url=stalling.base_url, timeout=0.3, max_retries=2)
    with pytest.raises(APITimeoutError):
        client.validate_token(email=recipient, code="123456")
    assert stalling.wait_for(1) == 1  # the server may have counted the attempt: never sent twice


def test_create_is_retried_after_a_timeout_with_one_idempotency_key(
    stalling: Any, project: Any, make_client: Any, recipient: str
) -> None:
    client = make_client(project, base_url=stalling.base_url, timeout=0.3, max_retries=2)
    with pytest.raises(APITimeoutError):
        client.create_token(email=recipient)
    assert stalling.wait_for(3) == 3
    assert len({stalling.headers(i)["idempotency-key"] for i in range(3)}) == 1


def test_connection_lost_after_sending(hanging_up: Any, project: Any, make_client: Any, recipient: str) -> None:
    client = make_client(project, base_url=hanging_up.base_url, max_retries=2)
    with pytest.raises(APIConnectionError) as caught:
        client.validate_token(email=recipient, code="123456")
    assert not isinstance(caught.value, APITimeoutError)
    assert hanging_up.wait_for(1) == 1  # validate: the request was sent, so it is not repeated
    with pytest.raises(APIConnectionError):
        client.create_token(email=recipient)
    assert hanging_up.wait_for(4) == 4  # create: repeated, with its key
    assert len({hanging_up.headers(i)["idempotency-key"] for i in range(1, 4)}) == 1


def test_connection_refused_is_retried_even_for_validate(
    refused_url: str, project: Any, make_client: Any, caplog: pytest.LogCaptureFixture, recipient: str
) -> None:
    client = make_client(project, base_url=refused_url, max_retries=1)
    with caplog.at_level(logging.INFO, logger="octotp.client"), pytest.raises(APIConnectionError) as caught:
        client.validate_token(email=recipient, code="123456")
    assert not isinstance(caught.value, APITimeoutError)
    assert "refused" in str(caught.value).lower()
    assert [r.getMessage().startswith("retrying POST /api/tokens/validate") for r in caplog.records] == [True]
    assert "123456" not in caplog.text
    assert project.api_key not in caplog.text


# -- the same rule through httpx ---------------------------------------------------------------
def test_async_retries_timeouts_and_refusals(
    scripted: Any, stalling: Any, hanging_up: Any, refused_url: str, project: Any, recipient: str
) -> None:
    def client(base_url: str, **options: Any) -> AsyncOctotpClient:
        return AsyncOctotpClient(project.api_key, base_url, project_id=project.id, **options)

    async def scenario() -> None:
        scripted.then(scripted.problem(503, "storage_unavailable", retry_after="0"))
        async with client(scripted.base_url) as c:
            token = await c.create_token(email=recipient)
            assert token.code is not None
            assert len(set(keys(scripted.received))) == 1
            assert len(scripted.received) == 2
            scripted.then(scripted.problem(429, "rate_limited", retry_after="0"))
            assert (await c.validate_token(email=recipient, code=token.code)).is_valid
            assert len(scripted.received) == 4
            assert len({r.client_port for r in scripted.received}) == 1  # one pooled connection

        async with client(stalling.base_url, timeout=0.3) as c:
            started = time.monotonic()
            with pytest.raises(APITimeoutError):
                await c.validate_token(email=recipient, code="123456")
            assert time.monotonic() - started < 0.3 + 2.0
            assert stalling.wait_for(1) == 1
            with pytest.raises(APITimeoutError):
                await c.create_token(email=recipient)
            assert stalling.wait_for(4) == 4
            assert len({stalling.headers(i)["idempotency-key"] for i in range(1, 4)}) == 1

        async with client(hanging_up.base_url) as c:
            with pytest.raises(APIConnectionError):
                await c.validate_token(email=recipient, code="123456")
            assert hanging_up.wait_for(1) == 1

        async with client(refused_url, max_retries=0) as c:
            with pytest.raises(APIConnectionError) as caught:
                await c.health()
            assert not isinstance(caught.value, APITimeoutError)

    asyncio.run(scenario())


# -- the policy itself ---------------------------------------------------------------------------
def test_backoff_is_exponential_capped_and_jittered() -> None:
    policy = RetryPolicy(max_retries=10)
    for retries_done in range(10):
        ceiling = min(8.0, 0.5 * 2**retries_done)
        delays = {policy.backoff(retries_done) for _ in range(50)}
        assert all(0.75 * ceiling <= d <= ceiling for d in delays)
        assert len(delays) > 1  # jittered: concurrent clients do not retry in lockstep


@pytest.mark.parametrize(
    ("outcome", "repeatable", "retry"),
    [
        (HttpResponse(503, {"retry-after": "2"}, b""), False, 2.0),
        (HttpResponse(429, {"retry-after": "0"}, b""), False, 0.0),
        (HttpResponse(429, {"retry-after": "11"}, b""), True, None),
        (HttpResponse(409, {}, b'{"code":"request_in_progress"}'), True, "backoff"),
        (HttpResponse(409, {}, b'{"code":"idempotency_key_reused"}'), True, None),
        (HttpResponse(500, {}, b""), True, None),
        (HttpResponse(502, {}, b""), True, None),
        (HttpResponse(400, {}, b""), True, None),
        (TransportFailure(APIConnectionError("refused"), sent=False), False, "backoff"),
        (TransportFailure(APIConnectionError("reset"), sent=True), False, None),
        (TransportFailure(APIConnectionError("reset"), sent=True), True, "backoff"),
        (TransportFailure(APIConnectionError("tls"), sent=False, retryable=False), True, None),
    ],
)
def test_which_failures_are_retried(outcome: Any, repeatable: bool, retry: Any) -> None:
    policy = RetryPolicy(max_retries=2)
    delay = policy.delay_before_retry(outcome, 0, repeatable_after_send=repeatable)
    if retry == "backoff":
        assert delay is not None
        assert 0.375 <= delay <= 0.5
    else:
        assert delay == retry
    assert policy.delay_before_retry(outcome, 2, repeatable_after_send=repeatable) is None  # out of retries
