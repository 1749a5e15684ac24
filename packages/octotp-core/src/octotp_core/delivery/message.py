"""The message a backend sends, rendered from octotp's templates or a project's own.

Every message comes from Jinja2 templates in a sandbox (``sandbox``): per shipped locale
(``templates/<locale>/``) a ``subject.txt``, a plain-text ``text.txt``, an ``html.html`` (the email is
multipart/alternative) and an ``sms.txt``, with three variables, ``code``, ``minutes`` and
``project``. The locale is negotiated with Babel (``locales``); a project's overrides (``overrides``)
replace a template or set the sender name, the reply-to address and the WebOTP domain.

Mail clients and phones find the code without the reader copying it: the subject starts with it,
the HTML body's first element is a hidden preheader that shows it in the inbox list, the text body
has it on its own line near the top, and with a WebOTP domain an SMS ends with ``@domain #code``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass

from .locales import SHIPPED_LOCALES, negotiate
from .overrides import render_template, usable_overrides, webotp_line
from .sandbox import TemplateRefused, shipped

log = logging.getLogger("octotp.delivery")

#: The locales octotp writes messages in (kept under its old name).
SUPPORTED_LOCALES = SHIPPED_LOCALES


@dataclass(frozen=True)
class Message:
    """A code (or a link) ready to send. ``__repr__`` hides both, the recipient and the bodies, so none
    can reach a log by accident.

    ``body`` is the plain text (an email's text part, an SMS); ``html``, when set, is the same email
    as HTML, sent with ``body`` as multipart/alternative. ``sender_name`` is the email's display name
    and ``reply_to`` its Reply-To address, when the project sets them.

    ``link`` is set, and ``code`` empty, for a message that carries a one-time link instead of a
    code (the console's invitations); the body holds whichever it is, so a backend that sends the
    body needs nothing else.

    ``delivery_id`` is set for a queued delivery: its job's id, the same on every attempt, so that a
    message sent twice (a worker that died after the server accepted it and before the job was
    marked sent) can be told apart by its receiver: the SMTP backend makes it the Message-ID.
    """

    channel: str
    to: str
    code: str
    subject: str
    body: str
    locale: str
    link: str | None = None
    html: str | None = None
    sender_name: str | None = None
    reply_to: str | None = None
    delivery_id: str | None = None

    def __repr__(self) -> str:
        return f"Message(channel={self.channel!r}, locale={self.locale!r})"


def minutes_of(expires_in: int) -> int:
    """A lifetime in whole minutes as a message states it (at least 1)."""
    return max(1, round(expires_in / 60))


def render(
    channel: str,
    to: str,
    code: str,
    project: str,
    expires_in: int,
    locale: str | None,
    *,
    overrides: Mapping[str, object] | None = None,
    default_locale: str | None = None,
) -> Message:
    """The message for ``code``: an email (subject, text, HTML) or an SMS, in the shipped locale that
    best matches ``locale`` (then the project's ``default_locale``, then English), with the project's
    ``overrides`` (see ``octotp_core.delivery.overrides``) where they keep the rules."""
    chosen = negotiate(locale, default_locale)
    minutes = minutes_of(expires_in)
    own = usable_overrides(overrides, project)

    def text(field: str, filename: str) -> str:
        if field in own:
            try:
                rendered = render_template(field, own[field], code, minutes, project)
            except TemplateRefused as exc:
                rendered, reason = "", str(exc)
            else:
                reason = "does not show the code"
            if code in rendered:
                return rendered
            log.warning("message override refused field=%s reason=%s; the default is used", field, reason)
        rendered = shipped(f"{chosen}/{filename}").render(code=code, minutes=minutes, project=project)
        return " ".join(rendered.split()) if field == "subject" else rendered.strip()

    subject = text("subject", "subject.txt")
    if channel == "sms":
        body = text("sms", "sms.txt")
        if "webotp_domain" in own:
            body = f"{body}\n\n{webotp_line(own['webotp_domain'], code)}"
        return Message(channel, to, code, subject, body, chosen)
    body = text("text", "text.txt")
    # A project's own text body without its own HTML goes alone: octotp's HTML would say other words.
    html = None if "text" in own and "html" not in own else text("html", "html.html")
    return Message(
        channel,
        to,
        code,
        subject,
        body,
        chosen,
        html=html,
        sender_name=own.get("sender_name"),
        reply_to=own.get("reply_to"),
    )
