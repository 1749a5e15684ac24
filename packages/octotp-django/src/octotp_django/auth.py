"""``OCTOTP["DASHBOARD_AUTH"] = "django"``: the dashboard signed in by Django's own users and login.

Core decides everything (``octotp_core.console.host``); this module only says who ``request.user`` is
(``host_identity``) and where Django's login is (``host_login``).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.shortcuts import resolve_url

from octotp_core import HostIdentity, HostLogin

APP_LABEL = "octotp"
"""The app label of octotp's models: their permissions are ``octotp.<codename>``."""
OPERATE = f"{APP_LABEL}.operate"


def host_identity(user: Any) -> HostIdentity | None:
    """The dashboard's identity for ``request.user``; None for an anonymous or inactive user.

    ``id`` is ``str(user.pk)``, ``email`` the user's email field (``EMAIL_FIELD`` of a custom user
    model), ``name`` ``get_username()``; an operator is a superuser or a holder of ``octotp.operate``;
    ``permissions`` are the codenames of the user's ``octotp.*`` permissions (their own and their
    groups', from every authentication backend, as ``has_perm`` sees them).
    """
    if user is None or not user.is_authenticated or not getattr(user, "is_active", True):
        return None
    prefix = f"{APP_LABEL}."
    permissions = frozenset(name[len(prefix) :] for name in user.get_all_permissions() if name.startswith(prefix))
    email_field = user.get_email_field_name() if hasattr(user, "get_email_field_name") else "email"
    return HostIdentity(
        id=str(user.pk),
        email=str(getattr(user, email_field, "") or ""),
        operator=bool(user.is_superuser) or user.has_perm(OPERATE),
        permissions=permissions,
        name=user.get_username(),
    )


def host_login() -> HostLogin:
    """Django's login for the dashboard: ``LOGIN_URL`` (a path, a URL or a URL name, as
    ``login_required`` takes it) for anonymous visitors; "Log out" ends octotp's own small session and
    leads to ``LOGOUT_REDIRECT_URL`` (the user stays signed in to the site, whose session is the
    site's to end), or to ``/`` when it is not set."""
    logout = settings.LOGOUT_REDIRECT_URL
    return HostLogin(login_url=resolve_url(settings.LOGIN_URL), logout_url=resolve_url(logout) if logout else None)
