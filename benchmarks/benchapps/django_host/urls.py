from __future__ import annotations

from django.urls import include, path

from . import views

urlpatterns = [
    path("bench/hello", views.hello),
    path("bench/create", views.reference_create),
    path("octotp/", include("octotp_django.urls")),
]
