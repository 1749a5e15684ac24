"""Email through any SMTP server (standard library only)."""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage

from .failure import CONSOLE_BACKEND
from .message import Message


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
        mail = EmailMessage()
        mail["From"] = self.from_addr
        mail["To"] = message.to
        mail["Subject"] = message.subject
        mail.set_content(message.body)
        smtp_class = smtplib.SMTP_SSL if self.use_tls else smtplib.SMTP
        with smtp_class(self.host, self.port, timeout=self.timeout) as client:
            if self.starttls:
                client.starttls(context=ssl.create_default_context())
            if self.username:
                client.login(self.username, self.password or "")
            client.send_message(mail)
