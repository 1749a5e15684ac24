"""The first-run setup link: a one-time token that lets the first account be created from the browser.

The setup page works only while the database has no account at all, and only with the token, so
nobody else on the network can claim the service first. ``octotp serve`` makes a token when there
is no account and prints the link to its console (like Jupyter's login link); it stops working as
soon as an account exists.

Two submissions of the link at the same moment both find no account; so the account the link
creates has one fixed id, derived from the token (``first_account_id``), and the database's primary
key lets exactly one insert win, on every backend and through every store.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from urllib.parse import quote


def new_setup_token() -> str:
    """256 random bits, URL-safe."""
    return secrets.token_urlsafe(32)


def setup_url(base_url: str, token: str) -> str:
    """The link to print: ``<base_url>/setup?token=...`` (``base_url`` is the dashboard's own URL)."""
    return f"{base_url.rstrip('/')}/setup?token={quote(token, safe='')}"


def first_account_id(secret: bytes, token: str) -> str:
    """The id of the account the setup link ``token`` creates: the same for every submission of that
    link, so only one insert can succeed (a name-based UUID of a keyed digest: it reveals nothing
    about the token)."""
    digest = hmac.new(secret, b"octotp-dashboard-setup:" + token.encode(), hashlib.sha256).hexdigest()
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"urn:octotp:setup:{digest}"))
