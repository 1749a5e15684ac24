"""What an ``Idempotency-Key`` record gives away to someone holding a database dump but not the server
secret: nothing about the recipient (issue 11.5). Run on every database through core's handler."""

from __future__ import annotations

import hashlib
import json
import secrets
import uuid
from collections.abc import Callable

import pytest

from octotp_core import FrozenClock, Octotp, Settings
from octotp_core.http import ApiHandler, Request
from octotp_core.http.idempotency import fingerprint
from octotp_core.store import IdempotencyRecord


def _create(handler: ApiHandler, api_key: str, body: bytes, key: str) -> tuple[int, dict[str, object]]:
    headers = {"Content-Type": "application/json", "X-Api-Key": api_key, "Idempotency-Key": key}
    response = handler.handle(Request("POST", "/api/tokens", headers, body, "", "203.0.113.7", "http"))
    return response.status, json.loads(response.body)


def _phone_body(project_id: str, number: int) -> bytes:
    # The client's own serialisation (json.dumps of its dict), so an attacker can reproduce it exactly.
    return json.dumps({"projectId": project_id, "recipientPhone": f"+4479111{number:05d}"}).encode()


def _stored(octotp: Octotp, project_id: str, key: str) -> IdempotencyRecord:
    """The record as a dump shows it (read through the store: claiming an existing key only reads it)."""
    record = octotp.store.claim_idempotency_key(project_id, key, "0" * 64, octotp.clock.now())
    assert record is not None
    return record


def test_a_dump_alone_cannot_confirm_a_candidate_recipient(octotp: Octotp, test_secret: str) -> None:
    created = octotp.accounts.create_project(f"dump-{uuid.uuid4().hex[:8]}")
    project_id, key = created.project.id, str(uuid.uuid4())
    victim = 4242
    status, answer = _create(ApiHandler(octotp), created.api_key.secret, _phone_body(project_id, victim), key)
    assert status == 201
    record = _stored(octotp, project_id, key)

    # The attack that worked on the unkeyed SHA-256: enumerate candidate bodies offline.
    candidates = [_phone_body(project_id, n) for n in range(4000, 5000)]
    assert not [c for c in candidates if hashlib.sha256(c).hexdigest() == record.fingerprint]
    guessed_secret = secrets.token_urlsafe(32).encode()
    assert not [c for c in candidates if fingerprint(guessed_secret, c) == record.fingerprint]
    # With the server secret the same body is recognised (what a retry relies on), and only that one.
    matching = [c for c in candidates if fingerprint(test_secret.encode(), c) == record.fingerprint]
    assert matching == [_phone_body(project_id, victim)]

    # The recorded answer holds neither the code nor anything of the recipient.
    assert record.response is not None
    recorded = json.loads(record.response)
    assert set(recorded) == {"id", "expiresAt", "channel", "sent"}
    assert str(answer["code"]) not in record.response
    assert "4242" not in record.response
    assert "4479111" not in record.response


def test_a_retry_across_a_secret_rotation_is_still_the_same_request(
    octotp: Octotp, database_url: str, make_settings: Callable[..., Settings], clock: FrozenClock, test_secret: str
) -> None:
    created = octotp.accounts.create_project(f"rotate-{uuid.uuid4().hex[:8]}")
    project_id, key = created.project.id, str(uuid.uuid4())
    body = _phone_body(project_id, 7)
    assert _create(ApiHandler(octotp), created.api_key.secret, body, key)[0] == 201
    rotated = Octotp(
        make_settings(
            database_url=database_url, secret_key=secrets.token_urlsafe(32), secret_key_fallbacks=[test_secret]
        ),
        clock=clock,
    )
    try:
        status, _ = _create(ApiHandler(rotated), created.api_key.secret, body, key)
        assert status == 201  # replayed, not "key reused"
        status, problem = _create(ApiHandler(rotated), created.api_key.secret, _phone_body(project_id, 8), key)
        assert (status, problem["code"]) == (409, "idempotency_key_reused")
    finally:
        rotated.close()


@pytest.mark.parametrize("old_fingerprint", ["sha256", "other-secret"])
def test_a_record_fingerprinted_otherwise_counts_as_a_different_request(octotp: Octotp, old_fingerprint: str) -> None:
    """Records written by an older octotp (unkeyed SHA-256) or under a secret no longer configured
    match no body: a retry gets the documented 409, never a 500, and the key works again once the
    record expires."""
    created = octotp.accounts.create_project(f"legacy-{uuid.uuid4().hex[:8]}")
    project_id, key = created.project.id, str(uuid.uuid4())
    body = _phone_body(project_id, 9)
    digest = hashlib.sha256(body).hexdigest() if old_fingerprint == "sha256" else fingerprint(b"x" * 32, body)
    assert octotp.store.claim_idempotency_key(project_id, key, digest, octotp.clock.now()) is None
    status, problem = _create(ApiHandler(octotp), created.api_key.secret, body, key)
    assert (status, problem["code"]) == (409, "idempotency_key_reused")
    assert isinstance(octotp.clock, FrozenClock)
    octotp.clock.advance(24 * 3600 + 1)
    assert _create(ApiHandler(octotp), created.api_key.secret, body, key)[0] == 201
