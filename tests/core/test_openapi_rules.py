"""The OpenAPI document states the request rules core enforces (DESIGN §4-5), so a client generator
and schemathesis see the real contract.

Each rule is asserted on the document itself, and every body of ``BODY_RULES`` is checked against
it with jsonschema-rs (the validator schemathesis uses; its ``pattern`` has ECMA-262's ``$``, as
OpenAPI 3.1 says): a body breaks the schema exactly when the contract suite expects every adapter
to refuse it with a 400.
"""

from __future__ import annotations

import uuid
from typing import Any

import jsonschema_rs
import pytest

from octotp_core.codes import MAX_CODE_LENGTH, MIN_CODE_LENGTH
from octotp_core.http import openapi_document
from octotp_core.settings import MAX_EXPIRY_SECONDS
from octotp_core.testing.contract import BODY_RULES, EMAIL, BodyRule
from octotp_core.tokens import PURPOSE_PATTERN

_PATHS = {"createToken": "/api/tokens", "validateToken": "/api/tokens/validate"}


def _body_schema(document: dict[str, Any], operation: str) -> dict[str, Any]:
    """The request body schema of ``operation``, as a schema whose ``$ref``s resolve in ``document``."""
    content = document["paths"][_PATHS[operation]]["post"]["requestBody"]["content"]["application/json"]
    return {**content["schema"], "components": document["components"]}


def _schema(operation: str) -> dict[str, Any]:
    name = {"createToken": "CreateTokenRequest", "validateToken": "ValidateTokenRequest"}[operation]
    schema: dict[str, Any] = openapi_document()["components"]["schemas"][name]
    return schema


def _string_branch(member: dict[str, Any]) -> dict[str, Any]:
    """The string alternative of an optional member (``anyOf: [string, null]``)."""
    (string,) = [s for s in member.get("anyOf", [member]) if s.get("type") == "string"]
    assert {"type": "null"} in member.get("anyOf", [{"type": "null"}])
    return string


def _integer_branch(member: dict[str, Any]) -> dict[str, Any]:
    (integer,) = [s for s in member["anyOf"] if s.get("type") == "integer"]
    return integer


@pytest.mark.parametrize("operation", ["createToken", "validateToken"])
def test_exactly_one_recipient_is_a_oneof(operation: str) -> None:
    branches = _schema(operation)["oneOf"]
    assert [b["required"] for b in branches] == [["recipientEmail"], ["recipientPhone"]]
    for branch, member in zip(branches, ("recipientEmail", "recipientPhone"), strict=True):
        assert branch["properties"][member] == {"type": "string"}  # null counts as absent


def test_create_channel_must_reach_the_recipient() -> None:
    email, phone = _schema("createToken")["oneOf"]
    assert email["properties"]["channel"] == {"enum": ["email", None]}
    assert phone["properties"]["channel"] == {"enum": ["sms", None]}


@pytest.mark.parametrize("operation", ["createToken", "validateToken"])
def test_purpose_and_recipients_are_stated(operation: str) -> None:
    properties = _schema(operation)["properties"]
    purpose = _string_branch(properties["purpose"])
    assert purpose["pattern"] == PURPOSE_PATTERN == "^[A-Za-z0-9_.:-]{0,64}$"
    assert purpose["maxLength"] == 64
    assert _string_branch(properties["recipientEmail"]) == {"type": "string", "minLength": 1, "maxLength": 320}
    assert _string_branch(properties["recipientPhone"]) == {"type": "string", "minLength": 1, "maxLength": 40}


def test_code_is_4_to_10_ascii_digits() -> None:
    schema = _schema("validateToken")
    assert "code" in schema["required"]
    code = schema["properties"]["code"]
    assert code["type"] == "string"
    assert code["pattern"] == f"^[0-9]{{{MIN_CODE_LENGTH},{MAX_CODE_LENGTH}}}$" == "^[0-9]{4,10}$"
    assert code["maxLength"] == MAX_CODE_LENGTH


def test_expires_in_seconds_outer_bounds() -> None:
    """Any project's bounds lie within these; the project's own are its business (a 400 names them)."""
    expiry = _integer_branch(_schema("createToken")["properties"]["expiresInSeconds"])
    assert (expiry["minimum"], expiry["maximum"]) == (1, MAX_EXPIRY_SECONDS)


def test_every_operation_and_member_of_the_rules_is_covered() -> None:
    """Each stated rule has a body that breaks it in ``BODY_RULES``."""
    broken = {(r.operation, r.field) for r in BODY_RULES if r.field is not None}
    assert broken >= {
        ("createToken", "recipientEmail"),
        ("createToken", "recipientPhone"),
        ("createToken", "purpose"),
        ("createToken", "expiresInSeconds"),
        ("createToken", "channel"),
        ("validateToken", "recipientEmail"),
        ("validateToken", "code"),
        ("validateToken", "purpose"),
    }


@pytest.mark.parametrize("rule", BODY_RULES, ids=lambda r: f"{r.operation}: {r.rule}")
def test_the_document_accepts_exactly_what_the_api_accepts(rule: BodyRule) -> None:
    validator = jsonschema_rs.Draft202012Validator(_body_schema(openapi_document(), rule.operation))
    members = {k: "user@example.com" if v == EMAIL else v for k, v in rule.members.items()}
    body = {"projectId": str(uuid.uuid4()), **members}
    assert validator.is_valid(body) is (rule.field is None), body


def test_a_compatibility_example_body_is_valid() -> None:
    """DESIGN §4's create example, with its explicit null recipient, still satisfies the schema."""
    validator = jsonschema_rs.Draft202012Validator(_body_schema(openapi_document(), "createToken"))
    body = {
        "projectId": str(uuid.uuid4()),
        "recipientEmail": "user@example.com",
        "recipientPhone": None,
        "expiresInSeconds": 300,
    }
    assert validator.is_valid(body)
