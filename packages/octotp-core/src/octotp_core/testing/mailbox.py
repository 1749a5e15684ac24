"""A real SMTP server for tests (aiosmtpd on 127.0.0.1) that keeps every message it receives.

The console's own mail (verification and reset codes, invitations) is read from here, exactly as a
user reads it from an inbox: ``code_for(to)`` and ``link_for(to)`` parse the newest message to an address.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import json
import re
import socket
import threading
import time
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller

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


class Mailbox:
    """An SMTP server on 127.0.0.1:``port`` keeping (envelope recipients, message) pairs.

    ``refuse``: replies given to the next messages instead of accepting them, in order
    (``"451 4.3.0 Try again later"`` is a transient failure, ``"550 5.1.1 No such user"`` a permanent
    one); ``delay``: seconds it takes to answer each message (a slow relay)."""

    def __init__(self, *, refuse: list[str] | None = None, delay: float = 0.0) -> None:
        self.refusals = list(refuse or [])
        self.refused = 0
        self.delay = delay
        self.port = free_port()
        self.host = "127.0.0.1"
        self.messages: list[tuple[list[str], EmailMessage]] = []
        self.lock = threading.Lock()
        self._controller = Controller(_Keep(self), hostname=self.host, port=self.port)

    def start(self) -> Mailbox:
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()

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
        """Settings that send octotp's email through this server (core's SMTP backend)."""
        return {
            "delivery_email_backend": "octotp_core.delivery.smtp.SmtpBackend",
            "delivery_options": {"smtp": {"host": self.host, "port": self.port}},
        }


def text_of(message: EmailMessage) -> str:
    """The subject and the plain-text body of a message."""
    body = message.get_body(preferencelist=("plain", "html"))
    content = body.get_content() if body is not None else ""
    return f"{message.get('Subject', '')}\n{content}"
