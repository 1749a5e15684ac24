"""``TokenService`` semantics (DESIGN §5) on every database, with the injected ``FrozenClock``."""

from __future__ import annotations

import datetime as dt
import math
import re
import socket
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from octotp_core import (
    DeliveryFailed,
    FrozenClock,
    InvalidInput,
    NotFound,
    Octotp,
    Plan,
    RateLimited,
    Settings,
    TokenEvent,
)
from octotp_core.codes import generate_code
from octotp_core.delivery.console import ConsoleBackend
from octotp_core.delivery.smtp import SmtpBackend
from octotp_core.hashing import CodeHasher
from octotp_core.migrate import upgrade
from octotp_core.store import Project, UsageDay, make_engine

UTC = dt.timezone.utc
MakeOctotp = Callable[..., Octotp]


# -- fixtures and helpers ------------------------------------------------------------------------
def email() -> str:
    """A recipient no other test uses (budgets are per recipient)."""
    return f"user-{uuid.uuid4().hex[:12]}@example.com"


def new_project(octotp: Octotp, **options: object) -> Project:
    """A project with options the account service does not expose (deliver-only, bounds, region)."""
    project = Project(
        id=str(uuid.uuid4()),
        name="Options",
        owner_id=None,
        plan=octotp.settings.default_plan,
        created_at=octotp.clock.now(),
        **options,  # type: ignore[arg-type]
    )
    octotp.store.create_project(project)
    return project


def other_code(code: str) -> str:
    """A code of the same length that is certainly wrong."""
    return str((int(code) + 1) % 10 ** len(code)).zfill(len(code))


def closed_port() -> int:
    """A local TCP port with nothing listening on it (connections are refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class CountingHasher:
    """The real hasher, instrumented to count how often it does (expensive) work."""

    def __init__(self, inner: CodeHasher) -> None:
        self.inner = inner
        self.hashes = 0
        self.verifies = 0

    def hash(self, code: str) -> str:
        self.hashes += 1
        return self.inner.hash(code)

    def verify(self, stored: str, code: str) -> bool:
        self.verifies += 1
        return self.inner.verify(stored, code)


def chi2_sf(statistic: float, dof: int) -> float:
    """P(X >= statistic) for X ~ chi-square with ``dof`` degrees of freedom (series for the lower gamma)."""
    a, z = dof / 2, statistic / 2
    total, term, n = 0.0, 1 / a, 0
    while term > 1e-17 * total:
        total += term
        n += 1
        term *= z / (a + n)
    return max(0.0, 1 - math.exp(-z + a * math.log(z) - math.lgamma(a)) * total)


def chi2_statistic(counts: Counter[str], categories: list[str]) -> float:
    expected = sum(counts.values()) / len(categories)
    return sum((counts[c] - expected) ** 2 / expected for c in categories)


DIGITS = [str(d) for d in range(10)]
# Each statistical check fails a correct generator with probability 1e-6.
SIGNIFICANCE = 1e-6


# -- expiry --------------------------------------------------------------------------------------
def test_default_expiry_is_300_seconds(octotp: Octotp, clock: FrozenClock) -> None:
    project = octotp.accounts.create_project("expiry").project
    created = octotp.create_token(project.id, email=email())
    assert created.expires_at == clock.now() + dt.timedelta(seconds=300)


@pytest.mark.parametrize("seconds", [30, 31, 599, 600])
def test_expiry_within_bounds_is_accepted(octotp: Octotp, clock: FrozenClock, seconds: int) -> None:
    project = octotp.accounts.create_project("expiry").project
    created = octotp.create_token(project.id, email=email(), expires_in=seconds)
    assert created.expires_at == clock.now() + dt.timedelta(seconds=seconds)


@pytest.mark.parametrize("seconds", [29, 601, 0, -30, 86400, True, 60.5, "60"])
def test_expiry_outside_bounds_names_the_bounds(octotp: Octotp, seconds: object) -> None:
    project = octotp.accounts.create_project("expiry").project
    with pytest.raises(InvalidInput) as caught:
        octotp.create_token(project.id, email=email(), expires_in=seconds)
    [error] = caught.value.errors
    assert error.field == "expires_in"  # the in-process API names its Python parameter
    assert re.search(r"\b30\b", error.reason)
    assert re.search(r"\b600\b", error.reason)


def test_operator_may_raise_the_ceiling(make_octotp: MakeOctotp, clock: FrozenClock) -> None:
    octotp = make_octotp(expiry_max=3600)
    project = octotp.accounts.create_project("long expiry").project
    created = octotp.create_token(project.id, email=email(), expires_in=3600)
    assert created.expires_at == clock.now() + dt.timedelta(hours=1)
    with pytest.raises(InvalidInput, match=r"\b3600\b"):
        octotp.create_token(project.id, email=email(), expires_in=3601)


def test_project_bounds_override_the_settings(octotp: Octotp, clock: FrozenClock) -> None:
    project = new_project(octotp, expiry_min=60, expiry_default=90, expiry_max=120)
    assert octotp.create_token(project, email=email()).expires_at == clock.now() + dt.timedelta(seconds=90)
    with pytest.raises(InvalidInput) as caught:
        octotp.create_token(project, email=email(), expires_in=30)
    assert "60" in caught.value.errors[0].reason
    assert "120" in caught.value.errors[0].reason


def test_code_works_until_expiry_and_then_is_expired(octotp: Octotp, clock: FrozenClock) -> None:
    project = octotp.accounts.create_project("expiry").project
    alice, bob = email(), email()
    early = octotp.create_token(project.id, email=alice, expires_in=60)
    late = octotp.create_token(project.id, email=bob, expires_in=60)
    assert early.code is not None
    assert late.code is not None
    clock.advance(59.999)
    assert octotp.validate_token(project.id, email=alice, code=early.code).status == "approved"
    clock.advance(0.001)  # exactly at expires_at: no longer valid
    result = octotp.validate_token(project.id, email=bob, code=late.code)
    assert (result.is_valid, result.status) == (False, "expired")
    clock.advance(3600)
    assert octotp.validate_token(project.id, email=bob, code=late.code).status == "expired"


# -- binding and supersede -----------------------------------------------------------------------
def test_resend_supersedes_the_old_code(make_octotp: MakeOctotp) -> None:
    octotp = make_octotp(code_length=10)  # two 10-digit codes never collide in practice
    project = octotp.accounts.create_project("resend").project
    recipient = email()
    old = octotp.create_token(project.id, email=recipient)
    new = octotp.create_token(project.id, email=recipient)
    assert old.code is not None
    assert new.code is not None
    assert old.code != new.code
    assert octotp.validate_token(project.id, email=recipient, code=old.code).status == "incorrect"
    assert octotp.validate_token(project.id, email=recipient, code=new.code).status == "approved"
    stored = octotp.store.get_token(old.id)
    assert stored is not None
    assert stored.closed_reason == "superseded"


def test_purposes_are_independent_bindings(make_octotp: MakeOctotp) -> None:
    octotp = make_octotp(code_length=10)
    project = octotp.accounts.create_project("purposes").project
    recipient = email()
    login = octotp.create_token(project.id, email=recipient, purpose="login")
    reset = octotp.create_token(project.id, email=recipient, purpose="reset")
    plain = octotp.create_token(project.id, email=recipient)
    assert login.code is not None
    assert reset.code is not None
    assert plain.code is not None
    # A code is only good for its own purpose...
    assert octotp.validate_token(project.id, email=recipient, code=login.code, purpose="reset").status == "incorrect"
    assert octotp.validate_token(project.id, email=recipient, code=login.code).status == "incorrect"
    # ...and creating one purpose's code superseded none of the others.
    assert octotp.validate_token(project.id, email=recipient, code=login.code, purpose="login").is_valid
    assert octotp.validate_token(project.id, email=recipient, code=reset.code, purpose="reset").is_valid
    assert octotp.validate_token(project.id, email=recipient, code=plain.code).is_valid


def test_projects_are_independent_bindings(octotp: Octotp) -> None:
    first = octotp.accounts.create_project("first").project
    second = octotp.accounts.create_project("second").project
    recipient = email()
    token = octotp.create_token(first.id, email=recipient)
    assert token.code is not None
    assert octotp.validate_token(second.id, email=recipient, code=token.code).status == "not_found"
    assert octotp.validate_token(first.id, email=recipient, code=token.code).status == "approved"


def test_used_code_cannot_be_used_again(octotp: Octotp) -> None:
    project = octotp.accounts.create_project("single use").project
    recipient = email()
    token = octotp.create_token(project.id, email=recipient)
    assert token.code is not None
    assert octotp.validate_token(project.id, email=recipient, code=token.code).is_valid
    again = octotp.validate_token(project.id, email=recipient, code=token.code)
    assert (again.is_valid, again.status) == (False, "not_found")


def test_validate_without_any_token_is_not_found(octotp: Octotp) -> None:
    project = octotp.accounts.create_project("nothing").project
    assert octotp.validate_token(project.id, email=email(), code="123456").status == "not_found"


# -- recipients ----------------------------------------------------------------------------------
def test_email_matches_case_insensitively(octotp: Octotp) -> None:
    project = octotp.accounts.create_project("case").project
    local = f"Alice.Smith.{uuid.uuid4().hex[:8]}"
    token = octotp.create_token(project.id, email=f"{local}@Example.COM")
    assert token.code is not None
    result = octotp.validate_token(project.id, email=f"{local.lower()}@example.com", code=token.code)
    assert result.status == "approved"


def _phone(prefix: str) -> str:
    """A unique valid-looking subscriber number: budgets are per recipient."""
    return prefix + str(uuid.uuid4().int % 10**6).zfill(6)


def test_phone_is_normalised_to_e164_with_the_default_region(make_octotp: MakeOctotp) -> None:
    octotp = make_octotp(default_phone_region="GB")
    project = octotp.accounts.create_project("phones").project
    national = _phone("07400 ")  # UK mobile, national format
    token = octotp.create_token(project.id, phone=national)
    assert token.code is not None
    assert token.channel == "sms"
    international = "+44" + national[1:].replace(" ", "")
    assert octotp.validate_token(project.id, phone=international, code=token.code).status == "approved"


def test_project_phone_region_overrides_the_setting(make_octotp: MakeOctotp) -> None:
    octotp = make_octotp(default_phone_region="GB")
    project = new_project(octotp, default_phone_region="US")
    token = octotp.create_token(project, phone="(201) 555-0123")
    assert token.code is not None
    assert octotp.validate_token(project, phone="+1 201 555 0123", code=token.code).status == "approved"


def test_national_number_without_a_region_is_refused(octotp: Octotp) -> None:
    project = octotp.accounts.create_project("phones").project
    with pytest.raises(InvalidInput) as caught:
        octotp.create_token(project.id, phone="07911 123456")
    assert [e.field for e in caught.value.errors] == ["phone"]
    assert "international" in caught.value.errors[0].reason


@pytest.mark.parametrize(
    ("recipient", "field"),
    [({"email": "not-an-email"}, "email"), ({"phone": "+44 12"}, "phone")],
)
def test_invalid_recipient_names_the_field(octotp: Octotp, recipient: dict[str, str], field: str) -> None:
    project = octotp.accounts.create_project("invalid").project
    with pytest.raises(InvalidInput) as caught:
        octotp.create_token(project.id, **recipient)
    assert [e.field for e in caught.value.errors] == [field]


@pytest.mark.parametrize(
    "recipient",
    [{}, {"email": None, "phone": None}, {"email": "a@example.com", "phone": "+447911123456"}],
)
def test_exactly_one_recipient(octotp: Octotp, recipient: dict[str, str | None]) -> None:
    project = octotp.accounts.create_project("one recipient").project
    for call in (
        lambda: octotp.create_token(project.id, **recipient),
        lambda: octotp.validate_token(project.id, code="123456", **recipient),
    ):
        with pytest.raises(InvalidInput) as caught:
            call()
        assert sorted(e.field for e in caught.value.errors) == ["email", "phone"]


def test_null_recipient_field_counts_as_absent(octotp: Octotp) -> None:
    project = octotp.accounts.create_project("nulls").project
    phone = _phone("+447400")
    token = octotp.create_token(project.id, email=None, phone=phone)
    assert token.code is not None
    assert octotp.validate_token(project.id, email=None, phone=phone, code=token.code).is_valid


# -- attempt cap and budgets ---------------------------------------------------------------------
def test_five_wrong_codes_then_locked_even_with_the_right_code(octotp: Octotp) -> None:
    project = octotp.accounts.create_project("attempts").project
    recipient = email()
    token = octotp.create_token(project.id, email=recipient)
    assert token.code is not None
    wrong = other_code(token.code)
    statuses = [octotp.validate_token(project.id, email=recipient, code=wrong).status for _ in range(5)]
    assert statuses == ["incorrect"] * 5
    locked = octotp.validate_token(project.id, email=recipient, code=token.code)
    assert (locked.is_valid, locked.status) == (False, "locked")
    stored = octotp.store.get_token(token.id)
    assert stored is not None
    assert stored.attempts == 5


def test_attempt_cap_is_configurable(make_octotp: MakeOctotp) -> None:
    octotp = make_octotp(max_attempts=2)
    project = octotp.accounts.create_project("attempts").project
    recipient = email()
    token = octotp.create_token(project.id, email=recipient)
    assert token.code is not None
    wrong = other_code(token.code)
    assert [octotp.validate_token(project.id, email=recipient, code=wrong).status for _ in range(3)] == [
        "incorrect",
        "incorrect",
        "locked",
    ]


def test_failure_budget_is_not_reset_by_resends(octotp: Octotp) -> None:
    # Default budget: 10 wrong codes per recipient per hour, across all of their codes.
    project = octotp.accounts.create_project("failure budget").project
    recipient, bystander = email(), email()
    for _ in range(2):
        token = octotp.create_token(project.id, email=recipient)
        assert token.code is not None
        wrong = other_code(token.code)
        statuses = [octotp.validate_token(project.id, email=recipient, code=wrong).status for _ in range(5)]
        assert statuses == ["incorrect"] * 5
    fresh = octotp.create_token(project.id, email=recipient)
    assert fresh.code is not None
    assert octotp.validate_token(project.id, email=recipient, code=fresh.code).status == "locked"
    # Another recipient of the same project has their own budget.
    theirs = octotp.create_token(project.id, email=bystander)
    assert theirs.code is not None
    assert octotp.validate_token(project.id, email=bystander, code=theirs.code).status == "approved"


def test_failure_budget_below_the_attempt_cap(make_octotp: MakeOctotp) -> None:
    octotp = make_octotp(recipient_failure_budget="3/hour")
    project = octotp.accounts.create_project("failure budget").project
    recipient = email()
    first = octotp.create_token(project.id, email=recipient)
    assert first.code is not None
    wrong = other_code(first.code)
    assert [octotp.validate_token(project.id, email=recipient, code=wrong).status for _ in range(4)] == [
        "incorrect",
        "incorrect",
        "incorrect",
        "locked",  # the token itself has attempts left: the recipient's budget is what locks
    ]
    resent = octotp.create_token(project.id, email=recipient)
    assert resent.code is not None
    assert octotp.validate_token(project.id, email=recipient, code=resent.code).status == "locked"


def test_send_budget_per_recipient(octotp: Octotp, clock: FrozenClock) -> None:
    # Default: 5 codes per recipient per 10 minutes.
    project = octotp.accounts.create_project("send budget").project
    local = f"budget-{uuid.uuid4().hex[:8]}"
    created = [octotp.create_token(project.id, email=f"{local}@example.com") for _ in range(5)]
    with pytest.raises(RateLimited) as caught:
        octotp.create_token(project.id, email=f"{local.upper()}@EXAMPLE.COM")  # the same recipient
    assert caught.value.scope == "recipient"
    assert caught.value.limit == 5
    assert 0 < caught.value.retry_after <= 600
    assert str(caught.value) == "too many codes for this recipient (at most 5 per 10 minutes)"
    # The refused resend superseded nothing: the last code still works.
    last = created[-1]
    assert last.code is not None
    assert octotp.validate_token(project.id, email=f"{local}@example.com", code=last.code).is_valid
    # Other recipients are unaffected.
    assert octotp.create_token(project.id, email=email()).code is not None
    [usage] = octotp.tokens.usage(project.id, clock.now().date())
    assert (usage.created, usage.rate_limited) == (6, 1)


def test_send_budget_counts_failed_deliveries(make_octotp: MakeOctotp) -> None:
    octotp = make_octotp(recipient_send_budget="2/10 minutes")
    octotp.tokens.backends["email"] = SmtpBackend(host="127.0.0.1", port=closed_port(), timeout=5)
    project = octotp.accounts.create_project("send budget").project
    recipient = email()
    for _ in range(2):
        with pytest.raises(DeliveryFailed):
            octotp.create_token(project.id, email=recipient, send=True)
    with pytest.raises(RateLimited):
        octotp.create_token(project.id, email=recipient)


# -- plan limits ---------------------------------------------------------------------------------
def test_new_projects_get_the_free_plan_of_60_per_minute(octotp: Octotp) -> None:
    project = octotp.accounts.create_project("defaults").project
    assert project.plan == "free"
    assert octotp.settings.plans["free"].creates_per_minute == 60
    assert octotp.settings.plans["pro"].creates_per_minute == 600


def test_plan_limit_is_per_project_across_processes(
    make_octotp: MakeOctotp, redis_url: str, clock: FrozenClock
) -> None:
    plans = {"tiny": Plan(creates_per_minute=3)}
    first = make_octotp(plans=plans, default_plan="tiny", rate_limit_storage=redis_url)
    second = make_octotp(plans=plans, default_plan="tiny", rate_limit_storage=redis_url)
    project = first.accounts.create_project("tiny").project
    neighbour = first.accounts.create_project("neighbour").project
    first.create_token(project.id, email=email())
    second.create_token(project.id, email=email())
    first.create_token(project.id, email=email())
    for instance in (first, second):
        with pytest.raises(RateLimited) as caught:
            instance.create_token(project.id, email=email())
        assert caught.value.scope == "project"
        assert caught.value.limit == 3
        assert 0 < caught.value.retry_after <= 60
    # Another project's allowance is its own.
    second.create_token(neighbour.id, email=email())
    second.tokens.meter.flush()  # each process writes its own counts
    [usage] = first.tokens.usage(project.id, clock.now().date())
    assert (usage.created, usage.rate_limited) == (3, 2)


def test_memory_limits_are_per_process(make_octotp: MakeOctotp) -> None:
    plans = {"tiny": Plan(creates_per_minute=1)}
    first = make_octotp(plans=plans, default_plan="tiny")
    second = make_octotp(plans=plans, default_plan="tiny")
    project = first.accounts.create_project("tiny").project
    first.create_token(project.id, email=email())
    with pytest.raises(RateLimited):
        first.create_token(project.id, email=email())
    second.create_token(project.id, email=email())  # memory:// counts only in its own process


def test_plan_change_takes_effect(make_octotp: MakeOctotp) -> None:
    octotp = make_octotp(
        plans={"tiny": Plan(creates_per_minute=1), "big": Plan(creates_per_minute=100)}, default_plan="tiny"
    )
    project = octotp.accounts.create_project("upgrade").project
    octotp.create_token(project.id, email=email())
    with pytest.raises(RateLimited):
        octotp.create_token(project.id, email=email())
    octotp.accounts.set_plan(project.id, "big")
    assert octotp.create_token(project.id, email=email()).code is not None


def test_refused_creates_spend_neither_the_plan_nor_the_recipient_budget(make_octotp: MakeOctotp) -> None:
    plans = {"tiny": Plan(creates_per_minute=3), "big": Plan(creates_per_minute=100)}
    octotp = make_octotp(plans=plans, default_plan="tiny", recipient_send_budget="2/10 minutes")
    project = octotp.accounts.create_project("refusals").project
    busy, other = email(), email()
    octotp.create_token(project.id, email=busy)
    octotp.create_token(project.id, email=busy)
    for _ in range(3):
        with pytest.raises(RateLimited, match="recipient"):
            octotp.create_token(project.id, email=busy)
    octotp.create_token(project.id, email=other)  # the recipient refusals used no plan creation
    with pytest.raises(RateLimited, match="plan"):
        octotp.create_token(project.id, email=other)
    octotp.accounts.set_plan(project.id, "big")
    octotp.create_token(project.id, email=other)  # the plan refusal used none of their budget
    with pytest.raises(RateLimited, match="recipient"):
        octotp.create_token(project.id, email=other)


def test_limits_are_decided_before_any_hashing(make_octotp: MakeOctotp) -> None:
    octotp = make_octotp(
        plans={"tiny": Plan(creates_per_minute=3)}, default_plan="tiny", recipient_send_budget="1/10 minutes"
    )
    counting = CountingHasher(octotp.tokens.hasher)
    octotp.tokens.hasher = counting
    project = octotp.accounts.create_project("flood").project
    recipient = email()
    octotp.create_token(project.id, email=recipient)
    assert counting.hashes == 1
    with pytest.raises(RateLimited, match="recipient"):
        octotp.create_token(project.id, email=recipient)  # send budget
    octotp.create_token(project.id, email=email())
    octotp.create_token(project.id, email=email())
    assert counting.hashes == 3
    with pytest.raises(RateLimited, match="plan"):
        octotp.create_token(project.id, email=email())  # plan limit
    assert counting.hashes == 3


def test_exhausted_failure_budget_costs_no_verification(make_octotp: MakeOctotp) -> None:
    octotp = make_octotp(recipient_failure_budget="2/hour")
    counting = CountingHasher(octotp.tokens.hasher)
    octotp.tokens.hasher = counting
    project = octotp.accounts.create_project("guessing").project
    recipient = email()
    token = octotp.create_token(project.id, email=recipient)
    assert token.code is not None
    for _ in range(2):
        assert octotp.validate_token(project.id, email=recipient, code=other_code(token.code)).status == "incorrect"
    assert counting.verifies == 2
    assert octotp.validate_token(project.id, email=recipient, code=token.code).status == "locked"
    assert octotp.validate_token(project.id, email=email(), code=token.code).status == "not_found"
    assert counting.verifies == 2


# -- cancel and purge ----------------------------------------------------------------------------
def test_cancel(octotp: Octotp) -> None:
    project = octotp.accounts.create_project("cancel").project
    other = octotp.accounts.create_project("other").project
    recipient = email()
    token = octotp.create_token(project.id, email=recipient)
    assert token.code is not None
    with pytest.raises(NotFound):
        octotp.cancel_token(other.id, token.id)  # not this project's token: untouched
    octotp.cancel_token(project.id, token.id)
    assert octotp.validate_token(project.id, email=recipient, code=token.code).status == "not_found"
    octotp.cancel_token(project.id, token.id)  # idempotent: cancelling a cancelled token succeeds again
    with pytest.raises(NotFound):
        octotp.cancel_token(other.id, token.id)  # ...but only for its own project
    used = octotp.create_token(project.id, email=recipient)
    assert used.code is not None
    assert octotp.validate_token(project.id, email=recipient, code=used.code).status == "approved"
    with pytest.raises(NotFound):
        octotp.cancel_token(project.id, used.id)  # a used code cannot be cancelled
    with pytest.raises(NotFound):
        octotp.cancel_token(project.id, "not-a-uuid")
    with pytest.raises(NotFound):
        octotp.cancel_token(str(uuid.uuid4()), token.id)


def test_token_ids_answer_alike_on_every_database(octotp: Octotp) -> None:
    # The canonical form in either case finds the token; the other spellings uuid.UUID reads are not
    # ids here (PostgreSQL's uuid column reads braces and bare digits and refuses ``urn:uuid:``, text
    # columns match none of them): a 404 on every database, never a storage error.
    project = octotp.accounts.create_project("ids").project
    token = octotp.create_token(project.id, email=email())
    assert octotp.tokens.get(project.id, token.id.upper()).id == token.id
    for spelling in (f"urn:uuid:{token.id}", f"{{{token.id}}}", token.id.replace("-", "")):
        with pytest.raises(NotFound):
            octotp.tokens.get(project.id, spelling)
        with pytest.raises(NotFound):
            octotp.cancel_token(project.id, spelling)
    octotp.cancel_token(project.id, token.id.upper())
    assert octotp.tokens.get(project.id, token.id).closed_reason == "cancelled"


def test_cancel_by_another_project_leaves_the_code_usable(octotp: Octotp) -> None:
    project = octotp.accounts.create_project("cancel").project
    other = octotp.accounts.create_project("other").project
    recipient = email()
    token = octotp.create_token(project.id, email=recipient)
    assert token.code is not None
    with pytest.raises(NotFound):
        octotp.cancel_token(other.id, token.id)
    assert octotp.validate_token(project.id, email=recipient, code=token.code).is_valid


def test_purge_removes_expired_tokens_only(make_octotp: MakeOctotp) -> None:
    # purge deletes by time across projects, so this test lives in an era no other test uses.
    era = FrozenClock(dt.datetime(1991, 6, 1, tzinfo=UTC))
    octotp = make_octotp(octotp_clock=era, hasher="hmac")
    project = octotp.accounts.create_project("purge").project
    short = octotp.create_token(project.id, email=email(), expires_in=30)
    long = octotp.create_token(project.id, email=email(), expires_in=600)
    era.advance(90)  # short expired 60 s ago
    assert octotp.tokens.purge(grace_seconds=120) == 0
    assert octotp.tokens.purge(grace_seconds=30) == 1
    assert octotp.store.get_token(short.id) is None
    assert octotp.store.get_token(long.id) is not None
    assert octotp.tokens.purge() == 0
    era.advance(600)
    assert octotp.tokens.purge() == 1
    assert octotp.store.get_token(long.id) is None


# -- delivery ------------------------------------------------------------------------------------
def test_codes_are_not_sent_unless_asked(octotp: Octotp, capsys: pytest.CaptureFixture[str]) -> None:
    project = octotp.accounts.create_project("no send").project
    token = octotp.create_token(project.id, email=email())
    assert token.sent is False
    assert token.code is not None
    assert token.code not in capsys.readouterr().out


def test_deliver_only_project_returns_no_code_and_delivers_it(
    make_octotp: MakeOctotp, capsys: pytest.CaptureFixture[str]
) -> None:
    octotp = make_octotp(code_length=8)
    assert isinstance(octotp.tokens.backends["email"], ConsoleBackend)
    project = new_project(octotp, deliver_only=True)
    recipient = email()
    created = octotp.create_token(project, email=recipient)
    assert (created.code, created.sent) == (None, True)
    printed = capsys.readouterr().out
    assert f"to={recipient}" in printed
    [delivered] = re.findall(r"\b\d{8}\b", printed)
    assert octotp.validate_token(project.id, email=recipient, code=delivered).status == "approved"


def test_failed_delivery_leaves_no_usable_code(make_octotp: MakeOctotp) -> None:
    octotp = make_octotp()
    octotp.tokens.backends["email"] = SmtpBackend(host="127.0.0.1", port=closed_port(), timeout=5)
    project = octotp.accounts.create_project("delivery").project
    recipient = email()
    earlier = octotp.create_token(project.id, email=recipient)
    assert earlier.code is not None
    with pytest.raises(DeliveryFailed):
        octotp.create_token(project.id, email=recipient, send=True)
    [failed, superseded] = octotp.store.list_tokens(project.id, limit=2)
    assert failed.closed_reason == "delivery_failed"
    assert (superseded.id, superseded.closed_reason) == (earlier.id, "superseded")
    assert octotp.validate_token(project.id, email=recipient, code=earlier.code).status == "not_found"


# -- codes ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("length", [4, 6, 10])
def test_code_length_from_settings(make_octotp: MakeOctotp, length: int) -> None:
    # An operator who wants 4 digits lowers the minimum too (the server default obeys its own bounds).
    octotp = make_octotp(code_length=length, project_min_code_length=min(length, 6), hasher="hmac")
    project = octotp.accounts.create_project("length").project
    code = octotp.create_token(project.id, email=email()).code
    assert code is not None
    assert len(code) == length
    assert code.isdigit()


def test_code_length_per_project(octotp: Octotp) -> None:
    project = new_project(octotp, code_length=9)
    recipient = email()
    token = octotp.create_token(project, email=recipient)
    assert token.code is not None
    assert len(token.code) == 9
    assert octotp.validate_token(project, email=recipient, code=token.code).is_valid


FULLWIDTH_DIGITS = "\uff11\uff12\uff13\uff14\uff15\uff16"


@pytest.mark.parametrize("code", ["12345a", FULLWIDTH_DIGITS, "123", "12345678901", " 123456", ""])
def test_malformed_code_is_invalid_input(octotp: Octotp, code: str) -> None:
    project = octotp.accounts.create_project("codes").project
    with pytest.raises(InvalidInput) as caught:
        octotp.validate_token(project.id, email=email(), code=code)
    assert [e.field for e in caught.value.errors] == ["code"]


def test_generated_codes_are_uniform() -> None:
    # Every digit position of 6-digit codes is uniform...
    codes = [generate_code(6) for _ in range(60_000)]
    for position in range(6):
        counts = Counter(code[position] for code in codes)
        assert chi2_sf(chi2_statistic(counts, DIGITS), 9) > SIGNIFICANCE, (position, counts)
    # ...and so is the whole value of 4-digit codes (Wilson-Hilferty normal approximation).
    values = Counter(generate_code(4) for _ in range(200_000))
    categories = [str(v).zfill(4) for v in range(10**4)]
    statistic, dof = chi2_statistic(values, categories), len(categories) - 1
    z = ((statistic / dof) ** (1 / 3) - (1 - 2 / (9 * dof))) / math.sqrt(2 / (9 * dof))
    assert 0.5 * math.erfc(z / math.sqrt(2)) > SIGNIFICANCE, statistic


@pytest.fixture
def sqlite_octotp(tmp_path: Path, make_settings: Callable[..., Settings], clock: FrozenClock) -> Iterator[Octotp]:
    """A standalone SQLite ``Octotp`` (for statistics, where the database is beside the point)."""
    url = f"sqlite:///{tmp_path / 'stats.db'}"
    engine = make_engine(url)
    upgrade(engine)
    settings = make_settings(
        database_url=url,
        hasher="hmac",
        code_length=4,
        project_min_code_length=4,
        plans={"bulk": Plan(creates_per_minute=10**6)},
        default_plan="bulk",
    )
    instance = Octotp(settings, engine=engine, clock=clock)
    yield instance
    instance.close()


def test_issued_codes_keep_leading_zeros_and_are_uniform(sqlite_octotp: Octotp) -> None:
    project = sqlite_octotp.accounts.create_project("stats").project
    codes = [sqlite_octotp.create_token(project, email=email()).code or "" for _ in range(250)]
    assert all(len(code) == 4 and code.isdigit() for code in codes)
    first_digits = Counter(code[0] for code in codes)
    assert first_digits["0"] > 0  # P(no leading zero in 250 codes) = 0.9**250, about 4e-12
    assert chi2_sf(chi2_statistic(first_digits, DIGITS), 9) > SIGNIFICANCE, first_digits


def test_created_token_repr_hides_the_code(octotp: Octotp) -> None:
    project = octotp.accounts.create_project("repr").project
    token = octotp.create_token(project.id, email=email())
    assert token.code is not None
    assert token.code not in repr(token)
    assert token.id in repr(token)


# -- secrets, events, usage ----------------------------------------------------------------------
@pytest.mark.parametrize("hasher", ["argon2", "hmac"])
def test_token_made_under_the_old_secret_validates_after_rotation(make_octotp: MakeOctotp, hasher: str) -> None:
    old_secret, new_secret = uuid.uuid4().hex * 2, uuid.uuid4().hex * 2
    before = make_octotp(secret_key=old_secret, hasher=hasher)
    project = before.accounts.create_project("rotation").project
    recipient, later_recipient = email(), email()
    token = before.create_token(project.id, email=recipient)
    assert token.code is not None

    without_fallback = make_octotp(secret_key=new_secret, hasher=hasher)
    assert without_fallback.validate_token(project.id, email=recipient, code=token.code).status == "not_found"

    after = make_octotp(secret_key=new_secret, secret_key_fallbacks=[old_secret], hasher=hasher)
    assert after.validate_token(project.id, email=recipient, code=token.code).status == "approved"
    fresh = after.create_token(project.id, email=later_recipient)
    assert fresh.code is not None
    assert after.validate_token(project.id, email=later_recipient, code=fresh.code).status == "approved"


def test_listeners_hear_every_outcome_without_the_code(octotp: Octotp) -> None:
    heard: list[TokenEvent] = []
    octotp.tokens.listeners.append(heard.append)
    project = octotp.accounts.create_project("events").project
    recipient = email()
    token = octotp.create_token(project.id, email=recipient, purpose="login")
    assert token.code is not None
    octotp.validate_token(project.id, email=recipient, code=other_code(token.code), purpose="login")
    octotp.validate_token(project.id, email=recipient, code=token.code, purpose="login")
    assert [(e.kind, e.status) for e in heard] == [("created", None), ("failed", "incorrect"), ("approved", "approved")]
    assert {e.token_id for e in heard} == {token.id}
    assert {e.purpose for e in heard} == {"login"}
    assert all(token.code not in repr(e) and recipient not in repr(e) for e in heard)


def test_usage_is_metered_per_project_and_day(make_octotp: MakeOctotp, clock: FrozenClock) -> None:
    octotp = make_octotp(plans={"tiny": Plan(creates_per_minute=3)}, default_plan="tiny")
    project = octotp.accounts.create_project("usage").project
    alice, bob = email(), email()
    first_day = clock.now().date()
    a = octotp.create_token(project.id, email=alice)
    b = octotp.create_token(project.id, email=bob)
    assert a.code is not None
    assert b.code is not None
    assert octotp.validate_token(project.id, email=alice, code=a.code).is_valid  # approved
    octotp.validate_token(project.id, email=bob, code=other_code(b.code))  # failed: incorrect
    octotp.validate_token(project.id, email=email(), code="123456")  # failed: not_found
    octotp.create_token(project.id, email=email())
    with pytest.raises(RateLimited):
        octotp.create_token(project.id, email=email())  # rate limited
    clock.advance(86400)
    octotp.validate_token(project.id, email=bob, code=b.code)  # failed: expired, on the next day
    assert octotp.tokens.usage(project.id, first_day) == [
        UsageDay(project.id, first_day, created=3, approved=1, failed=2, rate_limited=1),
        UsageDay(project.id, clock.now().date(), failed=1),
    ]


def test_unknown_project(octotp: Octotp) -> None:
    for project_id in (str(uuid.uuid4()), "not-a-uuid"):
        with pytest.raises(NotFound):
            octotp.create_token(project_id, email=email())
        with pytest.raises(NotFound):
            octotp.validate_token(project_id, email=email(), code="123456")


@pytest.mark.parametrize(("channel", "reason"), [("sms", "cannot reach"), ("fax", "one of")])
def test_channel_must_fit_the_recipient(octotp: Octotp, channel: str, reason: str) -> None:
    project = octotp.accounts.create_project("channels").project
    with pytest.raises(InvalidInput, match=reason) as caught:
        octotp.create_token(project.id, email=email(), channel=channel)
    assert [e.field for e in caught.value.errors] == ["channel"]


@pytest.mark.parametrize("purpose", ["has space", "x" * 65, "émoji"])
def test_invalid_purpose(octotp: Octotp, purpose: str) -> None:
    project = octotp.accounts.create_project("purposes").project
    with pytest.raises(InvalidInput) as caught:
        octotp.create_token(project.id, email=email(), purpose=purpose)
    assert [e.field for e in caught.value.errors] == ["purpose"]


@pytest.mark.parametrize("purpose", ["login\n", "login\r\n", "a" * 65, "log in"])
def test_a_purpose_outside_its_pattern_is_refused(make_octotp: MakeOctotp, purpose: str) -> None:
    """Including a final newline: ``$`` alone also matched before one, and ``"login\\n"`` was stored
    as a purpose of its own beside ``"login"``."""
    octotp = make_octotp()
    project = octotp.accounts.create_project("purpose pattern").project
    with pytest.raises(InvalidInput) as refused:
        octotp.create_token(project.id, email=email(), purpose=purpose)
    assert [error.field for error in refused.value.errors] == ["purpose"]
