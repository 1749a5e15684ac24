"""A real SMTP server for tests (aiosmtpd on 127.0.0.1) that keeps every message it receives.

The console's own mail (verification and reset codes, invitations) is read from here, exactly as a
user reads it from an inbox: ``code_for(to)`` and ``link_for(to)`` parse the newest message to an address.
Like a submission relay it can require STARTTLS (``tls=True``: a self-signed certificate for
127.0.0.1, made with ``cryptography``, that clients trust through ``ca_file``) and AUTH
(``auth=(user, password)``: LOGIN and PLAIN, only after STARTTLS when both are on).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import email
import email.policy
import ipaddress
import json
import re
import socket
import ssl
import tempfile
import threading
import time
from collections.abc import Iterable
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

CODE = re.compile(r"\b(\d{4,10})\b")
LINK = re.compile(r"https?://[^\s<>\"']+")


def free_port() -> int:
    """A local TCP port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class _Keep:
    def __init__(self, box: Mailbox) -> None:
        self.box = box

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: Any) -> str:
        if address.lower() in self.box.unknown:
            return "550 5.1.1 No such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.box.delay:
            await asyncio.sleep(self.box.delay)  # a slow relay
        with self.box.lock:
            refusal = self.box.refusals.pop(0) if self.box.refusals else None
        if refusal is not None:
            self.box.refused += 1
            return refusal
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        with self.box.lock:
            self.box.messages.append((list(envelope.rcpt_tos), message))
        return "250 OK"


def self_signed_certificate(directory: Path, host: str = "127.0.0.1") -> tuple[Path, Path]:
    """A certificate for ``host`` (an IP address or a name, and ``localhost``) signed by its own key,
    valid for a day, written to ``directory``: (certificate PEM, key PEM). The certificate is its own
    CA, so a client trusts it with ``cafile=<certificate>``."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
    try:
        names: list[x509.GeneralName] = [x509.IPAddress(ipaddress.ip_address(host))]
    except ValueError:
        names = [x509.DNSName(host)]
    now = dt.datetime.now(dt.timezone.utc)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([*names, x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "smtp-cert.pem", directory / "smtp-key.pem"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_file, key_file


class _Login:
    """aiosmtpd's authenticator: one user and password; counts the connections whose login it refused."""

    def __init__(self, box: Mailbox, user: str, password: str) -> None:
        self.box, self.user, self.password = box, user, password

    def __call__(self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        if (
            isinstance(data, LoginPassword)
            and data.login.decode() == self.user
            and data.password.decode() == self.password
        ):
            return AuthResult(success=True)
        if not getattr(session, "octotp_login_failed", False):  # smtplib tries each mechanism: count connections
            session.octotp_login_failed = True
            with self.box.lock:
                self.box.failed_logins += 1
        return AuthResult(success=False, handled=False)  # aiosmtpd answers 535 5.7.8


class Mailbox:
    """An SMTP server on 127.0.0.1:``port`` keeping (envelope recipients, message) pairs.

    ``refuse``: replies given to the next messages instead of accepting them, in order
    (``"451 4.3.0 Try again later"`` is a transient failure, ``"550 5.1.1 No such user"`` a permanent
    one); ``delay``: seconds it takes to answer each message (a slow relay); ``tls``: STARTTLS
    offered and required before anything is accepted (``ca_file`` is the certificate to trust);
    ``auth``: a (user, password) login required before a message is accepted; ``unknown``:
    addresses refused at ``RCPT TO`` with ``550 5.1.1 No such user``."""

    def __init__(
        self,
        *,
        refuse: list[str] | None = None,
        delay: float = 0.0,
        tls: bool = False,
        auth: tuple[str, str] | None = None,
        unknown: Iterable[str] = (),
    ) -> None:
        self.refusals = list(refuse or [])
        self.unknown = {address.lower() for address in unknown}
        self.refused = 0
        self.failed_logins = 0
        self.delay = delay
        self.port = free_port()
        self.host = "127.0.0.1"
        self.messages: list[tuple[list[str], EmailMessage]] = []
        self.lock = threading.Lock()
        self.auth = auth
        self.ca_file: Path | None = None
        self._directory: tempfile.TemporaryDirectory[str] | None = None
        options: dict[str, Any] = {}
        if tls:
            self._directory = tempfile.TemporaryDirectory(prefix="octotp-mailbox-")
            self.ca_file, key_file = self_signed_certificate(Path(self._directory.name), self.host)
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(self.ca_file, key_file)
            options |= {"tls_context": context, "require_starttls": True}
        if auth is not None:
            # Without TLS the login may go in the clear: only a test's own 127.0.0.1 connection.
            options |= {"authenticator": _Login(self, *auth), "auth_required": True, "auth_require_tls": tls}
        self._controller = Controller(_Keep(self), hostname=self.host, port=self.port, **options)

    def start(self) -> Mailbox:
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()
        if self._directory is not None:
            self._directory.cleanup()

    def to(self, address: str) -> list[EmailMessage]:
        """Every message received for ``address`` (case-insensitive), oldest first."""
        with self.lock:
            return [m for rcpt, m in self.messages if address.lower() in (r.lower() for r in rcpt)]

    def wait_for(self, to: str, contains: str | None = None, *, after: int = 0, timeout: float = 10.0) -> EmailMessage:
        """The newest message to ``to`` (whose text contains ``contains``), the ``after``-th or later
        one; waits up to ``timeout`` seconds (delivery may happen on another thread)."""
        deadline = time.monotonic() + timeout
        while True:
            found = [m for m in self.to(to)[after:] if contains is None or contains in text_of(m)]
            if found:
                return found[-1]
            if time.monotonic() > deadline:
                raise AssertionError(f"no message to {to!r} containing {contains!r} (have {len(self.messages)})")
            time.sleep(0.02)

    def code_for(self, to: str, contains: str | None = None, *, after: int = 0) -> str:
        """The code in the newest message to ``to``."""
        found = CODE.search(text_of(self.wait_for(to, contains, after=after)))
        assert found is not None, "no code in the message"
        return found.group(1)

    def link_for(self, to: str, contains: str | None = None, *, after: int = 0) -> str:
        """The first link in the newest message to ``to``."""
        found = LINK.search(text_of(self.wait_for(to, contains, after=after)))
        assert found is not None, "no link in the message"
        return found.group(0)

    @property
    def delivery_environment(self) -> dict[str, str]:
        """``delivery_settings`` as ``OCTOTP_*`` environment variables, for a server process (a dict
        setting is JSON, as octotp reads it from the environment)."""
        return {
            f"OCTOTP_{name.upper()}": value if isinstance(value, str) else json.dumps(value)
            for name, value in self.delivery_settings.items()
        }

    @property
    def delivery_settings(self) -> dict[str, Any]:
        """Settings that send octotp's email through this server (core's SMTP backend), with its
        STARTTLS and login when it requires them."""
        smtp: dict[str, Any] = {"host": self.host, "port": self.port}
        if self.ca_file is not None:
            smtp |= {"starttls": True, "ca_file": str(self.ca_file)}
        if self.auth is not None:
            smtp |= {"username": self.auth[0], "password": self.auth[1]}
        return {"delivery_email_backend": "octotp_core.delivery.smtp.SmtpBackend", "delivery_options": {"smtp": smtp}}


def text_of(message: EmailMessage) -> str:
    """The subject and the plain-text body of a message."""
    body = message.get_body(preferencelist=("plain", "html"))
    content = body.get_content() if body is not None else ""
    return f"{message.get('Subject', '')}\n{content}"
