"""Posting one signed event to an endpoint, and which endpoint URLs are allowed.

An endpoint's URL is checked when it is saved (``check_url``) and its host's addresses again when a
request is sent (``check_addresses``): unless ``Settings.webhook_private_addresses`` allows them, a
URL whose host is, or resolves to, a loopback, private, link-local or otherwise non-public address
is refused, so a console user cannot make the server call its own network. Redirects are never
followed (a public URL could otherwise redirect to a private one).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import socket
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from ..delivery.outcomes import PermanentFailure
from .signing import signature_headers

MAX_URL_LENGTH = 2048


class EndpointRefused(Exception):
    """The endpoint answered with a status other than 2xx (retried: it may be down for a while)."""

    def __init__(self, status: int) -> None:
        super().__init__(f"the endpoint answered HTTP {status}")
        self.status = status

    @property
    def reason(self) -> str:
        """What the job's log shows: ``http_503``."""
        return f"http_{self.status}"


def url_problem(url: str, *, private_allowed: bool) -> str | None:
    """Why ``url`` cannot be an endpoint (``None`` when it can): not http(s), no host, credentials
    in it, too long, or (unless ``private_allowed``) a host that is not public by its name."""
    if len(url) > MAX_URL_LENGTH:
        return f"must be at most {MAX_URL_LENGTH} characters"
    try:
        parts = urllib.parse.urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port out of range
    except ValueError:
        return "is not a valid URL"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "must be an http:// or https:// URL with a host"
    if parts.username is not None or parts.password is not None:
        return "must not carry a user name or password (put a token in the path or query instead)"
    if any(ord(c) < 33 for c in url):
        return "must not contain spaces or control characters"
    if not private_allowed and not _public_name(parts.hostname):
        return "must be a public address (this server does not send webhooks to its own network)"
    return None


def _public_name(host: str) -> bool:
    if host.lower() == "localhost" or host.lower().endswith((".localhost", ".local", ".internal")):
        return False
    try:
        return ipaddress.ip_address(host).is_global
    except ValueError:
        return True  # a name: its addresses are checked when a request is sent


def check_addresses(url: str) -> None:
    """Raise ``PermanentFailure("private_address")`` when ``url``'s host resolves to an address
    that is not public (the send-time half of the check; ``url_problem`` is the other)."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    try:
        infos = socket.getaddrinfo(host, parts.port or (443 if parts.scheme == "https" else 80))
    except socket.gaierror:
        return  # not resolvable now: the request fails and is retried
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%")[0])
        if not address.is_global:
            raise PermanentFailure("private_address")


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # a 3xx is the endpoint's answer: not followed


_opener = urllib.request.build_opener(_NoRedirects())


def post_event(
    url: str, secret: str, body: bytes, *, message_id: str, now: dt.datetime, timeout: float, private_allowed: bool
) -> int:
    """POST ``body`` (an event's JSON) to ``url`` signed with ``secret`` (``webhook-id``:
    ``message_id``, the same on every retry); the 2xx status it answered. Raises
    ``EndpointRefused`` for any other status, ``PermanentFailure`` for a private address or a
    410 Gone, and ``OSError`` (``URLError``, timeouts) when the endpoint cannot be reached."""
    if not private_allowed:
        check_addresses(url)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "octotp-webhooks",
        **signature_headers(secret, body, timestamp=now, message_id=message_id),
    }
    request = urllib.request.Request(url, data=body, method="POST", headers=headers)  # noqa: S310 - http(s) checked
    try:
        with _opener.open(request, timeout=timeout) as response:
            status = int(response.status)
    except urllib.error.HTTPError as exc:
        status = exc.code
        exc.close()
    if status == 410:
        raise PermanentFailure("endpoint_gone")
    if not 200 <= status < 300:
        raise EndpointRefused(status)
    return status
