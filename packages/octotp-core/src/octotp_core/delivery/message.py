"""The message a backend sends, and its text per locale."""

from __future__ import annotations

from dataclasses import dataclass

# subject, body; {code}, {minutes} and {project} are filled in.
TEMPLATES: dict[str, tuple[str, str]] = {
    "en": (
        "Your {project} verification code",
        "Your {project} verification code is {code}. It expires in {minutes} minutes.",
    ),
    "de": (
        "Ihr {project}-Bestätigungscode",
        "Ihr {project}-Bestätigungscode lautet {code}. Er läuft in {minutes} Minuten ab.",
    ),
    "fr": (
        "Votre code de vérification {project}",
        "Votre code de vérification {project} est {code}. Il expire dans {minutes} minutes.",
    ),
    "es": (
        "Tu código de verificación de {project}",
        "Tu código de verificación de {project} es {code}. Caduca en {minutes} minutos.",
    ),
}
SUPPORTED_LOCALES = tuple(sorted(TEMPLATES))


@dataclass(frozen=True)
class Message:
    """A code (or a link) ready to send. ``__repr__`` hides both, and the recipient, so none can reach
    a log by accident.

    ``link`` is set, and ``code`` empty, for a message that carries a one-time link instead of a
    code (the console's invitations); the body holds whichever it is, so a backend that sends the
    body needs nothing else.
    """

    channel: str
    to: str
    code: str
    subject: str
    body: str
    locale: str
    link: str | None = None

    def __repr__(self) -> str:
        return f"Message(channel={self.channel!r}, locale={self.locale!r})"


def render(channel: str, to: str, code: str, project: str, expires_in: int, locale: str | None) -> Message:
    """Fill the locale's template (falling back to the language, then English)."""
    chosen = (locale or "en").replace("_", "-").lower()
    if chosen not in TEMPLATES:
        chosen = chosen.split("-")[0] if chosen.split("-")[0] in TEMPLATES else "en"
    subject, body = TEMPLATES[chosen]
    values = {"code": code, "project": project, "minutes": max(1, round(expires_in / 60))}
    return Message(channel, to, code, subject.format(**values), body.format(**values), chosen)
