"""A signed JSON webhook: POSTs the message to your endpoint, which delivers it however it likes.

Signed per the Standard Webhooks specification (``octotp_core.webhooks.signing``): headers
``webhook-id``, ``webhook-timestamp`` and ``webhook-signature``, verified by any Standard Webhooks
library or ``octotp_client.verify_webhook``. The secret is a ``whsec_`` secret
(``octotp_core.webhooks.new_secret``) or, as before, a plain one (its UTF-8 bytes are the key).

For one release every request also carries the old header, ``X-Octotp-Signature: t=<unix time>,
v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`` keyed with the secret exactly as configured, so a
receiver written for it keeps working while it moves to the new headers. The next release drops it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import urllib.request

from ..clock import Clock, SystemClock
from ..webhooks.signing import signature_headers, signing_key
from .failure import origin
from .message import Message

LEGACY_SIGNATURE_HEADER = "X-Octotp-Signature"
"""The old signature header, still sent for one release (deprecated: verify the Standard Webhooks headers)."""


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The old ``X-Octotp-Signature`` value for ``body`` sent at ``timestamp`` (deprecated; sent for
    one more release beside the Standard Webhooks headers)."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


class WebhookBackend:
    """POSTs ``{channel, to, code, subject, body, locale}`` as JSON, signed per Standard Webhooks, plus
    ``html``, ``sender_name`` and ``reply_to`` when the message has them (an email's HTML part, the
    project's sender) and ``link`` for a message that carries a link instead of a code."""

    name = "webhook"

    def __init__(self, url: str, secret: str, timeout: float = 10.0, clock: Clock | None = None) -> None:
        if not url.startswith(("https://", "http://")):
            raise ValueError("webhook url must be http(s)")
        signing_key(secret)  # a malformed whsec_ secret fails here, at startup, not at the first send
        self.url, self.secret, self.timeout = url, secret, timeout
        self.clock: Clock = clock or SystemClock()

    @property
    def destination(self) -> str:
        """The endpoint's origin (named when a delivery fails; its path and query may carry a token)."""
        return origin(self.url)

    def check(self) -> str:
        """Dry run for ``octotp check``: the URL and secret were checked when it was built; the
        endpoint is not called (any POST to it would be a delivery)."""
        return f"posts to {self.destination} (settings valid; not contacted: a dry run sends nothing)"

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
        now = self.clock.now()
        headers = {
            "Content-Type": "application/json",
            # The outbox's job id on every attempt of one delivery (receivers drop repeats by it).
            **signature_headers(self.secret, body, timestamp=now, message_id=message.delivery_id),
            LEGACY_SIGNATURE_HEADER: sign(self.secret, int(now.timestamp()), body),
        }
        request = urllib.request.Request(  # noqa: S310 - http(s) checked in __init__
            self.url, data=body, method="POST", headers=headers
        )
        with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
            if not 200 <= response.status < 300:
                raise RuntimeError(f"webhook answered {response.status}")
