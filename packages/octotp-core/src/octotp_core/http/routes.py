"""The API's route table and the mount rule, written once.

``ROUTES`` names every path, method, operation id, request and response model and documented error
of the token API (DESIGN §4). ``ApiHandler`` dispatches on it, ``openapi_document`` is built from
it, and each adapter derives its own routes from it (FastAPI its documented endpoints, Flask and
Django the paths they claim), so a path or method cannot differ between them.

``Mount`` is the mount rule: where the API and the dashboard sit below a host's prefix, and how a
request path becomes the path core routes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel

from .models import (
    CreatedTokenResponse,
    CreateTokenRequest,
    TokenStateResponse,
    TwilioStatusCallback,
    ValidateTokenRequest,
    ValidationResponse,
)

DASHBOARD_PATH = "/dashboard"
"""The dashboard's place below octotp's prefix."""

TWILIO_STATUS_PATH = "/api/delivery/twilio/status"
"""Where Twilio's status callbacks are received, below octotp's prefix."""

_PARAMETER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


@dataclass(frozen=True)
class Parameter:
    """A documented path or header parameter."""

    name: str
    location: Literal["path", "header"]
    required: bool = True
    max_length: int | None = None

    def openapi(self) -> dict[str, Any]:
        """The OpenAPI parameter object."""
        schema: dict[str, Any] = {"type": "string"}
        if self.max_length is not None:
            schema["maxLength"] = self.max_length
        return {"name": self.name, "in": self.location, "required": self.required, "schema": schema}


@dataclass(frozen=True)
class Operation:
    """One method on one path.

    ``name`` is the snake_case name each adapter gives its route (``create_token``); ``api_key``
    says whether ``X-Api-Key`` is required, optional or not used; ``headers`` which response
    headers the success carries (``rate``: ``RateLimit-*`` and ``X-Request-Id``).
    """

    method: str
    name: str
    operation_id: str
    summary: str
    status: int
    description: str
    response_model: type[BaseModel] | None = None
    request_model: type[BaseModel] | None = None
    api_key: Literal["required", "optional"] | None = None
    headers: Literal["rate", "request_id"] | None = None
    parameters: tuple[Parameter, ...] = ()
    errors: tuple[tuple[int, str], ...] = ()
    documented: bool = True
    request_media_type: str = "application/json"
    """How ``request_model`` travels: JSON, or a form (``application/x-www-form-urlencoded``)."""


@dataclass(frozen=True)
class Route:
    """A path (OpenAPI template, e.g. ``/api/tokens/{tokenId}``) and its operations."""

    path: str
    operations: tuple[Operation, ...]
    _pattern: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        parts = _PARAMETER.split(self.path)  # literal, name, literal, name, ..., literal
        regex = "".join(re.escape(part) if i % 2 == 0 else f"(?P<{part}>[^/]+)" for i, part in enumerate(parts))
        object.__setattr__(self, "_pattern", re.compile(regex))

    def match(self, path: str) -> dict[str, str] | None:
        """The path parameters when ``path`` is this route's, else None."""
        found = self._pattern.fullmatch(path)  # not match(...$): "$" also matches before a final newline
        return None if found is None else found.groupdict()

    @property
    def methods(self) -> list[str]:
        """The methods answered here, sorted (``GET`` brings ``HEAD``): the ``Allow`` of a 405."""
        methods = {op.method for op in self.operations}
        if "GET" in methods:
            methods.add("HEAD")
        return sorted(methods)

    def operation(self, method: str) -> Operation | None:
        """The operation for ``method`` (``HEAD`` is answered as ``GET``)."""
        wanted = "GET" if method == "HEAD" else method
        return next((op for op in self.operations if op.method == wanted), None)


_INVALID = (400, "Malformed JSON or an invalid field (see `errors`)")
_TOO_LARGE = (413, "Body over 64 KiB")
_NOT_JSON = (415, "Body is not application/json")
_STORAGE = (503, "Storage unavailable")
_NO_KEY = (401, "Missing, invalid or revoked API key")
_MISMATCH = (403, "The key is not valid for projectId, or the project is suspended (`project_suspended`)")
_SUSPENDED = (403, "The key's project is suspended by the operator (`project_suspended`)")
_TOKEN_ID = Parameter("tokenId", "path")

#: Literal paths before templated ones: ``/api/tokens/validate`` is never a token id.
ROUTES: tuple[Route, ...] = (
    Route(
        "/api/tokens",
        (
            Operation(
                "POST",
                "create_token",
                "createToken",
                "Issue a code for a recipient",
                201,
                "Created",
                CreatedTokenResponse,
                CreateTokenRequest,
                api_key="required",
                headers="rate",
                parameters=(Parameter("Idempotency-Key", "header", required=False, max_length=255),),
                errors=(
                    _INVALID,
                    _TOO_LARGE,
                    _NOT_JSON,
                    _STORAGE,
                    _NO_KEY,
                    _MISMATCH,
                    (409, "An earlier request with this Idempotency-Key is still in progress or differed"),
                    (429, "Rate limited; see Retry-After"),
                    (502, "Delivery failed; no usable code was left"),
                ),
            ),
        ),
    ),
    Route(
        "/api/tokens/validate",
        (
            Operation(
                "POST",
                "validate_token",
                "validateToken",
                "Check a code (approved at most once)",
                200,
                "The verdict",
                ValidationResponse,
                ValidateTokenRequest,
                api_key="optional",
                headers="request_id",
                errors=(
                    _INVALID,
                    _TOO_LARGE,
                    _NOT_JSON,
                    _STORAGE,
                    (
                        401,
                        "Invalid or revoked API key, or no key for a project with validateRequiresKey "
                        "(the key is optional for other projects)",
                    ),
                    _MISMATCH,
                    (404, "No such project"),
                    (429, "Too many validates without an API key from this address; see Retry-After"),
                ),
            ),
        ),
    ),
    Route(
        "/api/tokens/{tokenId}",
        (
            Operation(
                "GET",
                "get_token",
                "getToken",
                "A token's state (never its code)",
                200,
                "The token",
                TokenStateResponse,
                api_key="required",
                headers="request_id",
                parameters=(_TOKEN_ID,),
                errors=(_NO_KEY, _SUSPENDED, (404, "No token with this id in the key's project"), _STORAGE),
            ),
            Operation(
                "DELETE",
                "cancel_token",
                "cancelToken",
                "Cancel an open token",
                204,
                "Cancelled",
                api_key="required",
                headers="request_id",
                parameters=(_TOKEN_ID,),
                errors=(_NO_KEY, _SUSPENDED, (404, "No open token with this id in the key's project"), _STORAGE),
            ),
        ),
    ),
    Route(
        TWILIO_STATUS_PATH,
        (
            Operation(
                "POST",
                "twilio_status",
                "twilioStatus",
                "Twilio's status callback for an SMS (signed with X-Twilio-Signature)",
                204,
                "Recorded (or a status octotp does not track)",
                request_model=TwilioStatusCallback,
                parameters=(Parameter("X-Twilio-Signature", "header", max_length=128),),
                errors=(
                    (400, "A required form field is missing or invalid (see `errors`)"),
                    (403, "Missing or invalid X-Twilio-Signature (`invalid_signature`)"),
                    (404, "No message with this MessageSid, or Twilio is not this server's SMS backend"),
                    _TOO_LARGE,
                    (415, "Body is not application/x-www-form-urlencoded"),
                    _STORAGE,
                ),
                request_media_type="application/x-www-form-urlencoded",
            ),
        ),
    ),
    Route("/healthz", (Operation("GET", "health", "health", "Liveness", 200, "Alive"),)),
    Route(
        "/readyz",
        (
            Operation(
                "GET",
                "ready",
                "ready",
                "Readiness: storage and rate-limit storage answer",
                200,
                "Ready",
                errors=((503, "Storage or rate-limit storage down"),),
            ),
        ),
    ),
    Route("/openapi.json", (Operation("GET", "openapi", "openapi", "This document", 200, "OK", documented=False),)),
)


def find_route(path: str) -> tuple[Route, dict[str, str]] | None:
    """The route answering ``path`` (relative to octotp's mount) and its path parameters."""
    for route in ROUTES:
        params = route.match(path)
        if params is not None:
            return route, params
    return None


@dataclass(frozen=True)
class Claim:
    """A path octotp answers when mounted at a host's root: ``path`` itself, and with ``subtree``
    everything below ``path + "/"`` too (so odd ids still get core's problem+json 404)."""

    path: str
    subtree: bool


def root_claims() -> tuple[Claim, ...]:
    """The API paths octotp claims at the root of a host app, derived from ``ROUTES`` (the
    dashboard, answered by its own handler, is ``DASHBOARD_PATH`` and its subtree).

    A templated route claims the subtree of its literal head (``/api/tokens/{tokenId}`` claims
    ``/api/tokens/...``); a literal path inside a claimed subtree needs no claim of its own. Under a
    prefix an adapter claims everything below the prefix instead, where its router can say so.
    """
    claims = []
    for route in ROUTES:
        head, templated, _ = route.path.partition("{")
        claims.append(Claim(head.rstrip("/"), True) if templated else Claim(route.path, False))
    subtrees = [c.path for c in claims if c.subtree]
    kept = [c for c in claims if c.subtree or not any(c.path == s or c.path.startswith(s + "/") for s in subtrees)]
    return tuple(dict.fromkeys(kept))


def normalise_prefix(prefix: str | None) -> str:
    """``"octotp/"`` → ``"/octotp"``; empty or ``"/"`` → ``""`` (the app root)."""
    stripped = (prefix or "").strip().strip("/")
    return f"/{stripped}" if stripped else ""


@dataclass(frozen=True)
class Mount:
    """Where octotp sits in a host: ``prefix`` is where the host mounts it inside its app (``""`` at
    the root), ``script_root`` where the host app itself is mounted (WSGI ``SCRIPT_NAME``, ASGI
    ``root_path``). Paths given to its methods are below ``script_root``, as the app sees them."""

    prefix: str = ""
    script_root: str = ""

    @classmethod
    def around(cls, path: str, tail: str, script_root: str = "") -> Mount:
        """The mount of ``path`` whose part below the mount is ``tail``: for routers that hand over
        the matched tail rather than the prefix (Django's ``include()``)."""
        head = path[: len(path) - len(tail)] if tail and path.endswith(tail) else path
        return cls(normalise_prefix(head), script_root)

    def app_path(self, full_path: str) -> str:
        """A path as the server saw it (with ``script_root``) → as the app sees it."""
        root = self.script_root
        return full_path[len(root) :] if root and full_path.startswith(root) else full_path

    def api_path(self, path: str) -> str:
        """The path ``ApiHandler`` routes: ``path`` below the prefix (``/`` for the prefix itself)."""
        prefix = self.prefix
        return (path[len(prefix) :] if prefix and path.startswith(prefix) else path) or "/"

    @property
    def dashboard_base(self) -> str:
        """Where the dashboard is, as the browser sees it: what ``DashboardHandler`` puts in links."""
        return self.script_root + self.prefix + DASHBOARD_PATH

    def dashboard_path(self, path: str) -> str:
        """The path ``DashboardHandler`` routes: ``path`` below ``<prefix>/dashboard`` (``""`` for the
        dashboard's own root)."""
        mount = self.prefix + DASHBOARD_PATH
        return path[len(mount) :] if path.startswith(mount) else path
