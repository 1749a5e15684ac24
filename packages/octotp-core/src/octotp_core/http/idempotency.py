"""``Idempotency-Key`` on ``POST /api/tokens``: a retried create never delivers twice, and always
leaves the caller holding a working code.

The rule (records live 24 hours per project and key):
- first request: runs normally; its answer (without the code) is recorded.
- same key, same body, original delivered the code (``send``): the recorded answer is replayed
  (``Idempotent-Replayed: true``); nothing is delivered again and the delivered code stays valid.
- same key, same body, original returned the code: the caller may have lost that response, so a
  fresh code is issued (superseding the first) and returned, marked as replayed.
- same key, different body: 409 ``idempotency_key_reused``.
- same key while the first request is still running: 409 ``request_in_progress`` (retry shortly);
  a claim left by a crashed process is taken over after 60 seconds.
Claims are taken and handed over with conditional writes, so concurrent retries never both act.

What a record keeps, and why a database dump cannot tell whom it was for: the request fingerprint is
an HMAC-SHA256 of the raw body under a key derived from the server secret for this purpose only
(without the secret, enumerating candidate recipients finds nothing); the recorded answer holds only
``id``, ``expiresAt``, ``channel`` and ``sent`` (never the code, never the recipient). A record whose
fingerprint was made otherwise (an older octotp's unkeyed SHA-256, or a secret no longer configured)
matches no body, so a retry with its key is answered as "same key, different body" (409) until the
record expires.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import re
from collections.abc import Callable, Sequence
from typing import Any

from ..clock import Clock
from ..errors import Conflict, FieldError, InvalidInput, OctotpError
from ..store import IdempotencyClaimRaced, IdempotencyRecord, Store

WINDOW = dt.timedelta(hours=24)
STALE_CLAIM = dt.timedelta(seconds=60)
KEY_PATTERN = r"^[\x21-\x7e]{1,255}$"
"""An ``Idempotency-Key``: 1-255 visible ASCII characters (the OpenAPI document states the same)."""
_KEY = re.compile(KEY_PATTERN)
# A claim whose insert loses to a record released before it can be read tries again, this often.
CLAIM_ATTEMPTS = 3


class IdempotencyConflict(Conflict):
    """The key was used for a different request, or its first request is still running."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code


# The fingerprint key is derived from the server secret for this one purpose, so a fingerprint can
# never be confused with (or used to test guesses against) the recipient digests or code peppers
# made from the same secret.
_FINGERPRINT_PURPOSE = b"octotp-idempotency-fingerprint:v1"


def fingerprint(secret: bytes, body: bytes) -> str:
    """What must match for a request to count as the same one: a keyed digest of the body, from
    which nothing in the body can be recovered or confirmed without ``secret``."""
    return _keyed(_fingerprint_key(secret), body)


def _fingerprint_key(secret: bytes) -> bytes:
    return hmac.new(secret, _FINGERPRINT_PURPOSE, hashlib.sha256).digest()


def _keyed(key: bytes, body: bytes) -> str:
    return hmac.new(key, body, hashlib.sha256).hexdigest()


class RequestFingerprints:
    """Fingerprints under the current server secret, recognised under any configured fallback too
    (a retry that spans a secret rotation is still the same request)."""

    def __init__(self, secrets: Sequence[bytes]) -> None:
        if not secrets:
            raise ValueError("at least one secret is required")
        self._keys = [_fingerprint_key(s) for s in secrets]  # derived once, not per request

    def of(self, body: bytes) -> str:
        """The fingerprint to store for ``body``."""
        return _keyed(self._keys[0], body)

    def matches(self, stored: str, body: bytes) -> bool:
        """Whether ``stored`` is the fingerprint of ``body`` under one of the secrets."""
        return any(hmac.compare_digest(stored, _keyed(k, body)) for k in self._keys)


def check_key(key: str) -> str:
    """The header value, or a 400 naming the header."""
    if not _KEY.fullmatch(key):
        raise InvalidInput(FieldError("Idempotency-Key", "must be 1-255 visible ASCII characters"))
    return key


def _in_progress() -> IdempotencyConflict:
    return IdempotencyConflict("request_in_progress", "a request with this Idempotency-Key is in progress")


def _claim(store: Store, project_id: str, key: str, digest: str, now: dt.datetime) -> IdempotencyRecord | None:
    """``store.claim_idempotency_key``, again when a concurrent release raced it; a key that keeps
    changing hands is in progress."""
    for _ in range(CLAIM_ATTEMPTS):
        try:
            return store.claim_idempotency_key(project_id, key, digest, now)
        except IdempotencyClaimRaced:
            continue
    raise _in_progress()


def run_idempotent(
    store: Store,
    clock: Clock,
    project_id: str,
    key: str,
    body: bytes,
    create: Callable[[], tuple[dict[str, Any], str, bool]],
    fingerprints: RequestFingerprints,
) -> tuple[dict[str, Any], bool]:
    """Run ``create`` (returning the response body, token id and whether it was sent) at most as the rule
    allows; return the body to answer and whether it is a replay."""
    now = clock.now()
    digest = fingerprints.of(body)
    existing = _claim(store, project_id, key, digest, now)
    if existing is not None and existing.claimed_at < now - WINDOW:  # expired: start afresh
        store.release_idempotency_key(project_id, key)
        existing = _claim(store, project_id, key, digest, now)
        if existing is not None:
            raise _in_progress()
    replayed = existing is not None
    if existing is not None:
        if not fingerprints.matches(existing.fingerprint, body):
            raise IdempotencyConflict(
                "idempotency_key_reused", "this Idempotency-Key was used with a different request body"
            )
        if existing.token_id is not None and existing.sent and existing.response is not None:
            return json.loads(existing.response), True
        if not store.reclaim_idempotency_key(project_id, key, existing.token_id, now - STALE_CLAIM, now):
            raise _in_progress()
    try:
        data, token_id, sent = create()
    except OctotpError:
        store.release_idempotency_key(project_id, key)
        raise
    recorded = {k: v for k, v in data.items() if k != "code"}
    store.complete_idempotency_key(project_id, key, token_id, json.dumps(recorded), sent)
    return data, replayed
