"""``create_router``: the token API and the dashboard as a FastAPI ``APIRouter`` for a host app.

Each endpoint reads the raw request, hands it to core's ``ApiHandler`` in a worker thread (argon2
never blocks the event loop) and returns core's response unchanged, so FastAPI answers
byte-for-byte what every other adapter answers. The dashboard (``<prefix>/dashboard``) is handed to
core's ``DashboardHandler`` the same way, in a worker thread too (logins verify argon2 passwords).
The pydantic models and the ``X-Api-Key`` security
scheme are declared only so the host's OpenAPI docs show the API.
"""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Security
from fastapi import Request as FastAPIRequest
from fastapi import Response as FastAPIResponse
from fastapi.security import APIKeyHeader
from starlette.concurrency import run_in_threadpool
from starlette.convertors import Convertor, register_url_convertor

from octotp_core import Octotp
from octotp_core.dashboard import DashboardHandler
from octotp_core.http import MAX_BODY_BYTES, ApiHandler, Request
from octotp_core.http.models import (
    CreatedTokenResponse,
    CreateTokenRequest,
    Problem,
    ValidateTokenRequest,
    ValidationResponse,
)
from octotp_core.inprocess import InProcessApi


class _AnyPath(Convertor[str]):
    """Like ``path`` but also matching newlines, so no odd path escapes core's problem+json 404."""

    regex = r"[\s\S]*"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("octotp_any", _AnyPath())

api_key_header = APIKeyHeader(name="X-Api-Key", auto_error=False, description="Your project's API key")
ApiKey = Annotated[str | None, Security(api_key_header)]
_OTHER_METHODS = ["GET", "PUT", "PATCH", "DELETE", "POST", "HEAD", "OPTIONS"]


_installed: list[Octotp] = []


def get_octotp(request: FastAPIRequest) -> Octotp:
    """Dependency: the ``Octotp`` installed on the app (``app.state.octotp``) for in-process use."""
    octotp: Octotp = request.app.state.octotp
    return octotp


def _current() -> Octotp:
    if not _installed:
        raise RuntimeError("octotp is not installed: call octotp_fastapi.install(app, octotp) first")
    return _installed[-1]


OctotpDep = Annotated[Octotp, Depends(get_octotp)]

# The names every adapter exports, bound to the most recently installed Octotp. Inside an endpoint
# prefer ``Depends(get_octotp)``, which is exact when a process has several apps.
_api = InProcessApi(_current)
create_token = _api.create_token
validate_token = _api.validate_token
cancel_token = _api.cancel_token


def _body_schema(model: type[Any]) -> dict[str, Any]:
    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": model.model_json_schema(by_alias=True)}},
        }
    }


async def _read_body(request: FastAPIRequest) -> bytes:
    """Read at most one byte past the limit, so the handler can answer 413 without buffering a flood."""
    chunks, size = [], 0
    async for chunk in request.stream():
        chunks.append(chunk)
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            break
    return b"".join(chunks)


def _neutral(request: FastAPIRequest, path: str, body: bytes) -> Request:
    return Request(
        method=request.method,
        path=path,
        headers=dict(request.headers),
        body=body,
        query_string=request.url.query,
        client=request.client.host if request.client else None,
        scheme=request.url.scheme,
    )


def _native(response: Any) -> FastAPIResponse:
    out = FastAPIResponse(content=response.body, status_code=response.status)
    del out.headers["content-length"]
    for name, value in response.headers:
        out.headers.append(name, value)
    out.headers["content-length"] = str(len(response.body))
    return out


def create_router(
    octotp: Octotp,
    *,
    prefix: str = "",
    tags: list[str | Enum] | None = None,
    dashboard: bool | None = None,
) -> APIRouter:
    """An ``APIRouter`` serving the octotp API (DESIGN §4) under ``prefix`` for ``octotp``, and the
    dashboard at ``<prefix>/dashboard`` unless ``dashboard=False`` (default: the ``dashboard`` setting)."""
    handler = ApiHandler(octotp)
    router = APIRouter(prefix=prefix, tags=tags or ["octotp"])

    async def forward(request: FastAPIRequest) -> FastAPIResponse:
        relative = request.url.path[len(request.scope.get("root_path", "")) :]
        relative = relative[len(prefix) :] if prefix and relative.startswith(prefix) else relative
        neutral = _neutral(request, relative, await _read_body(request))
        return _native(await run_in_threadpool(handler.handle, neutral))

    problems: dict[int | str, dict[str, Any]] = {
        status: {"model": Problem, "description": text}
        for status, text in [
            (400, "Malformed JSON or an invalid field"),
            (401, "Missing, invalid or revoked API key"),
            (403, "The key is not valid for projectId"),
            (404, "No such token or project"),
            (409, "Idempotency-Key reused or in progress"),
            (413, "Body over 64 KiB"),
            (415, "Body is not application/json"),
            (429, "Rate limited (see Retry-After)"),
            (502, "Delivery failed"),
            (503, "Storage unavailable"),
        ]
    }

    async def create_token(request: FastAPIRequest, api_key: ApiKey = None) -> FastAPIResponse:
        """Issue a code for an email or phone recipient."""
        return await forward(request)

    async def validate_token(request: FastAPIRequest, api_key: ApiKey = None) -> FastAPIResponse:
        """Check a code; ``approved`` happens at most once per code."""
        return await forward(request)

    async def cancel_token(token_id: str, request: FastAPIRequest, api_key: ApiKey = None) -> FastAPIResponse:
        """Cancel an open token."""
        return await forward(request)

    async def plain(request: FastAPIRequest) -> FastAPIResponse:
        return await forward(request)

    router.add_api_route(
        "/api/tokens",
        create_token,
        methods=["POST"],
        status_code=201,
        response_model=CreatedTokenResponse,
        responses=problems,
        openapi_extra=_body_schema(CreateTokenRequest),
        operation_id="octotp_create_token",
    )
    router.add_api_route(
        "/api/tokens/validate",
        validate_token,
        methods=["POST"],
        response_model=ValidationResponse,
        responses=problems,
        openapi_extra=_body_schema(ValidateTokenRequest),
        operation_id="octotp_validate_token",
    )
    router.add_api_route(
        "/api/tokens/{token_id}",
        cancel_token,
        methods=["DELETE"],
        status_code=204,
        responses=problems,
        operation_id="octotp_cancel_token",
    )
    for path in ("/healthz", "/readyz", "/openapi.json"):
        router.add_api_route(path, plain, methods=["GET", "HEAD"], include_in_schema=path != "/openapi.json")
    # Wrong methods on octotp paths get core's 405 problem, not FastAPI's own body.
    for path, used in [
        ("/api/tokens", "POST"),
        ("/api/tokens/validate", "POST"),
        ("/api/tokens/{token_id}", "DELETE"),
        ("/healthz", "GET"),
        ("/readyz", "GET"),
        ("/openapi.json", "GET"),
    ]:
        others = [m for m in _OTHER_METHODS if m != used and not (used == "GET" and m == "HEAD")]
        router.add_api_route(path, plain, methods=others, include_in_schema=False)
    if octotp.settings.dashboard if dashboard is None else dashboard:
        _add_dashboard(router, octotp, prefix)
    if prefix:
        # Everything else under octotp's own prefix is octotp's to answer (problem+json 404).
        router.add_api_route("/{rest:octotp_any}", plain, methods=_OTHER_METHODS, include_in_schema=False)
    return router


def _add_dashboard(router: APIRouter, octotp: Octotp, prefix: str) -> None:
    """``<prefix>/dashboard`` and everything below it, answered by core's ``DashboardHandler``."""
    handler = DashboardHandler(octotp)

    async def dashboard(request: FastAPIRequest) -> FastAPIResponse:
        mount = request.scope.get("root_path", "") + prefix + "/dashboard"
        path = request.url.path
        relative = path[len(mount) :] if path.startswith(mount) else path
        neutral = _neutral(request, relative, await _read_body(request))
        # A worker thread: logins verify argon2 passwords, which must never block the event loop.
        return _native(await run_in_threadpool(handler.handle, neutral, mount))

    for path in ("/dashboard", "/dashboard/{rest:octotp_any}"):
        router.add_api_route(path, dashboard, methods=_OTHER_METHODS, include_in_schema=False)


def install(app: Any, octotp: Octotp, *, prefix: str = "", dashboard: bool | None = None) -> Octotp:
    """Mount the router (API and dashboard) on ``app`` and make ``octotp`` available to ``Depends(get_octotp)``."""
    app.state.octotp = octotp
    app.include_router(create_router(octotp, prefix=prefix, dashboard=dashboard))
    _installed.append(octotp)
    return octotp
