"""The API's request and response bodies as pydantic models: the single source of both input
validation (in ``octotp_core.http.api``) and the OpenAPI document (``octotp_core.http.openapi``)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

UUID_PATTERN = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"


class _Body(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore", strict=True)


class CreateTokenRequest(_Body):
    """Body of ``POST /api/tokens``. Exactly one of ``recipientEmail`` / ``recipientPhone`` (null counts as absent)."""

    project_id: str = Field(pattern=UUID_PATTERN, description="The project's UUID (must match the API key's).")
    recipient_email: str | None = Field(default=None, max_length=320)
    recipient_phone: str | None = Field(default=None, max_length=40, description="E.164, or national with a region.")
    expires_in_seconds: int | None = Field(default=None, description="Default 300; within the project's bounds.")
    purpose: str | None = Field(default=None, max_length=64, description="Binds the code to an action.")
    send: bool | None = Field(default=None, description="Deliver the code by email/SMS (default false).")
    channel: Literal["email", "sms"] | None = None
    locale: str | None = Field(default=None, max_length=35)


class CreatedTokenResponse(_Body):
    """``201`` body of ``POST /api/tokens``."""

    id: str
    code: str | None = Field(default=None, description="Omitted when the project is deliver-only.")
    expires_at: str = Field(description="ISO-8601 UTC, e.g. 2026-02-14T12:05:00Z")
    channel: Literal["email", "sms"]
    sent: bool


class ValidateTokenRequest(_Body):
    """Body of ``POST /api/tokens/validate``."""

    project_id: str = Field(pattern=UUID_PATTERN)
    recipient_email: str | None = Field(default=None, max_length=320)
    recipient_phone: str | None = Field(default=None, max_length=40)
    code: str = Field(max_length=10)
    purpose: str | None = Field(default=None, max_length=64)


class ValidationResponse(_Body):
    """``200`` body of ``POST /api/tokens/validate``."""

    is_valid: bool
    status: Literal["approved", "incorrect", "expired", "locked", "not_found"]


class DeliveryState(_Body):
    """A code's delivery: its outbox job (``delivery_mode`` ``queue``), or the record of a synchronous
    send (``sync``: ``sent`` at once, then what the provider reports)."""

    state: Literal["queued", "sending", "sent", "delivered", "failed"]
    reason: str | None = Field(
        default=None, description="Why it failed (failed), or what went wrong on the last try (queued again)"
    )
    attempts: int = Field(description="Tries so far")
    sent_at: str | None = Field(default=None, description="ISO-8601 UTC")
    delivered_at: str | None = Field(default=None, description="ISO-8601 UTC, where the provider reports it")


class TokenStateResponse(_Body):
    """``200`` body of ``GET /api/tokens/{tokenId}``: the token's state, never its code."""

    id: str
    status: Literal["pending", "expired", "locked", "approved", "superseded", "cancelled", "delivery_failed"] = Field(
        description="pending until it closes; then why it closed (see octotp_core.states)"
    )
    channel: Literal["email", "sms"]
    recipient_hint: str = Field(description="The masked recipient, e.g. j***@example.com")
    purpose: str
    created_at: str = Field(description="ISO-8601 UTC")
    expires_at: str = Field(description="ISO-8601 UTC")
    closed_at: str | None = Field(default=None, description="ISO-8601 UTC; null while the token is open")
    attempts: int = Field(description="Wrong or reserved attempts so far")
    max_attempts: int
    delivery: DeliveryState | None = Field(
        default=None, description="Its delivery, when it was sent (`send`; null otherwise)"
    )


#: Where the in-process API's Python parameter names differ from the HTTP API's JSON members; any
#: other field is the camelCase of its Python name (``code_length`` -> ``codeLength``).
WIRE_NAMES = {"email": "recipientEmail", "phone": "recipientPhone", "expires_in": "expiresInSeconds"}


def wire_name(field: str) -> str:
    """The HTTP (JSON member) name of a field that core names by its Python parameter.

    Core raises ``FieldError`` with Python names (``expires_in``, ``code_length``); the HTTP layer
    and the dashboard show the API's names (``expiresInSeconds``, ``codeLength``). Names that are
    already the API's (``projectId``, ``Idempotency-Key``) pass through unchanged.
    """
    return WIRE_NAMES.get(field) or (to_camel(field) if "_" in field else field)


class FieldProblem(BaseModel):
    """One invalid field in a 400 problem."""

    field: str
    reason: str


class Problem(BaseModel):
    """RFC 9457 problem details, with octotp's stable ``code``."""

    type: str
    title: str
    status: int
    detail: str
    code: str
    request_id: str = Field(alias="requestId")
    errors: list[FieldProblem] | None = None
    retry_after: int | None = Field(default=None, alias="retryAfter")


class TwilioStatusCallback(BaseModel):
    """The form Twilio posts to a message's ``StatusCallback`` (the members octotp reads; Twilio
    sends more, all of them signed)."""

    model_config = ConfigDict(extra="allow")

    MessageSid: str = Field(max_length=64, description="The message's SID (``SM`` + 32 hex digits).")
    MessageStatus: str = Field(max_length=32, description="queued, sent, delivered, undelivered, failed, ...")
    ErrorCode: str | None = Field(default=None, max_length=16, description="Twilio's error code of a failure.")
