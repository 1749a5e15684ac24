"""The console's own emails, in its own words, through the configured email delivery backend.

octotp's project emails say "Your <project> verification code is ..."; the console's say what the
console is doing: verifying a new account's address, resetting a password, inviting to a project,
telling an owner that someone tried to sign up with their address. Plain text (HTML mail is issue
16). Each goes through ``octotp.tokens.backends["email"]`` (``delivery_email_backend``), so the
console mails the way the operator configured octotp to mail anyone.

A failed send raises ``DeliveryFailed`` and logs one warning line naming the backend and the error
(``octotp_core.delivery.failure``), with the recipient masked; no log line ever holds a code, a link
or a full address.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import TYPE_CHECKING

from ..delivery import Message
from ..delivery.failure import describe_failure
from ..errors import DeliveryFailed
from ..recipients import Recipient

if TYPE_CHECKING:
    from ..core import Octotp

log = logging.getLogger("octotp.console")

PRODUCT = "octotp"
"""How the console's emails name the service."""


def _one_line(value: str) -> str:
    """A user-chosen value (a project name, an address) on one line: headers cannot take a newline,
    and a body line should not be split by one."""
    return " ".join(value.split())


def _minutes(seconds: int) -> int:
    return max(1, round(seconds / 60))


def _hint(to: str) -> str:
    """The address masked as everywhere in octotp's logs (``j***@example.com``)."""
    return Recipient("email", to.lower()).hint if "@" in to else "***"


class ConsoleMail:
    """Sends the console's emails (``verification_code``, ``password_reset_code``, ``invitation``,
    ``signup_attempt``) through the octotp's email backend."""

    def __init__(self, octotp: Octotp) -> None:
        self.octotp = octotp

    def verification_code(self, to: str, code: str, expires_in: int) -> None:
        """The code that verifies a new account's email address."""
        body = (
            f"Your {PRODUCT} verification code is {code}. It expires in {_minutes(expires_in)} minutes.\n\n"
            f"Enter it on the {PRODUCT} page that asked for it to verify this address.\n\n"
            f"If you did not sign up for {PRODUCT}, ignore this email: an account whose address is "
            "not verified cannot create API keys."
        )
        self._send("verification", to, f"Your {PRODUCT} verification code", body, code=code)

    def password_reset_code(self, to: str, code: str, expires_in: int) -> None:
        """The code that lets the owner of ``to`` choose a new password."""
        body = (
            f"Your {PRODUCT} password reset code is {code}. It expires in {_minutes(expires_in)} minutes.\n\n"
            "Enter it on the password reset page, then choose a new password. Every session of your "
            "account ends when the password changes.\n\n"
            "If you did not ask to reset your password, ignore this email: your password has not changed."
        )
        self._send("password reset", to, f"Your {PRODUCT} password reset code", body, code=code)

    def invitation(self, to: str, project_name: str, inviter_email: str, link: str, expires: dt.datetime) -> None:
        """An invitation to join ``project_name``: ``link`` accepts it (signing up or logging in) until
        ``expires``."""
        project, inviter = _one_line(project_name), _one_line(inviter_email)
        until = expires.astimezone(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        body = (
            f"{inviter} invited you to the project {project} on {PRODUCT}.\n\n"
            f"Accept the invitation (you can sign up or sign in on the way):\n{link}\n\n"
            f"The link works once, until {until}.\n\n"
            f"If you did not expect this invitation, ignore this email: nothing happens unless you open the link."
        )
        self._send("invitation", to, f"{inviter} invited you to {project} on {PRODUCT}", body, link=link)

    def signup_attempt(self, to: str, *, sign_in_link: str | None = None) -> None:
        """Tells the owner of ``to`` that someone tried to sign up with their address (open sign-up
        answers the same whether or not an address has an account: the owner learns it here)."""
        where = f":\n{sign_in_link}" if sign_in_link else "."
        body = (
            f"Someone, perhaps you, tried to create an {PRODUCT} account with this email address, which "
            "already has one. No account was created and nothing about yours changed.\n\n"
            f"If it was you, sign in instead, or reset your password if you forgot it{where}\n\n"
            "If it was not you, ignore this email."
        )
        self._send("sign-up attempt", to, f"Someone tried to sign up to {PRODUCT} with your address", body)

    def _send(self, kind: str, to: str, subject: str, body: str, *, code: str = "", link: str | None = None) -> None:
        backend = self.octotp.tokens.backends["email"]
        message = Message("email", to, code, _one_line(subject), body, "en", link=link)
        try:
            backend.send(message)
        except Exception as exc:
            log.warning("console %s mail failed to=%s %s", kind, _hint(to), describe_failure(backend, exc))
            raise DeliveryFailed(f"the {kind} email could not be sent") from None
        log.info("console %s mail sent to=%s", kind, _hint(to))
