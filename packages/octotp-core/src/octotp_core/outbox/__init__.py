"""The outbox: deliveries as jobs written with their tokens and sent by workers (``delivery_mode``
``queue``). ``Outbox`` makes, sends and retries jobs; ``Worker`` runs it in a thread (``octotp
serve``) or a process of its own (``octotp worker``)."""

from .queue import Outbox, backoff
from .worker import Worker, worker_name

__all__ = ["Outbox", "Worker", "backoff", "worker_name"]
