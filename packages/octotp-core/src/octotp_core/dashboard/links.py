"""Absolute links into the dashboard, for the console's emails (an invitation's link).

``public_url`` (the operator's setting) wins; without it, the link is built from the request the
action came in on: its scheme (``X-Forwarded-Proto`` from a trusted proxy already applied) and its
``Host``, which must look like a host name or address with an optional port, so a forged header can
never put something else into an email.
"""

from __future__ import annotations

import re

from ..errors import FieldError, InvalidInput
from ..http.messages import Request
from ..settings import Settings

_HOST = re.compile(
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*"
    r"|\[[0-9A-Fa-f:.]{2,45}\])"
    r"(?::[0-9]{1,5})?"
)


def dashboard_url(request: Request, base: str, settings: Settings) -> str:
    """The dashboard's absolute URL: ``<public_url or the request's origin><base>``.

    ``InvalidInput`` (field ``public_url``) when ``public_url`` is unset and the request's ``Host`` is
    missing or is not a host."""
    if settings.public_url:
        return settings.public_url.rstrip("/") + base
    host = (request.header("host") or "").strip()
    if not _HOST.fullmatch(host):
        raise InvalidInput(
            FieldError("public_url", "is not set and this request's Host is not a host name: links cannot be made")
        )
    scheme = "https" if request.scheme == "https" else "http"
    return f"{scheme}://{host}{base}"
