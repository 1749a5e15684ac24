"""The API's request and response bodies as pydantic models: the single source of both input
validation (in ``octotp_core.http.api``) and the OpenAPI document (``octotp_core.http.openapi``).

The models check a body's shape (types, lengths, the project id's form). The rules core decides
(``TokenService``: exactly one recipient, the purpose's characters, a code's digits, the expiry's
outer bounds) stay core's to enforce, so their answers and their order stay core's; the models only
state them in the schema, from core's own constants, so clients and schemathesis see the real
contract. ``tests/core/test_openapi_rules.py`` and the contract suite hold the two together.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from ..codes import MAX_CODE_LENGTH, MIN_CODE_LENGTH
from ..settings import MAX_EXPIRY_SECONDS
from ..tokens import PURPOSE_PATTERN

UUID_PATTERN = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
CODE_PATTERN = rf"^[0-9]{{{MIN_CODE_LENGTH},{MAX_CODE_LENGTH}}}$"
"""A code as core accepts one to check (``codes.looks_like_code``): 4-10 ASCII digits."""


def _stated(**rules: Any) -> Any:
    """Schema keywords for a rule core enforces (not pydantic): shown in the document only."""
    return Field(json_schema_extra=rules)


# Each recipient member is a string when given; null counts as absent (DESIGN §4). The empty
# string is never a valid address or number.
_Email = Annotated[str, Field(max_length=320), _stated(minLength=1)]
_Phone = Annotated[str, Field(max_length=40), _stated(minLength=1)]
_Purpose = Annotated[str, Field(max_length=64), _stated(pattern=PURPOSE_PATTERN)]
_Expiry = Annotated[int, _stated(minimum=1, maximum=MAX_EXPIRY_SECONDS)]


def _one_recipient(*, channels: bool) -> dict[str, Any]:
    """``oneOf``: exactly one of ``recipientEmail`` / ``recipientPhone`` is a string (the other absent
    or null); with ``channels``, a ``channel`` that can reach it (``email`` for an address, ``sms``
    for a phone number) or none."""

    def branch(title: str, member: str, channel: str) -> dict[str, Any]:
        properties: dict[str, Any] = {member: {"type": "string"}}
        if channels:
            properties["channel"] = {"enum": [channel, None]}
        return {"title": title, "type": "object", "required": [member], "properties": properties}

    return {
        "oneOf": [
            branch("An email recipient", "recipientEmail", "email"),
            branch("A phone recipient", "recipientPhone", "sms"),
        ]
    }


class _Body(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore", strict=True)


class CreateTokenRequest(_Body):
    """Body of ``POST /api/tokens``. Exactly one of ``recipientEmail`` / ``recipientPhone`` (null counts as absent)."""

    model_config = ConfigDict(json_schema_extra=_one_recipient(channels=True))

    project_id: str = Field(pattern=UUID_PATTERN, description="The project's UUID (must match the API key's).")
    recipient_email: _Email | None = Field(default=None, description="An email address (or give recipientPhone).")
    recipient_phone: _Phone | None = Field(
        default=None, description="E.164, or national with the project's region (or give recipientEmail)."
    )
    expires_in_seconds: _Expiry | None = Field(
        default=None, description="Default 300; within the project's bounds (default 30-600)."
    )
    purpose: _Purpose | None = Field(
        default=None, description="Binds the code to an action: letters, digits and _ . : - (empty: none)."
    )
    send: bool | None = Field(default=None, description="Deliver the code by email/SMS (default false).")
    channel: Literal["email", "sms"] | None = Field(
        default=None, description="email for an email recipient, sms for a phone (default: the recipient's)."
    )
    locale: str | None = Field(default=None, max_length=35)


class CreatedTokenResponse(_Body):
    """``201`` body of ``POST /api/tokens``."""

    id: str
    code: str | None = Field(default=None, description="Omitted when the project is deliver-only.")
    expires_at: str = Field(description="ISO-8601 UTC, e.g. 2026-02-14T12:05:00Z")
    channel: Literal["email", "sms"]
    sent: bool


class ValidateTokenRequest(_Body):
    """Body of ``POST /api/tokens/validate``. The recipient and purpose the code was created for."""

    model_config = ConfigDict(json_schema_extra=_one_recipient(channels=False))

    project_id: str = Field(pattern=UUID_PATTERN, description="The project's UUID.")
    recipient_email: _Email | None = Field(
        default=None, description="The address the code was issued to (or give recipientPhone)."
    )
    recipient_phone: _Phone | None = Field(
        default=None, description="The phone number the code was issued to (or give recipientEmail)."
    )
    code: str = Field(
        max_length=MAX_CODE_LENGTH, json_schema_extra={"pattern": CODE_PATTERN}, description="4-10 digits."
    )
    purpose: _Purpose | None = Field(default=None, description="The purpose the code was issued for, if any.")


class ValidationResponse(_Body):
    """``200`` body of ``POST /api/tokens/validate``."""

    is_valid: bool
    status: Literal["approved", "incorrect", "expired", "locked", "not_found"]


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
