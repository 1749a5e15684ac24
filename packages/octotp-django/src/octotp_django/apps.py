"""The Django app configuration (label ``octotp``)."""

from __future__ import annotations

from django.apps import AppConfig


class OctotpConfig(AppConfig):
    """octotp's tables, admin, checks and management commands."""

    name = "octotp_django"
    label = "octotp"
    verbose_name = "octotp"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.core.signals import setting_changed

        from . import checks  # noqa: F401  (registers the system checks)
        from .api import reset_octotp

        def _settings_changed(*, setting: str, **kwargs: object) -> None:
            if setting in ("OCTOTP", "SECRET_KEY", "SECRET_KEY_FALLBACKS"):
                reset_octotp()

        setting_changed.connect(_settings_changed, weak=False, dispatch_uid="octotp.settings_changed")
