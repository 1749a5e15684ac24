"""Dashboard pages: project members, roles, invitations, ownership transfer."""

from __future__ import annotations

from .routing import Route, ViewArea


class TeamViews(ViewArea):
    """The team pages."""

    def routes(self) -> list[Route]:
        return []
