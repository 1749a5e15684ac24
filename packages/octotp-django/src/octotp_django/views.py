"""The API and dashboard views: translate ``HttpRequest`` to the core neutral ``Request`` and the
core ``Response`` back, byte for byte. Every decision (routing, auth, JSON, errors, pages, sessions,
CSRF) is core's.

The view is CSRF-exempt (the API authenticates by ``X-Api-Key``, never by cookie) and opts out of
``ATOMIC_REQUESTS`` on every database: like the reference store, each step commits on its own, so
a wrong guess is counted and no row lock is held while a code is hashed. The dashboard view is
CSRF-exempt too: core checks its own per-session CSRF token and the Origin on every POST, and uses
its own session cookie (``octotp_session``), so Django's CSRF and session middleware stay out of it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from octotp_core.http import DASHBOARD_PATH, MAX_BODY_BYTES, Mount, Request, Response

from .api import get_api_handler, get_dashboard_handler, get_octotp


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
def dashboard(request: HttpRequest, path: str | None = None) -> HttpResponse:
    """Answer any dashboard path (``dashboard``, ``dashboard/...``); off when ``OCTOTP["DASHBOARD"]`` is False."""
    if not get_octotp().settings.dashboard:
        raise Http404("the octotp dashboard is turned off")
    # request.path, not path_info: the mount the browser sees includes the script prefix.
    mount = Mount.around(request.path, DASHBOARD_PATH.lstrip("/") + (path or ""))
    neutral = to_neutral_request(request, mount.dashboard_path(request.path))
    response = to_native_response(get_dashboard_handler().handle(neutral, mount.dashboard_base))
    # The handler logged this request itself, its path redacted (an invitation link's token is in
    # the path): Django's own "Not Found: <path>" line for a 4xx would repeat it unredacted. The flag
    # is what django.utils.log.log_response checks to log a response once.
    response._has_been_logged = True  # type: ignore[attr-defined]
    return response
