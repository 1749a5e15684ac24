"""The exceptions core raises. Each carries a stable ``code``; the HTTP layer maps them to statuses."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class FieldError:
    """One invalid input field and why it was refused.

    Core names the field as its Python parameter (``expires_in``, ``code_length``): what a caller
    of the in-process API passed. The HTTP API shows the JSON member instead; the mapping is
    ``octotp_core.http.models.wire_name``, applied by the HTTP layer (``InvalidInput.renamed``).
    """

    field: str
    reason: str


class OctotpError(Exception):
    """Base class of every error octotp raises on purpose."""

    code = "octotp_error"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class InvalidInput(OctotpError):
    """One or more fields are invalid (HTTP 400)."""

    code = "invalid_field"

    def __init__(self, errors: list[FieldError] | FieldError, detail: str | None = None) -> None:
        self.errors = [errors] if isinstance(errors, FieldError) else list(errors)
        self._own_detail = detail is not None
        super().__init__(detail or "; ".join(f"{e.field}: {e.reason}" for e in self.errors))

    def renamed(self, name: Callable[[str], str]) -> InvalidInput:
        """The same error with each field named by ``name`` (and the detail, when it lists them)."""
        errors = [FieldError(name(e.field), e.reason) for e in self.errors]
        return InvalidInput(errors, self.detail if self._own_detail else None)


class AuthenticationFailed(OctotpError):
    """The API key is missing, malformed, unknown or revoked (HTTP 401)."""

    code = "invalid_api_key"


class PermissionDenied(OctotpError):
    """The API key is valid but not for the project named in the request (HTTP 403)."""

    code = "project_mismatch"


class ProjectSuspended(PermissionDenied):
    """The API key's project is suspended by an operator (HTTP 403): its keys are refused until it is
    resumed."""

    code = "project_suspended"


class Forbidden(OctotpError):
    """The signed-in account's role does not allow this action (HTTP 403). Decided in
    ``octotp_core.console.permissions``, whatever a page shows."""

    code = "forbidden"


class NotFound(OctotpError):
    """The thing asked for does not exist, or not for this caller (HTTP 404)."""

    code = "not_found"


class Conflict(OctotpError):
    """The request conflicts with existing state (HTTP 409), e.g. a duplicate account email."""

    code = "conflict"


class RateLimited(OctotpError):
    """A rate limit or budget is exhausted (HTTP 429)."""

    code = "rate_limited"

    def __init__(self, detail: str, *, limit: int, retry_after: int, scope: str) -> None:
        super().__init__(detail)
        self.limit = limit
        self.retry_after = retry_after
        self.scope = scope


class DeliveryFailed(OctotpError):
    """The code could not be delivered; no usable code was left behind (HTTP 502)."""

    code = "delivery_failed"


class StorageUnavailable(OctotpError):
    """The database, or the rate-limit storage, cannot be reached (HTTP 503). ``source`` says which:
    ``database`` or ``rate_limit_storage`` (what ``octotp_database_errors_total`` and
    ``octotp_redis_errors_total`` count)."""

    code = "storage_unavailable"

    def __init__(self, detail: str, *, source: str = "database") -> None:
        super().__init__(detail)
        self.source = source
