"""``path("", include("octotp_django.urls"))`` mounts ``/api/tokens``, ``/api/tokens/validate``,
``/api/tokens/<id>``, ``/healthz``, ``/readyz``, ``/openapi.json`` and the dashboard at
``/dashboard/`` (under any prefix)."""

from __future__ import annotations

from django.urls import re_path

from . import views

app_name = "octotp"

urlpatterns = [
    # [\s\S], not '.': a path may hold an encoded newline; it must still reach core and get its problem+json 404.
    re_path(r"^(?P<path>api(?:/[\s\S]*)?|healthz|readyz|openapi\.json)$", views.api, name="api"),
    re_path(r"^dashboard(?P<path>/[\s\S]*)?$", views.dashboard, name="dashboard"),
]
