"""Signing webhooks per the Standard Webhooks specification, with the ``standardwebhooks`` package.

Every request octotp signs carries three headers: ``webhook-id`` (the message's id, the same on
every retry of one message, so a receiver can drop repeats), ``webhook-timestamp`` (Unix seconds;
receivers refuse a timestamp more than five minutes off) and ``webhook-signature``
(``v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">``). Any Standard Webhooks library verifies
them; ``octotp_client.verify_webhook`` is one.

Secrets are ``whsec_`` + base64 of random bytes (``new_secret``). A secret without the prefix is an
old plain code-delivery secret (from before this scheme): its UTF-8 bytes are the key, so such
receivers verify with ``standardwebhooks.Webhook(secret.encode())``.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import secrets
import uuid

from standardwebhooks import Webhook

SECRET_PREFIX = "whsec_"  # noqa: S105 - the prefix of every secret, not a secret
MIN_SECRET_BYTES = 24
"""The shortest key a ``whsec_`` secret may hold (the specification asks for 24 to 64 bytes)."""
DEFAULT_SECRET_BYTES = 32
TOLERANCE = dt.timedelta(minutes=5)
"""How far a receiver lets ``webhook-timestamp`` be from its own clock (the ``standardwebhooks`` package's)."""

ID_HEADER = "webhook-id"
TIMESTAMP_HEADER = "webhook-timestamp"
SIGNATURE_HEADER = "webhook-signature"
SIGNATURE_HEADERS = (ID_HEADER, TIMESTAMP_HEADER, SIGNATURE_HEADER)


def new_secret(size: int = DEFAULT_SECRET_BYTES) -> str:
    """A new signing secret: ``whsec_`` + base64 of ``size`` random bytes (at least 24)."""
    if size < MIN_SECRET_BYTES:
        raise ValueError(f"a webhook secret needs at least {MIN_SECRET_BYTES} random bytes")
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(size)).decode()


def signing_key(secret: str) -> bytes:
    """The HMAC key a secret stands for: a ``whsec_`` secret's decoded bytes, or an old plain secret's
    UTF-8 bytes. Raises ``ValueError`` (never quoting the secret) for an empty secret, or a ``whsec_``
    one that is not base64 or holds fewer than 24 bytes."""
    if not secret:
        raise ValueError("the webhook secret is empty")
    if not secret.startswith(SECRET_PREFIX):
        return secret.encode()
    encoded = secret[len(SECRET_PREFIX) :]
    try:
        # Standard Webhooks libraries accept the base64 unpadded too.
        key = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("a whsec_ webhook secret must be base64 after its prefix") from None
    if len(key) < MIN_SECRET_BYTES:
        raise ValueError(f"a whsec_ webhook secret must hold at least {MIN_SECRET_BYTES} bytes")
    return key


def new_message_id() -> str:
    """A new ``webhook-id``: ``msg_`` and 32 hex digits."""
    return f"msg_{uuid.uuid4().hex}"


def signature_headers(
    secret: str, body: bytes, *, timestamp: dt.datetime, message_id: str | None = None
) -> dict[str, str]:
    """The Standard Webhooks headers for sending ``body`` (UTF-8, e.g. JSON) at ``timestamp`` (aware).

    ``message_id`` is the message's ``webhook-id`` (a new one when None); pass the same id on every
    retry of one message."""
    if timestamp.tzinfo is None:
        raise ValueError("timestamp must be timezone-aware")
    message_id = message_id or new_message_id()
    at = timestamp.astimezone(dt.timezone.utc)
    signature = Webhook(signing_key(secret)).sign(message_id, at, body.decode("utf-8"))
    return {
        ID_HEADER: message_id,
        TIMESTAMP_HEADER: str(int(at.timestamp())),
        SIGNATURE_HEADER: signature,
    }
