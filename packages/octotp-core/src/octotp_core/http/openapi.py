"""The one canonical OpenAPI 3.1 document of the token API, built from the route table
(``routes.ROUTES``) and its pydantic models; every adapter serves it."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from ..version import __version__
from .models import Problem
from .routes import ROUTES, Operation

_REF = "#/components/schemas/{model}"
_REQUEST_ID_HEADER = {
    "X-Request-Id": {"schema": {"type": "string"}, "description": "Echoed or generated id of this request"}
}
_RATE_HEADERS = {
    "RateLimit-Limit": {"schema": {"type": "integer"}},
    "RateLimit-Remaining": {"schema": {"type": "integer"}},
    "RateLimit-Reset": {"schema": {"type": "integer"}},
    **_REQUEST_ID_HEADER,
}
_SECURITY: dict[str, list[dict[str, list[str]]]] = {"required": [{"ApiKey": []}], "optional": [{"ApiKey": []}, {}]}


def _content(media_type: str, model: str | None) -> dict[str, Any]:
    schema = {"$ref": _REF.format(model=model)} if model else {"type": "object"}
    return {media_type: {"schema": schema}}


def _operation(op: Operation) -> dict[str, Any]:
    success: dict[str, Any] = {"description": op.description}
    if op.headers:
        success["headers"] = _RATE_HEADERS if op.headers == "rate" else _REQUEST_ID_HEADER
    if op.status != 204:
        success["content"] = _content("application/json", op.response_model.__name__ if op.response_model else None)
    document: dict[str, Any] = {"operationId": op.operation_id, "summary": op.summary}
    if op.api_key:
        document["security"] = _SECURITY[op.api_key]
    if op.parameters:
        document["parameters"] = [p.openapi() for p in op.parameters]
    if op.request_model:
        content = _content(op.request_media_type, op.request_model.__name__)
        document["requestBody"] = {"required": True, "content": content}
    document["responses"] = {str(op.status): success} | {
        str(status): {"description": text, "content": _content("application/problem+json", "Problem")}
        for status, text in op.errors
    }
    return document


def openapi_document() -> dict[str, Any]:
    """The OpenAPI 3.1 document (a fresh dict each call)."""
    operations = [(route, op) for route in ROUTES for op in route.operations if op.documented]
    # Request bodies as clients may send them, responses as the server writes them.
    models: dict[type[BaseModel], JsonSchemaMode] = {}
    for _, op in operations:
        if op.request_model:
            models[op.request_model] = "validation"
        if op.response_model:
            models[op.response_model] = "serialization"
    models[Problem] = "serialization"
    _, schemas = models_json_schema(list(models.items()), by_alias=True, ref_template=_REF)
    paths: dict[str, dict[str, Any]] = {}
    for route, op in operations:
        paths.setdefault(route.path, {})[op.method.lower()] = _operation(op)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "octotp",
            "version": __version__,
            "description": "One-time verification codes. Errors are RFC 9457 problem+json with a stable `code`.",
        },
        "paths": paths,
        "components": {
            "schemas": schemas["$defs"],
            "securitySchemes": {"ApiKey": {"type": "apiKey", "in": "header", "name": "X-Api-Key"}},
        },
    }
