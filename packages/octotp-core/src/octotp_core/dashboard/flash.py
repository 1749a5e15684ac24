"""One-shot messages (a new API key) carried from a POST to the page its 303 redirect leads to.

They live in the session's row, never in a cookie or a URL, and only until that page shows them
(``Store.take_session_flash``, a conditional update, makes sure exactly one request does). At rest
they are sealed with Fernet (``cryptography``: AES-128-CBC and HMAC-SHA256, encrypt-then-MAC) under
a key derived from the server secret *and* the session id, which the store never holds (only its
digest), so neither a database dump nor another session can read them.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

from cryptography.fernet import Fernet, InvalidToken

# A flash is read by the redirect that follows its POST; one left unread longer is dropped.
MAX_AGE_SECONDS = 3600


def _fernet(secret: bytes, session_id: str) -> Fernet:
    key = hmac.new(secret, b"octotp-dashboard-flash:" + session_id.encode(), hashlib.sha256).digest()
    return Fernet(base64.urlsafe_b64encode(key))


def seal(secret: bytes, session_id: str, message: dict[str, str]) -> str:
    """``message`` as JSON, encrypted and authenticated for this session (Fernet token text)."""
    plain = json.dumps(message, separators=(",", ":")).encode()
    return _fernet(secret, session_id).encrypt(plain).decode()


def unseal(secret: bytes, session_id: str, sealed: str) -> dict[str, str] | None:
    """The message ``seal`` made for this session, or None (another session's, tampered with, older
    than ``MAX_AGE_SECONDS``, or sealed under a secret that has since been rotated away)."""
    try:
        plain = _fernet(secret, session_id).decrypt(sealed.encode(), ttl=MAX_AGE_SECONDS)
        message = json.loads(plain)
    except (InvalidToken, ValueError):
        return None
    if not isinstance(message, dict) or not all(isinstance(v, str) for v in message.values()):
        return None
    return {str(k): v for k, v in message.items()}
