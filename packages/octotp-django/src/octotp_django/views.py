"""The API and dashboard views: translate ``HttpRequest`` to the core neutral ``Request`` and the
core ``Response`` back, byte for byte. Every decision (routing, auth, JSON, errors, pages, sessions,
CSRF) is core's.

The view is CSRF-exempt (the API authenticates by ``X-Api-Key``, never by cookie) and opts out of
``ATOMIC_REQUESTS`` on every database: like the reference store, each step commits on its own, so
a wrong guess is counted and no row lock is held while a code is hashed. With octotp's own accounts
(the default) the dashboard view is CSRF-exempt too: core checks its own per-session CSRF token and
the Origin on every POST, and uses its own session cookie (``octotp_session``), so Django's CSRF and
session middleware stay out of it. With ``OCTOTP["DASHBOARD_AUTH"] = "django"`` the user is
``request.user`` (``auth.host_identity``) and the view is ``csrf_protect``: Django refuses a POST
without its ``csrfmiddlewaretoken`` (every dashboard form carries it) before core's own check.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.views.decorators.csrf import csrf_exempt, csrf_protect

from octotp_core import HostIdentity, HostLogin
from octotp_core.http import DASHBOARD_PATH, MAX_BODY_BYTES, METRICS_PATH, Mount, Request, Response, metrics_response

from .api import get_api_handler, get_dashboard_handler, get_octotp
from .auth import host_identity, host_login
from .conf import dashboard_auth


def _headers(meta: Mapping[str, Any]) -> dict[str, str]:
    """``dict(request.headers)`` without building Django's case-insensitive ``HttpHeaders`` first
    (the same names and values, at a third of the cost)."""
    headers = {}
    for key, value in meta.items():
        if key.startswith("HTTP_"):
            headers[key[5:].replace("_", "-").title()] = value
        elif key == "CONTENT_TYPE" or key == "CONTENT_LENGTH":
            headers[key.replace("_", "-").title()] = value
    return headers


def to_neutral_request(request: HttpRequest, path: str) -> Request:
    """The neutral request for a Django request; ``path`` is relative to where the URLs are included."""
    try:
        body = request.body
    except RequestDataTooBig:  # larger than DATA_UPLOAD_MAX_MEMORY_SIZE: enough for core to answer 413
        body = request.read(MAX_BODY_BYTES + 1)
    return Request(
        method=request.method or "GET",
        path=path,
        headers=_headers(request.META),
        body=body,
        query_string=request.META.get("QUERY_STRING", ""),
        client=request.META.get("REMOTE_ADDR") or None,
        scheme=request.scheme or "http",
    )


def to_native_response(response: Response) -> HttpResponse:
    """The Django response for a neutral one, with exactly its status, headers and body."""
    out = HttpResponse(response.body, status=response.status)
    del out["Content-Type"]  # core sets its own (or none, for 204)
    for name, value in response.headers:
        if name.lower() == "set-cookie":
            out.cookies.load(value)
        elif out.has_header(name):
            out[name] = f"{out[name]}, {value}"
        else:
            out[name] = value
    return out


def _non_atomic(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    for alias in settings.DATABASES:
        view = transaction.non_atomic_requests(using=alias)(view)
    return view


@csrf_exempt
@_non_atomic
def api(request: HttpRequest, path: str) -> HttpResponse:
    """Answer any octotp API path (``api/...``, ``healthz``, ``readyz``, ``openapi.json``)."""
    mount = Mount.around(request.path, path)
    neutral = to_neutral_request(request, mount.api_path(request.path))
    return to_native_response(get_api_handler().handle(neutral))


@csrf_exempt
@_non_atomic
def metrics_view(request: HttpRequest) -> HttpResponse:
    """octotp's Prometheus metrics, for the host's URLconf (``path("metrics", metrics_view)``): the
    exposition for ``Authorization: Bearer <OCTOTP["METRICS_TOKEN"]>``, a 401 problem otherwise, 404
    while ``OCTOTP["METRICS_ENABLED"]`` is off (core's ``metrics_response`` decides)."""
    return to_native_response(metrics_response(get_octotp(), to_neutral_request(request, METRICS_PATH)))


@csrf_exempt
@_non_atomic
def dashboard(request: HttpRequest, path: str | None = None) -> HttpResponse:
    """Answer any dashboard path (``dashboard``, ``dashboard/...``); off when ``OCTOTP["DASHBOARD"]`` is False.

    ``OCTOTP["DASHBOARD_AUTH"]`` is read on each request (``override_settings`` switches it): octotp's
    own accounts here, Django's users in ``host_dashboard``."""
    if not get_octotp().settings.dashboard:
        raise Http404("the octotp dashboard is turned off")
    # request.path, not path_info: the mount the browser sees includes the script prefix.
    mount = Mount.around(request.path, DASHBOARD_PATH.lstrip("/") + (path or ""))
    # The body is read here, before Django's CSRF check reads the form (request.POST parses it from
    # what was read; a multipart stream read first could not be read again).
    neutral = to_neutral_request(request, mount.dashboard_path(request.path))
    if dashboard_auth() != "django":
        return _answer(neutral, mount)
    if len(neutral.body) > MAX_BODY_BYTES:
        # Core answers 413 before any view runs; Django's CSRF check could not read such a form.
        return _answer(neutral, mount, host_login=host_login())
    return host_dashboard(request, neutral, mount)


@csrf_protect
def host_dashboard(request: HttpRequest, neutral: Request, mount: Mount) -> HttpResponse:
    """The dashboard signed in by Django: ``request.user`` is the user (anonymous: a 303 to
    ``LOGIN_URL`` with ``next``), Django's CSRF protects every POST and every form carries its token."""
    return _answer(
        neutral,
        mount,
        host_login=host_login(),
        identity=host_identity(getattr(request, "user", None)),
        host_csrf=("csrfmiddlewaretoken", get_token(request)),
    )


def _answer(
    neutral: Request,
    mount: Mount,
    *,
    host_login: HostLogin | None = None,
    identity: HostIdentity | None = None,
    host_csrf: tuple[str, str] | None = None,
) -> HttpResponse:
    answer = get_dashboard_handler().handle(
        neutral, mount.dashboard_base, identity=identity, host_csrf=host_csrf, host_login=host_login
    )
    response = to_native_response(answer)
    # The handler logged this request itself, its path redacted (an invitation link's token is in
    # the path): Django's own "Not Found: <path>" line for a 4xx would repeat it unredacted. The flag
    # is what django.utils.log.log_response checks to log a response once.
    response._has_been_logged = True  # type: ignore[attr-defined]
    return response
