"""Every exception the octotp client raises, in one hierarchy.

::

    OctotpError                      base of everything below
    ├── ConfigurationError           missing/invalid base_url, api_key, project id or webhook secret (also a ValueError)
    ├── WebhookVerificationError     ``verify_webhook``: a missing header, a stale timestamp, a bad signature
    ├── APIConnectionError           no HTTP response: refused, reset, DNS, TLS...
    │   └── APITimeoutError          connecting or reading took longer than ``timeout``
    └── APIError                     the server answered with an error status (any status not listed below)
        ├── BadRequestError          400  invalid field or malformed body; ``.errors`` names the fields
        ├── AuthenticationError      401  missing, invalid or revoked API key
        ├── PermissionDeniedError    403  the key is not valid for the project id sent
        ├── NotFoundError            404  e.g. cancelling a token that is not open
        ├── ConflictError            409  e.g. an Idempotency-Key reused with a different request
        ├── RateLimitError           429  ``.retry_after`` seconds (from ``Retry-After``)
        ├── DeliveryError            502  the code could not be sent; no usable code was left behind
        └── ServiceUnavailableError  503  the server's storage is down

Every error carries ``status`` (``None`` when there was no response), ``body`` (the RFC 9457
problem as a dict, or ``None``), ``code`` (the problem's stable machine-readable ``code``, e.g.
``invalid_api_key``) and ``request_id`` (the server's ``X-Request-Id``: quote it when reporting a
problem). ``error_for_response`` is the one place a status becomes a class.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from ._http import parse_retry_after

__all__ = [
    "APIConnectionError",
    "APIError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "ConfigurationError",
    "ConflictError",
    "DeliveryError",
    "FieldError",
    "NotFoundError",
    "OctotpError",
    "PermissionDeniedError",
    "RateLimitError",
    "ServiceUnavailableError",
    "WebhookVerificationError",
    "error_for_response",
]


@dataclass(frozen=True)
class FieldError:
    """One invalid field of a request, as the server named it (camelCase, e.g. ``expiresInSeconds``)."""

    field: str
    reason: str


class OctotpError(Exception):
    """Base class of every error raised by ``octotp_client``."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        body: dict[str, Any] | None = None,
        code: str | None = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        """The HTTP status, or ``None`` when no response arrived."""
        self.body = body
        """The problem details (``type``, ``title``, ``status``, ``detail``, ``code``, ``requestId``...)."""
        self.code = code
        """The problem's stable ``code`` (``invalid_field``, ``invalid_api_key``, ``rate_limited``...)."""
        self.request_id = request_id
        """The server's request id (``X-Request-Id``), for its logs."""


class ConfigurationError(OctotpError, ValueError):
    """The client is missing a setting (``base_url``, ``api_key``, project id) or one is invalid."""


class WebhookVerificationError(OctotpError):
    """``verify_webhook`` refused a request: it is not a webhook that octotp signed with this secret,
    or not a fresh one. Answer it with a 400 and do not act on it. ``code`` says why:
    ``missing_header`` (a ``webhook-id``, ``webhook-timestamp`` or ``webhook-signature`` header is
    absent), ``invalid_header`` (one is malformed), ``timestamp_too_old`` / ``timestamp_too_new``
    (more than five minutes from this machine's clock: a replay, or a clock that is off),
    ``invalid_signature`` (a changed body, another secret), ``invalid_payload`` (not a JSON object)."""


class APIConnectionError(OctotpError):
    """The request got no HTTP response (connection refused or reset, DNS failure, TLS error...)."""


class APITimeoutError(APIConnectionError):
    """Connecting, or waiting for the response, took longer than the client's ``timeout``."""


class APIError(OctotpError):
    """The server answered with an error status. Raised as-is for statuses without their own class."""

    def __init__(
        self,
        message: str,
        *,
        status: int,
        body: dict[str, Any] | None = None,
        request_id: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        code = body.get("code") if body else None
        super().__init__(
            message,
            status=status,
            body=body,
            code=code if isinstance(code, str) else None,
            request_id=request_id,
        )
        self.status: int = status


class BadRequestError(APIError):
    """400: malformed JSON or invalid fields; ``errors`` lists each field and why it was refused."""

    def __init__(
        self,
        message: str,
        *,
        status: int,
        body: dict[str, Any] | None = None,
        request_id: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message, status=status, body=body, request_id=request_id, headers=headers)
        raw = (body or {}).get("errors")
        self.errors: list[FieldError] = [
            FieldError(str(item.get("field", "")), str(item.get("reason", "")))
            for item in (raw if isinstance(raw, list) else [])
            if isinstance(item, dict)
        ]


class AuthenticationError(APIError):
    """401: the API key is missing, malformed, unknown or revoked."""


class PermissionDeniedError(APIError):
    """403: the API key is valid, but not for the project id in the request."""


class NotFoundError(APIError):
    """404: e.g. the token to cancel does not exist, is already closed, or belongs to another project."""


class ConflictError(APIError):
    """409: the request conflicts with existing state, e.g. ``code == "idempotency_key_reused"``
    (the key was used for a different request) or ``"request_in_progress"`` (still running)."""


class RateLimitError(APIError):
    """429: a plan limit or a per-recipient budget is exhausted; ``retry_after`` says when to try again."""

    def __init__(
        self,
        message: str,
        *,
        status: int,
        body: dict[str, Any] | None = None,
        request_id: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message, status=status, body=body, request_id=request_id, headers=headers)
        retry_after = parse_retry_after((headers or {}).get("retry-after"))
        if retry_after is None and body is not None:
            value = body.get("retryAfter")
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                retry_after = max(0.0, float(value))
        self.retry_after: float | None = retry_after
        """Seconds to wait before trying again (``Retry-After``), or ``None`` if the server did not say."""


class DeliveryError(APIError):
    """502 from octotp: the email/SMS could not be delivered, and no usable code was left behind."""


class ServiceUnavailableError(APIError):
    """503: the server's storage (database or rate-limit store) is unreachable; try again later."""


_CLASS_BY_STATUS: dict[int, type[APIError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    429: RateLimitError,
    502: DeliveryError,
    503: ServiceUnavailableError,
}


def error_for_response(
    status: int,
    body: dict[str, Any] | None,
    headers: Mapping[str, str],
    text: str = "",
    *,
    request: str | None = None,
) -> APIError:
    """The exception for an error response: the only place a status is mapped to a class.

    ``headers`` must have lower-case names. A 502 is a ``DeliveryError`` only when octotp itself
    says so (``code: delivery_failed``); a gateway's own 502 page is a plain ``APIError``. A 404
    that is not octotp's problem JSON (no ``code``) came from something else at that URL, most
    often a host app whose octotp is mounted under a prefix that ``base_url`` lacks: the message
    says so, naming ``request`` (``"POST http://host/api/tokens"``) when given.
    """
    code = body.get("code") if body else None
    cls = _CLASS_BY_STATUS.get(status, APIError)
    if cls is DeliveryError and code != "delivery_failed":
        cls = APIError
    request_id = headers.get("x-request-id") or (body or {}).get("requestId")
    title = (body or {}).get("title") or _reason_phrase(status)
    detail = (body or {}).get("detail") or text.strip()[:200]
    message = f"{status} {title}"
    if detail:
        message += f": {detail}"
    if isinstance(code, str):
        message += f" [{code}]"
    if request_id:
        message += f" (request id {request_id})"
    if status == 404 and not isinstance(code, str):
        message += _not_octotp_hint(request)
    return cls(
        message,
        status=status,
        body=body,
        request_id=str(request_id) if request_id else None,
        headers=headers,
    )


def _not_octotp_hint(request: str | None) -> str:
    tried = f"{request} was" if request else "the URL was"
    return (
        f". {tried} answered by something other than octotp (the 404 is not octotp's problem JSON): "
        "base_url may lack the mount prefix; when the app mounts octotp under /octotp, base_url is "
        "'https://example.com/octotp', not 'https://example.com'"
    )


def _reason_phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"
