"""The framework-neutral HTTP layer: adapters turn their native request into a ``Request``, call
``ApiHandler.handle``, and send the ``Response`` back unchanged."""

from .api import MAX_BODY_BYTES, ApiHandler, format_timestamp
from .messages import Request, Response
from .openapi import openapi_document
from .problems import PROBLEM_JSON, problem, problem_for, status_for
from .proxies import client_address, resolve_client

__all__ = [
    "MAX_BODY_BYTES",
    "PROBLEM_JSON",
    "ApiHandler",
    "Request",
    "Response",
    "client_address",
    "format_timestamp",
    "openapi_document",
    "problem",
    "problem_for",
    "resolve_client",
    "status_for",
]
