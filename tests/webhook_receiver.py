"""The webhook receiver of the testing kit (``octotp_core.testing.webhook_receiver``), where the
console suite that every adapter runs can use it too; the tests import it from here."""

from octotp_core.testing.webhook_receiver import Received, Verify, WebhookReceiver, running

__all__ = ["Received", "Verify", "WebhookReceiver", "running"]
