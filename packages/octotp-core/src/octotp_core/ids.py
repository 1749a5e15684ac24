"""Identifiers: project, token, key and account ids are UUIDs sent as strings."""

from __future__ import annotations

import uuid


def is_uuid(value: object) -> bool:
    """True when ``value`` is a UUID in its canonical text form (``8-4-4-4-12`` hex digits, either
    case). Not the other spellings ``uuid.UUID`` reads (braces, ``urn:uuid:``, 32 bare digits): ids
    are stored in the canonical form, and PostgreSQL's ``uuid`` column (token ids) would read some of
    them and refuse others, so they would answer differently from one database to the next."""
    if not isinstance(value, str) or len(value) != 36:
        return False
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True
