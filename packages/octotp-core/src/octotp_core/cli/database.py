"""Which database a command used, said so that a password never shows."""

from __future__ import annotations

import re

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from ..core import Octotp

MASK = "***"

# Query parameters that carry a credential in some driver's URL (``?password=``, ``sslpassword``,
# ``?token=``, ``access_key``...): their values are masked like the URL's own password.
_SECRET_QUERY_KEY = re.compile(r"pass|secret|token|key|credential", re.IGNORECASE)
_PLACEHOLDER = "octotpmasked"


def masked_url(url: str | URL) -> str:
    """``url`` with its password, and any query value that looks like a credential, replaced by ``***``."""
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):  # not a URL SQLAlchemy reads: never echo the rest, it may hold a password
        scheme, sep, _ = str(url).partition("://")
        return f"{scheme}://{MASK}" if sep else "an unreadable URL"
    secret_keys = [key for key in parsed.query if _SECRET_QUERY_KEY.search(key)]
    # A placeholder that survives URL quoting, swapped for the mask once rendered.
    parsed = parsed.update_query_dict(dict.fromkeys(secret_keys, _PLACEHOLDER))
    # SQLAlchemy's own mask for the password: ***
    return parsed.render_as_string(hide_password=True).replace(_PLACEHOLDER, MASK)


def describe_database(octotp: Octotp) -> str:
    """What a command says about the database it uses: the masked URL, and whether it is the default
    SQLite file (so a forgotten ``OCTOTP_DATABASE_URL`` is seen at once)."""
    if octotp.engine is None:
        return f"of the {type(octotp.store).__name__} (no SQLAlchemy engine to name)"
    shown = masked_url(octotp.engine.url)
    settings = octotp.settings
    if settings.database_url is None and str(octotp.engine.url) == str(make_url(settings.effective_database_url)):
        return f"{shown} (the default; set OCTOTP_DATABASE_URL to use another)"
    return shown
