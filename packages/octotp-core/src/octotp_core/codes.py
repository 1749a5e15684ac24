"""Generation of the one-time codes themselves."""

from __future__ import annotations

import secrets

MIN_CODE_LENGTH = 4
MAX_CODE_LENGTH = 10


def generate_code(length: int) -> str:
    """Return ``length`` decimal digits drawn uniformly from all 10**length values (leading zeros kept)."""
    if not MIN_CODE_LENGTH <= length <= MAX_CODE_LENGTH:
        raise ValueError(f"code length must be {MIN_CODE_LENGTH}-{MAX_CODE_LENGTH}, not {length}")
    return str(secrets.randbelow(10**length)).zfill(length)


def looks_like_code(value: str) -> bool:
    """True when ``value`` has the shape of any code octotp could have issued."""
    return value.isascii() and value.isdigit() and MIN_CODE_LENGTH <= len(value) <= MAX_CODE_LENGTH
