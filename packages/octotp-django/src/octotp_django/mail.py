"""Delivering codes through Django's mail framework (``EMAIL_BACKEND``, ``DEFAULT_FROM_EMAIL``).

The default email backend under Django. Options go in ``OCTOTP["DELIVERY_OPTIONS"]["django"]``:
``from_email`` (default ``DEFAULT_FROM_EMAIL``) and ``backend`` (a Django email backend path,
default ``EMAIL_BACKEND``).

Django's own default ``EMAIL_BACKEND`` is SMTP to ``localhost:25``, which a development machine
rarely runs: a failed delivery's log line (core's ``delivery.failure``) names the Django backend and
its host and port, and suggests the console backend. SMTP refusals map as in core's SMTP backend
(``delivery.outcomes.smtp_permanent_failure``): a 5xx is a ``PermanentFailure`` (``invalid_recipient``,
``provider_auth``, ``rejected``), which a queued delivery does not retry.
"""

from __future__ import annotations

import smtplib

from django.core.mail import EmailMessage, get_connection
from django.core.mail.utils import DNS_NAME

from octotp_core.delivery import Message
from octotp_core.delivery.outcomes import smtp_permanent_failure

CONSOLE_EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"


class DjangoEmailBackend:
    """An octotp delivery backend that sends email with ``django.core.mail``."""

    name = "django"

    def __init__(self, from_email: str | None = None, backend: str | None = None) -> None:
        self.from_email = from_email
        self.backend = backend

    def send(self, message: Message) -> None:
        """Send one message; raise when Django's backend fails or reports nothing sent (a
        ``PermanentFailure`` when the SMTP server refused it with a 5xx)."""
        connection = get_connection(self.backend, fail_silently=False)
        # A queued delivery's Message-ID is its job's (as core's SMTP backend makes it): the same on a re-send.
        headers = {"Message-ID": f"<{message.delivery_id}@{DNS_NAME}>"} if message.delivery_id else None
        email = EmailMessage(
            message.subject, message.body, self.from_email, [message.to], connection=connection, headers=headers
        )
        try:
            sent = email.send(fail_silently=False)
        except smtplib.SMTPException as exc:
            # Django's SMTP backend raises smtplib's errors: a 5xx is permanent, as in core's SmtpBackend.
            failure = smtp_permanent_failure(exc)
            if failure is not None:
                raise failure from exc
            raise
        if sent != 1:
            raise RuntimeError("Django's email backend sent nothing")

    @property
    def destination(self) -> str:
        """Django's email backend class and, for SMTP, the host and port it connects to."""
        connection = get_connection(self.backend)
        path = f"{type(connection).__module__}.{type(connection).__qualname__}"
        host, port = getattr(connection, "host", None), getattr(connection, "port", None)
        return f"{path} to {host}:{port}" if host else path

    @property
    def development_hint(self) -> str:
        """Which setting to change so that development needs no mail server."""
        setting = "OCTOTP['DELIVERY_OPTIONS']['django']['backend']" if self.backend else "EMAIL_BACKEND"
        return f"for development without a mail server set {setting} = {CONSOLE_EMAIL_BACKEND!r}"
