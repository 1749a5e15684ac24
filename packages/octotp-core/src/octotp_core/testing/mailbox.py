"""A real SMTP server for tests: aiosmtpd on 127.0.0.1, keeping every message it receives.

Point octotp's SMTP backend at it (``Mailbox.settings()``), then read what was sent the way a user
would: ``mailbox.last("lee@example.com").body``, ``mailbox.code("lee@example.com")``. Needs
``aiosmtpd`` (a test dependency, not one of octotp-core's).
"""

from __future__ import annotations

import email
import email.policy
import re
import socket
import threading
import time
from dataclasses import dataclass
from email.message import EmailMessage
from types import TracebackType
from typing import Any

SMTP_BACKEND = "octotp_core.delivery.smtp.SmtpBackend"
_CODE = re.compile(r"\b(\d{4,10})\b")
_LINK = re.compile(r"https?://\S+")


@dataclass(frozen=True)
class ReceivedMail:
    """One message as the server received it: envelope recipients, headers and the plain-text body."""

    to: tuple[str, ...]
    subject: str
    sender: str
    body: str

    def __repr__(self) -> str:  # a body may hold a code or a link: keep it out of assertion output
        return f"ReceivedMail(to={self.to!r}, subject={self.subject!r})"


class _Collect:
    """aiosmtpd handler: parse each message and keep it."""

    def __init__(self, box: Mailbox) -> None:
        self.box = box

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = email.message_from_bytes(envelope.original_content or envelope.content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        part = parsed.get_body(preferencelist=("plain",))
        body = part.get_content().replace("\r\n", "\n") if part is not None else ""
        mail = ReceivedMail(
            tuple(address.lower() for address in envelope.rcpt_tos),
            str(parsed.get("Subject", "")),
            str(parsed.get("From", "")),
            body,
        )
        with self.box._lock:
            self.box._messages.append(mail)
        return "250 Message accepted for delivery"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Mailbox:
    """An SMTP server on 127.0.0.1 while the context is open; ``messages`` in the order received."""

    def __init__(self, from_addr: str = "console@octotp.test") -> None:
        self.from_addr = from_addr
        self.port = 0
        self._messages: list[ReceivedMail] = []
        self._lock = threading.Lock()
        self._controller: Any = None

    def __enter__(self) -> Mailbox:
        from aiosmtpd.controller import Controller

        self.port = _free_port()
        self._controller = Controller(_Collect(self), hostname="127.0.0.1", port=self.port)
        self._controller.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def settings(self) -> dict[str, Any]:
        """The ``Settings`` values that send octotp's email here."""
        return {
            "delivery_email_backend": SMTP_BACKEND,
            "delivery_options": {"smtp": {"host": "127.0.0.1", "port": self.port, "from_addr": self.from_addr}},
        }

    @property
    def messages(self) -> list[ReceivedMail]:
        """Every message received so far."""
        with self._lock:
            return list(self._messages)

    def to(self, address: str) -> list[ReceivedMail]:
        """The messages sent to ``address`` (compared case-insensitively), oldest first."""
        return [m for m in self.messages if address.lower() in m.to]

    def last(self, address: str) -> ReceivedMail:
        """The newest message to ``address``; ``AssertionError`` when there is none."""
        received = self.to(address)
        assert received, f"no mail to {address}"
        return received[-1]

    def code(self, address: str) -> str:
        """The code in the newest message to ``address``."""
        found = _CODE.search(self.last(address).body)
        assert found, f"the last mail to {address} holds no code"
        return found.group(1)

    def wait_for(self, to: str, contains: str | None = None, timeout: float = 5.0) -> ReceivedMail:
        """The newest message to ``to`` (whose body holds ``contains``, when given), waiting up to
        ``timeout`` seconds for it to arrive; ``AssertionError`` when none does."""
        deadline = time.monotonic() + timeout
        while True:
            found = [m for m in self.to(to) if contains is None or contains in m.body]
            if found:
                return found[-1]
            if time.monotonic() >= deadline:
                raise AssertionError(f"no mail to {to}" + (f" containing {contains!r}" if contains else ""))
            time.sleep(0.02)

    def code_for(self, to: str) -> str:
        """The code in the newest message to ``to`` (waiting for one)."""
        found = _CODE.search(self.wait_for(to).body)
        assert found, f"the last mail to {to} holds no code"
        return found.group(1)

    def link_for(self, to: str) -> str:
        """The first http(s) link in the newest message to ``to`` (waiting for one)."""
        found = _LINK.search(self.wait_for(to).body)
        assert found, f"the last mail to {to} holds no link"
        return found.group(0)

    def clear(self) -> None:
        """Forget every message received so far."""
        with self._lock:
            self._messages.clear()
