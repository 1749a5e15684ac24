"""Console conformance: members, roles, invitations, ownership transfer. Part of ``ConsoleSuite`` (see
``console.py`` for its fixtures)."""

from __future__ import annotations


class TeamsSuite:
    """The teams pages, as every adapter must answer them."""
