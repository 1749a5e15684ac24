"""How dashboard pages are routed: a ``Route`` per path, and ``ViewArea``, the base of each area of
pages (accounts, teams, operators, project pages), which lists its own routes. ``DashboardHandler``
collects every area's routes and applies the session and CSRF gates before any view runs."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..http.messages import Response

if TYPE_CHECKING:
    from ..console.permissions import Access, Action
    from .views import DashboardRequest, DashboardViews

View = Callable[..., Response]
PROJECT = r"(?P<project_id>[^/]+)"
"""The path segment of a project id (a view gets it as ``project_id``)."""


@dataclass(frozen=True)
class Route:
    """One path (a regular expression, anchored) and its views by method."""

    pattern: re.Pattern[str]
    methods: dict[str, View]
    signed_in: bool
    """True: needs a session (and the session's CSRF token on POST). False: a page for signed-out
    visitors (login, setup, sign-up, reset: their pre-session CSRF token on POST)."""
    own_accounts: bool = False
    """Only where octotp's own accounts sign people in (login, sign-up, password): not found when the
    host app signs the dashboard in."""
    any_user: bool = False
    """With the host's login: open to every signed-in host user, even one with no permission yet (an
    invitation is how such a user gets a project)."""


def route(
    path: str, signed_in: bool = True, *, own_accounts: bool = False, any_user: bool = False, **methods: View
) -> Route:
    """A ``Route`` for ``path`` (``{PROJECT}``-style groups become view keyword arguments)."""
    return Route(re.compile(f"^{path}$"), methods, signed_in, own_accounts, any_user)


class ViewArea:
    """A group of dashboard pages sharing ``DashboardViews`` (rendering, sessions, throttles)."""

    def __init__(self, views: DashboardViews) -> None:
        self.views = views
        self.octotp = views.octotp

    def routes(self) -> list[Route]:
        """This area's routes (none by default)."""
        return []

    def access(self, call: DashboardRequest, project_id: str, action: Action) -> Access:
        """The signed-in account's access to the project, after ``require(action)`` (``NotFound`` for
        no access at all, ``Forbidden`` for a role that may not)."""
        return self.views.access(call, project_id, action)
