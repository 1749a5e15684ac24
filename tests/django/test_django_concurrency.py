"""Single use under contention: 50 threads validate one correct code; exactly one is approved."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable

import pytest
from django.db import connections

from octotp_core import Octotp
from octotp_django.conf import get_settings
from octotp_django.store import DjangoStore

pytestmark = [pytest.mark.django_db(databases="__all__", transaction=True), pytest.mark.slow]

THREADS = 50
ROUNDS = 3


def _in_threads(count: int, work: Callable[[], str]) -> list[str]:
    barrier = threading.Barrier(count)
    results: list[str] = []
    lock = threading.Lock()

    def run() -> None:
        try:
            barrier.wait()
            outcome = work()
        except Exception as exc:  # recorded, so a crash shows up as a wrong count
            outcome = f"error: {type(exc).__name__}: {exc}"
        finally:
            connections.close_all()  # each thread has its own connections
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


@pytest.mark.xdist_group("django-concurrency")
def test_fifty_concurrent_validations_approve_exactly_once(server_db: str) -> None:
    # argon2 (not the tests' fast hmac) keeps the window between reserving and consuming realistic.
    settings = get_settings().model_copy(update={"hasher": "argon2", "max_attempts": THREADS})
    octotp = Octotp(settings, store=DjangoStore())
    project = octotp.accounts.create_project("race").project
    for round_number in range(ROUNDS):
        email = f"race{round_number}@example.com"
        token = octotp.create_token(project.id, email=email)
        assert token.code is not None
        code = token.code

        outcomes = Counter(
            _in_threads(THREADS, lambda: octotp.validate_token(project.id, email=email, code=code).status)  # noqa: B023
        )
        assert outcomes["approved"] == 1, outcomes
        # The losers saw a token someone else approved, or found the recipient's failure budget
        # held by the validations in flight (it is spent before a code is checked, issue 11 item 7).
        assert set(outcomes) <= {"approved", "not_found", "locked"}, outcomes
        assert sum(outcomes.values()) == THREADS
    usage = octotp.tokens.usage(project.id, octotp.clock.now().date())
    assert usage[0].approved == ROUNDS
    assert usage[0].failed == ROUNDS * (THREADS - 1)


@pytest.mark.xdist_group("django-concurrency")
def test_the_attempt_cap_holds_under_contention(server_db: str) -> None:
    octotp = Octotp(get_settings(), store=DjangoStore())
    project = octotp.accounts.create_project("cap").project
    token = octotp.create_token(project.id, email="cap@example.com")
    assert token.code is not None
    wrong = "1" * 6 if token.code != "1" * 6 else "2" * 6
    outcomes = Counter(
        _in_threads(THREADS, lambda: octotp.validate_token(project.id, email="cap@example.com", code=wrong).status)
    )
    # The per-recipient failure budget (10/hour) may lock some callers first; the cap (5) bounds "incorrect".
    assert outcomes["incorrect"] <= get_settings().max_attempts, outcomes
    assert set(outcomes) <= {"incorrect", "locked"}, outcomes
    stored = octotp.store.get_token(token.id)
    assert stored is not None
    assert stored.attempts == get_settings().max_attempts
