"""Settings of the Django host the browser test runs (``manage.py runserver`` in a subprocess):
what a Django developer has — Django's auth, sessions, admin and ``LoginView`` — plus octotp with
``OCTOTP = {"DASHBOARD_AUTH": "django"}``. The URLs, the login template and ``LOGIN_URL`` are the
host test project's (``tests/django/django_host_settings.py``); the database file and the secret come
from the environment the test starts the server with.
"""

from __future__ import annotations

import os

from tests.django.django_host_settings import LOGIN_URL, LOGOUT_REDIRECT_URL, ROOT_URLCONF, TEMPLATES  # noqa: F401

SECRET_KEY = os.environ["E2E_DJANGO_SECRET_KEY"]
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
USE_TZ = True
TIME_ZONE = "UTC"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": os.environ["E2E_DJANGO_DATABASE"]}}
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # a fast test user only

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "octotp_django",
]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]

OCTOTP = {
    "DASHBOARD_AUTH": "django",
    "HASHER": "hmac",  # the test is about the way in, not argon2's cost
    "API_KEY_CACHE_SECONDS": 0,
}
