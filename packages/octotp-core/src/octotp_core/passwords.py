"""Dashboard account passwords: the rules a new one must meet, and argon2id hashing.

The rules (``password_errors``): at least ``Settings.dashboard_password_min_length`` characters; not
one of the very common passwords (or close to one) that zxcvbn knows, nor guessable in under a
million tries (zxcvbn's score 0 or 1); not containing the account's email local part. zxcvbn, through
``zxcvbn-rs-py`` (the maintained, typed binding of its Rust port), carries the common-password
lists, so octotp keeps no list of its own.
"""

from __future__ import annotations

from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from zxcvbn_rs_py import Warning as Zxcvbn
from zxcvbn_rs_py import zxcvbn

from .errors import FieldError

_HASHER = PasswordHasher()

DEFAULT_MIN_PASSWORD_LENGTH = 10
"""The shortest password by default (``Settings.dashboard_password_min_length``)."""

MIN_LOCAL_PART_CHECKED = 3
"""Email local parts shorter than this are not looked for in the password: refusing every password
with an ``a`` in it for ``a@example.com`` would guard nothing."""

# zxcvbn's warnings that say the password is on (or one step from) its lists of common passwords
# (a tuple: the binding's enum members compare equal but are not hashable).
_COMMON = (
    Zxcvbn.ThisIsATop10Password,
    Zxcvbn.ThisIsATop100Password,
    Zxcvbn.ThisIsACommonPassword,
    Zxcvbn.ThisIsSimilarToACommonlyUsedPassword,
)


@cache
def _dummy_hash() -> str:
    """Verified when an account does not exist, so a login takes as long either way (no enumeration)."""
    return _HASHER.hash("octotp-dummy-password")


def _local_part(email: str | None) -> str:
    """The email's part before the ``@`` (and before any ``+tag``), lower case; ``""`` without one."""
    if not email or "@" not in email:
        return ""
    return email.rpartition("@")[0].split("+", 1)[0].strip().lower()


def _sentence(text: str) -> str:
    """zxcvbn's English warning as the end of our reason: lower-case start, no final full stop."""
    text = text.strip().rstrip(".")
    return text[:1].lower() + text[1:]


def password_errors(password: str, *, email: str | None = None, min_length: int) -> list[FieldError]:
    """Every reason ``password`` may not be an account's password (empty when it may), each a
    ``FieldError`` on field ``password``, in a stable order: length, then guessability, then the email.

    ``email`` is the account's address (the local part may not appear in the password, case
    ignored, when it is at least ``MIN_LOCAL_PART_CHECKED`` characters). Used by account creation,
    and by password reset and change, so every way to set a password obeys the same rules.
    """
    errors: list[FieldError] = []
    if len(password) < min_length:
        errors.append(FieldError("password", f"must be at least {min_length} characters"))
    local = _local_part(email)
    if password:
        strength = zxcvbn(password, [value for value in (local, (email or "").lower()) if value])
        warning = strength.feedback.warning if strength.feedback else None
        if warning in _COMMON:
            errors.append(FieldError("password", f"is too common: {_sentence(str(warning))}"))
        elif int(strength.score) <= 1:
            # Guessable in under a million tries (repeats, sequences, keyboard rows, a word and a
            # year): not on a list, but no better than a password that is.
            reason = f": {_sentence(str(warning))}" if warning is not None else ""
            errors.append(FieldError("password", f"is too easy to guess{reason}"))
    if len(local) >= MIN_LOCAL_PART_CHECKED and local in password.lower():
        errors.append(FieldError("password", "must not contain your email address's name (the part before the @)"))
    return errors


def hash_password(password: str) -> str:
    """argon2id hash of ``password``."""
    return _HASHER.hash(password)


def verify_password(stored: str | None, password: str) -> bool:
    """Check ``password`` against ``stored``; with ``stored=None`` spend the same time and fail."""
    try:
        return _HASHER.verify(stored or _dummy_hash(), password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False
