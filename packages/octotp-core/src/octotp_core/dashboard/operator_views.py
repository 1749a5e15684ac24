"""Dashboard pages: operators (every account and project, plans, disabling, suspending), the plans
page and the public landing page."""

from __future__ import annotations

from .routing import Route, ViewArea


class OperatorViews(ViewArea):
    """The operator pages."""

    def routes(self) -> list[Route]:
        return []
