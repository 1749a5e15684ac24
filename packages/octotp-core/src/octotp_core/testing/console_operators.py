"""Console conformance: operator pages, plans, suspension, disabled accounts, the plans page. Part of
``ConsoleSuite`` (see ``console.py`` for its fixtures)."""

from __future__ import annotations


class OperatorsSuite:
    """The operators pages, as every adapter must answer them."""
