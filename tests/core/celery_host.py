"""A host's Celery app, as the core README's Celery example writes it: ``delivery_dispatch`` points
to ``dispatch``, which queues the ``send_job`` task; a Celery worker (``celery -A
tests.core.celery_host worker``) runs the task, which sends the job through its own ``Octotp``
(configured from ``OCTOTP_*`` environment variables, like ``octotp worker``).

The broker is ``OCTOTP_TEST_AMQP_URL`` (RabbitMQ); each test run uses a queue of its own
(``OCTOTP_TEST_CELERY_QUEUE``), so runs sharing the broker never take each other's tasks."""

from __future__ import annotations

import os
import threading

from celery import Celery

from octotp_core import Octotp
from octotp_core.outbox import worker_name

DEFAULT_AMQP_URL = "amqp://guest:guest@127.0.0.1:5672//"

app = Celery("octotp_test_host", broker=os.environ.get("OCTOTP_TEST_AMQP_URL", DEFAULT_AMQP_URL), backend="rpc://")
app.conf.update(
    task_acks_late=True,  # a task lost with its worker is redelivered: send_job leaves a sent job alone
    worker_prefetch_multiplier=1,
    broker_connection_retry_on_startup=True,
)

_lock = threading.Lock()
_octotp: Octotp | None = None


def octotp() -> Octotp:
    """This process's ``Octotp``, built on first use from the environment."""
    global _octotp
    with _lock:
        if _octotp is None:
            _octotp = Octotp()
        return _octotp


@app.task(name="octotp_test_host.send_job")
def send_job(job_id: str) -> bool:
    """Send one outbox job; False when it was already claimed or done."""
    return octotp().outbox.send_job(job_id, worker_name())


def queue() -> str:
    return os.environ.get("OCTOTP_TEST_CELERY_QUEUE", "octotp-test")


def dispatch(job_id: str) -> None:
    """``delivery_dispatch``: hand the job to Celery."""
    send_job.apply_async(args=[job_id], queue=queue())
