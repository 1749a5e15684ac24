"""``path("", include("octotp_django.urls"))`` mounts ``/api/tokens``, ``/api/tokens/validate``,
``/api/tokens/<id>``, ``/healthz``, ``/readyz`` and ``/openapi.json`` (under any prefix)."""

from __future__ import annotations

from django.urls import re_path

from . import views

app_name = "octotp"

urlpatterns = [
    re_path(r"^(?P<path>api(?:/.*)?|healthz|readyz|openapi\.json)$", views.api, name="api"),
]
