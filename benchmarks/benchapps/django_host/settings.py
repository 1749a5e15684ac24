"""Settings of the benchmark's Django host project (a ``startproject`` layout, configured from the
environment the benchmark sets: ``OCTOTP_DATABASE_URL`` becomes ``DATABASES``, the other ``OCTOTP_*``
variables become the ``OCTOTP`` dict, as a site reading its config from the environment would)."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from typing import Any

from sqlalchemy.engine import make_url

_url = make_url(os.environ["OCTOTP_DATABASE_URL"])
_database: dict[str, Any]
if _url.get_backend_name() == "sqlite":
    _database = {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": _url.database,
        # The tuning octotp's own SQLAlchemy engine applies (WAL, busy timeout), and IMMEDIATE
        # transactions so concurrent writers queue instead of failing with "database is locked".
        "OPTIONS": {
            "init_command": "PRAGMA journal_mode=WAL;PRAGMA synchronous=NORMAL",
            "transaction_mode": "IMMEDIATE",
            "timeout": 10,
        },
    }
else:
    _database = {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": _url.database,
        "USER": _url.username or "",
        "PASSWORD": _url.password or "",
        "HOST": _url.host or "",
        "PORT": str(_url.port or ""),
    }
# Persistent connections, as any production site sets (Django's default reconnects per request).
_database["CONN_MAX_AGE"] = 600
DATABASES = {"default": _database}

SECRET_KEY = os.environ["OCTOTP_SECRET_KEY"] + "-django"
DEBUG = False
USE_TZ = True
TIME_ZONE = "UTC"
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
ROOT_URLCONF = "benchapps.django_host.urls"
WSGI_APPLICATION = "benchapps.django_host.wsgi.application"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "octotp_django",
    # The peer row: django-otp's email device behind two JSON views (views.peer_create/peer_validate).
    "django_otp",
    "django_otp.plugins.otp_email",
]
# In memory: django-otp's "sending" renders and builds the message and costs nothing more.
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
OTP_EMAIL_SENDER = "bench@bench.example"
# startproject's middleware (minus clickjacking), so every endpoint pays what a real site pays.
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
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

_OCTOTP_ENV: dict[str, Callable[[str], Any]] = {
    "SECRET_KEY": str,
    "HASHER": str,
    "ARGON2_PROFILE": str,
    "RATE_LIMIT_STORAGE": str,
    "PLANS": json.loads,
    "DEFAULT_PLAN": str,
    "RECIPIENT_SEND_BUDGET": str,
    "RECIPIENT_FAILURE_BUDGET": str,
}
OCTOTP: dict[str, Any] = {
    key: parse(os.environ["OCTOTP_" + key]) for key, parse in _OCTOTP_ENV.items() if "OCTOTP_" + key in os.environ
}
OCTOTP["DELIVERY_EMAIL_BACKEND"] = "octotp_core.delivery.console.ConsoleBackend"
