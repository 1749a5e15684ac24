"""The first-run setup link: a one-time token that lets the first account be created from the browser.

The setup page works only while the database has no account at all, and only with the token, so
nobody else on the network can claim the service first. ``octotp serve`` makes a token when there
is no account and prints the link to its console (like Jupyter's login link); it stops working as
soon as an account exists.
"""

from __future__ import annotations

import secrets
from urllib.parse import quote


def new_setup_token() -> str:
    """256 random bits, URL-safe."""
    return secrets.token_urlsafe(32)


def setup_url(base_url: str, token: str) -> str:
    """The link to print: ``<base_url>/setup?token=...`` (``base_url`` is the dashboard's own URL)."""
    return f"{base_url.rstrip('/')}/setup?token={quote(token, safe='')}"
