"""One-shot messages (a new API key) carried from a POST to the page its 303 redirect leads to.

They live in the session's row, never in a cookie or a URL, and only until that page shows them
(``Store.take_session_flash``, a conditional update, makes sure exactly one request does). At rest
they are sealed under a key derived from the server secret *and* the session id, which the store
never holds (only its digest), so neither a database dump nor another session can read them.

The sealing uses only the standard library: HMAC-SHA256 as a PRF in counter mode for the keystream
(a fresh 128-bit nonce per message) and HMAC-SHA256 over nonce and ciphertext for integrity
(encrypt-then-MAC), each with its own key derived from the per-session key.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets

_NONCE_BYTES = 16
_TAG_BYTES = 32


def _keys(secret: bytes, session_id: str) -> tuple[bytes, bytes]:
    session_key = hmac.new(secret, b"octotp-dashboard-flash:" + session_id.encode(), hashlib.sha256).digest()
    return (
        hmac.new(session_key, b"encrypt", hashlib.sha256).digest(),
        hmac.new(session_key, b"authenticate", hashlib.sha256).digest(),
    )


def _keystream(key: bytes, nonce: bytes, length: int) -> bytes:
    blocks = (length + 31) // 32
    stream = b"".join(hmac.new(key, nonce + i.to_bytes(4, "big"), hashlib.sha256).digest() for i in range(blocks))
    return stream[:length]


def seal(secret: bytes, session_id: str, message: dict[str, str]) -> str:
    """``message`` as JSON, encrypted and authenticated for this session: URL-safe base64 text."""
    plain = json.dumps(message, separators=(",", ":")).encode()
    encrypt_key, mac_key = _keys(secret, session_id)
    nonce = secrets.token_bytes(_NONCE_BYTES)
    cipher = bytes(a ^ b for a, b in zip(plain, _keystream(encrypt_key, nonce, len(plain)), strict=True))
    tag = hmac.new(mac_key, nonce + cipher, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(nonce + cipher + tag).decode()


def unseal(secret: bytes, session_id: str, sealed: str) -> dict[str, str] | None:
    """The message ``seal`` made for this session, or None (another session's, tampered with, or
    sealed under a secret that has since been rotated away)."""
    try:
        raw = base64.urlsafe_b64decode(sealed.encode())
    except (binascii.Error, ValueError):
        return None
    if len(raw) < _NONCE_BYTES + _TAG_BYTES:
        return None
    nonce, cipher, tag = raw[:_NONCE_BYTES], raw[_NONCE_BYTES:-_TAG_BYTES], raw[-_TAG_BYTES:]
    encrypt_key, mac_key = _keys(secret, session_id)
    if not hmac.compare_digest(tag, hmac.new(mac_key, nonce + cipher, hashlib.sha256).digest()):
        return None
    plain = bytes(a ^ b for a, b in zip(cipher, _keystream(encrypt_key, nonce, len(cipher)), strict=True))
    try:
        message = json.loads(plain)
    except ValueError:
        return None
    if not isinstance(message, dict) or not all(isinstance(v, str) for v in message.values()):
        return None
    return {str(k): v for k, v in message.items()}
