"""A signed JSON webhook: POSTs the message to your endpoint, which delivers it however it likes.

Signature: header ``X-Octotp-Signature: t=<unix time>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import urllib.request

from .failure import origin
from .message import Message


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The signature header value for ``body`` sent at ``timestamp``."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


class WebhookBackend:
    """POSTs ``{channel, to, code, subject, body, locale}`` as JSON with an HMAC signature, plus ``html``,
    ``sender_name`` and ``reply_to`` when the message has them (an email's HTML part, the project's
    sender) and ``link`` for a message that carries a link instead of a code."""

    name = "webhook"

    def __init__(self, url: str, secret: str, timeout: float = 10.0) -> None:
        if not url.startswith(("https://", "http://")):
            raise ValueError("webhook url must be http(s)")
        self.url, self.secret, self.timeout = url, secret, timeout

    @property
    def destination(self) -> str:
        """The endpoint's origin (named when a delivery fails; its path and query may carry a token)."""
        return origin(self.url)

    def send(self, message: Message) -> None:
        payload = {
            "channel": message.channel,
            "to": message.to,
            "code": message.code,
            "subject": message.subject,
            "body": message.body,
            "locale": message.locale,
        }
        if message.link is not None:  # a link message (the console's invitations): its code is empty
            payload["link"] = message.link
        for member in ("html", "sender_name", "reply_to"):
            value = getattr(message, member)
            if value is not None:
                payload[member] = value
        body = json.dumps(payload).encode()
        request = urllib.request.Request(  # noqa: S310 - http(s) checked in __init__
            self.url,
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json",
                "X-Octotp-Signature": sign(self.secret, int(time.time()), body),
            },
        )
        with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
            if not 200 <= response.status < 300:
                raise RuntimeError(f"webhook answered {response.status}")
