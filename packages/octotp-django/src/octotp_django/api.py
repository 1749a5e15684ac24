"""The in-process API: the configured core ``Octotp``, and token calls that need no HTTP.

The same names exist in every octotp adapter (``get_octotp``, ``create_token``,
``validate_token``, ``cancel_token``), so switching framework is an import change.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from octotp_core import Clock, Octotp
from octotp_core.inprocess import InProcessApi

if TYPE_CHECKING:
    from octotp_core.dashboard import DashboardHandler
    from octotp_core.http import ApiHandler

_lock = threading.Lock()
_octotp: Octotp | None = None
_handler: ApiHandler | None = None
_dashboard: DashboardHandler | None = None


def build_octotp(*, clock: Clock | None = None) -> Octotp:
    """A new ``Octotp`` from ``settings.OCTOTP`` on the Django store, sending the Django signals.

    ``get_octotp()`` builds its one instance with this; tests can build one with a ``FrozenClock``
    and install it with ``reset_octotp(octotp)``.
    """
    from django.db import DEFAULT_DB_ALIAS, router, transaction

    from . import models
    from .conf import get_settings
    from .signals import send_token_signal
    from .store import DjangoStore

    octotp = Octotp(get_settings(), store=DjangoStore(), clock=clock)
    octotp.tokens.listeners.append(send_token_signal)  # the outbox's listeners too
    # A create inside the host's atomic() block is committed when the block ends: only then may its
    # job go to the host's task queue (delivery_dispatch).
    octotp.outbox.after_commit = lambda callback: transaction.on_commit(
        callback, using=router.db_for_write(models.Job) or DEFAULT_DB_ALIAS
    )
    return octotp


def get_octotp() -> Octotp:
    """The ``Octotp`` configured from ``settings.OCTOTP`` on Django's database (built once, on first use)."""
    global _octotp
    octotp = _octotp
    if octotp is None:
        with _lock:
            if _octotp is None:
                _octotp = build_octotp()
            octotp = _octotp
    return octotp


def get_api_handler() -> ApiHandler:
    """The core HTTP ``ApiHandler`` for ``get_octotp()`` (what the API views call)."""
    global _handler
    handler = _handler
    if handler is None:
        from octotp_core.http import ApiHandler

        octotp = get_octotp()
        with _lock:
            if _handler is None or _handler.octotp is not octotp:
                _handler = ApiHandler(octotp)
            handler = _handler
    return handler


def get_dashboard_handler() -> DashboardHandler:
    """The core ``DashboardHandler`` for ``get_octotp()`` (what the dashboard view calls; with
    ``OCTOTP["DASHBOARD_AUTH"] = "django"`` the view hands it Django's login with each request)."""
    global _dashboard
    handler = _dashboard
    octotp = get_octotp()
    if handler is None or handler.octotp is not octotp:
        from octotp_core.dashboard import DashboardHandler

        with _lock:
            if _dashboard is None or _dashboard.octotp is not octotp:
                _dashboard = DashboardHandler(octotp)
            handler = _dashboard
    return handler


def reset_octotp(octotp: Octotp | None = None) -> None:
    """Forget the built ``Octotp`` so the next use rebuilds it (done when ``OCTOTP`` or ``SECRET_KEY``
    change), or install ``octotp`` as the one ``get_octotp()`` returns (tests)."""
    global _octotp, _handler, _dashboard
    with _lock:
        _octotp, _handler, _dashboard = octotp, None, None


_api = InProcessApi(get_octotp)
create_token = _api.create_token
validate_token = _api.validate_token
cancel_token = _api.cancel_token
