"""The per-recipient failure budget (DESIGN §5) is exact under concurrency and follows the recipient
whatever secret found the token (issue 11, item 7), on SQLite, PostgreSQL and MariaDB.

The budget is spent before a code is verified, so N wrong guesses at once with k left in the budget
are evaluated exactly k times; a right code gives its entry back."""

from __future__ import annotations

import secrets
import threading
import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest

from octotp_core import Octotp, Plan

GUESSES = 20
BULK = {"bulk": Plan(creates_per_minute=1_000_000)}
MakeOctotp = Callable[..., Octotp]


@pytest.fixture
def make_octotp(make_octotp: MakeOctotp) -> MakeOctotp:
    """The shared factory, with plans and attempt caps high enough that only the budget decides."""

    def factory(**overrides: object) -> Octotp:
        return make_octotp(**{"plans": BULK, "default_plan": "bulk", "max_attempts": 100, **overrides})

    return factory


def email() -> str:
    return f"budget-{uuid.uuid4().hex[:12]}@example.com"


def wrong(code: str | None) -> str:
    assert code is not None
    return str((int(code) + 1) % 10 ** len(code)).zfill(len(code))


@pytest.mark.parametrize("storage", ["memory://", "database://"])
@pytest.mark.parametrize("left", [1, 3])
def test_parallel_wrong_guesses_are_evaluated_exactly_as_often_as_the_budget_allows(
    make_octotp: MakeOctotp, storage: str, left: int
) -> None:
    # database:// through two Octotp instances (two engines, as two processes); memory:// in one.
    first = make_octotp(rate_limit_storage=storage)
    octotps = [first, make_octotp(rate_limit_storage=storage) if storage == "database://" else first]
    project = first.accounts.create_project("failure budget race").project
    recipient = email()
    token = first.create_token(project.id, email=recipient)
    guess = wrong(token.code)
    for _ in range(10 - left):  # the default budget is 10 per hour
        assert first.validate_token(project.id, email=recipient, code=guess).status == "incorrect"
    barrier = threading.Barrier(GUESSES, timeout=60)

    def attempt(n: int) -> str:
        barrier.wait()
        return octotps[n % 2].tokens.validate(project, email=recipient, code=guess).status

    with ThreadPoolExecutor(GUESSES) as pool:
        statuses = Counter(pool.map(attempt, range(GUESSES)))
    assert statuses == {"incorrect": left, "locked": GUESSES - left}
    stored = first.store.get_token(token.id)
    assert stored is not None
    assert stored.attempts == 10


def test_right_codes_do_not_spend_the_failure_budget(make_octotp: MakeOctotp) -> None:
    octotp = make_octotp(recipient_failure_budget="2/hour", recipient_send_budget="20/hour")
    project = octotp.accounts.create_project("approvals").project
    recipient = email()
    for _ in range(5):
        token = octotp.create_token(project.id, email=recipient)
        assert token.code is not None
        assert octotp.validate_token(project.id, email=recipient, code=token.code).status == "approved"
    token = octotp.create_token(project.id, email=recipient)
    statuses = [octotp.validate_token(project.id, email=recipient, code=wrong(token.code)).status for _ in range(3)]
    assert statuses == ["incorrect", "incorrect", "locked"]


def test_unknown_recipients_do_not_spend_the_failure_budget(make_octotp: MakeOctotp) -> None:
    octotp = make_octotp(recipient_failure_budget="2/hour")
    project = octotp.accounts.create_project("nothing to check").project
    recipient = email()
    assert [octotp.validate_token(project.id, email=recipient, code="123456").status for _ in range(4)] == [
        "not_found"
    ] * 4
    token = octotp.create_token(project.id, email=recipient)
    assert token.code is not None
    assert octotp.validate_token(project.id, email=recipient, code=token.code).status == "approved"


def test_failures_on_a_token_found_by_an_older_secret_count_for_the_recipient(
    make_octotp: MakeOctotp, test_secret: str
) -> None:
    """After a rotation the old token is found through the fallback secret; its wrong guesses are
    counted in the same budget as the recipient's new tokens."""
    before = make_octotp(recipient_failure_budget="3/hour")
    project = before.accounts.create_project("rotation").project
    recipient = email()
    old = before.create_token(project.id, email=recipient)
    rotated = make_octotp(
        recipient_failure_budget="3/hour",
        secret_key=secrets.token_urlsafe(32),
        secret_key_fallbacks=[test_secret],
    )
    statuses = [rotated.validate_token(project.id, email=recipient, code=wrong(old.code)).status for _ in range(4)]
    assert statuses == ["incorrect", "incorrect", "incorrect", "locked"]
    new = rotated.create_token(project.id, email=recipient)
    assert new.code is not None
    assert rotated.validate_token(project.id, email=recipient, code=new.code).status == "locked"
