"""How a delivery ends, as a backend tells it: a provider's message id, or a failure no retry fixes."""

from __future__ import annotations

import smtplib


class PermanentFailure(Exception):
    """Raised by a backend when retrying cannot help (an invalid number, a rejected address). Any
    other exception is taken as transient, and the outbox retries until the code expires.

    ``reason`` is a short code the API, the dashboard and events show (``invalid_recipient``,
    ``rejected``, ``unsubscribed``); never the recipient or a provider's free text."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class CheckFailed(Exception):
    """Raised by a backend's ``check()`` (the dry run of ``octotp check``) when it cannot work; the
    message is the reason, shown as it is, so it must not hold a password or token."""


def smtp_permanent_failure(exc: BaseException) -> PermanentFailure | None:
    """The ``PermanentFailure`` an SMTP error means, or None when a retry may help. Every SMTP
    backend maps errors by this one rule (core's ``SmtpBackend``, the Django mail backend):

    - every recipient refused with a 5xx (``SMTPRecipientsRefused``): ``invalid_recipient``;
    - a refused login (535, or any 5xx ``SMTPAuthenticationError``): ``provider_auth`` (a wrong
      password does not heal, and relays lock accounts that keep failing; a 454 is the server's trouble);
    - any other 5xx reply (``SMTPSenderRefused``, ``SMTPDataError``...): ``rejected``.

    A 4xx, a dropped connection or a timeout is transient (None)."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        return PermanentFailure("invalid_recipient") if all(code >= 500 for code in codes) else None
    if isinstance(exc, smtplib.SMTPResponseException) and exc.smtp_code >= 500:
        if isinstance(exc, smtplib.SMTPAuthenticationError) or exc.smtp_code == 535:
            return PermanentFailure("provider_auth")
        return PermanentFailure("rejected")  # 5xx: the server will not take it
    return None
