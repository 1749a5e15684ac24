"""Django signals for token events. They never carry a code.

Each is sent with ``sender`` = :class:`octotp_django.models.Token` and keyword arguments
``event`` (the core ``TokenEvent``), ``project_id``, ``token_id``, ``recipient_hint`` (masked,
e.g. ``j***@example.com``), ``purpose`` and ``status`` (``None`` for ``token_created``)::

    from django.dispatch import receiver
    from octotp_django.signals import token_locked

    @receiver(token_locked)
    def alert(sender, project_id, recipient_hint, **kwargs):
        ...

The outcome is decided (and stored) before a signal is sent, so a receiver that raises is logged
and cannot change it.
"""

from __future__ import annotations

import logging

from django.dispatch import Signal

from octotp_core import TokenEvent

log = logging.getLogger("octotp.django")

token_created = Signal()
"""A code was issued (and delivered, when ``send`` was asked)."""
token_approved = Signal()
"""A code was validated successfully (exactly once per token)."""
token_failed = Signal()
"""A validation failed: ``status`` is ``incorrect``, ``expired`` or ``not_found``."""
token_locked = Signal()
"""A validation was refused because the token or the recipient's failure budget is used up."""

_BY_KIND = {"created": token_created, "approved": token_approved, "failed": token_failed, "locked": token_locked}


def send_token_signal(event: TokenEvent) -> None:
    """Core ``TokenService`` listener: send the Django signal matching ``event.kind``."""
    from .models import Token

    results = _BY_KIND[event.kind].send_robust(sender=Token, **event.signal_kwargs())
    for receiver, result in results:
        if isinstance(result, Exception):
            log.error("token_%s receiver %r raised %s", event.kind, receiver, type(result).__name__, exc_info=result)
