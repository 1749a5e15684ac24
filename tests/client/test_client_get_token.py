"""``get_token`` (``GET /api/tokens/{id}``): a token in every state it can reach, from live servers,
through the sync client, the async client and the command line."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import json
import uuid
from typing import Any

import pytest

from octotp_client import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    AsyncOctotpClient,
    AuthenticationError,
    DeliveryError,
    NotFoundError,
    Token,
)
from octotp_client.cli import main

pytestmark = pytest.mark.xdist_group("client")

LIFETIME = dt.timedelta(seconds=300)


def other_than(code: str | None) -> str:
    """A wrong code of the same length."""
    assert code is not None
    return "0" * len(code) if code != "0" * len(code) else "1" * len(code)


def fresh(name: str = "user") -> str:
    """A recipient of its own (each has a send budget and a failure budget)."""
    return f"{name}-{uuid.uuid4().hex[:12]}@example.com"


@pytest.fixture(params=["standalone", "hosted"])
def live_project(request: pytest.FixtureRequest) -> Any:
    """A fresh project on ``octotp serve`` and on a host app with octotp under a prefix."""
    return request.getfixturevalue(request.param).project()


# -- every state, on a server whose clock the test moves -----------------------------------------
def test_a_token_in_each_state(clocked: Any, make_client: Any) -> None:
    client = make_client(clocked.project())
    now = clocked.clock.now

    email = fresh("sam")
    created = client.create_token(email=email, purpose="step_up:payout")
    token = client.get_token(created.id)
    assert token == Token(
        id=created.id,
        status="pending",
        channel="email",
        recipient_hint=f"s***@{email.split('@')[1]}",
        purpose="step_up:payout",
        created_at=now(),
        expires_at=now() + LIFETIME,
        closed_at=None,
        attempts=0,
        max_attempts=5,
    )
    assert token.expires_at == created.expires_at
    assert token.created_at.tzinfo is not None
    assert email not in repr(token)  # only the masked hint comes back

    # A wrong code counts; the token stays pending until the cap.
    assert client.validate_token(email=email, purpose="step_up:payout", code=other_than(created.code)).status == (
        "incorrect"
    )
    assert client.get_token(created.id).attempts == 1
    assert client.get_token(created.id).status == "pending"

    # approved: the validate closes it, at the server's time.
    clocked.clock.advance(5)
    assert created.code is not None
    assert client.validate_token(email=email, purpose="step_up:payout", code=created.code).is_valid
    approved = client.get_token(created.id)
    assert (approved.status, approved.closed_at) == ("approved", now())

    # superseded: a newer code for the same recipient and purpose replaces it.
    email = fresh()
    first = client.create_token(email=email)
    second = client.create_token(email=email)
    assert client.get_token(first.id).status == "superseded"
    assert client.get_token(first.id).purpose == ""  # created without one
    assert client.get_token(second.id).status == "pending"

    # cancelled
    client.cancel_token(second.id)
    cancelled = client.get_token(second.id)
    assert (cancelled.status, cancelled.closed_at) == ("cancelled", now())

    # locked: max_attempts wrong codes; never closed, so no closed_at.
    email = fresh()
    locked = client.create_token(email=email)
    for _ in range(5):
        client.validate_token(email=email, code=other_than(locked.code))
    assert client.validate_token(email=email, code=locked.code).status == "locked"
    state = client.get_token(locked.id)
    assert (state.status, state.attempts, state.max_attempts, state.closed_at) == ("locked", 5, 5, None)

    # expired: once the server's clock passes expires_at (expiry wins over the attempt cap).
    email = fresh()
    expiring = client.create_token(email=email, expires_in=60)
    clocked.clock.advance(59)
    assert client.get_token(expiring.id).status == "pending"
    clocked.clock.advance(1)
    state = client.get_token(expiring.id)
    assert (state.status, state.closed_at, state.expires_at) == ("expired", None, now())
    assert client.validate_token(email=email, code=expiring.code or "").status == "expired"
    clocked.clock.advance(LIFETIME.total_seconds())
    assert client.get_token(locked.id).status == "expired"

    # not found once purged (and the closed ones are still there until they expire too)
    assert clocked.core.tokens.purge() >= 2
    for purged in (expiring.id, locked.id, created.id):
        with pytest.raises(NotFoundError) as caught:
            client.get_token(purged)
        assert (caught.value.status, caught.value.code) == (404, "not_found")


def test_async_get_token_in_each_state(clocked: Any) -> None:
    project = clocked.project()

    async def scenario() -> None:
        async with AsyncOctotpClient(project.api_key, project.base_url, project_id=project.id) as client:
            email = fresh()
            created = await client.create_token(email=email, expires_in=30)
            token = await client.get_token(created.id)
            assert isinstance(token, Token)
            assert (token.id, token.status, token.expires_at) == (created.id, "pending", created.expires_at)
            assert created.code is not None
            assert (await client.validate_token(email=email, code=created.code)).is_valid
            assert (await client.get_token(created.id)).status == "approved"

            expiring = await client.create_token(email=fresh(), expires_in=30)
            clocked.clock.advance(30)
            assert (await client.get_token(expiring.id)).status == "expired"

            with pytest.raises(NotFoundError) as caught:
                await client.get_token(str(uuid.uuid4()))
            assert caught.value.code == "not_found"
            assert caught.value.request_id

    asyncio.run(scenario())


# -- the real `octotp serve`, and octotp under a host's prefix -----------------------------------
def test_get_token_on_each_kind_of_server(live_project: Any, make_client: Any) -> None:
    client = make_client(live_project)
    email = fresh()
    created = client.create_token(email=email, purpose="login")
    token = client.get_token(created.id)
    assert (token.status, token.purpose, token.channel, token.attempts) == ("pending", "login", "email", 0)
    assert token.expires_at == created.expires_at
    assert dt.timedelta(0) <= dt.datetime.now(dt.timezone.utc) - token.created_at < dt.timedelta(minutes=5)
    assert created.code is not None
    assert client.validate_token(email=email, purpose="login", code=created.code).is_valid
    approved = client.get_token(created.id)
    assert approved.status == "approved"
    assert approved.closed_at is not None
    assert approved.created_at <= approved.closed_at


def test_a_failed_delivery_reads_delivery_failed(standalone: Any, make_client: Any) -> None:
    project = standalone.project()  # its SMTP backend points at a dead port
    client = make_client(project)
    with pytest.raises(DeliveryError):
        client.create_token(email=fresh(), send=True)
    (stored,) = standalone.core.store.list_tokens(project.id)  # the 502 carries no token id
    state = client.get_token(stored.id)
    assert state.status == "delivery_failed"
    assert state.closed_at is not None


def test_unknown_ids_and_other_projects_tokens_are_not_found(standalone: Any, make_client: Any) -> None:
    mine, theirs = standalone.project(), standalone.project()
    their_token = make_client(theirs).create_token(email=fresh())
    client = make_client(mine)
    for token_id in (their_token.id, str(uuid.uuid4()), "not-a-uuid", "a/b"):
        with pytest.raises(NotFoundError) as caught:
            client.get_token(token_id)
        assert caught.value.status == 404
        assert caught.value.code == "not_found"  # octotp's own problem, not a stray 404
    assert make_client(theirs).get_token(their_token.id).status == "pending"  # the owner still sees it
    with pytest.raises(ValueError, match="token_id"):
        client.get_token("")


def test_a_bad_key_is_an_authentication_error(standalone: Any, make_client: Any) -> None:
    project = standalone.project()
    token = make_client(project).create_token(email=fresh())
    wrong = dataclasses.replace(project, api_key="octotp_" + "x" * 40)
    with pytest.raises(AuthenticationError) as caught:
        make_client(wrong).get_token(token.id)
    assert caught.value.code == "invalid_api_key"


# -- retries: a read is repeated after any failure in which nothing was answered -------------------
def test_get_token_is_retried_when_the_server_did_not_act(scripted: Any, project: Any, make_client: Any) -> None:
    token = make_client(project).create_token(email=fresh())
    scripted.then(
        scripted.problem(503, "storage_unavailable", retry_after="0"),
        scripted.problem(429, "rate_limited", retry_after="0"),
    )
    client = make_client(project, base_url=scripted.base_url)
    assert client.get_token(token.id).status == "pending"
    assert [(r.method, r.path) for r in scripted.received] == [("GET", f"/api/tokens/{token.id}")] * 3


def test_get_token_is_retried_after_a_timeout_or_a_lost_answer(
    stalling: Any, hanging_up: Any, project: Any, make_client: Any
) -> None:
    token_id = str(uuid.uuid4())
    with pytest.raises(APITimeoutError):
        make_client(project, base_url=stalling.base_url, timeout=0.3, max_retries=2).get_token(token_id)
    assert stalling.wait_for(3) == 3  # sent each time: a read is safe to repeat
    with pytest.raises(APIConnectionError):
        make_client(project, base_url=hanging_up.base_url, max_retries=1).get_token(token_id)
    assert hanging_up.wait_for(2) == 2

    async def scenario() -> None:
        async with AsyncOctotpClient(project.api_key, hanging_up.base_url, max_retries=2) as client:
            with pytest.raises(APIConnectionError):
                await client.get_token(token_id)
        assert hanging_up.wait_for(5) == 5

    asyncio.run(scenario())


@pytest.mark.parametrize(
    ("body", "complaint"),
    [
        ({"id": "x"}, "'status'"),
        ("[]", "not a JSON object"),
        (
            {
                "id": "x",
                "status": "pending",
                "channel": "email",
                "recipientHint": "u***@example.com",
                "purpose": "",
                "createdAt": "yesterday",
                "expiresAt": "2026-01-01T00:05:00Z",
                "attempts": 0,
                "maxAttempts": 5,
            },
            "'createdAt' is not an ISO-8601 timestamp",
        ),
        (
            {
                "id": "x",
                "status": "pending",
                "channel": "email",
                "recipientHint": "u***@example.com",
                "purpose": "",
                "createdAt": "2026-01-01T00:00:00Z",
                "expiresAt": "2026-01-01T00:05:00Z",
                "attempts": True,
                "maxAttempts": 5,
            },
            "'attempts' is missing or not an integer",
        ),
    ],
)
def test_an_unexpected_answer_is_an_api_error(
    body: Any, complaint: str, scripted: Any, project: Any, make_client: Any
) -> None:
    scripted.then(scripted.answer(200, {"Content-Type": "application/json"}, body))
    with pytest.raises(APIError, match=complaint):
        make_client(project, base_url=scripted.base_url).get_token(str(uuid.uuid4()))


# -- the command line ------------------------------------------------------------------------------
def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, Any, Any]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, json.loads(out) if out else None, json.loads(err) if err else None


def test_cli_get(capsys: pytest.CaptureFixture[str], clocked: Any) -> None:
    project = clocked.project()
    connection = ["--base-url", project.base_url, "--api-key", project.api_key, "--project-id", project.id]
    email = fresh("kim")
    status, created, _ = run(capsys, *connection, "create", "--email", email, "--purpose", "step_up:payout")
    assert status == 0
    started = clocked.clock.now()

    status, state, _ = run(capsys, *connection, "get", created["id"])
    assert status == 0
    assert state == {
        "id": created["id"],
        "status": "pending",
        "channel": "email",
        "recipientHint": f"k***@{email.split('@')[1]}",
        "purpose": "step_up:payout",
        "createdAt": started.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "expiresAt": created["expiresAt"],
        "closedAt": None,
        "attempts": 0,
        "maxAttempts": 5,
    }
    assert "code" not in state

    run(capsys, *connection, "cancel", created["id"])
    status, state, _ = run(capsys, "get", created["id"], *connection)  # options after the command too
    assert (status, state["status"]) == (0, "cancelled")
    assert state["closedAt"] == started.strftime("%Y-%m-%dT%H:%M:%SZ")

    status, out, problem = run(capsys, *connection, "get", str(uuid.uuid4()))
    assert (status, out) == (2, None)
    assert (problem["status"], problem["code"]) == (404, "not_found")
    assert problem["requestId"]


def test_cli_refuses_an_empty_id(capsys: pytest.CaptureFixture[str]) -> None:
    for command in ("get", "cancel"):
        with pytest.raises(SystemExit) as exited:
            main([command, ""])
        assert exited.value.code == 2
        assert "must not be empty" in capsys.readouterr().err
