"""Console conformance: token search and filters, key revocation, project deletion, audit log pages.
Part of ``ConsoleSuite`` (see ``console.py`` for its fixtures)."""

from __future__ import annotations


class ProjectPagesSuite:
    """The projects pages, as every adapter must answer them."""
