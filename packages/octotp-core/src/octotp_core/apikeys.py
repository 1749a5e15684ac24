"""API keys: ``octotp_`` + 32 base62 characters (190 random bits) + a 6-character CRC32 checksum.

The fixed prefix and the checksum let secret scanners find leaked keys with no false positives, and
let octotp refuse a mistyped key without a database round trip. Only a SHA-256 digest is stored.
"""

from __future__ import annotations

import hashlib
import secrets
import zlib

PREFIX = "octotp_"
_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_BODY_LENGTH = 32
_CHECKSUM_LENGTH = 6
KEY_LENGTH = len(PREFIX) + _BODY_LENGTH + _CHECKSUM_LENGTH


def _base62(number: int, width: int) -> str:
    chars = []
    for _ in range(width):
        number, rem = divmod(number, 62)
        chars.append(_ALPHABET[rem])
    return "".join(reversed(chars))


def _checksum(body: str) -> str:
    return _base62(zlib.crc32(body.encode()), _CHECKSUM_LENGTH)


def generate_api_key() -> str:
    """A new random API key (shown to the user once, never stored)."""
    body = "".join(secrets.choice(_ALPHABET) for _ in range(_BODY_LENGTH))
    return PREFIX + body + _checksum(body)


def is_well_formed(key: str) -> bool:
    """Prefix, length, alphabet and checksum all check out."""
    if len(key) != KEY_LENGTH or not key.startswith(PREFIX):
        return False
    body, check = key[len(PREFIX) : -_CHECKSUM_LENGTH], key[-_CHECKSUM_LENGTH:]
    return all(c in _ALPHABET for c in body) and secrets.compare_digest(_checksum(body), check)


def key_digest(key: str) -> str:
    """The stored form of a key (keys carry enough entropy that a fast hash is safe)."""
    return hashlib.sha256(key.encode()).hexdigest()


def display_prefix(key: str) -> str:
    """The first characters of a key, kept so users can tell their keys apart."""
    return key[: len(PREFIX) + 6]
