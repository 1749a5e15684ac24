"""Email through any SMTP server (standard library only).

A message with HTML goes as ``multipart/alternative`` (the plain text first, then the HTML, as RFC
2046 orders them: a client shows the last part it can); one without goes as plain text. The project's
sender name becomes the From display name on the backend's ``from_addr``, and its reply-to the
Reply-To header.
"""

from __future__ import annotations

import smtplib
import ssl
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr

from .failure import CONSOLE_BACKEND
from .message import Message
from .outcomes import CheckFailed, smtp_permanent_failure


class SmtpBackend:
    """Sends email over SMTP, optionally with STARTTLS or implicit TLS and a login.

    The server's certificate is checked against the system's CAs, or ``ca_file`` (a PEM bundle) for
    a relay with a private CA. A refused login (535) is a ``PermanentFailure`` (``provider_auth``):
    a wrong password does not heal by retrying, and relays lock accounts that keep failing."""

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
        ca_file: str | None = None,
    ) -> None:
        self.host, self.port, self.from_addr = host, port, from_addr
        self.username, self.password = username, password
        self.starttls, self.use_tls, self.timeout = starttls, use_tls, timeout
        self.ca_file = ca_file

    def __repr__(self) -> str:  # never the password
        return f"SmtpBackend(host={self.host!r}, port={self.port!r}, username={self.username!r})"

    @property
    def destination(self) -> str:
        """The SMTP server it connects to (named when a delivery fails)."""
        return f"{self.host}:{self.port}"

    development_hint = (
        f"for development without a mail server set delivery_email_backend (OCTOTP_DELIVERY_EMAIL_BACKEND) "
        f"to {CONSOLE_BACKEND}"
    )

    def sender(self, sender_name: str | None) -> str | Address:
        """The From header: ``from_addr``, under ``sender_name`` when the message has one."""
        if not sender_name:
            return self.from_addr
        _, addr_spec = parseaddr(self.from_addr)
        return Address(display_name=sender_name, addr_spec=addr_spec or self.from_addr)

    def compose(self, message: Message) -> EmailMessage:
        """The email as it goes on the wire (``send`` hands it to the server)."""
        mail = EmailMessage()
        mail["From"] = self.sender(message.sender_name)
        mail["To"] = message.to
        if message.reply_to:
            mail["Reply-To"] = message.reply_to
        mail["Subject"] = message.subject
        mail["Date"] = formatdate(usegmt=True)
        # The domain from from_addr: make_msgid's default asks the resolver for this host's name.
        domain = parseaddr(self.from_addr)[1].rpartition("@")[2] or "localhost"
        # A queued delivery's Message-ID is its job's: a message sent again after a crash is the same message.
        mail["Message-ID"] = f"<{message.delivery_id}@{domain}>" if message.delivery_id else make_msgid(domain=domain)
        mail.set_content(message.body)
        if message.html is not None:
            mail.add_alternative(message.html, subtype="html")
        return mail

    def _session(self) -> smtplib.SMTP:
        """A connected client, past STARTTLS and the login when configured (send and check share it)."""
        context = ssl.create_default_context(cafile=self.ca_file)
        client = (
            smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=context)
            if self.use_tls
            else smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        )
        try:
            client.ehlo()
            if self.starttls:
                client.starttls(context=context)
                client.ehlo()
            if self.username:
                client.login(self.username, self.password or "")
        except BaseException:
            client.close()
            raise
        return client

    def check(self) -> str:
        """Dry run for ``octotp check``: connect, EHLO, STARTTLS and log in when configured, QUIT;
        no message is sent. Raises with the reason (a refused login names its SMTP code only)."""
        try:
            with self._session():
                pass
        except smtplib.SMTPAuthenticationError as exc:
            refused = f"{self.destination} refused the login for the configured user ({exc.smtp_code})"
            raise CheckFailed(refused) from exc
        except (OSError, smtplib.SMTPException) as exc:
            raise CheckFailed(f"cannot talk to {self.destination}: {type(exc).__name__}: {exc}") from exc
        steps = ["EHLO"] + (["STARTTLS"] if self.starttls else []) + (["login"] if self.username else [])
        tls = " over TLS" if self.use_tls else ""
        return f"{self.destination}{tls} accepted {', '.join(steps)} (nothing sent)"

    def send(self, message: Message) -> None:
        """Send by SMTP; a 5xx refusal or a refused login is a ``PermanentFailure``, anything else may pass."""
        mail = self.compose(message)
        try:
            with self._session() as client:
                client.send_message(mail)
        except smtplib.SMTPException as exc:
            failure = smtp_permanent_failure(exc)  # 5xx and refused logins; the rest may pass
            if failure is not None:
                raise failure from exc
            raise
        return None
