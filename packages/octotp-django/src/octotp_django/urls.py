"""``path("", include("octotp_django.urls"))`` mounts ``/api/tokens``, ``/api/tokens/validate``,
``/api/tokens/<id>``, ``/healthz``, ``/readyz``, ``/openapi.json`` and the dashboard at
``/dashboard/`` (under any prefix)."""

from __future__ import annotations

import re

from django.urls import re_path

from octotp_core.http import DASHBOARD_PATH, root_claims

from . import views

app_name = "octotp"


def _claims_pattern() -> str:
    """Core's root claims as one regex below the include: Django cannot tell whether it is included at
    the root or under a prefix, so it claims octotp's namespaces (``api/...``) and exact paths in both."""
    alternatives = []
    for claim in root_claims():
        head = claim.path.strip("/").split("/")[0]
        alternatives.append(
            rf"{re.escape(head)}(?:/[\s\S]*)?" if "/" in claim.path.strip("/") or claim.subtree else re.escape(head)
        )
    return rf"^(?P<path>{'|'.join(dict.fromkeys(alternatives))})$"


urlpatterns = [
    # [\s\S], not '.': a path may hold an encoded newline; it must still reach core and get its problem+json 404.
    re_path(_claims_pattern(), views.api, name="api"),
    re_path(rf"^{re.escape(DASHBOARD_PATH.strip('/'))}(?P<path>/[\s\S]*)?$", views.dashboard, name="dashboard"),
]
