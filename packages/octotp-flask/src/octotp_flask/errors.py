"""Opt-in: octotp errors raised in the host's own views answered as RFC 9457 problem JSON.

``create_token(..., email="not an email")`` in a view raises ``InvalidInput``; unhandled, Flask
answers a 500. ``handle_octotp_errors(app)`` (or ``OCTOTP_HANDLE_ERRORS = True``) registers an
error handler that answers core's problem instead (``octotp_core.http.host_problem``: the API's
status and ``code``, fields named as the Python arguments). Only ``octotp_core`` errors are
handled; the host's other exceptions keep their own handling.
"""

from __future__ import annotations

from flask import Blueprint, Flask, Response, request

from octotp_core.errors import OctotpError
from octotp_core.http import host_problem

from .blueprint import to_native_response


def problem_response(error: OctotpError) -> Response:
    """The problem+json response for an octotp error raised while handling the current request."""
    return to_native_response(host_problem(error, request.headers.get("X-Request-Id")))


def handle_octotp_errors(scope: Flask | Blueprint) -> None:
    """Answer every ``OctotpError`` raised in ``scope``'s views (an app, or one blueprint's views)
    with ``problem_response``."""
    scope.register_error_handler(OctotpError, problem_response)
