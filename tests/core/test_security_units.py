"""Security building blocks: recipients, API keys, code hashing, passwords."""

from __future__ import annotations

import hashlib
import math
import re
import uuid
from collections.abc import Callable

import pytest
from argon2 import PasswordHasher
from argon2.exceptions import VerificationError
from sqlalchemy import select

from octotp_core import AuthenticationFailed, Conflict, FrozenClock, InvalidInput, Octotp, Settings, apikeys
from octotp_core.accounts import AccountService
from octotp_core.delivery import render
from octotp_core.hashing import Argon2CodeHasher, HmacCodeHasher, make_code_hasher, pepper
from octotp_core.passwords import hash_password, verify_password
from octotp_core.recipients import _normalised_email, normalise_email, normalise_phone, recipient_from
from octotp_core.store.sql import accounts as accounts_table
from octotp_core.store.sql import api_keys as api_keys_table

SECRET = b"s" * 32
OLD_SECRET = b"o" * 32


# -- recipients ----------------------------------------------------------------------------------
def test_email_is_lower_cased() -> None:
    recipient = normalise_email("John.Doe@Example.COM")
    assert (recipient.kind, recipient.value, recipient.channel) == ("email", "john.doe@example.com", "email")


def test_email_domain_is_not_looked_up() -> None:
    # A syntactically valid address on a domain that cannot exist is accepted: no DNS involved.
    domain = f"octotp-{uuid.uuid4().hex}.com"
    assert normalise_email(f"someone@{domain}").value == f"someone@{domain}"


@pytest.mark.parametrize("raw", ["plainaddress", "a@b@example.com", "@example.com", "user@", "user@exa mple.com"])
def test_invalid_email_is_refused_with_the_field(raw: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        normalise_email(raw)
    assert [e.field for e in caught.value.errors] == ["email"]


def test_recent_recipients_are_kept_and_refusals_are_not() -> None:
    # Kept: the second call does no parsing. Refused input is refused every time, in each field, and a
    # number valid in one default region is not answered from another region's entry.
    address = f"Kept.{uuid.uuid4().hex}@Example.com"
    first = normalise_email(address)
    hits = _normalised_email.cache_info().hits
    assert normalise_email(address) == first
    assert _normalised_email.cache_info().hits == hits + 1
    for field in ("email", "recipientEmail"):
        with pytest.raises(InvalidInput) as caught:
            normalise_email("not-an-address", field=field)
        assert [e.field for e in caught.value.errors] == [field]
    assert normalise_phone("07400 123123", "GB").value == "+447400123123"
    with pytest.raises(InvalidInput):
        normalise_phone("07400 123123", "US")
    with pytest.raises(InvalidInput) as caught:
        normalise_email(42)  # type: ignore[arg-type]  # a library caller's mistake: a clear refusal
    assert [e.field for e in caught.value.errors] == ["email"]


@pytest.mark.parametrize(
    ("raw", "region", "e164"),
    [
        ("+44 7400 123123", None, "+447400123123"),
        ("07400 123123", "GB", "+447400123123"),
        ("(201) 555-0123", "US", "+12015550123"),
        ("06 12 34 56 78", "FR", "+33612345678"),
    ],
)
def test_phone_is_normalised_to_e164(raw: str, region: str | None, e164: str) -> None:
    recipient = normalise_phone(raw, region)
    assert (recipient.kind, recipient.value, recipient.channel) == ("phone", e164, "sms")


@pytest.mark.parametrize("raw", ["+44 12", "not a number", "+999 123456789"])
def test_invalid_phone_is_refused_with_the_field(raw: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        normalise_phone(raw)
    assert [e.field for e in caught.value.errors] == ["phone"]


@pytest.mark.parametrize(
    ("address", "hint"),
    [("john@example.com", "j***@example.com"), ("a@x.org", "a***@x.org"), ("Zoe.Long@Mail.Example.com", None)],
)
def test_email_hint_masks_the_local_part(address: str, hint: str | None) -> None:
    recipient = normalise_email(address)
    local, _, domain = recipient.value.partition("@")
    assert recipient.hint == (hint or f"{local[0]}***@{domain}")
    if len(local) > 1:
        assert local not in recipient.hint


@pytest.mark.parametrize("number", ["+447400123123", "+12015550123", "+33612345678"])
def test_phone_hint_keeps_country_code_and_last_three_digits(number: str) -> None:
    hint = normalise_phone(number).hint
    assert len(hint) == len(number)
    assert hint.endswith(number[-3:])
    assert hint.startswith(number[:2])
    assert set(hint[3:-3]) == {"*"}
    assert normalise_phone("+447400123123").hint == "+44*******123"


def test_recipient_digest_is_keyed_and_case_insensitive() -> None:
    upper, lower = normalise_email("Person@Example.com"), normalise_email("person@example.com")
    digest = lower.digest(SECRET)
    assert re.fullmatch(r"[0-9a-f]{64}", digest)
    assert upper.digest(SECRET) == digest
    assert lower.digest(OLD_SECRET) != digest
    assert lower.value not in digest
    assert digest != hashlib.sha256(lower.value.encode()).hexdigest()  # not an unkeyed hash


def test_recipient_from_requires_exactly_one() -> None:
    assert recipient_from("a@example.com", None).kind == "email"
    assert recipient_from(None, "+447400123123").kind == "phone"
    for email, phone in ((None, None), ("a@example.com", "+447400123123")):
        with pytest.raises(InvalidInput) as caught:
            recipient_from(email, phone)
        assert sorted(e.field for e in caught.value.errors) == ["email", "phone"]


# -- API keys ------------------------------------------------------------------------------------
def test_api_key_shape_and_entropy() -> None:
    key = apikeys.generate_api_key()
    assert key.startswith("octotp_")
    assert len(key) == apikeys.KEY_LENGTH
    assert re.fullmatch(r"octotp_[0-9A-Za-z]+", key)
    random_chars = apikeys.KEY_LENGTH - len(apikeys.PREFIX) - 6  # minus the checksum
    assert random_chars * math.log2(62) >= 128
    assert apikeys.is_well_formed(key)


def test_api_keys_do_not_repeat() -> None:
    keys = {apikeys.generate_api_key() for _ in range(2000)}
    assert len(keys) == 2000


def test_checksum_rejects_every_one_character_change() -> None:
    key = apikeys.generate_api_key()
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_"
    changed = 0
    for position in range(len(key)):
        for replacement in alphabet:
            if replacement != key[position]:
                mutated = key[:position] + replacement + key[position + 1 :]
                assert not apikeys.is_well_formed(mutated), (position, replacement)
                changed += 1
    assert changed == len(key) * (len(alphabet) - 1)


@pytest.mark.parametrize(
    "transform",
    [
        lambda k: k[:-1],
        lambda k: k + "0",
        lambda k: "ghp_" + k[len("octotp_") :],
        lambda k: k.upper(),
        lambda k: k[:10] + "é" + k[11:],
        lambda k: "",
    ],
)
def test_malformed_keys_are_refused(transform: Callable[[str], str]) -> None:
    assert not apikeys.is_well_formed(transform(apikeys.generate_api_key()))


def test_key_digest_and_display_prefix() -> None:
    key = apikeys.generate_api_key()
    assert apikeys.key_digest(key) == hashlib.sha256(key.encode()).hexdigest()
    prefix = apikeys.display_prefix(key)
    assert key.startswith(prefix)
    assert len(prefix) <= len(apikeys.PREFIX) + 6


def test_only_the_digest_of_a_key_is_stored(octotp: Octotp) -> None:
    created = octotp.accounts.create_project("keys")
    secret = created.api_key.secret
    body = secret[len(apikeys.PREFIX) :]
    assert octotp.engine is not None
    with octotp.engine.connect() as conn:
        row = conn.execute(select(api_keys_table).where(api_keys_table.c.id == created.api_key.key.id)).one()
    assert row.digest == apikeys.key_digest(secret)
    for value in row:
        assert body[6:] not in str(value)  # neither the key nor the part of it that is never displayed
    assert secret not in repr(created.api_key.key)


def test_authenticate_api_keys(octotp: Octotp, clock: FrozenClock) -> None:
    created = octotp.accounts.create_project("auth")
    secret = created.api_key.secret
    key, project = octotp.accounts.authenticate(secret)
    assert (key.id, project.id) == (created.api_key.key.id, created.project.id)
    [stored] = octotp.store.list_api_keys(created.project.id)
    assert stored.last_used_at == clock.now()
    tampered = secret[:-7] + ("A" if secret[-7] != "A" else "B") + secret[-6:]
    for bad in (None, "", tampered, apikeys.generate_api_key()):
        with pytest.raises(AuthenticationFailed):
            octotp.accounts.authenticate(bad)


def test_revoked_key_is_refused_by_every_process(
    octotp: Octotp, make_settings: Callable[..., Settings], database_url: str, clock: FrozenClock
) -> None:
    created = octotp.accounts.create_project("revoke")
    second = octotp.accounts.create_api_key(created.project.id, "second")
    # Another process that has not cached the key, and one that has (cache lifetime 0 s).
    other_process = AccountService(
        octotp.store, make_settings(database_url=database_url, api_key_cache_seconds=0), clock
    )
    other_process.authenticate(created.api_key.secret)
    octotp.accounts.revoke_api_key(created.api_key.key.id)
    for accounts in (octotp.accounts, other_process):
        with pytest.raises(AuthenticationFailed, match="revoked"):
            accounts.authenticate(created.api_key.secret)
        assert accounts.authenticate(second.secret)[1].id == created.project.id  # the other key still works


# -- code hashing --------------------------------------------------------------------------------
@pytest.mark.parametrize(("profile", "params"), [("otp", "m=8192,t=1,p=1"), ("owasp", "m=19456,t=2,p=1")])
def test_argon2_profiles(profile: str, params: str) -> None:
    hasher = make_code_hasher("argon2", [SECRET], profile)  # type: ignore[arg-type]
    stored = hasher.hash("012345")
    assert stored.startswith(f"$argon2id$v=19${params}$")
    assert hasher.verify(stored, "012345")
    assert not hasher.verify(stored, "012346")
    assert hasher.hash("012345") != stored  # salted


def test_argon2_hashes_the_peppered_code_not_the_code() -> None:
    stored = Argon2CodeHasher([SECRET]).hash("123456")
    with pytest.raises(VerificationError):
        PasswordHasher().verify(stored, "123456")  # a stolen hash alone is useless
    assert PasswordHasher().verify(stored, pepper(SECRET, "123456"))


def test_hmac_hasher() -> None:
    hasher = make_code_hasher("hmac", [SECRET])
    stored = hasher.hash("000123")
    assert stored == "hmac-sha256$" + pepper(SECRET, "000123").hex()
    assert re.fullmatch(r"hmac-sha256\$[0-9a-f]{64}", stored)
    assert hasher.verify(stored, "000123")
    assert not hasher.verify(stored, "000124")
    assert not HmacCodeHasher([OLD_SECRET]).verify(stored, "000123")


@pytest.mark.parametrize("kind", ["argon2", "hmac"])
def test_verify_under_a_fallback_secret(kind: str) -> None:
    stored = make_code_hasher(kind, [OLD_SECRET]).hash("424242")
    assert make_code_hasher(kind, [SECRET, OLD_SECRET]).verify(stored, "424242")
    assert not make_code_hasher(kind, [SECRET, OLD_SECRET]).verify(stored, "424243")
    assert not make_code_hasher(kind, [SECRET]).verify(stored, "424242")
    # New hashes always use the current secret.
    assert not make_code_hasher(kind, [OLD_SECRET]).verify(
        make_code_hasher(kind, [SECRET, OLD_SECRET]).hash("424242"), "424242"
    )


def test_changing_the_hasher_setting_keeps_issued_codes_valid() -> None:
    from_argon2, from_hmac = Argon2CodeHasher([SECRET]).hash("5555"), HmacCodeHasher([SECRET]).hash("5555")
    assert HmacCodeHasher([SECRET]).verify(from_argon2, "5555")
    assert Argon2CodeHasher([SECRET]).verify(from_hmac, "5555")


@pytest.mark.parametrize("stored", ["", "garbage", "$argon2id$v=19$m=8192,t=1,p=1$broken", "hmac-sha256$zz"])
def test_verify_against_garbage_is_false(stored: str) -> None:
    assert not Argon2CodeHasher([SECRET]).verify(stored, "123456")


def test_hasher_needs_a_known_kind_and_a_secret() -> None:
    with pytest.raises(ValueError, match="unknown hasher"):
        make_code_hasher("md5", [SECRET])
    with pytest.raises(ValueError, match="secret"):
        HmacCodeHasher([])


def test_message_repr_hides_the_code() -> None:
    message = render("email", "person@example.com", "908172", "Acme", 300, "de")
    assert "908172" in message.body
    assert "908172" not in repr(message)
    assert "person@example.com" not in repr(message)


# -- passwords and accounts ----------------------------------------------------------------------
def test_password_hashing() -> None:
    stored = hash_password("correct horse battery")
    assert stored.startswith("$argon2id$")
    assert "correct horse" not in stored
    assert verify_password(stored, "correct horse battery")
    assert not verify_password(stored, "correct horse battery!")
    assert not verify_password(None, "correct horse battery")
    assert not verify_password("not a hash", "correct horse battery")


def test_accounts(octotp: Octotp) -> None:
    address = f"Owner.{uuid.uuid4().hex[:8]}@Example.com"
    account = octotp.accounts.create_account(address, "long enough password")
    assert account.email == address.lower()
    assert octotp.accounts.authenticate_account(address.upper(), "long enough password") == account
    assert octotp.accounts.authenticate_account(address, "wrong password") is None
    assert octotp.accounts.authenticate_account(f"nobody-{uuid.uuid4().hex}@example.com", "x" * 12) is None
    assert octotp.accounts.authenticate_account("not an email", "long enough password") is None
    with pytest.raises(Conflict):
        octotp.accounts.create_account(address.lower(), "another password")
    assert octotp.engine is not None
    with octotp.engine.connect() as conn:
        stored = conn.execute(select(accounts_table.c.password_hash).where(accounts_table.c.id == account.id)).scalar()
    assert str(stored).startswith("$argon2id$")


def test_short_password_is_refused(octotp: Octotp) -> None:
    with pytest.raises(InvalidInput) as caught:
        octotp.accounts.create_account(f"short-{uuid.uuid4().hex[:8]}@example.com", "1234567")
    assert {e.field for e in caught.value.errors} == {"password"}
    assert "must be at least 10 characters" in [e.reason for e in caught.value.errors]


def test_inactive_account_cannot_log_in(octotp: Octotp, clock: FrozenClock) -> None:
    from octotp_core.store import Account

    address = f"inactive-{uuid.uuid4().hex[:8]}@example.com"
    octotp.store.create_account(
        Account(str(uuid.uuid4()), address, hash_password("long enough password"), clock.now(), is_active=False)
    )
    assert octotp.accounts.authenticate_account(address, "long enough password") is None
