"""Blinker signals sent when tokens change state. None of them ever carries a code.

The sender is the Flask app; keyword arguments are ``event`` (the core ``TokenEvent``) and its
fields ``project_id``, ``token_id``, ``recipient_hint`` (masked, e.g. ``j***@example.com``),
``purpose`` and ``status``::

    from octotp_flask.signals import token_locked

    @token_locked.connect_via(app)
    def alert(sender, project_id, recipient_hint, **extra):
        ...
"""

from __future__ import annotations

from blinker import Namespace, Signal

from octotp_core import TokenEvent

_signals = Namespace()

token_created: Signal = _signals.signal("octotp.token-created", doc="A token was issued (and delivered, if asked).")
token_approved: Signal = _signals.signal("octotp.token-approved", doc="A code was validated successfully.")
token_failed: Signal = _signals.signal(
    "octotp.token-failed", doc="A validation failed (incorrect, expired or not found)."
)
token_locked: Signal = _signals.signal(
    "octotp.token-locked", doc="A validation was refused because the code or the recipient is locked."
)

SIGNAL_FOR_EVENT: dict[str, Signal] = {
    "created": token_created,
    "approved": token_approved,
    "failed": token_failed,
    "locked": token_locked,
}


def send_event(sender: object, event: TokenEvent) -> None:
    """Send the signal matching ``event.kind`` from ``sender`` (the app)."""
    SIGNAL_FOR_EVENT[event.kind].send(sender, **event.signal_kwargs())
