"""The events octotp sends to a project's webhook endpoints, and the JSON envelope they travel in.

Every event is ``{"type": "token.created", "timestamp": "2026-02-14T12:00:00Z", "data": {...}}``
(the Standard Webhooks envelope), its ``data`` camelCase like the API. Data is built only from
octotp's own records, through the builders below, and carries the masked recipient
(``recipientHint``: ``j***@example.com``), never a code, a code's hash or a full recipient.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..store.records import Project, Token
    from ..tokens import EventKind, TokenEvent

TOKEN_CREATED = "token.created"  # noqa: S105 - an event type
TOKEN_APPROVED = "token.approved"  # noqa: S105 - an event type
TOKEN_FAILED = "token.failed"  # noqa: S105 - an event type
TOKEN_LOCKED = "token.locked"  # noqa: S105 - an event type
DELIVERY_SENT = "delivery.sent"
DELIVERY_DELIVERED = "delivery.delivered"
DELIVERY_FAILED = "delivery.failed"
PROJECT_PLAN_CHANGED = "project.plan_changed"
EVENT_TYPES = (
    TOKEN_CREATED,
    TOKEN_APPROVED,
    TOKEN_FAILED,
    TOKEN_LOCKED,
    DELIVERY_SENT,
    DELIVERY_DELIVERED,
    DELIVERY_FAILED,
    PROJECT_PLAN_CHANGED,
)
"""Every event type an endpoint can receive."""

TOKEN_EVENT_TYPES: Mapping[EventKind, str] = MappingProxyType(
    {"created": TOKEN_CREATED, "approved": TOKEN_APPROVED, "failed": TOKEN_FAILED, "locked": TOKEN_LOCKED}
)
"""``TokenEvent.kind`` → its event type."""


def format_timestamp(value: dt.datetime) -> str:
    """ISO-8601 UTC with a ``Z``, to the second, as the API writes times (``2026-02-14T12:05:00Z``)."""
    return value.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class WebhookEvent:
    """One event as sent: its ``type`` (one of ``EVENT_TYPES``), when it happened and its ``data``."""

    type: str
    timestamp: dt.datetime
    data: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.type not in EVENT_TYPES:
            raise ValueError(f"unknown webhook event type {self.type!r}")

    def envelope(self) -> dict[str, Any]:
        """``{"type", "timestamp", "data"}``, ready for JSON."""
        return {"type": self.type, "timestamp": format_timestamp(self.timestamp), "data": dict(self.data)}

    def body(self) -> bytes:
        """The request body: the envelope as compact JSON (the bytes that are signed)."""
        return json.dumps(self.envelope(), separators=(",", ":")).encode()


def token_event(event: TokenEvent, at: dt.datetime) -> WebhookEvent:
    """``token.created``, ``token.approved``, ``token.failed`` or ``token.locked`` from the service's
    ``TokenEvent`` (``tokenId`` is None for a validation that found no token; ``status`` is the
    validation's status, None for ``token.created``)."""
    data = {
        "projectId": event.project_id,
        "tokenId": event.token_id,
        "recipientHint": event.recipient_hint,
        "purpose": event.purpose,
        "status": event.status,
    }
    return WebhookEvent(TOKEN_EVENT_TYPES[event.kind], at, data)


def from_token_event(event: TokenEvent, at: dt.datetime) -> WebhookEvent:
    """The webhook event of any ``TokenEvent`` the service or the outbox tells: ``token_event`` for
    the token events; for a delivery event (``delivery.sent``, ``delivery.failed``...) its type is
    the event's kind, with the failure's ``reason`` when it has one."""
    if event.kind in TOKEN_EVENT_TYPES:
        return token_event(event, at)
    data = {
        "projectId": event.project_id,
        "tokenId": event.token_id,
        "recipientHint": event.recipient_hint,
        "purpose": event.purpose,
    }
    if event.reason is not None:
        data["reason"] = event.reason
    return WebhookEvent(event.kind, at, data)


def _delivery_data(token: Token) -> dict[str, Any]:
    return {
        "projectId": token.project_id,
        "tokenId": token.id,
        "channel": token.channel,
        "recipientHint": token.recipient_hint,
        "purpose": token.purpose,
    }


def delivery_sent(token: Token, at: dt.datetime, *, provider_message_id: str | None = None) -> WebhookEvent:
    """``delivery.sent``: the token's message was handed to its provider (``providerMessageId``: the
    provider's id for it, such as a Twilio message SID, when the backend returned one)."""
    return WebhookEvent(DELIVERY_SENT, at, {**_delivery_data(token), "providerMessageId": provider_message_id})


def delivery_delivered(token: Token, at: dt.datetime) -> WebhookEvent:
    """``delivery.delivered``: the provider reports the token's message reached the recipient's
    handset (Twilio's ``delivered`` status callback)."""
    return WebhookEvent(DELIVERY_DELIVERED, at, _delivery_data(token))


def delivery_failed(token: Token, at: dt.datetime, *, reason: str) -> WebhookEvent:
    """``delivery.failed``: no retry will deliver the token's message; ``reason`` is a short code
    (``invalid_recipient``, ``rejected``, ``expired``...), never an exception's text."""
    return WebhookEvent(DELIVERY_FAILED, at, {**_delivery_data(token), "reason": reason})


def plan_changed(project: Project, previous_plan: str, at: dt.datetime) -> WebhookEvent:
    """``project.plan_changed``: ``project`` as it is now, on ``plan``, moved from ``previousPlan``."""
    data = {"projectId": project.id, "name": project.name, "plan": project.plan, "previousPlan": previous_plan}
    return WebhookEvent(PROJECT_PLAN_CHANGED, at, data)
