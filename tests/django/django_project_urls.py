"""URLs of the test project: the admin, and octotp mounted at the root as the README shows."""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("octotp_django.urls")),
]
