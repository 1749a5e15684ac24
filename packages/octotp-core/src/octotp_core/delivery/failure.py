"""What a failed delivery's log line says: which backend, where it tried, what went wrong, what to do.

One place decides these words for every backend and every adapter. A backend may describe itself
with two optional members:

- ``destination`` — where it sends (``"localhost:25"``, ``"https://api.twilio.com"``): a host and
  port or a URL's origin, never a path or query (a webhook URL may carry a token in either);
- ``development_hint`` — the setting that makes development work without a server, e.g. the console
  backend.

The error is named by its type and, for the errors whose text is the operating system's or a status
code (``ConnectionRefusedError``, ``TimeoutError``, an SMTP reply code, an HTTP status), that text:
never an arbitrary exception message, which may quote the recipient or a credential.
"""

from __future__ import annotations

import smtplib
import urllib.error
import urllib.parse

from .outcomes import PermanentFailure

#: The console backend: what development needs instead of a mail server or an SMS provider.
CONSOLE_BACKEND = "octotp_core.delivery.console.ConsoleBackend"


def origin(url: str) -> str:
    """``scheme://host[:port]`` of ``url``: where a request goes, without a path, query or credentials."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:  # an IPv6 literal keeps its brackets
        host = f"[{host}]"
    return f"{parts.scheme}://{host}" + (f":{parts.port}" if parts.port else "")


def describe_error(exc: BaseException) -> str:
    """The exception's type, with the operating system's words or the status code when it has them."""
    name = type(exc).__name__
    if isinstance(exc, PermanentFailure) and exc.__cause__ is not None:
        return describe_error(exc.__cause__)  # what the backend met, which made it permanent
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"{name} (SMTP reply {exc.smtp_code})"
    if isinstance(exc, urllib.error.HTTPError):
        return f"{name} (HTTP {exc.code})"
    if isinstance(exc, urllib.error.URLError) and isinstance(exc.reason, BaseException):
        return f"{name} ({describe_error(exc.reason)})"
    if isinstance(exc, OSError) and exc.strerror:
        return f"{name} ({exc.strerror})"
    return name


def _described(backend: object, member: str) -> str | None:
    """A backend's optional self-description; one that fails to answer is left out (it is asked while
    a delivery has already failed, and must not turn that failure into another one)."""
    try:
        value = getattr(backend, member, None)
    except Exception:
        return None
    return str(value) if value else None


def describe_failure(backend: object, exc: BaseException) -> str:
    """``backend=<name> (<destination>) error=<what>; <hint>``: the words of a failed delivery's log line."""
    name = getattr(backend, "name", type(backend).__name__)
    destination = _described(backend, "destination")
    text = f"backend={name}" + (f" ({destination})" if destination else "") + f" error={describe_error(exc)}"
    hint = _described(backend, "development_hint")
    return f"{text}; {hint}" if hint else text
