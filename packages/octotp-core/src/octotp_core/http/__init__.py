"""The framework-neutral HTTP layer: adapters turn their native request into a ``Request``, call
``ApiHandler.handle``, and send the ``Response`` back unchanged. ``ROUTES`` (the route table) and
``Mount`` (the mount rule) are what adapters derive their routes and paths from."""

from .api import MAX_BODY_BYTES, ApiHandler, format_timestamp
from .messages import Request, Response
from .metrics_endpoint import METRICS_PATH, metrics_response
from .openapi import openapi_document
from .problems import PROBLEM_JSON, host_problem, problem, problem_for, status_for
from .proxies import client_address, resolve_client
from .routes import DASHBOARD_PATH, ROUTES, Claim, Mount, Operation, Route, find_route, normalise_prefix, root_claims

__all__ = [
    "DASHBOARD_PATH",
    "MAX_BODY_BYTES",
    "METRICS_PATH",
    "PROBLEM_JSON",
    "ROUTES",
    "ApiHandler",
    "Claim",
    "Mount",
    "Operation",
    "Request",
    "Response",
    "Route",
    "client_address",
    "find_route",
    "format_timestamp",
    "host_problem",
    "metrics_response",
    "normalise_prefix",
    "openapi_document",
    "problem",
    "problem_for",
    "resolve_client",
    "root_claims",
    "status_for",
]
