"""URLs of the test project: the admin, octotp at the root (as the README shows) and under a prefix."""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("octotp_django.urls")),
    path("octotp/", include(("octotp_django.urls", "octotp"), namespace="prefixed")),
]
