"""Blinker signals sent when tokens change state. None of them ever carries a code.

The sender is the Flask app; keyword arguments are ``event`` (the core ``TokenEvent``) and its
fields ``project_id``, ``token_id``, ``recipient_hint`` (masked, e.g. ``j***@example.com``),
``purpose``, ``status`` (validations), and for the delivery signals ``reason``. ``delivery_sent`` and
``delivery_failed`` come from the outbox (``OCTOTP_DELIVERY_MODE = "queue"``), wherever the job is
sent: a worker thread or a host's task queue (``OCTOTP_DELIVERY_DISPATCH``); in sync mode
``delivery_sent`` follows ``token_created`` when the create sent the code. ``delivery_delivered``
(and ``delivery_failed`` with ``reason="twilio_<code>"``) come from Twilio's status callbacks, in
either delivery mode::

    from octotp_flask.signals import token_locked

    @token_locked.connect_via(app)
    def alert(sender, project_id, recipient_hint, **extra):
        ...

Signals are sent once the outcome is stored, so a receiver cannot change it: one that raises is
logged (logger ``octotp.events``, with its traceback), the other receivers still run, and the
request gets its normal answer (unlike a plain ``Signal.send``, which would turn it into a 500).
"""

from __future__ import annotations

from collections.abc import Mapping

from blinker import Namespace, Signal
from flask import Flask, current_app, has_app_context

from octotp_core import TokenEvent
from octotp_core.events import SIGNAL_NAMES, listener_failed
from octotp_core.tokens import EventKind

_signals = Namespace()

token_created: Signal = _signals.signal("octotp.token-created", doc="A token was issued (and delivered, if asked).")
token_approved: Signal = _signals.signal("octotp.token-approved", doc="A code was validated successfully.")
token_failed: Signal = _signals.signal(
    "octotp.token-failed", doc="A validation failed (incorrect, expired or not found)."
)
token_locked: Signal = _signals.signal(
    "octotp.token-locked", doc="A validation was refused because the code or the recipient is locked."
)
delivery_sent: Signal = _signals.signal(
    "octotp.delivery-sent", doc="A queued code's message was handed to its provider (``delivery_mode='queue'``)."
)
delivery_delivered: Signal = _signals.signal(
    "octotp.delivery-delivered", doc="The provider reports a code's message delivered (Twilio's status callback)."
)
delivery_failed: Signal = _signals.signal(
    "octotp.delivery-failed", doc="A queued code's delivery failed for good; ``reason`` says why."
)

SIGNALS: Mapping[EventKind, Signal] = {kind: globals()[name] for kind, name in SIGNAL_NAMES.items()}
"""Event kind → signal, by core's one mapping (``octotp_core.events.SIGNAL_NAMES``)."""


def send_token_signal(event: TokenEvent, app: Flask | None = None) -> None:
    """Core listener (tokens and outbox): send the signal for ``event.kind`` from ``app`` (default: the
    current app), to each receiver in turn; a receiver that raises is logged and the others still run.
    ``init_app`` binds its app, so a job sent outside any app context (a worker thread) still has it."""
    if app is not None:
        sender: object = app
    else:
        sender = current_app._get_current_object() if has_app_context() else None  # type: ignore[attr-defined]
    signal = SIGNALS[event.kind]
    if getattr(signal, "is_muted", False):  # blinker's ``Signal.muted()`` (1.7+), as ``send`` honours it
        return
    kwargs = event.signal_kwargs()
    for receiver in list(signal.receivers_for(sender)):
        try:
            receiver(sender, **kwargs)
        except Exception as exc:
            listener_failed(event, receiver, exc)
