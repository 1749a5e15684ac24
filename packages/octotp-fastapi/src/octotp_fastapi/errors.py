"""Opt-in: octotp errors raised in the host's own endpoints answered as RFC 9457 problem JSON.

``octotp.create_token(..., email="not an email")`` in an endpoint raises ``InvalidInput``;
unhandled, FastAPI answers a 500. ``handle_octotp_errors(app)`` (or
``install(..., handle_errors=True)``) adds an exception handler that answers core's problem
instead (``octotp_core.http.host_problem``: the API's status and ``code``, fields named as the
Python arguments). Only ``octotp_core`` errors are handled; FastAPI's own validation errors (422)
and the host's other exceptions keep their handlers.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi import Request as FastAPIRequest
from fastapi import Response as FastAPIResponse

from octotp_core.errors import OctotpError
from octotp_core.http import host_problem

from .router import to_native_response


async def problem_response(request: FastAPIRequest, error: Exception) -> FastAPIResponse:
    """The problem+json response for an octotp error raised while handling ``request``; an exception
    handler (``app.add_exception_handler(OctotpError, problem_response)``)."""
    if not isinstance(error, OctotpError):  # pragma: no cover - only registered for OctotpError
        raise error
    return to_native_response(host_problem(error, request.headers.get("x-request-id")))


def handle_octotp_errors(app: FastAPI) -> None:
    """Answer every ``OctotpError`` raised in ``app``'s endpoints with ``problem_response``."""
    app.add_exception_handler(OctotpError, problem_response)
