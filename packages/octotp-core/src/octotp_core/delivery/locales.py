"""Which shipped language a message is written in: the requested locale negotiated with Babel.

A request names a locale as a browser or a phone does (``pt-BR``, ``de_AT``, ``zh-Hant-TW``); Babel
parses it (aliases included: ``iw`` is ``he``) and ``babel.negotiate_locale`` matches it against the
shipped languages, the exact locale first, then its language. Nothing shipped for it: the project's
default locale, negotiated the same way, then English.
"""

from __future__ import annotations

from importlib import resources

from babel import Locale, UnknownLocaleError, negotiate_locale

FALLBACK = "en"


def _shipped() -> tuple[str, ...]:
    """The locale folders under ``templates/`` (each holds one language's four templates)."""
    folder = resources.files("octotp_core.delivery") / "templates"
    return tuple(sorted(entry.name for entry in folder.iterdir() if entry.is_dir() and not entry.name.startswith("_")))


#: The locales octotp writes messages in.
SHIPPED_LOCALES: tuple[str, ...] = _shipped()


def _candidates(tag: str) -> list[str]:
    """The locale named by ``tag`` as Babel identifiers, most specific first (``["pt_BR", "pt"]``)."""
    text = tag.strip().replace("_", "-")
    try:
        parsed = Locale.parse(text, sep="-")
    except (ValueError, TypeError, UnknownLocaleError):
        # Not a locale Babel knows (a private-use tag, an extension it cannot read): its language
        # subtag may still be one that ships.
        language = text.split("-")[0].lower()
        return [language] if language.isascii() and language.isalpha() else []
    return [str(parsed), parsed.language]


def negotiate(requested: str | None, default: str | None = None) -> str:
    """The shipped locale for ``requested``, else for the project's ``default``, else English."""
    by_lower = {name.lower(): name for name in SHIPPED_LOCALES}
    for tag in (requested, default):
        if not tag:
            continue
        # No aliases: the candidates already carry the bare language; Babel's default aliases map a
        # language to one region (de -> de_DE), which would only hide the shipped bare language.
        found = negotiate_locale(_candidates(tag), SHIPPED_LOCALES, sep="_", aliases={})
        if found is not None:
            return by_lower[found.lower()]
    return FALLBACK
