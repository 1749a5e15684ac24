"""The console's own codes (``octotp_core.console.codes``): issued and checked by octotp's own
TokenService on an internal project, mailed by the console through a real SMTP server (aiosmtpd),
with the same answers, budgets and work whether or not an account has the address."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from octotp_core import FrozenClock, InvalidInput, Octotp, Plan, RateLimited, token_state
from octotp_core.console.codes import (
    ACCOUNT_VERIFY,
    CONSOLE_PROJECT_ID,
    CONSOLE_PROJECT_NAME,
    PASSWORD_RESET,
    ConsoleCodes,
    is_console_project,
)
from octotp_core.http import ApiHandler, Request
from octotp_core.recipients import normalise_email
from octotp_core.testing.mailbox import Mailbox

from .conftest import MakeOctotp
from .test_console_mail import body

PASSWORD = "correct horse battery staple"


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    box = Mailbox().start()
    yield box
    box.stop()


@pytest.fixture
def octotp(make_octotp: MakeOctotp, mailbox: Mailbox) -> Octotp:
    return make_octotp(**mailbox.delivery_settings)


@pytest.fixture
def codes(octotp: Octotp) -> ConsoleCodes:
    return ConsoleCodes(octotp)


@pytest.fixture
def owner(octotp: Octotp) -> str:
    """A fresh account's address, in mixed case as someone might type it (the session database
    outlives the test)."""
    email = f"Owner.{uuid.uuid4().hex[:10]}@Example.com"
    octotp.accounts.create_account(email, PASSWORD, verified=False)  # as a sign-up makes it
    return email


def stranger() -> str:
    return f"nobody-{uuid.uuid4().hex[:10]}@example.com"


def test_a_reset_code_reaches_the_owner_and_works_once(codes: ConsoleCodes, mailbox: Mailbox, owner: str) -> None:
    codes.send(owner, PASSWORD_RESET)
    mail = mailbox.wait_for(owner)
    assert mail["Subject"] == "Your octotp password reset code"
    assert mail["From"] == "octotp@localhost"  # the SMTP backend's from_addr
    code = mailbox.code_for(owner)
    assert f"Your octotp password reset code is {code}. It expires in 5 minutes." in body(mail)
    assert "your password has not changed" in body(mail)
    first = codes.check(owner.upper(), PASSWORD_RESET, code)
    assert first
    assert (first.ok, first.status, first.reason) == (True, "approved", "")
    again = codes.check(owner, PASSWORD_RESET, code)
    assert not again
    assert again.status == "not_found"
    assert "Send a new one" in again.reason


def test_a_verification_code_has_its_own_words_and_purpose(codes: ConsoleCodes, mailbox: Mailbox, owner: str) -> None:
    codes.send(owner, ACCOUNT_VERIFY)
    mail = mailbox.wait_for(owner)
    assert mail["Subject"] == "Your octotp verification code"
    assert "cannot create API keys" in body(mail)
    code = mailbox.code_for(owner)
    # A verification code is not a reset code: purposes are separate bindings.
    assert codes.check(owner, PASSWORD_RESET, code).status == "not_found"
    assert codes.check(owner, ACCOUNT_VERIFY, code).ok


def test_a_verified_account_is_sent_no_verification_code(octotp: Octotp, codes: ConsoleCodes, mailbox: Mailbox) -> None:
    verified = f"verified-{uuid.uuid4().hex[:10]}@example.com"
    octotp.accounts.create_account(verified, PASSWORD)
    codes.send(verified, ACCOUNT_VERIFY)
    assert mailbox.to(verified) == []
    codes.send(verified, PASSWORD_RESET)  # a reset code it is sent
    assert mailbox.wait_for(verified)["Subject"] == "Your octotp password reset code"


def test_no_account_no_mail_but_the_same_answers(codes: ConsoleCodes, mailbox: Mailbox, owner: str) -> None:
    nobody = stranger()
    assert codes.send(nobody, PASSWORD_RESET) is None
    assert codes.send(owner, PASSWORD_RESET) is None
    assert mailbox.to(nobody) == []
    assert len(mailbox.to(owner)) == 1
    # A code was issued for the stranger too, so a guess is "incorrect" for both, not "not_found"
    # for one of them.
    right = mailbox.code_for(owner)
    wrong = "000000" if right != "000000" else "111111"
    assert codes.check(nobody, PASSWORD_RESET, wrong) == codes.check(owner, PASSWORD_RESET, wrong)
    assert codes.check(nobody, PASSWORD_RESET, wrong).status == "incorrect"


def test_the_send_budget_is_spent_whether_or_not_the_account_exists(
    codes: ConsoleCodes, mailbox: Mailbox, owner: str
) -> None:
    nobody = stranger()
    for _ in range(5):  # recipient_send_budget: 5 per 10 minutes
        codes.send(owner, PASSWORD_RESET)
        codes.send(nobody, PASSWORD_RESET)
    with pytest.raises(RateLimited) as for_owner:
        codes.send(owner, PASSWORD_RESET)
    with pytest.raises(RateLimited) as for_nobody:
        codes.send(nobody, PASSWORD_RESET)
    assert (for_owner.value.detail, for_owner.value.retry_after) == (
        for_nobody.value.detail,
        for_nobody.value.retry_after,
    )
    assert len(mailbox.to(owner)) == 5


def test_a_resend_replaces_the_code(
    octotp: Octotp, codes: ConsoleCodes, mailbox: Mailbox, owner: str, clock: FrozenClock
) -> None:
    digest = _digest(octotp, owner)
    codes.send(owner, ACCOUNT_VERIFY)
    first = octotp.store.latest_token(CONSOLE_PROJECT_ID, digest, ACCOUNT_VERIFY)
    clock.advance(1)
    codes.send(owner, ACCOUNT_VERIFY)
    assert first is not None
    assert token_state(octotp.tokens.get(CONSOLE_PROJECT_ID, first.id), clock.now()) == "superseded"
    assert len(mailbox.to(owner)) == 2
    assert codes.check(owner, ACCOUNT_VERIFY, mailbox.code_for(owner)).ok


def test_codes_expire(codes: ConsoleCodes, mailbox: Mailbox, owner: str, clock: FrozenClock) -> None:
    codes.send(owner, PASSWORD_RESET)
    clock.advance(301)
    result = codes.check(owner, PASSWORD_RESET, mailbox.code_for(owner))
    assert (result.status, result.reason) == ("expired", "That code has expired. Send a new one.")


def test_five_wrong_codes_lock_it(codes: ConsoleCodes, mailbox: Mailbox, owner: str) -> None:
    codes.send(owner, PASSWORD_RESET)
    right = mailbox.code_for(owner)
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    assert [codes.check(owner, PASSWORD_RESET, wrong).status for _ in range(5)] == ["incorrect"] * 5
    locked = codes.check(owner, PASSWORD_RESET, right)
    assert locked.status == "locked"
    assert "Too many wrong codes" in locked.reason


def test_a_malformed_code_spends_no_attempt(codes: ConsoleCodes, mailbox: Mailbox, owner: str) -> None:
    codes.send(owner, ACCOUNT_VERIFY)
    for typed in ["", "12345", "1234567", "abcdef", "١٢٣٤٥٦", "12-345"] * 2:
        result = codes.check(owner, ACCOUNT_VERIFY, typed)
        assert (result.status, result.reason) == ("malformed", "Enter the 6-digit code from the email.")
    code = mailbox.code_for(owner)
    assert codes.check(owner, ACCOUNT_VERIFY, f" {code[:3]} {code[3:]} ").ok  # as a mail client may space it


def test_an_invalid_address_or_purpose_is_refused(codes: ConsoleCodes) -> None:
    with pytest.raises(InvalidInput) as caught:
        codes.send("not an address", PASSWORD_RESET)
    assert [e.field for e in caught.value.errors] == ["email"]
    with pytest.raises(ValueError, match="not a console purpose"):
        codes.send(stranger(), "login")  # type: ignore[arg-type]


def test_the_console_project_is_made_once_and_is_nobodys(make_octotp: MakeOctotp, mailbox: Mailbox, owner: str) -> None:
    # Several processes' first use at once: one row, the same project for all.
    instances = [make_octotp(**mailbox.delivery_settings) for _ in range(4)]
    with ThreadPoolExecutor(4) as pool:
        projects = list(pool.map(lambda o: ConsoleCodes(o).project(), instances))
    octotp = instances[0]
    assert {p.id for p in projects} == {CONSOLE_PROJECT_ID}
    stored = octotp.store.get_project(CONSOLE_PROJECT_ID)
    assert stored is not None
    assert (stored.name, stored.owner_id) == (CONSOLE_PROJECT_NAME, None)
    assert (stored.validate_requires_key, stored.deliver_only) == (True, False)
    assert [p.id for p in octotp.store.list_projects()].count(CONSOLE_PROJECT_ID) == 1
    assert octotp.store.list_api_keys(CONSOLE_PROJECT_ID) == []
    account = octotp.accounts.account_by_email(owner)
    assert all(not is_console_project(p) for p in octotp.store.list_projects(owner_id=account.id))
    assert is_console_project(stored)
    assert is_console_project(CONSOLE_PROJECT_ID)


def test_the_console_uses_the_widest_plan(make_octotp: MakeOctotp, mailbox: Mailbox) -> None:
    octotp = make_octotp(**mailbox.delivery_settings)
    assert ConsoleCodes(octotp).project().plan == "pro"  # 600/min against free's 60
    plans = {"tiny": Plan(creates_per_minute=2), "big": Plan(creates_per_minute=10_000)}
    other = make_octotp(**mailbox.delivery_settings, plans=plans, default_plan="tiny")
    assert ConsoleCodes(other).project().plan == "big"


def test_the_api_refuses_the_console_project(octotp: Octotp, codes: ConsoleCodes, owner: str) -> None:
    codes.send(owner, PASSWORD_RESET)
    body = json.dumps({"projectId": CONSOLE_PROJECT_ID, "recipientEmail": owner, "code": "123456"}).encode()
    request = Request("POST", "/api/tokens/validate", {"Content-Type": "application/json"}, body, "", "198.51.100.9")
    response = ApiHandler(octotp).handle(request)
    assert response.status == 404  # as any project that does not exist: nobody reaches its codes


def test_a_failed_email_leaves_no_code_and_says_so_in_the_log_only(
    make_octotp: MakeOctotp, caplog: pytest.LogCaptureFixture
) -> None:
    settings = Mailbox().delivery_settings  # never started: connections are refused
    octotp = make_octotp(**settings)  # the server is gone: connection refused
    email = f"Owner.{uuid.uuid4().hex[:10]}@Example.com"
    octotp.accounts.create_account(email, PASSWORD)
    caplog.set_level(logging.INFO, logger="octotp")
    codes = ConsoleCodes(octotp)
    assert codes.send(email, PASSWORD_RESET) is None
    [line] = [r.getMessage() for r in caplog.records if r.name == "octotp.console" and r.levelno == logging.WARNING]
    assert line.startswith("console password reset mail failed to=o***@example.com backend=smtp (127.0.0.1:")
    assert "ConnectionRefusedError" in line
    token = octotp.store.latest_token(CONSOLE_PROJECT_ID, _digest(octotp, email), PASSWORD_RESET)
    assert token is not None
    assert token.closed_reason == "delivery_failed"


def test_logs_hold_no_code_and_no_address(
    codes: ConsoleCodes, mailbox: Mailbox, owner: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="octotp")
    codes.send(owner, ACCOUNT_VERIFY)
    codes.send(stranger(), PASSWORD_RESET)
    code = mailbox.code_for(owner)
    codes.check(owner, ACCOUNT_VERIFY, code)
    logged = "\n".join(f"{r.getMessage()} {r.args}" for r in caplog.records if r.name.startswith("octotp"))
    assert "console verification mail sent to=o***@example.com" in logged
    assert code not in logged
    assert owner.lower() not in logged.lower()
    assert "nobody-" not in logged


def _digest(octotp: Octotp, email: str) -> str:
    return normalise_email(email).digest(octotp.settings.secrets()[0])


def test_the_console_project_is_in_no_list_and_nobody_changes_it(
    octotp: Octotp, codes: ConsoleCodes, owner: str
) -> None:
    from octotp_core import NotFound
    from octotp_core.console.operators import OperatorActions

    codes.send(owner, ACCOUNT_VERIFY)
    assert octotp.store.get_project(CONSOLE_PROJECT_ID) is not None
    assert CONSOLE_PROJECT_ID not in {p.id for p in octotp.accounts.list_projects()}
    for change in (
        lambda: octotp.accounts.configure_project(CONSOLE_PROJECT_ID, name="mine now"),
        lambda: octotp.accounts.suspend_project(CONSOLE_PROJECT_ID),
        lambda: octotp.accounts.delete_project(CONSOLE_PROJECT_ID),
        lambda: OperatorActions(octotp).set_plan(CONSOLE_PROJECT_ID, "free", actor=None),
    ):
        with pytest.raises(NotFound):
            change()
    assert octotp.store.get_project(CONSOLE_PROJECT_ID) is not None
