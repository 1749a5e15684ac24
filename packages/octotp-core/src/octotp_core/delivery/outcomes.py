"""How a delivery ends, as a backend tells it: a provider's message id, or a failure no retry fixes."""

from __future__ import annotations


class PermanentFailure(Exception):
    """Raised by a backend when retrying cannot help (an invalid number, a rejected address). Any
    other exception is taken as transient, and the outbox retries until the code expires.

    ``reason`` is a short code the API, the dashboard and events show (``invalid_recipient``,
    ``rejected``, ``unsubscribed``); never the recipient or a provider's free text."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class CheckFailed(Exception):
    """Raised by a backend's ``check()`` (the dry run of ``octotp check``) when it cannot work; the
    message is the reason, shown as it is, so it must not hold a password or token."""
