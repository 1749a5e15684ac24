from __future__ import annotations

from django.urls import include, path

from . import views

urlpatterns = [
    path("bench/hello", views.hello),
    path("bench/create", views.reference_create),
    path("peer/create", views.peer_create),
    path("peer/validate", views.peer_validate),
    path("octotp/", include("octotp_django.urls")),
]
