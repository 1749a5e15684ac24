"""Django signals for token events. They never carry a code.

Each is sent with ``sender`` = :class:`octotp_django.models.Token` and keyword arguments
``event`` (the core ``TokenEvent``), ``project_id``, ``token_id``, ``recipient_hint`` (masked,
e.g. ``j***@example.com``), ``purpose``, ``status`` (the validation's; ``None`` for
``token_created`` and deliveries), and for ``delivery_sent`` / ``delivery_delivered`` /
``delivery_failed`` also ``reason`` (why it failed; ``None`` otherwise).
``delivery_sent`` and ``delivery_failed`` come from the outbox (``"DELIVERY_MODE": "queue"``),
wherever the job is sent: a worker or a host's task queue (``DELIVERY_DISPATCH``); in sync mode
``delivery_sent`` follows ``token_created`` when the create sent the code.
``delivery_delivered`` (and ``delivery_failed`` with ``reason="twilio_<code>"``) come from Twilio's
status callbacks, in either delivery mode::

    from django.dispatch import receiver
    from octotp_django.signals import token_locked

    @receiver(token_locked)
    def alert(sender, project_id, recipient_hint, **kwargs):
        ...

The outcome is decided (and stored) before a signal is sent, so a receiver cannot change it: one
that raises is logged (logger ``octotp.events``, with its traceback), the other receivers still run,
and the request or call gets its normal answer.
"""

from __future__ import annotations

from collections.abc import Mapping

from django.dispatch import Signal

from octotp_core import TokenEvent
from octotp_core.events import SIGNAL_NAMES, listener_failed
from octotp_core.tokens import EventKind

token_created = Signal()
"""A code was issued (and delivered, when ``send`` was asked)."""
token_approved = Signal()
"""A code was validated successfully (exactly once per token)."""
token_failed = Signal()
"""A validation failed: ``status`` is ``incorrect``, ``expired`` or ``not_found``."""
token_locked = Signal()
"""A validation was refused because the token or the recipient's failure budget is used up."""
delivery_sent = Signal()
"""A queued code's message was handed to its provider (``"DELIVERY_MODE": "queue"``)."""
delivery_delivered = Signal()
"""The provider reports a code's message delivered (Twilio's status callback)."""
delivery_failed = Signal()
"""A queued code's delivery failed for good: ``reason`` says why (``expired``, ``invalid_recipient``...)."""

SIGNALS: Mapping[EventKind, Signal] = {kind: globals()[name] for kind, name in SIGNAL_NAMES.items()}
"""Event kind → signal, by core's one mapping (``octotp_core.events.SIGNAL_NAMES``)."""


def send_token_signal(event: TokenEvent) -> None:
    """Core listener (tokens and outbox): send the Django signal for ``event.kind`` (``send_robust``:
    a receiver that raises is logged and the others still run)."""
    from .models import Token

    for receiver, result in SIGNALS[event.kind].send_robust(sender=Token, **event.signal_kwargs()):
        if isinstance(result, Exception):
            listener_failed(event, receiver, result)
