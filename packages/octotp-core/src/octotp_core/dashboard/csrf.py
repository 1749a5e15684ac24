"""CSRF defences: a same-origin check on ``Origin``/``Referer`` and constant-time token comparison.

Signed-in forms carry the session's CSRF token. The login and setup forms, which have no session
yet, carry an HMAC of a random pre-session cookie keyed by the server secret (a signed double
submit), so a cross-site form can neither read nor forge the pair.
"""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import urlsplit

from ..http.messages import Request


def same_origin(request: Request) -> bool:
    """False when ``Origin`` (or, without it, ``Referer``) names another host than the request's ``Host``.

    Browsers send ``Origin`` on every cross-site POST; when neither header is present (privacy
    tools strip them) the CSRF token alone decides.
    """
    host = (request.header("host") or "").strip().lower()
    origin = request.header("origin")
    if origin is not None:
        if origin.strip() == "null":
            return False
        return bool(host) and urlsplit(origin.strip()).netloc.lower() == host
    referer = request.header("referer")
    if referer is not None:
        return bool(host) and urlsplit(referer.strip()).netloc.lower() == host
    return True


def tokens_match(expected: str | None, given: str | None) -> bool:
    """Constant-time equality of two tokens; False when either is missing or empty."""
    if not expected or not given:
        return False
    return hmac.compare_digest(expected.encode(), given.encode())


def login_form_token(secret: bytes, cookie_value: str) -> str:
    """The hidden-field token that goes with a pre-session CSRF cookie."""
    return hmac.new(secret, b"octotp-dashboard-login-csrf:" + cookie_value.encode(), hashlib.sha256).hexdigest()
