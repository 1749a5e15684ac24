"""Minimal HTTP clients the contract suite drives: any object with ``request(...) -> HttpResult``."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol


@dataclass
class HttpResult:
    """One response: status, lower-cased headers, raw body."""

    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        """The body parsed as JSON."""
        return json.loads(self.body)


class HttpClient(Protocol):
    """Sends one request to the app under test; ``path`` is relative to where octotp is mounted."""

    def request(
        self, method: str, path: str, *, headers: Mapping[str, str] | None = None, body: bytes | None = None
    ) -> HttpResult: ...


class UrlClient:
    """A client for a live server (standard library only), e.g. ``UrlClient("http://127.0.0.1:8000")``."""

    def __init__(self, base_url: str, timeout: float = 30.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout

    def request(
        self, method: str, path: str, *, headers: Mapping[str, str] | None = None, body: bytes | None = None
    ) -> HttpResult:
        req = urllib.request.Request(self.base_url + path, data=body, method=method, headers=dict(headers or {}))  # noqa: S310
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:  # noqa: S310 - test server URL
                return HttpResult(resp.status, {k.lower(): v for k, v in resp.headers.items()}, resp.read())
        except urllib.error.HTTPError as err:
            return HttpResult(err.code, {k.lower(): v for k, v in err.headers.items()}, err.read())
