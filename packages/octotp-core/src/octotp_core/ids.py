"""Identifiers: project, token, key and account ids are UUIDs sent as strings."""

from __future__ import annotations

import uuid


def is_uuid(value: object) -> bool:
    """True when ``value`` is a string holding a UUID."""
    if not isinstance(value, str):
        return False
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True
