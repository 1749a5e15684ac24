"""RFC 9457 problem responses, and the one mapping from core errors to HTTP statuses."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from http import HTTPStatus

from ..errors import (
    AuthenticationFailed,
    Conflict,
    DeliveryFailed,
    FieldError,
    Forbidden,
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
    (Forbidden, 403),
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


def problem_for(error: OctotpError, request_id: str, *, field_name: Callable[[str], str] = wire_name) -> Response:
    """The problem response for a core error, with ``Retry-After`` on 429s.

    ``field_name`` names each invalid field: by default the API's JSON member (``recipientEmail``),
    since the HTTP layer got JSON; ``host_problem`` keeps core's Python names instead."""
    status = status_for(error)
    if isinstance(error, InvalidInput):
        shown = error.renamed(field_name)
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


_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


def request_id_from(incoming: str | None) -> str:
    """The caller's request id when it is a safe token (so it can be traced end to end), else a new one."""
    return incoming if incoming and _SAFE_REQUEST_ID.match(incoming) else uuid.uuid4().hex


def host_problem(error: OctotpError, request_id: str | None = None) -> Response:
    """The problem response for an octotp error raised in a host app's own view, by the in-process
    API (``create_token(..., email="not an email")``): the status, ``code``, ``errors`` and
    ``Retry-After`` the HTTP API would answer, with each field named as the Python parameter the
    view passed (``email``, ``expires_in``), since that is the call that failed.

    ``request_id`` is the incoming ``X-Request-Id`` when the adapter has one (kept when it is a
    safe token, as the API does), else a new one; the response carries it in ``X-Request-Id``.
    Every adapter's opt-in error handler (``handle_octotp_errors``) answers with this.
    """
    rid = request_id_from(request_id)
    response = problem_for(error, rid, field_name=_python_name)
    response.set_header("X-Request-Id", rid)
    response.set_header("Cache-Control", "no-store")
    return response


def _python_name(field: str) -> str:
    return field
