"""The one canonical OpenAPI 3.1 document of the token API, built from ``models``; every adapter serves it."""

from __future__ import annotations

from typing import Any

from pydantic.json_schema import models_json_schema

from ..version import __version__
from .models import (
    CreatedTokenResponse,
    CreateTokenRequest,
    Problem,
    ValidateTokenRequest,
    ValidationResponse,
)

_REF = "#/components/schemas/{model}"


def _problem(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/problem+json": {"schema": {"$ref": _REF.format(model="Problem")}}},
    }


def _json_body(model: str) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": {"$ref": _REF.format(model=model)}}}}


_COMMON_ERRORS = {
    "400": _problem("Malformed JSON or an invalid field (see `errors`)"),
    "413": _problem("Body over 64 KiB"),
    "415": _problem("Body is not application/json"),
    "503": _problem("Storage unavailable"),
}
_REQUEST_ID_HEADER = {
    "X-Request-Id": {"schema": {"type": "string"}, "description": "Echoed or generated id of this request"}
}


def openapi_document() -> dict[str, Any]:
    """The OpenAPI 3.1 document (a fresh dict each call)."""
    _, schemas = models_json_schema(
        [
            (CreateTokenRequest, "validation"),
            (CreatedTokenResponse, "serialization"),
            (ValidateTokenRequest, "validation"),
            (ValidationResponse, "serialization"),
            (Problem, "serialization"),
        ],
        by_alias=True,
        ref_template=_REF,
    )
    rate_headers = {
        "RateLimit-Limit": {"schema": {"type": "integer"}},
        "RateLimit-Remaining": {"schema": {"type": "integer"}},
        "RateLimit-Reset": {"schema": {"type": "integer"}},
        **_REQUEST_ID_HEADER,
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "octotp",
            "version": __version__,
            "description": "One-time verification codes. Errors are RFC 9457 problem+json with a stable `code`.",
        },
        "paths": {
            "/api/tokens": {
                "post": {
                    "operationId": "createToken",
                    "summary": "Issue a code for a recipient",
                    "security": [{"ApiKey": []}],
                    "parameters": [
                        {
                            "name": "Idempotency-Key",
                            "in": "header",
                            "required": False,
                            "schema": {"type": "string", "maxLength": 255},
                        }
                    ],
                    "requestBody": _json_body("CreateTokenRequest"),
                    "responses": {
                        "201": {
                            "description": "Created",
                            "headers": rate_headers,
                            "content": {
                                "application/json": {"schema": {"$ref": _REF.format(model="CreatedTokenResponse")}}
                            },
                        },
                        **_COMMON_ERRORS,
                        "401": _problem("Missing, invalid or revoked API key"),
                        "403": _problem("The key is not valid for projectId"),
                        "409": _problem(
                            "An earlier request with this Idempotency-Key is still in progress or differed"
                        ),
                        "429": _problem("Rate limited; see Retry-After"),
                        "502": _problem("Delivery failed; no usable code was left"),
                    },
                }
            },
            "/api/tokens/validate": {
                "post": {
                    "operationId": "validateToken",
                    "summary": "Check a code (approved at most once)",
                    "security": [{"ApiKey": []}, {}],
                    "requestBody": _json_body("ValidateTokenRequest"),
                    "responses": {
                        "200": {
                            "description": "The verdict",
                            "headers": _REQUEST_ID_HEADER,
                            "content": {
                                "application/json": {"schema": {"$ref": _REF.format(model="ValidationResponse")}}
                            },
                        },
                        **_COMMON_ERRORS,
                        "401": _problem("Invalid or revoked API key (the key is optional here)"),
                        "403": _problem("The key is not valid for projectId"),
                        "404": _problem("No such project"),
                        "429": _problem("Too many validates without an API key from this address; see Retry-After"),
                    },
                }
            },
            "/api/tokens/{tokenId}": {
                "delete": {
                    "operationId": "cancelToken",
                    "summary": "Cancel an open token",
                    "security": [{"ApiKey": []}],
                    "parameters": [{"name": "tokenId", "in": "path", "required": True, "schema": {"type": "string"}}],
                    "responses": {
                        "204": {"description": "Cancelled", "headers": _REQUEST_ID_HEADER},
                        "401": _problem("Missing, invalid or revoked API key"),
                        "404": _problem("No open token with this id in the key's project"),
                        "503": _problem("Storage unavailable"),
                    },
                }
            },
            "/healthz": {
                "get": {
                    "operationId": "health",
                    "summary": "Liveness",
                    "responses": {
                        "200": {"description": "Alive", "content": {"application/json": {"schema": {"type": "object"}}}}
                    },
                }
            },
            "/readyz": {
                "get": {
                    "operationId": "ready",
                    "summary": "Readiness: storage and rate-limit storage answer",
                    "responses": {
                        "200": {
                            "description": "Ready",
                            "content": {"application/json": {"schema": {"type": "object"}}},
                        },
                        "503": _problem("Storage or rate-limit storage down"),
                    },
                }
            },
        },
        "components": {
            "schemas": schemas["$defs"],
            "securitySchemes": {"ApiKey": {"type": "apiKey", "in": "header", "name": "X-Api-Key"}},
        },
    }
