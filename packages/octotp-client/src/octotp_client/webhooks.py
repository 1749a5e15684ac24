"""Verifying the webhooks octotp sends (Standard Webhooks signatures), with the ``standardwebhooks`` package.

::

    from octotp_client import WebhookVerificationError, verify_webhook

    try:
        event = verify_webhook(request_body, request_headers, secret)  # the raw body, as received
    except WebhookVerificationError:
        ...  # answer 400 and ignore it
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from collections.abc import Iterable
from typing import Any, Protocol

import standardwebhooks

from .errors import ConfigurationError, WebhookVerificationError

__all__ = ["TOLERANCE", "Headers", "verify_webhook"]

SECRET_PREFIX = "whsec_"  # noqa: S105 - the prefix of every secret, not a secret
TOLERANCE = dt.timedelta(minutes=5)
"""How far ``webhook-timestamp`` may be from this machine's clock (the ``standardwebhooks`` package's)."""
_HEADERS = ("webhook-id", "webhook-timestamp", "webhook-signature")


class Headers(Protocol):
    """A request's headers: any ``Mapping[str, str]`` (Django's and Starlette's ``request.headers``),
    or anything else whose ``items()`` gives name/value pairs (Werkzeug's ``Headers``, Flask's)."""

    def items(self) -> Iterable[tuple[str, str]]: ...


def verify_webhook(payload: bytes | str, headers: Headers, secret: str) -> dict[str, Any]:
    """Check that ``payload`` was signed by octotp with ``secret`` less than five minutes ago, and
    return it parsed: an event (``{"type", "timestamp", "data"}``) or a code-delivery message
    (``{"channel", "to", "code", ...}``).

    ``payload`` is the request body exactly as received (bytes, or its text): not JSON parsed and
    dumped again. ``headers`` is the request's headers, any case (``request.headers`` in Flask,
    Django and FastAPI). ``secret`` is the endpoint's ``whsec_...`` secret, or the old plain secret
    of a code-delivery webhook configured before Standard Webhooks (its UTF-8 bytes are the key).

    Raises ``WebhookVerificationError`` (its ``code`` says why) for a missing or malformed header, a
    timestamp more than five minutes off, a signature that does not match, or a body that is not a
    JSON object; ``ConfigurationError`` for an empty secret or a ``whsec_`` one that is not base64.
    """
    key = _signing_key(secret)
    lowered = {name.lower(): value for name, value in headers.items()}
    missing = [name for name in _HEADERS if not lowered.get(name)]
    if missing:
        raise WebhookVerificationError(f"missing webhook header {', '.join(missing)}", code="missing_header")
    _check_timestamp(lowered["webhook-timestamp"])
    try:
        text = payload.decode("utf-8") if isinstance(payload, bytes) else payload
    except UnicodeDecodeError:
        raise WebhookVerificationError("the webhook body is not UTF-8 text", code="invalid_payload") from None
    try:
        event = standardwebhooks.Webhook(key).verify(text, {name: lowered[name] for name in _HEADERS})
    except standardwebhooks.WebhookVerificationError:
        # The headers are there and the time is right (checked above): what is left is the signature.
        raise WebhookVerificationError(
            "the webhook signature does not match: another secret, or a changed body", code="invalid_signature"
        ) from None
    except json.JSONDecodeError:
        raise WebhookVerificationError("the webhook body is not JSON", code="invalid_payload") from None
    except (ValueError, binascii.Error):  # a signature entry without "v1,", or not base64
        raise WebhookVerificationError("the webhook-signature header is malformed", code="invalid_header") from None
    if not isinstance(event, dict):
        raise WebhookVerificationError("the webhook body is not a JSON object", code="invalid_payload")
    return event


def _signing_key(secret: str) -> bytes:
    """The HMAC key: a ``whsec_`` secret's base64-decoded bytes, otherwise the secret's UTF-8 bytes."""
    if not isinstance(secret, str) or not secret:
        raise ConfigurationError("verify_webhook needs the endpoint's secret (whsec_...)")
    if not secret.startswith(SECRET_PREFIX):
        return secret.encode()
    encoded = secret[len(SECRET_PREFIX) :]
    try:
        key = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise ConfigurationError("the webhook secret is not base64 after its whsec_ prefix") from None
    if not key:
        raise ConfigurationError("the webhook secret is empty after its whsec_ prefix")
    return key


def _check_timestamp(value: str) -> None:
    """Refuse a ``webhook-timestamp`` that is not Unix seconds or more than ``TOLERANCE`` off."""
    try:
        sent = dt.datetime.fromtimestamp(float(value), tz=dt.timezone.utc)
    except (ValueError, OverflowError, OSError):
        raise WebhookVerificationError(
            "the webhook-timestamp header is not Unix seconds", code="invalid_header"
        ) from None
    now = dt.datetime.now(dt.timezone.utc)
    if sent < now - TOLERANCE:
        raise WebhookVerificationError(
            "the webhook timestamp is more than five minutes old (a replay, or a clock that is off)",
            code="timestamp_too_old",
        )
    if sent > now + TOLERANCE:
        raise WebhookVerificationError(
            "the webhook timestamp is more than five minutes in the future (a clock that is off)",
            code="timestamp_too_new",
        )
