"""A job's payload at rest: JSON sealed with Fernet (``cryptography``: AES-128-CBC and HMAC-SHA256)
under a key derived from the server secret and the job's id, so a database dump shows no recipient
and no code, and one job's payload cannot be moved to another. A payload sealed under a secret
that has since become a fallback still opens (secret rotation)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Sequence
from typing import Any

from cryptography.fernet import Fernet, InvalidToken


def _fernet(secret: bytes, job_id: str) -> Fernet:
    key = hmac.new(secret, b"octotp-outbox:" + job_id.encode(), hashlib.sha256).digest()
    return Fernet(base64.urlsafe_b64encode(key))


def seal(secret: bytes, job_id: str, payload: dict[str, Any]) -> str:
    """``payload`` as JSON, encrypted and authenticated for this job."""
    return _fernet(secret, job_id).encrypt(json.dumps(payload, separators=(",", ":")).encode()).decode()


def unseal(secrets: Sequence[bytes], job_id: str, sealed: str) -> dict[str, Any] | None:
    """The payload ``seal`` made for this job under any of ``secrets``, or None."""
    for secret in secrets:
        try:
            payload = json.loads(_fernet(secret, job_id).decrypt(sealed.encode()))
        except (InvalidToken, ValueError):
            continue
        return payload if isinstance(payload, dict) else None
    return None
