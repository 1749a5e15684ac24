"""Console conformance: sign-up per mode, verification by code, password reset and change, sessions.
Part of ``ConsoleSuite`` (see ``console.py`` for its fixtures)."""

from __future__ import annotations


class AccountsSuite:
    """The accounts pages, as every adapter must answer them."""
