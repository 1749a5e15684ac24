"""Password rules (``octotp_core.passwords.password_errors``): length, common passwords from zxcvbn's
lists, guessability and the email's local part, each a reason on field ``password``; and account
creation, which refuses a password by every rule it breaks and writes nothing."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import uuid
from collections.abc import Callable

import pytest
from pydantic import ValidationError

from octotp_core import InvalidInput, Settings
from octotp_core.errors import FieldError
from octotp_core.passwords import DEFAULT_MIN_PASSWORD_LENGTH, password_errors

from .conftest import MakeOctotp

GOOD = "correct horse battery staple"


def reasons(password: str, email: str | None = None, min_length: int = DEFAULT_MIN_PASSWORD_LENGTH) -> list[str]:
    errors = password_errors(password, email=email, min_length=min_length)
    assert {e.field for e in errors} <= {"password"}
    return [e.reason for e in errors]


def test_a_long_uncommon_password_passes() -> None:
    assert password_errors(GOOD, email="owner@example.com", min_length=10) == []


def test_the_minimum_length_is_ten_by_default_and_counts_characters() -> None:
    assert Settings().dashboard_password_min_length == DEFAULT_MIN_PASSWORD_LENGTH == 10
    assert reasons("zq8!vKe2#x") == []  # exactly 10, uncommon
    assert reasons("zq8!vKe2#") == ["must be at least 10 characters"]
    # Characters, not bytes: ten non-ASCII letters are long enough.
    assert "must be at least 10 characters" not in reasons("ñøßçéüåæœð")


@pytest.mark.parametrize(
    ("password", "warning"),
    [
        ("password1234", "this is a very common password"),
        ("1234567890", "this is a top-100 common password"),
        ("qwertyuiop", "this is a top-100 common password"),
        ("Password123!", "this is similar to a commonly used password"),
        ("iloveyou2024", "this is similar to a commonly used password"),
    ],
)
def test_very_common_passwords_are_refused_with_the_librarys_reason(password: str, warning: str) -> None:
    assert reasons(password) == [f"is too common: {warning}"]


@pytest.mark.parametrize("password", ["aaaaaaaaaaaa", "abcdefghijkl", "asdfghjklasdfghjkl", "a" * 99])
def test_easily_guessed_patterns_are_refused(password: str) -> None:
    [reason] = reasons(password)
    assert reason.startswith("is too easy to guess")


def test_the_email_local_part_may_not_appear_in_the_password() -> None:
    refused = "must not contain your email address's name (the part before the @)"
    assert refused in reasons("JohnSmith-blue-cactus-7", "johnsmith@example.com")
    assert refused in reasons("blue cactus Lee.Ann.Shore 7", "lee.ann.shore@example.com")
    # A +tag is not part of the name: the name alone is refused.
    assert refused in reasons("kestrel-velvet-kestrel-9 marguerite", "marguerite+octotp@example.com")
    # The same password is fine for somebody else.
    assert refused not in reasons("JohnSmith-blue-cactus-7", "ann@example.com")
    # A local part under three characters is not looked for.
    assert reasons("violet harbour lantern", "la@example.com") == []


def test_every_reason_is_given_at_once_in_a_stable_order() -> None:
    assert reasons("bob123", "bob@example.com") == [
        "must be at least 10 characters",
        "is too common: this is a very common password",
        "must not contain your email address's name (the part before the @)",
    ]


def test_the_empty_password_is_only_too_short() -> None:
    assert reasons("", "someone@example.com") == ["must be at least 10 characters"]


def test_long_passwords_are_judged_quickly_and_a_strong_one_passes() -> None:
    # zxcvbn's matching is superlinear in the length; the binding looks at a bounded prefix, so a
    # pasted megabyte cannot stall a request. A strong long password passes.
    pasted = "".join(hashlib.sha256(str(n).encode()).hexdigest() for n in range(20_000))  # 1.28 MB
    assert reasons(pasted) == []
    assert reasons("a" * 1_000_000)[0].startswith("is too easy to guess")


def test_the_minimum_length_is_a_setting_within_bounds(make_settings: Callable[..., Settings]) -> None:
    assert make_settings(dashboard_password_min_length=16).dashboard_password_min_length == 16
    for bad in (7, 129):
        with pytest.raises(ValidationError, match="dashboard_password_min_length"):
            make_settings(dashboard_password_min_length=bad)


def test_create_account_refuses_by_every_rule_and_writes_nothing(make_octotp: MakeOctotp) -> None:
    octotp = make_octotp(dashboard_password_min_length=12)
    email = f"dana.{uuid.uuid4().hex[:8]}@example.com"
    local = email.split("@")[0]
    with pytest.raises(InvalidInput) as caught:
        octotp.accounts.create_account(email.upper(), f"{local.upper()} velvet kestrel harbour")
    assert caught.value.errors == [
        FieldError("password", "must not contain your email address's name (the part before the @)")
    ]
    with pytest.raises(InvalidInput) as short:
        octotp.accounts.create_account(email, "zq8!vKe2#x")  # fine by default, short for this setting
    assert short.value.errors == [FieldError("password", "must be at least 12 characters")]
    assert octotp.store.get_account_by_email(email) is None
    account = octotp.accounts.create_account(email, GOOD)
    assert octotp.accounts.authenticate_account(email, GOOD) == account


def test_check_password_names_each_rule(make_octotp: MakeOctotp) -> None:
    octotp = make_octotp()
    octotp.accounts.check_password(GOOD, "owner@example.com")
    with pytest.raises(InvalidInput) as caught:
        octotp.accounts.check_password("password1234", "owner@example.com")
    assert caught.value.errors == [FieldError("password", "is too common: this is a very common password")]
    assert str(caught.value) == "password: is too common: this is a very common password"


def test_dashboard_passwords_are_hashed_with_rfc_9106s_low_memory_profile_by_default() -> None:
    """What a deployment gets (this test process hashes dashboard passwords more cheaply: see
    tests/conftest.py), checked in a process of its own."""
    code = "from octotp_core import passwords as p; s = p.hash_password('pw'); print(s, p.verify_password(s, 'pw'))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    stored, verified = done.stdout.split()
    assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert verified == "True"
