"""Development backend: prints the message, code included (which is its whole purpose)."""

from __future__ import annotations

import sys

from .message import Message


class ConsoleBackend:
    """Writes each message to standard output. Never use it in production."""

    name = "console"

    def __init__(self, stream: str = "stdout") -> None:
        self._stream = stream

    def check(self) -> str:
        """Dry run for ``octotp check``: nothing to reach; says what it is for."""
        return f"prints each message, code included, on {self._stream} (development only)"

    def send(self, message: Message) -> None:
        out = sys.stdout if self._stream == "stdout" else sys.stderr
        out.write(f"[octotp console delivery] to={message.to} channel={message.channel}\n{message.body}\n")
        out.flush()
