"""The blueprint that mounts octotp's HTTP API and dashboard: Werkzeug request in, core ``Request``;
core ``Response`` out, Flask response. Every decision (routing, 404/405, 413, 415, auth, errors,
pages, sessions, CSRF) is the core ``ApiHandler``'s or ``DashboardHandler``'s; this module only
translates."""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, Response, request
from flask.blueprints import BlueprintSetupState
from werkzeug.routing import PathConverter
from werkzeug.wsgi import get_input_stream

from octotp_core import http
from octotp_core.dashboard import DashboardHandler

#: Paths octotp claims when mounted at the app root, so the host keeps its own 404 pages.
#: Under a prefix, every path below the prefix is octotp's.
ROOT_RULES = ("/api/tokens", "/api/tokens/<octotp_path:rest>", "/healthz", "/readyz", "/openapi.json")
PREFIX_RULES = ("/", "/<octotp_path:rest>")
#: The dashboard, below the API's mount (more specific than the prefix catch-all, so Werkzeug picks it).
DASHBOARD_RULES = ("/dashboard", "/dashboard/", "/dashboard/<octotp_path:rest>")
#: Every method reaches the handler, which answers 405 itself with the right ``Allow``.
METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"]


class AnyPath(PathConverter):
    """Like ``path``, but also matching newlines and empty segments: every path is the handler's to answer."""

    regex = "(?s:.+)"
    part_isolating = False


def normalise_prefix(url_prefix: str | None) -> str:
    """``"octotp/"`` → ``"/octotp"``; empty or ``"/"`` → ``""`` (the app root)."""
    prefix = (url_prefix or "").strip().strip("/")
    return f"/{prefix}" if prefix else ""


def make_blueprint(
    url_prefix: str,
    handler: Callable[[], http.ApiHandler],
    dashboard: Callable[[], DashboardHandler] | None = None,
) -> Blueprint:
    """A blueprint named ``octotp`` whose views hand every API request to ``handler()`` and, when
    ``dashboard`` is given, every request below ``<url_prefix>/dashboard`` to ``dashboard()``.

    Register it with ``url_prefix`` (already normalised).
    """
    blueprint = Blueprint("octotp", __name__)
    blueprint.record_once(_add_converter)

    def api(rest: str = "") -> Response:
        # request.path is already relative to the WSGI mount (SCRIPT_NAME); drop our own prefix.
        path = request.path[len(url_prefix) :] or "/"
        return to_flask(handler().handle(to_neutral(path)))

    for rule in ROOT_RULES + PREFIX_RULES if url_prefix else ROOT_RULES:
        blueprint.add_url_rule(
            rule,
            "api",
            api,
            methods=METHODS,
            provide_automatic_options=False,  # OPTIONS is the handler's to answer too
            strict_slashes=False,  # never redirect: a stray slash is the handler's 404
            merge_slashes=False,
        )
    if dashboard is not None:
        mount = url_prefix + "/dashboard"

        def dashboard_view(rest: str = "") -> Response:
            base = request.script_root + mount
            return to_flask(dashboard().handle(to_neutral(request.path[len(mount) :]), base))

        for rule in DASHBOARD_RULES:
            blueprint.add_url_rule(
                rule,
                "dashboard",
                dashboard_view,
                methods=METHODS,
                provide_automatic_options=False,
                strict_slashes=False,
                merge_slashes=False,
            )
    return blueprint


def to_neutral(path: str) -> http.Request:
    """The current Flask request as core's neutral request, with ``path`` relative to the mount."""
    return http.Request(
        method=request.method,
        path=path,
        headers=dict(request.headers.items()),
        body=read_body(http.MAX_BODY_BYTES + 1),
        query_string=request.environ.get("QUERY_STRING", ""),
        client=request.remote_addr,
        scheme=request.scheme,
    )


def _add_converter(state: BlueprintSetupState) -> None:
    state.app.url_map.converters.setdefault("octotp_path", AnyPath)


def read_body(limit: int) -> bytes:
    """At most ``limit`` bytes of the request body, so a huge body never sits in memory.

    The handler sees ``MAX_BODY_BYTES + 1`` bytes of an oversized body and answers 413 itself. The
    raw WSGI stream is read rather than ``request.stream`` so a host's ``MAX_CONTENT_LENGTH`` does
    not turn octotp's answer into Flask's HTML 413.
    """
    stream = get_input_stream(request.environ)
    chunks: list[bytes] = []
    remaining = limit
    while remaining > 0:
        chunk = stream.read(remaining)
        if not chunk:
            break
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def to_flask(answer: http.Response) -> Response:
    """The core response, status, headers and body unchanged."""
    response = Response(answer.body, status=answer.status)
    response.headers.clear()  # drop Werkzeug's default Content-Type; Content-Length is added back on send
    for name, value in answer.headers:
        response.headers.add(name, value)
    return response
