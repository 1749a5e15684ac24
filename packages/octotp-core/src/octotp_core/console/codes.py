"""The console's own one-time codes: octotp verifies its accounts with its own ``TokenService``.

Codes for verifying a new account's address (``account-verify``) and for resetting a password
(``password-reset``) are tokens of one internal project, ``CONSOLE_PROJECT_ID`` ("octotp console",
no owner, no API key), created on first use. They get everything a project's codes get: one active
code per address and purpose (a resend supersedes), single use, the attempt cap, the per-recipient
send and failure budgets, argon2 hashing. ``TokenService`` issues them with ``send=False`` and
``ConsoleMail`` sends them, so the email speaks for the console.

No enumeration: ``send`` issues a code (spending the address's send budget) whether or not an
account has the address, and only the email differs, sent to an existing, active account alone. So
its answer, its budget and its hashing work are the same either way, and ``check`` answers about
a code the same way for any address. A verification code is mailed only to an account that is not
verified yet.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, Literal

from ..errors import DeliveryFailed, InvalidInput
from ..internal import CONSOLE_PROJECT_ID as CONSOLE_PROJECT_ID
from ..projects import token_policy
from ..recipients import normalise_email
from ..store import Project
from .mail import ConsoleMail

if TYPE_CHECKING:
    from ..core import Octotp

log = logging.getLogger("octotp.console")

CONSOLE_PROJECT_NAME = "octotp console"

ConsolePurpose = Literal["account-verify", "password-reset"]
ACCOUNT_VERIFY: Final = "account-verify"
PASSWORD_RESET: Final = "password-reset"  # noqa: S105 - a purpose's name, not a password
PURPOSES: tuple[ConsolePurpose, ...] = (ACCOUNT_VERIFY, PASSWORD_RESET)

CheckStatus = Literal["approved", "incorrect", "expired", "locked", "not_found", "malformed"]


def is_console_project(project: Project | str) -> bool:
    """True for the console's internal project (by record or id), which no project list shows."""
    return (project.id if isinstance(project, Project) else project) == CONSOLE_PROJECT_ID


@dataclass(frozen=True)
class CodeCheck:
    """The verdict on an entered code: true only when ``approved``; ``reason`` is what the page says
    otherwise (``""`` when approved). Never holds the code."""

    status: CheckStatus
    reason: str

    @property
    def ok(self) -> bool:
        """The code was right: it is used up now."""
        return self.status == "approved"

    def __bool__(self) -> bool:
        return self.ok


_REASONS: dict[str, str] = {
    "approved": "",
    "incorrect": "That code is not correct. Check the email and try again.",
    "expired": "That code has expired. Send a new one.",
    "locked": "Too many wrong codes. Send a new code and try again later.",
    "not_found": "There is no code to check for this address: it was used, replaced by a newer one or never sent. "
    "Send a new one.",
}


class ConsoleCodes:
    """Sends and checks the console's codes (``ConsoleCodes(octotp).send(email, "password-reset")``)."""

    def __init__(self, octotp: Octotp) -> None:
        self.octotp = octotp
        self.mail = ConsoleMail(octotp)

    # -- the internal project ----------------------------------------------------------------
    def project(self) -> Project:
        """The console's project, created the first time it is needed.

        Concurrent first uses may all try to insert it: the losers' insert fails on the primary key
        and they read the winner's row, so there is exactly one whatever the store.

        Its plan is, for each request, the configured plan with the most creates per minute: the
        console's codes are for every stranger who signs up, so a small default plan must not become a
        limit on sign-ups (the per-address budgets and the pages' throttles still hold).
        """
        store = self.octotp.store
        project = store.get_project(CONSOLE_PROJECT_ID)
        if project is None:
            fresh = Project(
                CONSOLE_PROJECT_ID,
                CONSOLE_PROJECT_NAME,
                None,
                self.octotp.settings.default_plan,
                self.octotp.clock.now(),
                # No API key is ever made for it; with this on, an anonymous validate is refused too.
                validate_requires_key=True,
            )
            try:
                store.create_project(fresh)
            except Exception:
                if store.get_project(CONSOLE_PROJECT_ID) is None:
                    raise
            project = store.get_project(CONSOLE_PROJECT_ID) or fresh
        plans = self.octotp.settings.plans
        widest = max(plans, key=lambda name: (plans[name].creates_per_minute, name))
        return dataclasses.replace(project, plan=widest)

    # -- send and check ----------------------------------------------------------------------
    def send(self, email: str, purpose: ConsolePurpose) -> None:
        """Issue a code for ``email`` and ``purpose`` and email it when an active account has the
        address (for ``account-verify``: an account not verified yet). Returns nothing either way
        (see the module's docstring).

        Raises ``InvalidInput`` for an address that is not one (field ``email``), ``RateLimited`` when
        the address's send budget is spent; both are the same for any address. A failed email is
        logged (``octotp.console``, address masked) and its code closed, and is not raised: it would
        tell who has an account.
        """
        purpose = _purpose(purpose)
        address = normalise_email(email, field="email").value
        account = self.octotp.store.get_account_by_email(address)
        created = self.octotp.tokens.create(self.project(), email=address, purpose=purpose, send=False)
        if account is None or not account.is_active or (purpose == ACCOUNT_VERIFY and account.verified_at is not None):
            # Nobody to tell (or nothing to verify): the code expires unused, after the same work.
            return
        assert created.code is not None  # the console's project is never deliver-only
        expires_in = max(1, round((created.expires_at - self.octotp.clock.now()).total_seconds()))
        try:
            if purpose == ACCOUNT_VERIFY:
                self.mail.verification_code(address, created.code, expires_in)
            else:
                self.mail.password_reset_code(address, created.code, expires_in)
        except DeliveryFailed:
            # ConsoleMail logged why. No usable code stays behind for an email nobody received.
            self.octotp.store.close_token(created.id, self.octotp.clock.now(), "delivery_failed")

    def check(self, email: str, purpose: ConsolePurpose, code: str) -> CodeCheck:
        """Check a code the address was sent; a right one is used up (single use, as for any token).

        Spaces in ``code`` are ignored (``123 456`` as an email client may show it). A code that is
        not digits of the right length is refused without spending an attempt (status
        ``malformed``). Raises ``InvalidInput`` for an address that is not one.
        """
        purpose = _purpose(purpose)
        address = normalise_email(email, field="email").value
        project = self.project()
        entered = "".join(str(code).split())
        length = token_policy(project, self.octotp.settings).code_length
        if not (entered.isascii() and entered.isdigit() and len(entered) == length):
            return CodeCheck("malformed", f"Enter the {length}-digit code from the email.")
        try:
            result = self.octotp.tokens.validate(project, code=entered, email=address, purpose=purpose)
        except InvalidInput:
            return CodeCheck("malformed", f"Enter the {length}-digit code from the email.")
        return CodeCheck(result.status, _REASONS[result.status])


def _purpose(purpose: str) -> ConsolePurpose:
    if purpose == ACCOUNT_VERIFY:
        return ACCOUNT_VERIFY
    if purpose == PASSWORD_RESET:
        return PASSWORD_RESET
    raise ValueError(f"not a console purpose: {purpose!r} (one of {', '.join(PURPOSES)})")
