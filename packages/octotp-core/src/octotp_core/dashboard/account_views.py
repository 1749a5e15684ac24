"""Dashboard pages: sign-up, email verification, password reset and change, sessions."""

from __future__ import annotations

from .routing import Route, ViewArea


class AccountViews(ViewArea):
    """The account pages."""

    def routes(self) -> list[Route]:
        return []
