"""The token list's search and filters, as its form sends them and its links carry them.

A recipient is searched by its keyed digest only: the form posts the address or number typed in
full, the page computes its digest (``TokenService.recipient_digest``) and redirects to a link that
carries the digest (``match``), so the recipient never appears in a URL, a browser's history or an
access log, and nothing about it is stored in clear.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import asdict, dataclass

from ..errors import FieldError, InvalidInput
from ..states import TOKEN_STATES
from ..store import TokenFilter
from ..tokens import CHANNELS, PURPOSE_PATTERN, TokenService

_DIGEST = re.compile(r"[0-9a-f]{64}")
_PURPOSE = re.compile(PURPOSE_PATTERN)


@dataclass(frozen=True)
class TokenSearch:
    """What the token list is narrowed to ("" for any)."""

    match: str = ""
    """The searched recipient's digest (never the recipient)."""
    state: str = ""
    purpose: str = ""
    channel: str = ""

    def params(self) -> dict[str, str]:
        """The query parameters of a link to this search (empty ones included; links drop them)."""
        return asdict(self)

    def token_filter(self) -> TokenFilter:
        """The store's filter for this search."""
        return TokenFilter(
            recipient_digest=self.match or None,
            state=self.state or None,
            purpose=self.purpose or None,
            channel=self.channel or None,
        )

    @property
    def narrowed(self) -> bool:
        """Whether anything narrows the list."""
        return any(self.params().values())


def read_search(value: Callable[[str], str]) -> tuple[TokenSearch, list[FieldError]]:
    """The search in query or form fields (``value(name)`` gives one, "" when absent) and what is wrong
    with it, each error naming its field. A field in error is left out of the search."""
    errors: list[FieldError] = []
    match, state, purpose, channel = (value(name).strip() for name in ("match", "state", "purpose", "channel"))
    if match and not _DIGEST.fullmatch(match):
        errors.append(FieldError("recipient", "this search link is not valid: search for the recipient again"))
        match = ""
    if state and state not in TOKEN_STATES:
        errors.append(FieldError("state", f"must be one of {', '.join(TOKEN_STATES)}"))
        state = ""
    if purpose and not _PURPOSE.fullmatch(purpose):
        errors.append(FieldError("purpose", "must be 1-64 characters of letters, digits and _ . : -"))
        purpose = ""
    if channel and channel not in CHANNELS:
        errors.append(FieldError("channel", f"must be one of {', '.join(CHANNELS)}"))
        channel = ""
    return TokenSearch(match, state, purpose, channel), errors


def recipient_match(tokens: TokenService, project_id: str, typed: str) -> str:
    """The digest to search for a recipient typed in full: an email address (it has an ``@``) or a
    phone number, normalised as the API normalises it. ``InvalidInput`` naming ``recipient``."""
    typed = typed.strip()
    try:
        if "@" in typed:
            return tokens.recipient_digest(project_id, email=typed)
        return tokens.recipient_digest(project_id, phone=typed)
    except InvalidInput as exc:
        raise InvalidInput([FieldError("recipient", e.reason) for e in exc.errors]) from None
