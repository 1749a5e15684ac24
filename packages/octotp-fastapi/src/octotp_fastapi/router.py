"""``create_router``: the token API and the dashboard as a FastAPI ``APIRouter`` for a host app.

Each endpoint reads the raw request, hands it to core's ``ApiHandler`` in a worker thread (argon2
never blocks the event loop) and returns core's response unchanged, so FastAPI answers
byte-for-byte what every other adapter answers. The dashboard (``<prefix>/dashboard``) is handed to
core's ``DashboardHandler`` the same way, in a worker thread too (logins verify argon2 passwords).
With ``dashboard_auth`` (a dependency of the host's own, resolved by FastAPI) the dashboard uses the
host's users instead of octotp's accounts: the dependency's ``HostIdentity`` (or None) goes to core,
which decides everything else (``octotp_core.HostLogin``).
Routes, operation ids and documented responses come from core's route table
(``octotp_core.http.ROUTES``); the pydantic models and the ``X-Api-Key`` security scheme are
declared only so the host's OpenAPI docs show the API.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from enum import Enum
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Security
from fastapi import Request as FastAPIRequest
from fastapi import Response as FastAPIResponse
from fastapi.routing import APIRoute
from fastapi.security import APIKeyHeader
from starlette.concurrency import run_in_threadpool
from starlette.convertors import Convertor, register_url_convertor
from starlette.types import ASGIApp, Receive, Scope, Send

from octotp_core import HostIdentity, HostLogin, Octotp
from octotp_core.dashboard import DashboardHandler
from octotp_core.http import (
    DASHBOARD_PATH,
    MAX_BODY_BYTES,
    ROUTES,
    ApiHandler,
    Mount,
    Operation,
    Request,
    Response,
    normalise_prefix,
)
from octotp_core.http.models import Problem
from octotp_core.inprocess import InProcessApi
from octotp_core.ratelimit import worker_storage_warning
from octotp_core.store import SqlAlchemyStore


class _AnyPath(Convertor[str]):
    """Like ``path`` but also matching newlines, so no odd path escapes core's problem+json 404."""

    regex = r"[\s\S]*"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("octotp_any", _AnyPath())

log = logging.getLogger("octotp.fastapi")

Forward = Callable[[FastAPIRequest], Awaitable[FastAPIResponse]]

api_key_header = APIKeyHeader(name="X-Api-Key", auto_error=False, description="Your project's API key")
ApiKey = Annotated[str | None, Security(api_key_header)]
_ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]

DashboardAuth = Callable[..., Any]
"""A FastAPI dependency (a sync or async callable, which may declare ``Depends(...)``, ``Request``,
cookies, ...) returning the current host user's ``HostIdentity``, or None for an anonymous visitor."""

DEFAULT_LOGIN_URL = "/login"

_installed: list[Octotp] = []
_current: ContextVar[Octotp | None] = ContextVar("octotp_fastapi_current", default=None)


def get_octotp(request: FastAPIRequest = None) -> Octotp:  # type: ignore[assignment]
    """The ``Octotp`` of the app handling ``request`` (``app.state.octotp``); a dependency too
    (``Depends(get_octotp)``, or the ``OctotpDep`` annotation).

    Called with no request, as in Flask and Django: the app of the request being handled (any
    endpoint of an app ``install`` was called on), else the most recently installed one.
    """
    if request is not None:
        octotp: Octotp = request.app.state.octotp
        return octotp
    current = _current.get()
    if current is not None:
        return current
    if not _installed:
        raise RuntimeError("octotp is not installed: call octotp_fastapi.install(app, octotp) first")
    return _installed[-1]


OctotpDep = Annotated[Octotp, Depends(get_octotp)]

# The names every adapter exports, bound to the Octotp of the current request's app (else the most
# recently installed one).
_api = InProcessApi(get_octotp)
create_token = _api.create_token
validate_token = _api.validate_token
cancel_token = _api.cancel_token


class CurrentOctotpMiddleware:
    """ASGI middleware making ``get_octotp()`` (no argument) return this app's ``Octotp`` while it
    handles a request; added by ``install``."""

    def __init__(self, app: ASGIApp, octotp: Octotp) -> None:
        self.app, self.octotp = app, octotp

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        token = _current.set(self.octotp)
        try:
            await self.app(scope, receive, send)
        finally:
            _current.reset(token)


async def _read_body(request: FastAPIRequest) -> bytes:
    """Read at most one byte past the limit, so the handler can answer 413 without buffering a flood."""
    chunks, size = [], 0
    async for chunk in request.stream():
        chunks.append(chunk)
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            break
    return b"".join(chunks)


async def to_neutral_request(request: FastAPIRequest, path: str) -> Request:
    """A FastAPI request as core's neutral request, with ``path`` relative to the mount (reads the body)."""
    body = await _read_body(request)
    return Request(
        method=request.method,
        path=path,
        headers=dict(request.headers),
        body=body,
        query_string=request.url.query,
        client=request.client.host if request.client else None,
        scheme=request.url.scheme,
    )


def to_native_response(response: Response) -> FastAPIResponse:
    """The FastAPI response for a neutral one, with exactly its status, headers and body."""
    out = FastAPIResponse(content=response.body, status_code=response.status)
    del out.headers["content-length"]
    for name, value in response.headers:
        out.headers.append(name, value)
    out.headers["content-length"] = str(len(response.body))
    return out


def route_named(router: APIRouter, name: str) -> APIRoute:
    """The route called ``name`` (every octotp route is named ``octotp_<operation name>``)."""
    routes = {route.name: route for route in router.routes if isinstance(route, APIRoute)}
    return routes[name]


def _endpoint(forward: Forward, operation: Operation) -> Callable[..., Awaitable[FastAPIResponse]]:
    """An endpoint with the signature FastAPI documents: the ``X-Api-Key`` security scheme when the
    operation uses a key. Path parameters and the body are documented from the table (core reads them)."""
    if operation.api_key is None:

        async def plain(request: FastAPIRequest) -> FastAPIResponse:
            return await forward(request)

        return plain

    async def with_key(request: FastAPIRequest, api_key: ApiKey = None) -> FastAPIResponse:
        return await forward(request)

    return with_key


def _documented(operation: Operation) -> dict[str, Any]:
    """``add_api_route`` arguments documenting ``operation`` with core's pydantic models."""
    extra: dict[str, Any] = {}
    if operation.parameters:
        extra["parameters"] = [p.openapi() for p in operation.parameters]
    if operation.request_model:
        schema = operation.request_model.model_json_schema(by_alias=True)
        extra["requestBody"] = {"required": True, "content": {operation.request_media_type: {"schema": schema}}}
    return {
        "methods": [operation.method],
        "status_code": operation.status,
        "response_model": operation.response_model,
        "responses": {status: {"model": Problem, "description": text} for status, text in operation.errors},
        "summary": operation.summary,
        "openapi_extra": extra or None,
        "operation_id": f"octotp_{operation.name}",
        "name": f"octotp_{operation.name}",
    }


def create_router(
    octotp: Octotp,
    *,
    prefix: str = "",
    tags: list[str | Enum] | None = None,
    dashboard: bool | None = None,
    dashboard_auth: DashboardAuth | None = None,
    login_url: str | None = DEFAULT_LOGIN_URL,
    logout_url: str | None = None,
) -> APIRouter:
    """An ``APIRouter`` serving the octotp API (DESIGN §4) under ``prefix`` for ``octotp``, and the
    dashboard at ``<prefix>/dashboard`` unless ``dashboard=False`` (default: the ``dashboard`` setting).

    ``dashboard_auth``: the dashboard uses the host's users, not octotp's own accounts. It is a
    FastAPI dependency returning the signed-in user's ``HostIdentity``, or None (anonymous visitors
    are sent to ``login_url`` with ``?next=``; "Sign out" goes to ``logout_url``, default ``/``).

    Its routes come from core's route table; each is named ``octotp_<operation name>``
    (``octotp_create_token``, ``octotp_health``, ...)."""
    with_dashboard = octotp.settings.dashboard if dashboard is None else dashboard
    host_login = host_login_for(dashboard_auth, login_url, logout_url, dashboard=with_dashboard)
    prefix = normalise_prefix(prefix)
    handler = ApiHandler(octotp)
    router = APIRouter(prefix=prefix, tags=tags or ["octotp"])

    async def forward(request: FastAPIRequest) -> FastAPIResponse:
        mount = Mount(prefix, request.scope.get("root_path", ""))
        neutral = await to_neutral_request(request, mount.api_path(mount.app_path(request.url.path)))
        return to_native_response(await run_in_threadpool(handler.handle, neutral))

    for route in ROUTES:
        for operation in route.operations:
            documented = _documented(operation)
            if operation.documented:
                router.add_api_route(route.path, _endpoint(forward, operation), **documented)
            else:
                router.add_api_route(
                    route.path, forward, methods=[operation.method], name=documented["name"], include_in_schema=False
                )
        # Every other method (HEAD too) still reaches core, for its 405 problem with the right Allow.
        others = [m for m in _ALL_METHODS if m not in {op.method for op in route.operations}]
        router.add_api_route(route.path, forward, methods=others, include_in_schema=False)
    if with_dashboard:
        add_dashboard(router, octotp, prefix, dashboard_auth=dashboard_auth, host_login=host_login)
    if prefix:
        # Everything else under octotp's own prefix is octotp's to answer (problem+json 404).
        router.add_api_route("/{rest:octotp_any}", forward, methods=_ALL_METHODS, include_in_schema=False)
    return router


def host_login_for(
    dashboard_auth: DashboardAuth | None, login_url: str | None, logout_url: str | None, *, dashboard: bool
) -> HostLogin | None:
    """Core's ``HostLogin`` for these ``install``/``create_router`` arguments (None: octotp's own
    accounts); a ``ValueError`` (``TypeError`` for a dependency that is not callable) says which
    argument does not fit."""
    if dashboard_auth is None:
        if login_url != DEFAULT_LOGIN_URL or logout_url is not None:
            raise ValueError(
                "login_url and logout_url are for the host's login: give dashboard_auth too "
                "(without it the dashboard uses octotp's own accounts)"
            )
        return None
    if not callable(dashboard_auth):
        raise TypeError(f"dashboard_auth must be a FastAPI dependency (a callable), not {dashboard_auth!r}")
    if not dashboard:
        raise ValueError(
            "dashboard_auth is given but the dashboard is off (dashboard=False or the dashboard setting): "
            "turn the dashboard on, or leave dashboard_auth out"
        )
    if not login_url:
        raise ValueError(
            "dashboard_auth needs login_url: the path of your app's login page, where anonymous visitors "
            'of the dashboard are sent with ?next= (login_url="/login")'
        )
    return HostLogin(login_url, logout_url)


def add_dashboard(
    router: APIRouter,
    octotp: Octotp,
    prefix: str,
    *,
    api_docs: str | None = None,
    site_root: bool = False,
    dashboard_auth: DashboardAuth | None = None,
    host_login: HostLogin | None = None,
) -> None:
    """``<prefix>/dashboard`` and everything below it, answered by core's ``DashboardHandler``.

    The standalone service also hands it ``/`` (``site_root``: core answers with the landing page or
    a redirect to the dashboard) and says where its API docs are (``api_docs``, for the landing page).
    In host mode (``host_login``) FastAPI resolves ``dashboard_auth`` for every dashboard request, as
    it resolves any endpoint's dependencies, and core gets the identity it returned."""
    handler = DashboardHandler(octotp, api_docs=api_docs, host_login=host_login)

    async def answer(request: FastAPIRequest, identity: HostIdentity | None) -> FastAPIResponse:
        if identity is not None and not isinstance(identity, HostIdentity):
            raise TypeError(f"dashboard_auth returned {identity!r}: it must return a HostIdentity, or None")
        mount = Mount(prefix, request.scope.get("root_path", ""))
        neutral = await to_neutral_request(request, mount.dashboard_path(mount.app_path(request.url.path)))
        # A worker thread: logins verify argon2 passwords, which must never block the event loop.
        answered = await run_in_threadpool(handler.handle, neutral, mount.dashboard_base, identity=identity)
        return to_native_response(answered)

    dashboard: Callable[..., Awaitable[FastAPIResponse]]
    if host_login is None:

        async def own_accounts(request: FastAPIRequest) -> FastAPIResponse:
            return await answer(request, None)

        dashboard = own_accounts
    else:
        # FastAPI's own dependency injection resolves the host's dependency (and whatever it depends
        # on) for every dashboard request, exactly as for any endpoint of the host app.
        host_user = Depends(dashboard_auth)

        async def host_users(request: FastAPIRequest, identity: HostIdentity | None = host_user) -> FastAPIResponse:
            return await answer(request, identity)

        dashboard = host_users

    for path in (DASHBOARD_PATH, DASHBOARD_PATH + "/{rest:octotp_any}"):
        router.add_api_route(path, dashboard, methods=_ALL_METHODS, include_in_schema=False)
    if site_root:

        async def home(request: FastAPIRequest) -> FastAPIResponse:
            mount = Mount(prefix, request.scope.get("root_path", ""))
            neutral = await to_neutral_request(request, "/")
            return to_native_response(await run_in_threadpool(handler.handle_site_root, neutral, mount.dashboard_base))

        router.add_api_route("/", home, methods=_ALL_METHODS, include_in_schema=False)


def install(
    app: Any,
    octotp: Octotp,
    *,
    prefix: str = "",
    dashboard: bool | None = None,
    handle_errors: bool = False,
    dashboard_auth: DashboardAuth | None = None,
    login_url: str | None = DEFAULT_LOGIN_URL,
    logout_url: str | None = None,
) -> Octotp:
    """Mount the router (API and dashboard) on ``app`` and make ``octotp`` what ``get_octotp()`` and
    ``Depends(get_octotp)`` return in its requests. ``handle_errors=True``: octotp errors raised in
    the app's own endpoints answer problem JSON (``octotp_fastapi.errors.handle_octotp_errors``).

    ``dashboard_auth``: a dependency of your app returning the signed-in user's ``HostIdentity`` (or
    None); the dashboard then uses your users and your login page (``login_url``, with ``?next=``)
    instead of octotp's own accounts. See ``create_router``."""
    router = create_router(
        octotp,
        prefix=prefix,
        dashboard=dashboard,
        dashboard_auth=dashboard_auth,
        login_url=login_url,
        logout_url=logout_url,
    )
    bind(app, octotp)
    app.include_router(router)
    if handle_errors:
        from .errors import handle_octotp_errors  # errors imports this module

        handle_octotp_errors(app)
    _installed.append(octotp)
    _warn_if_limits_are_per_process(app, octotp)
    return octotp


def _warn_if_limits_are_per_process(app: Any, octotp: Octotp) -> None:
    """A host app cannot see how many worker processes its server runs (``uvicorn --workers``,
    gunicorn): unless the app is in debug mode, say so when every process would count its own limits."""
    if getattr(app, "debug", False):
        return
    warning = worker_storage_warning(
        octotp.settings, database_storage_available=isinstance(octotp.store, SqlAlchemyStore)
    )
    if warning is not None:
        log.warning("%s (OCTOTP_RATE_LIMIT_STORAGE)", warning)


def bind(app: Any, octotp: Octotp) -> None:
    """Make ``octotp`` the app's own (``app.state.octotp``, and ``get_octotp()`` in its requests)."""
    app.state.octotp = octotp
    app.add_middleware(CurrentOctotpMiddleware, octotp=octotp)
