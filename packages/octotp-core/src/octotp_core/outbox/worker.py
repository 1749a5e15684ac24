"""``Worker``: runs an ``Outbox`` until stopped, in a thread of a server process (``octotp serve``)
or in a process of its own (``octotp worker``). Any number may run at once, on any number of
machines: a job is claimed by one of them at a time, and a crashed worker's jobs are taken over
when its lease ends."""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable

from .queue import Outbox

log = logging.getLogger("octotp.outbox")


def worker_name() -> str:
    """``host:pid:random``: who holds a claimed job (at most 64 characters)."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class Worker:
    """Claims and sends due jobs in batches; waits ``poll`` seconds when there were none.

    ``between_batches``: called before and after each batch, e.g. Django's
    ``close_old_connections``, so a long-running worker drops a connection the database closed
    (a restart) or that outlived ``CONN_MAX_AGE``, as Django does around each request."""

    def __init__(
        self,
        outbox: Outbox,
        *,
        poll: float = 0.5,
        batch: int = 20,
        name: str | None = None,
        between_batches: Callable[[], object] | None = None,
    ) -> None:
        self.outbox, self.poll, self.batch = outbox, poll, batch
        self.between_batches = between_batches
        self.name = name or worker_name()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run(self) -> None:
        """Work until ``stop()``; a failure of the store (database down) is logged and retried."""
        log.info("outbox worker started worker=%s", self.name)
        while not self._stop.is_set():
            try:
                self._between_batches()
                handled = self.outbox.run_once(self.name, self.batch)
            except Exception:
                log.exception("outbox worker error worker=%s", self.name)
                handled = 0
            finally:
                self._between_batches()
            if handled < self.batch:
                self._stop.wait(self.poll)
        log.info("outbox worker stopped worker=%s", self.name)

    def _between_batches(self) -> None:
        if self.between_batches is None:
            return
        try:
            self.between_batches()
        except Exception:
            log.exception("outbox worker between_batches failed worker=%s", self.name)

    def start(self) -> Worker:
        """Run in a daemon thread."""
        self._thread = threading.Thread(target=self.run, name=f"octotp-worker-{self.name}", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float | None = 10.0) -> None:
        """Stop after the job in hand (and wait for the thread, when ``start`` made one)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
