"""Token events as every adapter publishes them: one signal name per event kind, and one rule for
listeners that fail.

Events are told after the outcome is stored (the token issued, the code consumed, the attempt
counted), so nothing a listener does can change it: a listener that raises is logged with its
traceback and the others still run; the caller gets the stored outcome. ``TokenService`` applies
this to its own listeners, and the Flask and Django signals apply it to each of their receivers.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .tokens import EventKind, TokenEvent

log = logging.getLogger("octotp.events")

SIGNAL_NAMES: Mapping[EventKind, str] = MappingProxyType(
    {
        "created": "token_created",
        "approved": "token_approved",
        "failed": "token_failed",
        "locked": "token_locked",
        "delivery.sent": "delivery_sent",
        "delivery.delivered": "delivery_delivered",
        "delivery.failed": "delivery_failed",
    }
)
"""Event kind → the name of the signal each adapter sends for it (``octotp_flask.signals.token_created``,
``octotp_django.signals.token_created``...). ``delivery.sent`` and ``delivery.failed`` are told by the
outbox (``delivery_mode="queue"``) once a job's outcome is stored; in sync mode ``delivery.sent``
follows ``created`` when the create sent the code (a failed send is the create's 502); ``delivery.delivered`` (and a
``delivery.failed`` with reason ``twilio_<code>``) once a provider's report on a sent message is
recorded (Twilio's status callbacks), in either delivery mode."""


def listener_failed(event: TokenEvent, listener: object, exc: BaseException) -> None:
    """Log that ``listener`` raised ``exc`` for ``event`` (the event carries no code)."""
    log.error(
        "%s listener %r raised %s; the stored outcome stands",
        SIGNAL_NAMES[event.kind],
        listener,
        type(exc).__name__,
        exc_info=exc,
    )


def notify(listeners: Iterable[Callable[[TokenEvent], object]], event: TokenEvent) -> None:
    """Call every listener with ``event``; one that raises is logged (``listener_failed``) and the
    rest still run. Never raises (``Exception`` only: ``KeyboardInterrupt`` still stops the process)."""
    for listener in list(listeners):
        try:
            listener(event)
        except Exception as exc:
            listener_failed(event, listener, exc)
