"""URLs of the test project as a host that signs its users in itself (``OCTOTP["DASHBOARD_AUTH"] =
"django"``): Django's own ``LoginView``/``LogoutView`` at ``/accounts/``, a home page, the admin, and
octotp at the root (as the README shows) and under ``/octotp/``."""

from django.contrib import admin
from django.contrib.auth.views import LoginView, LogoutView
from django.http import HttpRequest, HttpResponse
from django.urls import include, path
from django.utils.html import escape


def home(request: HttpRequest) -> HttpResponse:
    """The host's own page (where ``LOGOUT_REDIRECT_URL`` sends a signed-out user)."""
    who = escape(request.user.get_username()) if request.user.is_authenticated else "nobody"
    return HttpResponse(f"<!doctype html><title>Shop</title><h1>The shop</h1><p id='who'>Signed in: {who}</p>")


urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/login/", LoginView.as_view(), name="login"),
    path("accounts/logout/", LogoutView.as_view(), name="logout"),
    path("", home, name="home"),
    path("", include("octotp_django.urls")),
    path("octotp/", include(("octotp_django.urls", "octotp"), namespace="prefixed")),
]
