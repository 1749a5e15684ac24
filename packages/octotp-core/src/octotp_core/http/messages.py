"""The neutral request and response that cross the seam between core and every adapter.

General enough for the API and the dashboard alike: headers, raw body, query string, cookies,
client address in; status, headers (repeatable, e.g. ``Set-Cookie``) and body bytes out.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qs


@dataclass(frozen=True)
class Request:
    """A framework-neutral HTTP request. ``path`` is relative to where octotp is mounted ("/api/tokens")."""

    method: str
    path: str
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""
    query_string: str = ""
    client: str | None = None
    """Adapters pass the socket peer's address, raw (no ``X-Forwarded-For`` applied); core's handlers
    replace it with the client's address per ``Settings.trusted_proxies`` (``http.proxies.resolve_client``)."""
    scheme: str = "http"
    """``https`` when the request reached the app over TLS, as the framework sees it; core's handlers
    apply ``X-Forwarded-Proto`` from a trusted proxy."""

    @cached_property
    def _lower_headers(self) -> dict[str, str]:
        return {k.lower(): v for k, v in self.headers.items()}

    def header(self, name: str, default: str | None = None) -> str | None:
        """A header by case-insensitive name."""
        return self._lower_headers.get(name.lower(), default)

    @cached_property
    def query(self) -> dict[str, list[str]]:
        """The query string parsed into lists of values."""
        return parse_qs(self.query_string, keep_blank_values=True)

    @cached_property
    def cookies(self) -> dict[str, str]:
        """Cookies sent with the request."""
        jar: SimpleCookie = SimpleCookie()
        raw = self.header("cookie")
        if raw:
            try:
                jar.load(raw)
            except Exception:  # a malformed Cookie header is ignored, as browsers would
                return {}
        return {k: m.value for k, m in jar.items()}

    @cached_property
    def form(self) -> dict[str, list[str]]:
        """An ``application/x-www-form-urlencoded`` body parsed into lists of values."""
        try:
            return parse_qs(self.body.decode("utf-8"), keep_blank_values=True)
        except UnicodeDecodeError:
            return {}


@dataclass
class Response:
    """A framework-neutral HTTP response; adapters copy it to the wire unchanged."""

    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""

    def header(self, name: str) -> str | None:
        """The first header with this name (case-insensitive), if any."""
        lowered = name.lower()
        return next((v for k, v in self.headers if k.lower() == lowered), None)

    def set_header(self, name: str, value: str) -> None:
        """Replace every header of this name with one value."""
        lowered = name.lower()
        self.headers = [(k, v) for k, v in self.headers if k.lower() != lowered] + [(name, value)]

    @property
    def content_type(self) -> str | None:
        """The ``Content-Type`` header."""
        return self.header("content-type")

    @classmethod
    def json(cls, status: int, data: Any, content_type: str = "application/json") -> Response:
        """A JSON response (compact, UTF-8)."""
        body = json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()
        return cls(status, [("Content-Type", content_type)], body)

    @classmethod
    def html(cls, status: int, text: str) -> Response:
        """An HTML page."""
        return cls(status, [("Content-Type", "text/html; charset=utf-8")], text.encode())

    @classmethod
    def redirect(cls, location: str, status: int = 303) -> Response:
        """A redirect (303 See Other by default, the right answer to a form POST)."""
        return cls(status, [("Location", location)], b"")
