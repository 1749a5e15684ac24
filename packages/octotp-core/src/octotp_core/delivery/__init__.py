"""Delivering codes: pluggable backends chosen by dotted path in settings.

A backend is any class with a ``name`` (its key in ``delivery_options``) and
``send(message: Message) -> None`` that raises on failure, and optionally a ``destination`` and a
``development_hint`` that the failure's log line names (``delivery.failure``), and a ``check() ->
str`` that ``octotp check`` calls: a dry run that sends nothing (SMTP connects, says EHLO, logs in
and quits), returning what it found or raising ``CheckFailed`` with the reason. Built in: ``console``, ``smtp``,
``webhook`` and ``twilio``; the Django package adds one on Django's mail framework.

What they send is a ``Message`` from ``render``: sandboxed Jinja2 templates per shipped locale
(``message``, ``locales``), a project's own words checked by ``validate_overrides`` (``overrides``),
and an SMS's size in segments from ``sms_segments`` (``sms``).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any, Protocol

from .locales import SHIPPED_LOCALES, negotiate
from .message import Message, render
from .outcomes import CheckFailed, PermanentFailure
from .overrides import validate_overrides
from .sms import SmsSegments, sms_segments


class DeliveryBackend(Protocol):
    """Sends one rendered message; raises ``PermanentFailure`` when no retry can help, any other
    exception for a failure that may pass. May return the provider's id of the message (Twilio's
    message SID), which the provider's status callbacks name."""

    name: str

    def send(self, message: Message) -> str | None: ...


Send = Callable[[DeliveryBackend, str, Message], object]
"""How core hands a message to a backend: ``send(backend, channel, message)`` (``plain_send``, or
the same counted and traced when metrics or tracing are on)."""


def plain_send(backend: DeliveryBackend, channel: str, message: Message) -> object:
    """``backend.send(message)``: the delivery hook when neither metrics nor tracing are on."""
    return backend.send(message)


def load_backend(dotted_path: str, options: dict[str, Any]) -> DeliveryBackend:
    """Import ``package.module.Class`` and build it with ``options[Class.name]`` as keyword arguments."""
    module_name, _, attr = dotted_path.rpartition(".")
    cls = getattr(importlib.import_module(module_name), attr)
    kwargs = options.get(getattr(cls, "name", attr), {})
    backend: DeliveryBackend = cls(**kwargs)
    return backend


__all__ = [
    "SHIPPED_LOCALES",
    "CheckFailed",
    "DeliveryBackend",
    "Message",
    "PermanentFailure",
    "SmsSegments",
    "load_backend",
    "negotiate",
    "render",
    "sms_segments",
    "validate_overrides",
]
