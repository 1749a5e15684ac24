"""Running the outbox in tests: until nothing is due, and out of the jobs earlier tests left in a
session's shared database."""

from __future__ import annotations

import datetime as dt

from octotp_core import FrozenClock, Octotp

AHEAD = dt.timedelta(days=400)
"""Past every leftover's expiry: a code's (an hour by default) and a webhook's retry window (a day)."""


def run_due(octotp: Octotp, worker: str = "test-worker") -> None:
    """Run ``octotp``'s outbox as ``octotp worker`` does, until nothing is due (in a session's shared
    database that includes other tests' due jobs)."""
    while octotp.outbox.run_once(worker, 100):
        pass


def run_out_leftover_jobs(octotp: Octotp) -> None:
    """Settle every job in ``octotp``'s database as an ``Octotp`` on the same store, backends and
    settings would, with its clock ``AHEAD``: each leftover has expired there and is failed unsent.

    Draining at the test's own now is not enough: a leftover in a backoff falls due when the test
    moves its clock, and is then sent through this test's backend before the test's own job (taking
    a refusal the test queued for its own, or a call its fake provider counts)."""
    ahead = Octotp(
        octotp.settings,
        store=octotp.store,
        clock=FrozenClock(octotp.clock.now() + AHEAD),
        backends=dict(octotp.outbox.backends),
    )
    run_due(ahead, "leftovers")
