"""Dashboard pages: a project's tokens (search, filter, pages), audit log and deletion."""

from __future__ import annotations

from .routing import Route, ViewArea


class ProjectViews(ViewArea):
    """The project pages."""

    def routes(self) -> list[Route]:
        return []
