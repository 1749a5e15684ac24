"""Email through any SMTP server (standard library only)."""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage

from .failure import CONSOLE_BACKEND
from .message import Message
from .outcomes import PermanentFailure


class SmtpBackend:
    """Sends email over SMTP, optionally with STARTTLS or implicit TLS and a login."""

    name = "smtp"

    def __init__(
        self,
        host: str = "localhost",
        port: int = 25,
        from_addr: str = "octotp@localhost",
        username: str | None = None,
        password: str | None = None,
        starttls: bool = False,
        use_tls: bool = False,
        timeout: float = 10.0,
    ) -> None:
        self.host, self.port, self.from_addr = host, port, from_addr
        self.username, self.password = username, password
        self.starttls, self.use_tls, self.timeout = starttls, use_tls, timeout

    @property
    def destination(self) -> str:
        """The SMTP server it connects to (named when a delivery fails)."""
        return f"{self.host}:{self.port}"

    development_hint = (
        f"for development without a mail server set delivery_email_backend (OCTOTP_DELIVERY_EMAIL_BACKEND) "
        f"to {CONSOLE_BACKEND}"
    )

    def send(self, message: Message) -> None:
        """Send by SMTP; a 5xx refusal (but of the login) is a ``PermanentFailure``, anything else may pass."""
        mail = EmailMessage()
        mail["From"] = self.from_addr
        mail["To"] = message.to
        mail["Subject"] = message.subject
        mail.set_content(message.body)
        smtp_class = smtplib.SMTP_SSL if self.use_tls else smtplib.SMTP
        try:
            with smtp_class(self.host, self.port, timeout=self.timeout) as client:
                if self.starttls:
                    client.starttls(context=ssl.create_default_context())
                if self.username:
                    client.login(self.username, self.password or "")
                client.send_message(mail)
        except smtplib.SMTPRecipientsRefused as exc:
            if all(code >= 500 for code, _ in exc.recipients.values()):
                raise PermanentFailure("invalid_recipient") from exc
            raise
        except smtplib.SMTPResponseException as exc:
            if exc.smtp_code >= 500 and not isinstance(exc, smtplib.SMTPAuthenticationError):
                raise PermanentFailure("rejected") from exc  # 5xx: the server will not take it
            raise
        return None
