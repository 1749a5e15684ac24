"""What every endpoint with a body checks before reading it: its size (413) and its media type (415),
decided once for the token API (JSON) and Twilio's status callbacks (a form)."""

from __future__ import annotations

from typing import NamedTuple

from .messages import Request

JSON = "application/json"
FORM = "application/x-www-form-urlencoded"


class BodyRefusal(NamedTuple):
    """A body refused unread: the problem's ``status``, ``code`` and ``detail``."""

    status: int
    code: str
    detail: str


def media_type(request: Request) -> str:
    """The request's ``Content-Type`` without its parameters, lower-cased (``""`` when missing)."""
    return (request.header("content-type") or "").split(";")[0].strip().lower()


def _accepts(expected: str, actual: str) -> bool:
    if actual == expected:
        return True
    # application/json also takes its structured-syntax suffix (application/problem+json, RFC 6839).
    return expected == JSON and actual.startswith("application/") and actual.endswith("+json")


def body_refusal(request: Request, expected: str, max_body: int) -> BodyRefusal | None:
    """Why the body cannot be read as ``expected`` (a media type): over ``max_body`` bytes (413
    ``payload_too_large``), or another media type (415 ``unsupported_media_type``); None when it can."""
    if len(request.body) > max_body:
        return BodyRefusal(413, "payload_too_large", f"the body must be at most {max_body} bytes")
    if not _accepts(expected, media_type(request)):
        return BodyRefusal(415, "unsupported_media_type", f"send the body as {expected}")
    return None
