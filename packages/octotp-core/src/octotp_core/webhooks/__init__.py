"""Webhooks octotp sends: signed per the Standard Webhooks specification (``signing``), carrying the
events of ``events`` in the ``{"type", "timestamp", "data"}`` envelope.

::

    from octotp_core import TokenEvent
    from octotp_core.webhooks import new_secret, signature_headers, token_event

    secret = new_secret()  # whsec_...: shown once to the endpoint's owner, who verifies with it


    def post_event(event: TokenEvent) -> None:  # a TokenService listener
        body = token_event(event, octotp.clock.now()).body()
        headers = signature_headers(secret, body, timestamp=octotp.clock.now())
        ...  # POST body with headers and Content-Type: application/json
"""

from .events import (
    DELIVERY_DELIVERED,
    DELIVERY_FAILED,
    DELIVERY_SENT,
    EVENT_TYPES,
    PROJECT_PLAN_CHANGED,
    TOKEN_APPROVED,
    TOKEN_CREATED,
    TOKEN_EVENT_TYPES,
    TOKEN_FAILED,
    TOKEN_LOCKED,
    WebhookEvent,
    delivery_delivered,
    delivery_failed,
    delivery_sent,
    from_token_event,
    plan_changed,
    token_event,
)
from .signing import (
    SECRET_PREFIX,
    SIGNATURE_HEADERS,
    TOLERANCE,
    new_message_id,
    new_secret,
    signature_headers,
    signing_key,
)

__all__ = [
    "DELIVERY_DELIVERED",
    "DELIVERY_FAILED",
    "DELIVERY_SENT",
    "EVENT_TYPES",
    "PROJECT_PLAN_CHANGED",
    "SECRET_PREFIX",
    "SIGNATURE_HEADERS",
    "TOKEN_APPROVED",
    "TOKEN_CREATED",
    "TOKEN_EVENT_TYPES",
    "TOKEN_FAILED",
    "TOKEN_LOCKED",
    "TOLERANCE",
    "WebhookEvent",
    "delivery_delivered",
    "delivery_failed",
    "delivery_sent",
    "from_token_event",
    "new_message_id",
    "new_secret",
    "plan_changed",
    "signature_headers",
    "signing_key",
    "token_event",
]
