"""Dashboard account passwords: argon2id with the library's recommended parameters."""

from __future__ import annotations

import functools

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_HASHER = PasswordHasher()

MIN_PASSWORD_LENGTH = 8


@functools.cache
def _dummy_hash() -> str:
    """Verified when an account does not exist, so a login takes as long either way (no enumeration).

    Made on first use rather than at import: a full argon2 hash at import time slowed every
    ``import octotp_core`` (each CLI call, each worker start) by a 64 MiB hash.
    """
    return _HASHER.hash("octotp-dummy-password")


def hash_password(password: str) -> str:
    """argon2id hash of ``password``."""
    return _HASHER.hash(password)


def verify_password(stored: str | None, password: str) -> bool:
    """Check ``password`` against ``stored``; with ``stored=None`` spend the same time and fail."""
    try:
        return _HASHER.verify(stored or _dummy_hash(), password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False
