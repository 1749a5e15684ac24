"""Delivering codes: pluggable backends chosen by dotted path in settings.

A backend is any class with a ``name`` (its key in ``delivery_options``) and
``send(message: Message) -> None`` that raises on failure, and optionally a ``destination`` and a
``development_hint`` that the failure's log line names (``delivery.failure``). Built in: ``console``, ``smtp``,
``webhook`` and ``twilio``; the Django package adds one on Django's mail framework.
"""

from __future__ import annotations

import importlib
from typing import Any, Protocol

from .message import Message, render
from .outcomes import PermanentFailure


class DeliveryBackend(Protocol):
    """Sends one rendered message; raises ``PermanentFailure`` when no retry can help, any other
    exception for a failure that may pass. May return the provider's id of the message (Twilio's
    message SID), which the provider's status callbacks name."""

    name: str

    def send(self, message: Message) -> str | None: ...


def load_backend(dotted_path: str, options: dict[str, Any]) -> DeliveryBackend:
    """Import ``package.module.Class`` and build it with ``options[Class.name]`` as keyword arguments."""
    module_name, _, attr = dotted_path.rpartition(".")
    cls = getattr(importlib.import_module(module_name), attr)
    kwargs = options.get(getattr(cls, "name", attr), {})
    backend: DeliveryBackend = cls(**kwargs)
    return backend


__all__ = ["DeliveryBackend", "Message", "PermanentFailure", "load_backend", "render"]
