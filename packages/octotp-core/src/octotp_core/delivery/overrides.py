"""A project's own words for its messages, and the rules they keep (``validate_overrides``).

Overrides are a plain mapping, every key optional, a missing, ``None`` or blank value meaning "octotp's
default":

- ``sender_name`` — the email's display name (``From: Acme <codes@example.com>``);
- ``reply_to`` — the address replies go to;
- ``subject``, ``text``, ``html`` — the email's subject and its plain-text and HTML bodies;
- ``sms`` — the SMS body;
- ``webotp_domain`` — the site's host name: SMS bodies then end with ``@<domain> #<code>``, the line
  browsers (WebOTP) and phones read to fill the code in.

The four templates are Jinja2 in octotp's sandbox (``octotp_core.delivery.sandbox``) with three
variables: ``code``, ``minutes`` (the code's lifetime, at least 1) and ``project`` (its name). They
replace the shipped text in every locale. ``html`` needs ``text`` (the same email's plain-text part).

``validate_overrides`` is what a writer (the dashboard, the CLI) calls before it stores them: each
template compiles under the rules, renders with sample values (a 10-digit code, 1 and 60 minutes,
the project's name or a 40-character one), shows the code, and stays within its length (an SMS
within ``SMS_MAX_SEGMENTS`` segments, the ``@domain #code`` line included). ``render`` applies the
same rules when it sends, and uses the default for a field that breaks one.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Callable, Mapping

from jinja2 import TemplateError

from ..errors import FieldError, InvalidInput
from ..recipients import normalise_email
from .sandbox import Kind, TemplateRefused, compile_source
from .sms import sms_segments

#: Every key an overrides mapping may have, in the order a form shows them.
FIELDS = ("sender_name", "reply_to", "subject", "text", "html", "sms", "webotp_domain")
#: The keys that are templates.
TEMPLATE_FIELDS = ("subject", "text", "html", "sms")

#: The longest template text a project may store, per field (characters).
MAX_SOURCE = {"subject": 1_000, "text": 10_000, "html": 100_000, "sms": 1_000}
#: The longest a rendered subject and email bodies may be (Gmail clips an HTML body beyond ~100 kB).
MAX_RENDERED = {"subject": 200, "text": 20_000, "html": 100_000}
#: The most SMS segments a project's SMS body may take with the sample values.
SMS_MAX_SEGMENTS = 3
MAX_SENDER_NAME = 64

#: The project name templates are tried with when the project's own is not given.
SAMPLE_PROJECT = "Northwind Traders Customer Portal Europe"
#: Two renders: the longest code and lifetime, and the shortest lifetime (a plural's other branch).
SAMPLE_CODES = (("0123456789", 60), ("4829", 1))

log = logging.getLogger("octotp.delivery")

_HOST_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)\Z")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def webotp_line(domain: str, code: str) -> str:
    """The last line of an SMS that WebOTP and phone autofill read: ``@login.example.com #123456``."""
    return f"@{domain} #{code}"


def _webotp_domain_reason(value: str) -> str | None:
    host = value.lower()
    shape = "must be a host name such as login.example.com (no https://, port or path)"
    if len(host) > 253 or not all(_HOST_LABEL.match(label) for label in host.split(".")):
        return shape
    return None


def _sender_name_reason(value: str) -> str | None:
    if _CONTROL.search(value):
        return "must be one line of text"
    if len(value) > MAX_SENDER_NAME:
        return f"must be at most {MAX_SENDER_NAME} characters"
    return None


@functools.lru_cache(maxsize=256)
def _reply_to_reason(value: str) -> str | None:
    # The rules a recipient's address keeps (``recipients.normalise_email``), so a reply-to is an
    # address octotp would itself accept and send to; its reason says why it is not one.
    try:
        normalise_email(value, field="reply_to")
    except InvalidInput as exc:
        return f"must be an email address ({exc.errors[0].reason})"
    return None


def _kind(field: str) -> Kind:
    return "html" if field == "html" else "text"


def render_template(field: str, source: str, code: str, minutes: int, project: str) -> str:
    """A project's template for ``field`` rendered in the sandbox; ``TemplateRefused`` when the
    template breaks a rule or fails to render."""
    template = compile_source(source, _kind(field))
    try:
        text = template.render(code=code, minutes=minutes, project=project)
    except TemplateError as exc:  # SecurityError and UndefinedError are TemplateErrors
        raise TemplateRefused(f"does not render ({exc.message})") from None
    except ArithmeticError as exc:
        raise TemplateRefused(f"does not render ({exc})") from None
    except (TypeError, ValueError):
        raise TemplateRefused("does not render (a comparison of a number with text)") from None
    return " ".join(text.split()) if field == "subject" else text.strip()


@functools.lru_cache(maxsize=512)
def template_reason(field: str, source: str, project: str, webotp_domain: str | None = None) -> str | None:
    """Why ``source`` cannot be the project's ``field`` template, or ``None`` when it can."""
    if len(source) > MAX_SOURCE[field]:
        return f"must be at most {MAX_SOURCE[field]:,} characters"
    try:
        for code, minutes in SAMPLE_CODES:
            text = render_template(field, source, code, minutes, project)
            if code not in text:
                return "must show the code: put {{ code }} in it"
            if field == "sms":
                body = f"{text}\n\n{webotp_line(webotp_domain, code)}" if webotp_domain else text
                size = sms_segments(body)
                if size.segments > SMS_MAX_SEGMENTS:
                    return (
                        f"takes {size.segments} SMS segments ({size.encoding}) with a {len(code)}-digit code; "
                        f"at most {SMS_MAX_SEGMENTS}"
                    )
            elif len(text) > MAX_RENDERED[field]:
                return f"must render to at most {MAX_RENDERED[field]:,} characters"
    except TemplateRefused as exc:
        return str(exc)
    return None


def _text(value: object) -> str | None:
    """The override's text, or ``None`` for "use the default" (missing, ``None``, blank)."""
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


def validate_overrides(overrides: Mapping[str, object], *, project: str | None = None) -> list[FieldError]:
    """Every rule ``overrides`` breaks, as one ``FieldError`` per field (empty when all is well).

    ``project`` is the project's name, for the sample renders (a 40-character name when not given).
    """
    errors: list[FieldError] = []
    sample_project = project or SAMPLE_PROJECT
    for field in overrides:
        if field not in FIELDS:
            errors.append(FieldError(field, f"is not a message setting (known: {', '.join(FIELDS)})"))
        elif overrides[field] is not None and not isinstance(overrides[field], str):
            errors.append(FieldError(field, "must be text"))
    values = {field: _text(overrides.get(field)) for field in FIELDS}
    domain = values["webotp_domain"]
    checks: dict[str, Callable[[str], str | None]] = {
        "sender_name": _sender_name_reason,
        "reply_to": _reply_to_reason,
        "webotp_domain": _webotp_domain_reason,
    }
    for field in FIELDS:
        value = values[field]
        if value is None:
            continue
        if field in checks:
            reason = checks[field](value)
        else:
            valid_domain = domain if domain and _webotp_domain_reason(domain) is None else None
            reason = template_reason(field, value, sample_project, valid_domain.lower() if valid_domain else None)
        if reason is not None:
            errors.append(FieldError(field, reason))
    if values["html"] is not None and values["text"] is None:
        errors.append(FieldError("text", "is needed when html is set: it is the same email's plain-text part"))
    return errors


def usable_overrides(overrides: Mapping[str, object] | None, project: str) -> dict[str, str]:
    """The overrides ``render`` applies: each field that keeps the rules (``validate_overrides``)."""
    if not overrides:
        return {}
    errors = validate_overrides(overrides, project=project)
    for error in errors:
        # The override was stored by another route or under older rules: the code still goes out,
        # in octotp's words for that field.
        log.warning("message override refused field=%s reason=%s; the default is used", error.field, error.reason)
    refused = {error.field for error in errors}
    usable = {field: text for field in FIELDS if field not in refused and (text := _text(overrides.get(field)))}
    if "webotp_domain" in usable:
        usable["webotp_domain"] = usable["webotp_domain"].lower()
    if "html" in usable and "text" not in usable:
        del usable["html"]
    return usable
