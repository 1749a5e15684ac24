"""Pages of a long list (tokens, audit events): ``?page=N`` in the query string, newest first, and
"Newer"/"Older" links that keep the list's other query parameters (its filters)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Generic, TypeVar
from urllib.parse import urlencode

from ..errors import FieldError, InvalidInput

T = TypeVar("T")

PAGE_SIZE = 50
"""Rows per page."""
MAX_PAGE = 100_000
"""The deepest page a link may ask for (so an offset always fits every database's integer)."""


def page_number(raw: str) -> int:
    """``?page=`` as a number (1 when empty); ``InvalidInput`` naming ``page`` otherwise."""
    raw = raw.strip()
    if not raw:
        return 1
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_PAGE:
        raise InvalidInput(FieldError("page", f"must be a whole number from 1 to {MAX_PAGE}"))
    return int(raw)


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of rows and the links to its neighbours (None at either end)."""

    number: int
    rows: list[T]
    newer: str | None
    """The link to the page before (newer rows), or None on the first page."""
    older: str | None
    """The link to the page after (older rows), or None on the last page."""


def page_link(path: str, params: Mapping[str, str], number: int = 1) -> str:
    """``path`` with ``params`` (empty values left out) and ``page`` (left out for the first)."""
    kept = {name: value for name, value in params.items() if value}
    query = urlencode({**kept, "page": str(number)} if number > 1 else kept)
    return f"{path}?{query}" if query else path


def fetch_page(
    fetch: Callable[[int, int], list[T]], number: int, path: str, params: Mapping[str, str], size: int = PAGE_SIZE
) -> Page[T]:
    """Page ``number`` of what ``fetch(limit, offset)`` returns. One row more than a page is asked for,
    so whether an older page exists is known without counting. The links are ``page_link``s."""
    rows = fetch(size + 1, (number - 1) * size)
    return Page(
        number=number,
        rows=rows[:size],
        newer=page_link(path, params, number - 1) if number > 1 else None,
        older=page_link(path, params, number + 1) if len(rows) > size and number < MAX_PAGE else None,
    )
