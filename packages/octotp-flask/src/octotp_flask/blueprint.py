"""The blueprint that mounts octotp's HTTP API and dashboard: Werkzeug request in, core ``Request``;
core ``Response`` out, Flask response. Every decision (routing, 404/405, 413, 415, auth, errors,
pages, sessions, CSRF) is the core ``ApiHandler``'s or ``DashboardHandler``'s; this module only
translates."""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, Request, Response, request
from flask.blueprints import BlueprintSetupState
from werkzeug.routing import PathConverter
from werkzeug.wsgi import get_input_stream

from octotp_core import http
from octotp_core.http import DASHBOARD_PATH, Mount, root_claims

#: Under a prefix, every path below the prefix is octotp's.
PREFIX_RULES = ("/", "/<octotp_path:rest>")
#: Every method reaches the handler, which answers 405 itself with the right ``Allow``.
METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"]


class AnyPath(PathConverter):
    """Like ``path``, but also matching newlines and empty segments: every path is the handler's to answer."""

    regex = "(?s:.+)"
    part_isolating = False


def make_blueprint(
    url_prefix: str,
    handler: Callable[[], http.ApiHandler],
    dashboard: Callable[[http.Request, str], http.Response] | None = None,
) -> Blueprint:
    """A blueprint named ``octotp`` whose views hand every API request to ``handler()`` and, when
    ``dashboard`` is given, every request below ``<url_prefix>/dashboard`` to
    ``dashboard(request, base)`` (a core ``DashboardHandler.handle``, or the host login's
    ``HostDashboard``, called inside the Flask request).

    Register it with ``url_prefix`` (already normalised).
    """
    blueprint = Blueprint("octotp", __name__)
    blueprint.record_once(_add_converter)

    def api(rest: str = "") -> Response:
        # request.path is already relative to the WSGI mount (SCRIPT_NAME).
        path = Mount(url_prefix).api_path(request.path)
        return to_native_response(handler().handle(to_neutral_request(request, path)))

    for rule in root_rules() + PREFIX_RULES if url_prefix else root_rules():
        _add_rule(blueprint, rule, "api", api)
    if dashboard is not None:

        def dashboard_view(rest: str = "") -> Response:
            mount = Mount(url_prefix, request.script_root)
            neutral = to_neutral_request(request, mount.dashboard_path(request.path))
            return to_native_response(dashboard(neutral, mount.dashboard_base))

        for rule in _subtree_rules(DASHBOARD_PATH):
            _add_rule(blueprint, rule, "dashboard", dashboard_view)
    return blueprint


def root_rules() -> tuple[str, ...]:
    """The URL rules octotp claims at the app root: core's ``root_claims()`` in Werkzeug syntax, so
    the host keeps its own 404 pages everywhere else."""
    rules: list[str] = []
    for claim in root_claims():
        rules.extend(_subtree_rules(claim.path) if claim.subtree else (claim.path,))
    return tuple(rules)


def _subtree_rules(path: str) -> tuple[str, ...]:
    # AnyPath needs one character at least, so the bare trailing slash is a rule of its own.
    return (path, path + "/", path + "/<octotp_path:rest>")


def _add_rule(blueprint: Blueprint, rule: str, endpoint: str, view: Callable[..., Response]) -> None:
    blueprint.add_url_rule(
        rule,
        endpoint,
        view,
        methods=METHODS,
        provide_automatic_options=False,  # OPTIONS is the handler's to answer too
        strict_slashes=False,  # never redirect: a stray slash is the handler's 404
        merge_slashes=False,
    )


def to_neutral_request(request: Request, path: str) -> http.Request:
    """A Flask request as core's neutral request, with ``path`` relative to the mount."""
    return http.Request(
        method=request.method,
        path=path,
        headers=dict(request.headers.items()),
        body=read_body(request, http.MAX_BODY_BYTES + 1),
        query_string=request.environ.get("QUERY_STRING", ""),
        client=request.remote_addr,
        scheme=request.scheme,
    )


def _add_converter(state: BlueprintSetupState) -> None:
    state.app.url_map.converters.setdefault("octotp_path", AnyPath)


def read_body(request: Request, limit: int) -> bytes:
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


def to_native_response(answer: http.Response) -> Response:
    """The core response, status, headers and body unchanged."""
    response = Response(answer.body, status=answer.status)
    response.headers.clear()  # drop Werkzeug's default Content-Type; Content-Length is added back on send
    for name, value in answer.headers:
        response.headers.add(name, value)
    return response
