"""octotp for Django: one-time verification codes stored through the Django ORM.

Add ``"octotp_django"`` to ``INSTALLED_APPS``, include ``octotp_django.urls``, configure one
``OCTOTP = {...}`` dict and run ``manage.py migrate``. In your own views::

    from octotp_django import create_token, validate_token

    token = create_token(project_id, email="user@example.com", send=True)
    result = validate_token(project_id, email="user@example.com", code=submitted_code)
"""

try:
    import django  # noqa: F401
except ImportError as exc:  # pragma: no cover - only without Django installed
    raise ImportError("octotp-django needs Django: pip install 'django>=4.2'") from exc

from .api import cancel_token, create_token, get_octotp, validate_token
from .signals import (
    delivery_delivered,
    delivery_failed,
    delivery_sent,
    token_approved,
    token_created,
    token_failed,
    token_locked,
)
from .version import __version__

__all__ = [
    "__version__",
    "cancel_token",
    "create_token",
    "delivery_delivered",
    "delivery_failed",
    "delivery_sent",
    "get_octotp",
    "token_approved",
    "token_created",
    "token_failed",
    "token_locked",
    "validate_token",
]
