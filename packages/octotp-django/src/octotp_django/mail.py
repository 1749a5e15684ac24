"""Delivering codes through Django's mail framework (``EMAIL_BACKEND``, ``DEFAULT_FROM_EMAIL``).

The default email backend under Django. Options go in ``OCTOTP["DELIVERY_OPTIONS"]["django"]``:
``from_email`` (default ``DEFAULT_FROM_EMAIL``) and ``backend`` (a Django email backend path,
default ``EMAIL_BACKEND``).
"""

from __future__ import annotations

from django.core.mail import EmailMessage, get_connection

from octotp_core.delivery import Message


class DjangoEmailBackend:
    """An octotp delivery backend that sends email with ``django.core.mail``."""

    name = "django"

    def __init__(self, from_email: str | None = None, backend: str | None = None) -> None:
        self.from_email = from_email
        self.backend = backend

    def send(self, message: Message) -> None:
        """Send one message; raise when Django's backend fails or reports nothing sent."""
        connection = get_connection(self.backend, fail_silently=False)
        email = EmailMessage(message.subject, message.body, self.from_email, [message.to], connection=connection)
        if email.send(fail_silently=False) != 1:
            raise RuntimeError("Django's email backend sent nothing")
