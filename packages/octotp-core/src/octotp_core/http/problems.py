"""RFC 9457 problem responses, and the one mapping from core errors to HTTP statuses."""

from __future__ import annotations

from http import HTTPStatus

from ..errors import (
    AuthenticationFailed,
    Conflict,
    DeliveryFailed,
    FieldError,
    InvalidInput,
    NotFound,
    OctotpError,
    PermissionDenied,
    RateLimited,
    StorageUnavailable,
)
from .messages import Response
from .models import wire_name

PROBLEM_JSON = "application/problem+json"

_STATUS_BY_ERROR: list[tuple[type[OctotpError], int]] = [
    (InvalidInput, 400),
    (AuthenticationFailed, 401),
    (PermissionDenied, 403),
    (NotFound, 404),
    (Conflict, 409),
    (RateLimited, 429),
    (DeliveryFailed, 502),
    (StorageUnavailable, 503),
]


def status_for(error: OctotpError) -> int:
    """The HTTP status for a core error (the only place this is decided)."""
    for cls, status in _STATUS_BY_ERROR:
        if isinstance(error, cls):
            return status
    return 500


def problem(
    status: int,
    code: str,
    detail: str,
    request_id: str,
    *,
    errors: list[FieldError] | None = None,
    headers: list[tuple[str, str]] | None = None,
    extra: dict[str, object] | None = None,
) -> Response:
    """A problem+json response with ``type``, ``title``, ``status``, ``detail``, ``code`` and ``requestId``."""
    body: dict[str, object] = {
        "type": f"https://octotp.dev/problems/{code.replace('_', '-')}",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "code": code,
        "requestId": request_id,
    }
    if errors:
        body["errors"] = [{"field": e.field, "reason": e.reason} for e in errors]
    if extra:
        body.update(extra)
    response = Response.json(status, body, PROBLEM_JSON)
    response.headers.extend(headers or [])
    return response


def problem_for(error: OctotpError, request_id: str) -> Response:
    """The problem response for a core error, with ``Retry-After`` on 429s."""
    status = status_for(error)
    if isinstance(error, InvalidInput):
        shown = error.renamed(wire_name)  # the API's JSON members, not core's Python names
        return problem(status, shown.code, shown.detail, request_id, errors=shown.errors)
    if isinstance(error, RateLimited):
        headers = [
            ("Retry-After", str(error.retry_after)),
            ("RateLimit-Limit", str(error.limit)),
            ("RateLimit-Remaining", "0"),
            ("RateLimit-Reset", str(error.retry_after)),
        ]
        return problem(
            status,
            error.code,
            error.detail,
            request_id,
            headers=headers,
            extra={"retryAfter": error.retry_after, "scope": error.scope},
        )
    if status in (409, 503):  # in progress elsewhere / storage down: worth retrying shortly
        return problem(status, error.code, error.detail, request_id, headers=[("Retry-After", "1")])
    return problem(status, error.code, error.detail, request_id)
