"""The test project as a host that signs its users in itself: what ``OCTOTP["DASHBOARD_AUTH"] =
"django"`` needs on top of ``django_project_settings`` (Django's login pages in ``django_host_urls``,
their template, ``LOGIN_URL``). The host tests apply ``HOST_SETTINGS`` with ``override_settings``; the
browser test's standalone project (``tests/e2e/django_host_settings.py``) uses the same pieces.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

TEMPLATES_DIR = Path(__file__).resolve().parent / "host_templates"
"""``registration/login.html``: the form ``django.contrib.auth.views.LoginView`` renders."""
ROOT_URLCONF = "tests.django.django_host_urls"
LOGIN_URL = "/accounts/login/"  # Django's default, spelt out as a site would
LOGOUT_REDIRECT_URL = "/"
TEMPLATES: list[dict[str, Any]] = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [TEMPLATES_DIR],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]


def host_settings(octotp: dict[str, Any]) -> dict[str, Any]:
    """``override_settings`` keyword arguments that make the test project a host in django mode, its
    ``OCTOTP`` being ``octotp`` plus ``DASHBOARD_AUTH``."""
    return {
        "ROOT_URLCONF": ROOT_URLCONF,
        "LOGIN_URL": LOGIN_URL,
        "LOGOUT_REDIRECT_URL": LOGOUT_REDIRECT_URL,
        "TEMPLATES": TEMPLATES,
        "OCTOTP": {**octotp, "DASHBOARD_AUTH": "django"},
    }
