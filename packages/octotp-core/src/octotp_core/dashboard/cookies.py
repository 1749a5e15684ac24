"""``Set-Cookie`` values for the dashboard's cookies: always ``HttpOnly`` and ``SameSite=Lax``, scoped to
the dashboard's path, ``Secure`` when the request came over https."""

from __future__ import annotations

from http.cookies import Morsel

SESSION_COOKIE = "octotp_session"
"""The session id (256 random bits); the server keeps only its SHA-256 digest."""
LOGIN_CSRF_COOKIE = "octotp_login_csrf"
"""The pre-session CSRF secret of the login and setup forms (signed double submit)."""


def set_cookie(name: str, value: str, *, path: str, secure: bool) -> str:
    """A session cookie (no ``Max-Age``: it goes when the browser closes, or when the server ends it)."""
    morsel: Morsel[str] = Morsel()
    morsel.set(name, value, value)
    morsel["path"] = path
    morsel["httponly"] = True
    morsel["samesite"] = "Lax"
    if secure:
        morsel["secure"] = True
    return morsel.OutputString()


def clear_cookie(name: str, *, path: str, secure: bool) -> str:
    """A ``Set-Cookie`` that makes the browser forget the cookie."""
    return set_cookie(name, "", path=path, secure=secure) + "; Max-Age=0"
