"""Settings of the minimal Django project the octotp-django tests run in.

Django settings are process-wide, so every selected backend gets its own database alias at once:
``default`` is SQLite (Django's own apps always live there), plus ``postgres`` and ``mysql`` when
``OCTOTP_TEST_DATABASES`` selects them (default: all three). Tests choose the alias octotp's models
are routed to with the ``octotp_db`` fixture (``OctotpTestRouter``), so one process covers every
backend and the routing itself is exercised. Test databases get unique names (never the shared
``test`` database).
"""

from __future__ import annotations

import tempfile
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine
from sqlalchemy.engine import make_url

from octotp_core.testing.databases import ServiceUnavailable, selected_backends, service_url

RUN_ID = uuid.uuid4().hex[:10]
SELECTED = selected_backends()
ALIASES = {"sqlite": "default", "postgres": "postgres", "mysql": "mysql"}
UNAVAILABLE: dict[str, str] = {}
"""Selected backends that could not be reached, with why (the fixture fails or skips on them)."""

_ENGINES = {"postgres": "django.db.backends.postgresql", "mysql": "django.db.backends.mysql"}


def _server_database(backend: str) -> dict[str, Any]:
    url = service_url(backend)
    engine = create_engine(url, connect_args={"connect_timeout": 3})
    try:
        with engine.connect():
            pass
    except Exception as exc:
        raise ServiceUnavailable(f"{backend} at {make_url(url).render_as_string()} does not answer: {exc}") from exc
    finally:
        engine.dispose()
    parsed = make_url(url)
    if backend == "mysql":
        import pymysql

        pymysql.install_as_MySQLdb()  # the tests use PyMySQL; production sites usually use mysqlclient
    return {
        "ENGINE": _ENGINES[backend],
        "NAME": parsed.database or "",
        "USER": parsed.username or "",
        "PASSWORD": parsed.password or "",
        "HOST": parsed.host or "",
        "PORT": str(parsed.port or ""),
        "OPTIONS": {"charset": "utf8mb4"} if backend == "mysql" else {},
        "TEST": {"NAME": f"octotp_dj_{RUN_ID}_{backend}", **({"CHARSET": "utf8mb4"} if backend == "mysql" else {})},
    }


DATABASES: dict[str, dict[str, Any]] = {
    # A file, not Django's shared-cache in-memory database: that one has table locks that no busy
    # timeout waits for, so racing threads would fail instead of queueing as on a real deployment.
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": ":memory:",
        "OPTIONS": {"timeout": 30},
        "TEST": {"NAME": str(Path(tempfile.gettempdir()) / f"octotp_dj_{RUN_ID}.sqlite3")},
    },
}
for _backend in SELECTED:
    if _backend == "sqlite":
        continue
    try:
        DATABASES[ALIASES[_backend]] = _server_database(_backend)
    except ServiceUnavailable as _exc:
        UNAVAILABLE[_backend] = str(_exc)

DATABASE_ROUTERS = ["tests.django.octotp_test_router.OctotpTestRouter"]

SECRET_KEY = "django-insecure-octotp-tests-" + "x" * 30
DEBUG = False
USE_TZ = True
TIME_ZONE = "UTC"
ALLOWED_HOSTS = ["testserver", "localhost", "127.0.0.1"]
ROOT_URLCONF = "tests.django.django_project_urls"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
DEFAULT_FROM_EMAIL = "octotp@example.com"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast test users only

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

OCTOTP: dict[str, Any] = {
    "HASHER": "hmac",  # the tests exercise storage and flows, not argon2's cost
    "DELIVERY_SMS_BACKEND": "octotp_core.delivery.console.ConsoleBackend",
}
