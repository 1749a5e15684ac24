"""Routes the ``octotp`` app to the alias chosen by the current test (``octotp_db`` fixture)."""

from __future__ import annotations

from typing import Any

ACTIVE = {"alias": "default"}


class OctotpTestRouter:
    """octotp's models go to ``ACTIVE["alias"]``; everything else is left to Django (``default``)."""

    def db_for_read(self, model: type[Any], **hints: Any) -> str | None:
        return ACTIVE["alias"] if model._meta.app_label == "octotp" else None

    def db_for_write(self, model: type[Any], **hints: Any) -> str | None:
        return ACTIVE["alias"] if model._meta.app_label == "octotp" else None

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool | None:
        return None

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool | None:
        return None  # every app on every alias: each test database is complete
