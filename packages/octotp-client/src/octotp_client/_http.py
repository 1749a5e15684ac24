"""Transport-neutral HTTP values shared by the sync and async clients.

A transport (requests or httpx) turns an ``HttpRequest`` into an ``Outcome``: either the
``HttpResponse`` it received, or a ``TransportFailure`` saying why none arrived and whether the
server may have received the request. Everything else (building requests, parsing, errors,
retries) works on these values only, so it is written once.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeAlias

if TYPE_CHECKING:
    from .errors import APIConnectionError


@dataclass(frozen=True)
class HttpRequest:
    """One request, relative to the client's base URL."""

    method: str
    path: str
    body: bytes | None = None
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class HttpResponse:
    """A response as received. ``headers`` have lower-case names."""

    status: int
    headers: Mapping[str, str]
    content: bytes

    def json(self) -> Any:
        """The body parsed as JSON, or ``None`` if it is empty or not JSON."""
        if not self.content:
            return None
        try:
            return json.loads(self.content)
        except ValueError:
            return None

    @property
    def text(self) -> str:
        """The body as text (for messages about non-JSON answers)."""
        return self.content.decode("utf-8", errors="replace")


@dataclass(frozen=True)
class TransportFailure:
    """No HTTP response arrived.

    ``sent`` is False only when the request certainly never reached the server (it failed while
    connecting), so repeating it cannot repeat its effect. ``retryable`` is False for failures a
    retry cannot fix (a TLS verification error, an invalid URL).
    """

    error: APIConnectionError
    sent: bool
    retryable: bool = True


Outcome: TypeAlias = HttpResponse | TransportFailure


def encode_json(data: Mapping[str, Any]) -> bytes:
    """A compact UTF-8 JSON body."""
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def parse_retry_after(value: str | None, *, now: dt.datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` value (delta-seconds or an HTTP date); ``None`` if absent or invalid."""
    if value is None:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=dt.timezone.utc)
        seconds = (when - (now or dt.datetime.now(dt.timezone.utc))).total_seconds()
    if math.isnan(seconds) or math.isinf(seconds):
        return None
    return max(0.0, seconds)


def transport_failure(
    error: APIConnectionError, cause: BaseException, *, sent: bool, retryable: bool = True
) -> TransportFailure:
    """A ``TransportFailure`` whose error is chained to the transport's own exception."""
    error.__cause__ = cause
    return TransportFailure(error, sent=sent, retryable=retryable)
