"""How codes are stored: argon2id (or plain HMAC) over an HMAC-SHA256 of the code keyed by the server secret.

The HMAC is a pepper: a stolen database alone cannot be brute-forced over the small code space
without the secret. The stored string says which scheme made it, so changing the hasher setting
never breaks codes already issued.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Literal, Protocol

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

# (time_cost, memory_cost in KiB, parallelism)
ARGON2_PROFILES: dict[str, tuple[int, int, int]] = {
    "otp": (1, 8 * 1024, 1),
    "owasp": (2, 19 * 1024, 1),
}
_HMAC_PREFIX = "hmac-sha256$"


def pepper(secret: bytes, code: str) -> bytes:
    """HMAC-SHA256 of the code under the server secret (domain-separated)."""
    return hmac.new(secret, b"octotp-code:" + code.encode(), hashlib.sha256).digest()


class CodeHasher(Protocol):
    """Turns a code into a storable string and checks a code against one."""

    def hash(self, code: str) -> str: ...

    def verify(self, stored: str, code: str) -> bool: ...


class _PepperedHasher:
    def __init__(self, secrets: list[bytes]) -> None:
        if not secrets:
            raise ValueError("at least one secret is required")
        self._secrets = secrets

    def verify(self, stored: str, code: str) -> bool:
        """Check ``code`` against ``stored`` under the current secret, then each fallback."""
        if stored.startswith(_HMAC_PREFIX):
            expected = stored[len(_HMAC_PREFIX) :]
            return any(hmac.compare_digest(pepper(s, code).hex(), expected) for s in self._secrets)
        return any(self._verify_argon2(stored, pepper(s, code)) for s in self._secrets)

    def _verify_argon2(self, stored: str, peppered: bytes) -> bool:
        try:
            return _VERIFIER.verify(stored, peppered)
        except (VerificationError, InvalidHashError):
            return False


class Argon2CodeHasher(_PepperedHasher):
    """argon2id over the peppered code, with the ``otp`` or ``owasp`` cost profile."""

    def __init__(self, secrets: list[bytes], profile: Literal["otp", "owasp"] = "otp") -> None:
        super().__init__(secrets)
        time_cost, memory_cost, parallelism = ARGON2_PROFILES[profile]
        self._hasher = PasswordHasher(time_cost, memory_cost, parallelism, type=Type.ID)

    def hash(self, code: str) -> str:
        return self._hasher.hash(pepper(self._secrets[0], code))


class HmacCodeHasher(_PepperedHasher):
    """The peppered HMAC alone, for very high volume: fast, and only as strong as the secret."""

    def hash(self, code: str) -> str:
        return _HMAC_PREFIX + pepper(self._secrets[0], code).hex()


# Verification reads its parameters from the stored hash, so one verifier serves every profile.
_VERIFIER = PasswordHasher(type=Type.ID)


def make_code_hasher(kind: str, secrets: list[bytes], profile: Literal["otp", "owasp"] = "otp") -> CodeHasher:
    """The hasher for the ``hasher`` setting."""
    if kind == "argon2":
        return Argon2CodeHasher(secrets, profile)
    if kind == "hmac":
        return HmacCodeHasher(secrets)
    raise ValueError(f"unknown hasher {kind!r}")
