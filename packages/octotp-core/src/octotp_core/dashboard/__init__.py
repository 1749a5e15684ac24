"""The dashboard (DESIGN §3): view logic and Jinja2 templates on neutral requests.

``DashboardHandler(octotp).handle(request, base)`` answers every dashboard page; ``request.path``
is relative to where the dashboard is mounted ("/login") and ``base`` is that mount as the browser
sees it ("/dashboard"). Adapters only route ``<prefix>/dashboard`` and ``<prefix>/dashboard/...``
to it and copy the response to the wire, so every framework serves the same pages, cookies and
headers. Sessions, CSRF, login throttling and the first-run setup link are decided here.
"""

from .handler import DashboardHandler
from .setup import new_setup_token, setup_url

__all__ = ["DashboardHandler", "new_setup_token", "setup_url"]
