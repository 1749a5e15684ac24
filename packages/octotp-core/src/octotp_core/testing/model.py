"""A model-based test of the token semantics (DESIGN §5), for any ``Store``.

``run_token_model(store)`` drives a real ``Octotp`` over ``store`` with a hypothesis
``RuleBasedStateMachine`` — create, resend, validate with the right code, an old code or a wrong one,
cancel, move the injected clock, rotate the server secret — and checks every answer, and the stored
state of every token involved, against a small reference model:

- one active code per binding (project, normalised recipient, purpose): a create supersedes the
  binding's open code, so a resend's old code no longer works;
- a code expires when the clock reaches ``expires_at``; it is used once; after ``max_attempts``
  reservations it is ``locked``;
- a per-recipient failure budget (wrong codes, across purposes and resends) and a per-recipient send
  budget (every create, delivered or not); a failed delivery leaves no usable code;
- statuses ``approved``, ``incorrect``, ``expired``, ``locked``, ``not_found``;
- after a rotation (current secret → fallback) codes issued before it still work until the binding
  gets a new one, and budgets follow the recipient whichever secret found the token (what was spent
  counts for as long as the secret current at the time is still configured).

Each example makes two fresh projects, so the store may be shared with other tests. The budgets
have a one-day window and an example moves its clock by less than that in total: the model holds
whether rate limits read the wall clock or the injected one. Use the ``hmac`` hasher (the model sets
it) to keep thousands of steps fast; argon2's cost is not what this proves.

How much runs is a profile, chosen by ``OCTOTP_TEST_MODEL_PROFILE``: ``ci`` (the default; fixed seed,
at least 2,000 steps) or ``deep`` (random seed, at least 30,000 steps, for maintainers). A run
that executes fewer steps than its profile promises, or never reaches one of the outcomes listed in
``REQUIRED_OUTCOMES``, fails: a silently tiny run cannot pass. A third-party store runs it as::

    from octotp_core.testing.model import run_token_model

    def test_token_model(my_store):  # a fixture returning a ready, migrated store
        run = run_token_model(my_store)
        print(run.steps, dict(run.outcomes))
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, ClassVar

import pytest
from hypothesis import HealthCheck, Phase
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    multiple,
    precondition,
    rule,
    run_state_machine_as_test,
)
from pydantic import SecretStr

from ..clock import FrozenClock, SystemClock
from ..codes import looks_like_code
from ..core import Octotp
from ..delivery import Message
from ..errors import DeliveryFailed, InvalidInput, NotFound, RateLimited
from ..ids import is_uuid
from ..settings import ExplicitSettings, Plan
from ..store import Project, Store
from ..tokens import CreatedToken

PROFILE_ENV = "OCTOTP_TEST_MODEL_PROFILE"


@dataclass(frozen=True)
class ModelProfile:
    """How much a model run does: ``examples`` state machines of up to ``steps`` steps each."""

    examples: int
    steps: int
    min_steps: int
    """The run fails if it executed fewer steps than this (hypothesis may end an example early)."""
    derandomize: bool
    """A fixed seed (reproducible in CI) or a fresh one each run (more ground covered over time)."""


MODEL_PROFILES: dict[str, ModelProfile] = {
    # ~2,800 steps per store; each outcome of REQUIRED_OUTCOMES comes well over once.
    "ci": ModelProfile(examples=60, steps=50, min_steps=2_000, derandomize=True),
    # ~45,000 steps per store, from a fresh seed each run.
    "deep": ModelProfile(examples=500, steps=100, min_steps=30_000, derandomize=False),
}

REQUIRED_OUTCOMES = frozenset(
    {
        "created",
        "superseded",
        "approved",
        "approved:fallback",
        "incorrect",
        "expired",
        "locked:attempts",
        "locked:budget",
        "not_found",
        "refused:send_budget",
        "refused:delivery",
        "refused:input",
        "cancelled",
        "cancel:not_found",
        "rotated",
    }
)
"""Outcomes every run must reach at least once, or it fails as too shallow to prove anything."""

# Each recipient under several spellings that normalise to the same address (case, a fullwidth
# letter in the domain, phone punctuation): lookups and budgets must all see one recipient.
SPELLINGS: dict[str, tuple[str, tuple[str, ...]]] = {
    "alice": ("email", ("alice@example.com", "Alice@Example.com", "ALICE@EXAMPLE.COM", "alice@\uff25xample.com")),
    "bob": ("email", ("bob@example.org", "Bob@Example.ORG")),
    "phone": ("phone", ("+12025550143", "+1 (202) 555-0143", "+1-202-555-0143")),
}
PURPOSES = ("", "login")
# Total clock movement allowed per example: less than the budgets' one-day window (see module doc).
MAX_ELAPSED = dt.timedelta(hours=20)
EXPIRY_MIN, EXPIRY_DEFAULT, EXPIRY_MAX = 30, 300, 600


def profile_from_env() -> ModelProfile:
    """The profile named by ``OCTOTP_TEST_MODEL_PROFILE`` (default ``ci``)."""
    name = os.environ.get(PROFILE_ENV, "") or "ci"
    try:
        return MODEL_PROFILES[name]
    except KeyError:
        raise ValueError(f"{PROFILE_ENV}={name!r}: choose one of {sorted(MODEL_PROFILES)}") from None


@dataclass
class ModelRun:
    """What a run did: examples (state machines), steps (rules executed) and how often each outcome came."""

    examples: int = 0
    steps: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)


@dataclass
class ModelToken:
    """The model's view of one issued token."""

    id: str
    code: str | None
    project: int
    recipient: str
    purpose: str
    generation: int
    """Which server secret was current when it was made (its digest is under that secret)."""
    expires_at: dt.datetime
    max_attempts: int
    attempts: int = 0
    closed: str | None = None

    @property
    def binding(self) -> tuple[int, str, str]:
        return (self.project, self.recipient, self.purpose)


class _RefusingBackend:
    """A delivery backend whose provider is always down (``send=True`` creates fail with 502)."""

    name = "refusing"

    def send(self, message: Message) -> None:
        raise ConnectionError("delivery provider unreachable")


def _wrong(code: str, by: int) -> str:
    """A code of the same length that is certainly not ``code``."""
    return str((int(code) + by) % 10 ** len(code)).zfill(len(code))


# Mostly the first project and no purpose, so bindings meet often (resends, budgets); the second
# project and purpose are there to show that nothing leaks between them.
_project = st.sampled_from([0, 0, 0, 1])
_purpose = st.sampled_from([PURPOSES[0], PURPOSES[0], PURPOSES[1]])
_spelling = st.sampled_from([(name, spelling) for name, (_, spellings) in SPELLINGS.items() for spelling in spellings])


class TokenModel(RuleBasedStateMachine):
    """The state machine; ``run_token_model`` binds it to a store. Subclasses may add rules."""

    store: ClassVar[Store]
    run: ClassVar[ModelRun]
    budgets_survive_rotation: ClassVar[bool] = True
    """DESIGN: a rotation resets no budget (what was spent while the fallback secret was current
    still counts). False: budgets are lifted in an example once it rotates, so rotation is checked
    for tokens only — for a core that does not carry budgets over yet (issue 11 item 7)."""
    tokens = Bundle("tokens")

    def __init__(self) -> None:
        super().__init__()
        self.run.examples += 1
        self.clock = FrozenClock(SystemClock().now())
        self.started = self.clock.now()
        self.secrets = [secrets.token_urlsafe(32)]
        self.generation = 0
        self.fallback: int | None = None
        self.issued: list[ModelToken] = []
        # Budget spending per (project, recipient, secret generation current when it was spent).
        self.sends: Counter[tuple[int, str, int]] = Counter()
        self.failures: Counter[tuple[int, str, int]] = Counter()
        self.budgets_bind = True
        self.project_ids: list[str] = []
        self.octotp: Octotp | None = None

    # -- wiring ------------------------------------------------------------------------------
    @initialize(
        target=tokens,
        first=st.tuples(_project, _spelling, _purpose),
        max_attempts=st.sampled_from([1, 2, 3, 5]),
        send_budget=st.sampled_from([1, 3, 6]),
        failure_budget=st.sampled_from([1, 3, 6]),
        code_lengths=st.tuples(st.sampled_from([None, 4, 8]), st.sampled_from([None, 6, 10])),
    )
    def start(
        self,
        first: tuple[int, tuple[str, str], str],
        max_attempts: int,
        send_budget: int,
        failure_budget: int,
        code_lengths: tuple[int | None, int | None],
    ) -> Any:
        """Two projects (code lengths drawn), the limits drawn, and a first token (so every rule
        that works on tokens is enabled from the first step)."""
        self.max_attempts, self.send_budget, self.failure_budget = max_attempts, send_budget, failure_budget
        for length in code_lengths:
            project = Project(
                id=str(uuid.uuid4()),
                name="model",
                owner_id=None,
                plan="free",
                created_at=self.clock.now(),
                code_length=length,
            )
            self.store.create_project(project)
            self.project_ids.append(project.id)
        self.octotp = self._build()
        return self.create(*first, expires_in=None, undeliverable=False)

    def _build(self) -> Octotp:
        send_budget, failure_budget = (self.send_budget, self.failure_budget) if self.budgets_bind else (10**6, 10**6)
        fallbacks = [] if self.fallback is None else [self.secrets[self.fallback]]
        settings = ExplicitSettings(
            secret_key=SecretStr(self.secrets[self.generation]),
            secret_key_fallbacks=[SecretStr(f) for f in fallbacks],
            hasher="hmac",
            code_length=6,
            project_min_code_length=4,  # the operator allows the shortest codes the model draws
            expiry_min=EXPIRY_MIN,
            expiry_default=EXPIRY_DEFAULT,
            expiry_max=EXPIRY_MAX,
            max_attempts=self.max_attempts,
            recipient_send_budget=f"{send_budget}/day",
            recipient_failure_budget=f"{failure_budget}/day",
            # The plan's per-minute limit counts wall-clock minutes; it is not what this model checks.
            plans={"free": Plan(creates_per_minute=10**6)},
            default_plan="free",
        )
        refusing = _RefusingBackend()
        octotp = Octotp(settings, store=self.store, clock=self.clock, backends={"email": refusing, "sms": refusing})
        if self.octotp is not None and self.budgets_bind:
            # A rotation is a restart with new secrets; the deployment's limit storage outlives it
            # (with several processes it is shared, e.g. Redis), so the counters carry over.
            octotp.limits = octotp.tokens.limits = self.octotp.limits
        return octotp

    @property
    def service(self) -> Octotp:
        assert self.octotp is not None, "start() runs first"
        return self.octotp

    def teardown(self) -> None:
        if self.octotp is not None:
            self.octotp.close()

    def _step(self, outcome: str) -> None:
        self.run.steps += 1
        self.run.outcomes[outcome] += 1

    @property
    def now(self) -> dt.datetime:
        return self.clock.now()

    def _recipient_args(self, spelling: str, name: str) -> dict[str, Any]:
        kind = SPELLINGS[name][0]
        return {"email": spelling} if kind == "email" else {"phone": spelling}

    def _binding(self, key: tuple[int, str, str]) -> list[ModelToken]:
        return [t for t in self.issued if t.binding == key]

    def _found(self, key: tuple[int, str, str]) -> ModelToken | None:
        """The token a validation of ``key`` looks at: the newest made under the current secret,
        else the newest under the fallback (codes issued just before a rotation)."""
        binding = self._binding(key)
        for generation in (self.generation, self.fallback):
            made = [t for t in binding if t.generation == generation]
            if made:
                return made[-1]
        return None

    def _check_stored(self, tokens: list[ModelToken]) -> None:
        """The store holds exactly the model's state for these tokens."""
        for token in tokens:
            stored = self.store.get_token(token.id)
            assert stored is not None, f"token {token.id} vanished"
            assert stored.project_id == self.project_ids[token.project]
            assert stored.purpose == token.purpose
            assert stored.channel == ("email" if SPELLINGS[token.recipient][0] == "email" else "sms")
            assert stored.closed_reason == token.closed, (stored.closed_reason, token.closed)
            assert (stored.closed_at is None) == (token.closed is None)
            assert stored.attempts == token.attempts, (stored.attempts, token.attempts)
            assert stored.max_attempts == token.max_attempts
            assert stored.expires_at == token.expires_at

    # -- budgets -----------------------------------------------------------------------------
    def _spent(self, spending: Counter[tuple[int, str, int]], project: int, name: str) -> int:
        """A recipient's spending that still counts: under the current secret and the fallback."""
        return sum(spending[(project, name, g)] for g in {self.generation, self.fallback} if g is not None)

    def _admit(self, project: int, name: str) -> bool:
        """The send budget: every create for the recipient counts, delivered or not."""
        if self.budgets_bind and self._spent(self.sends, project, name) >= self.send_budget:
            return False
        self.sends[(project, name, self.generation)] += 1
        return True

    def _supersede(self, key: tuple[int, str, str]) -> list[ModelToken]:
        # Only tokens under the current secret share the new token's digest; older ones are
        # shadowed instead (a validation never looks past the newest current-secret token).
        superseded = [t for t in self._binding(key) if t.closed is None and t.generation == self.generation]
        for token in superseded:
            token.closed = "superseded"
        return superseded

    # -- create ------------------------------------------------------------------------------
    @rule(
        target=tokens,
        project=_project,
        who=_spelling,
        purpose=_purpose,
        # Out-of-bounds expiries (29, 601) are refused before anything is counted.
        expires_in=st.sampled_from(
            [None, None, EXPIRY_MIN, EXPIRY_MIN + 1, 299, EXPIRY_MAX, None, EXPIRY_MIN - 1, EXPIRY_MAX + 1]
        ),
        # One create in six asks for delivery through a provider that is down.
        undeliverable=st.sampled_from([False] * 5 + [True]),
    )
    def create(
        self, project: int, who: tuple[str, str], purpose: str, expires_in: int | None, undeliverable: bool
    ) -> Any:
        """A create, or a resend (a create for a binding that has a code)."""
        name, spelling = who
        key = (project, name, purpose)
        in_bounds = expires_in is None or EXPIRY_MIN <= expires_in <= EXPIRY_MAX
        admitted = in_bounds and self._admit(project, name)

        def create() -> CreatedToken:
            return self.service.create_token(
                self.project_ids[project],
                **self._recipient_args(spelling, name),
                purpose=purpose or None,
                expires_in=expires_in,
                send=undeliverable,
            )

        if not in_bounds:  # refused before anything is counted
            with pytest.raises(InvalidInput) as invalid:
                create()
            assert invalid.value.errors[0].field == "expires_in"
            self._step("refused:input")
            return multiple()
        if not admitted:
            with pytest.raises(RateLimited) as limited:
                create()
            assert limited.value.scope == "recipient"
            self._step("refused:send_budget")
            self._check_stored(self._binding(key))
            return multiple()
        superseded = self._supersede(key)
        if undeliverable:
            with pytest.raises(DeliveryFailed):
                create()
            # No usable code is left behind: the new token is closed, and the old one was superseded.
            newest = self.store.list_tokens(self.project_ids[project], 1)[0]
            assert newest.id not in {t.id for t in self.issued}
            failed = ModelToken(
                newest.id, None, project, name, purpose, self.generation, newest.expires_at, self.max_attempts
            )
            failed.closed = "delivery_failed"
            self.issued.append(failed)
            self._step("refused:delivery")
            self._check_stored(self._binding(key))
            return multiple()
        created = create()
        assert created.code is not None
        assert looks_like_code(created.code)
        assert is_uuid(created.id)
        assert created.expires_at == self.now + dt.timedelta(seconds=expires_in or EXPIRY_DEFAULT)
        token = ModelToken(
            created.id, created.code, project, name, purpose, self.generation, created.expires_at, self.max_attempts
        )
        self.issued.append(token)
        self._step("superseded" if superseded else "created")
        self._check_stored(self._binding(key))
        return token

    # -- validate ----------------------------------------------------------------------------
    def _validate(self, project: int, name: str, spelling: str, purpose: str, code: str) -> None:
        key = (project, name, purpose)
        token = self._found(key)
        if not looks_like_code(code):
            # A malformed code is a 400 and spends nothing: no attempt, no failure budget.
            with pytest.raises(InvalidInput) as invalid:
                self.service.validate_token(
                    self.project_ids[project],
                    code=code,
                    **self._recipient_args(spelling, name),
                    purpose=purpose or None,
                )
            assert invalid.value.errors[0].field == "code"
            self._step("refused:input")
            if token is not None:
                self._check_stored([token])
            return
        if self.budgets_bind and self._spent(self.failures, project, name) >= self.failure_budget:
            expected, outcome = "locked", "locked:budget"
        elif token is None or token.closed is not None:
            expected = outcome = "not_found"
        elif token.expires_at <= self.now:
            expected = outcome = "expired"
        elif token.attempts >= token.max_attempts:
            expected, outcome = "locked", "locked:attempts"
        else:
            token.attempts += 1
            if code == token.code:
                token.closed = "approved"
                expected = outcome = "approved"
                if token.generation != self.generation:
                    outcome = "approved:fallback"
            else:
                self.failures[(project, name, self.generation)] += 1
                expected = outcome = "incorrect"
        result = self.service.validate_token(
            self.project_ids[project], code=code, **self._recipient_args(spelling, name), purpose=purpose or None
        )
        assert result.status == expected, f"{result.status} where the model says {expected}"
        assert result.is_valid == (expected == "approved")
        self._step(outcome)
        if token is not None:
            self._check_stored([token])

    def _current(self) -> list[ModelToken]:
        """Each binding's token that a validation looks at, while it is open and unexpired."""
        return [t for t in self.issued if t.closed is None and t.expires_at > self.now and self._found(t.binding) is t]

    @precondition(lambda self: bool(self._current()))
    @rule(data=st.data(), spelling=st.integers(0, 3), wrong_by=st.sampled_from([0, 0, 1, 9]))
    def validate_current(self, data: st.DataObject, spelling: int, wrong_by: int) -> None:
        """The code the recipient just received (approved once, unless locked by its attempts or the
        recipient's failure budget), or a wrong guess at it (``wrong_by``)."""
        current = self._current()
        issued_before_rotation = [t for t in current if t.generation != self.generation]
        if issued_before_rotation and data.draw(st.booleans(), label="one issued before the rotation") is True:
            current = issued_before_rotation
        token = data.draw(st.sampled_from(current), label="token")
        assert token.code is not None
        spellings = SPELLINGS[token.recipient][1]
        code = _wrong(token.code, wrong_by) if wrong_by else token.code
        self._validate(token.project, token.recipient, spellings[spelling % len(spellings)], token.purpose, code)

    @rule(token=tokens, spelling=st.integers(0, 3), wrong_by=st.sampled_from([0, 0, 1, 5, 9]))
    def validate_token_code(self, token: ModelToken, spelling: int, wrong_by: int) -> None:
        """Any token's own code (``wrong_by=0``: approved only while it is the binding's live code,
        not after a resend, use, cancel or expiry) or a code that is certainly not its own."""
        assert token.code is not None
        spellings = SPELLINGS[token.recipient][1]
        code = _wrong(token.code, wrong_by) if wrong_by else token.code
        self._validate(token.project, token.recipient, spellings[spelling % len(spellings)], token.purpose, code)

    @rule(
        data=st.data(),
        project=_project,
        who=_spelling,
        purpose=_purpose,
        code=st.one_of(
            st.text("0123456789", min_size=4, max_size=10),
            st.text("0123456789", min_size=6, max_size=6),
            st.sampled_from(["", "123", "12345678901", "12a4", "\uff11\uff12\uff13\uff14", " 1234"]),
        ),
    )
    def validate_guess(self, data: st.DataObject, project: int, who: tuple[str, str], purpose: str, code: str) -> None:
        """Any code, well-formed or not, for any binding (with or without tokens) or, half the time,
        for the binding of a token already issued."""
        name, spelling = who
        if data.draw(st.booleans(), label="binding of an issued token"):
            token = data.draw(st.sampled_from(self.issued), label="token")
            project, name, purpose = token.binding
            spelling = data.draw(st.sampled_from(SPELLINGS[name][1]), label="spelling")
        self._validate(project, name, spelling, purpose, code)

    # -- cancel ------------------------------------------------------------------------------
    @rule(token=tokens, through=st.sampled_from(["own", "own", "own", "other", "unknown", "garbage"]))
    def cancel(self, token: ModelToken, through: str) -> None:
        """Cancel closes an open token (expired or not) and is idempotent; used or replaced → NotFound,
        and so is another project's token or an unknown id."""
        project = 1 - token.project if through == "other" else token.project
        token_id = {"unknown": str(uuid.uuid4()), "garbage": "not-a-uuid"}.get(through, token.id)
        succeeds = through == "own" and token.closed in (None, "cancelled")
        try:
            self.service.cancel_token(self.project_ids[project], token_id)
        except NotFound:
            assert not succeeds, f"cancel refused a {token.closed or 'open'} token"
            self._step("cancel:not_found")
        else:
            assert succeeds, f"cancel of {through} id succeeded ({token.closed})"
            token.closed = "cancelled"
            self._step("cancelled")
        self._check_stored([token])

    # -- time and secrets --------------------------------------------------------------------
    def _clock_may_move(self) -> bool:
        """While some open code has yet to expire (else moving the clock shows nothing), and the
        example's total stays under ``MAX_ELAPSED``."""
        if self.now - self.started >= MAX_ELAPSED - dt.timedelta(seconds=EXPIRY_MAX + 1):
            return False
        return any(t.closed is None and t.expires_at >= self.now for t in self.issued)

    @precondition(_clock_may_move)
    @rule(token=tokens, move=st.sampled_from([1, 29, 30, 299, 301, 600, 601, "expiry-1us", "expiry", "expiry+1us"]))
    def advance_clock(self, token: ModelToken, move: int | str) -> None:
        """By some seconds, or to a token's expiry exactly or one microsecond either side (a code is
        dead *at* ``expires_at``)."""
        if isinstance(move, int):
            self.clock.advance(move)
        else:
            moment = token.expires_at + dt.timedelta(microseconds={"expiry-1us": -1, "expiry": 0}.get(move, 1))
            if moment > self.now:
                self.clock.advance((moment - self.now).total_seconds())
                assert self.now == moment
        self._step("clock")

    # Rotate only with some history to carry over, and at most twice per example.
    @precondition(lambda self: len(self.secrets) < 3 and len(self.issued) >= 3 * len(self.secrets))
    @rule()
    def rotate_secret(self) -> None:
        """The operator moves the current secret to the fallbacks and sets a new one (at most twice
        per example: the second rotation drops the first secret, and its codes with it)."""
        previous = self.service
        self.fallback = self.generation
        self.secrets.append(secrets.token_urlsafe(32))
        self.generation = len(self.secrets) - 1
        self.budgets_bind = self.budgets_survive_rotation
        self.octotp = self._build()
        previous.close()
        self._step("rotated")


def model_settings(profile: ModelProfile, *, shrink: bool = True) -> hypothesis_settings:
    """The hypothesis settings of a profile: no deadline (databases vary), no example database."""
    phases = list(Phase) if shrink else [Phase.explicit, Phase.reuse, Phase.generate]
    return hypothesis_settings(
        max_examples=profile.examples,
        stateful_step_count=profile.steps,
        derandomize=profile.derandomize,
        database=None,
        deadline=None,
        phases=phases,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        print_blob=True,
    )


def run_token_model(
    store: Store,
    *,
    profile: ModelProfile | None = None,
    machine: type[TokenModel] = TokenModel,
    budgets_survive_rotation: bool = True,
    shrink: bool = True,
) -> ModelRun:
    """Run the model on ``store`` (migrated, ready) and return what ran; fail on any divergence, on
    fewer steps than the profile promises, or when an outcome of ``REQUIRED_OUTCOMES`` never came.

    ``budgets_survive_rotation=False`` checks rotation for tokens only (see ``TokenModel``);
    ``shrink=False`` reports the first failing example as found (quicker, longer to read).
    """
    profile = profile or profile_from_env()
    run = ModelRun()
    attributes = {"store": store, "run": run, "budgets_survive_rotation": budgets_survive_rotation}
    # The same name for every store: hypothesis derives the fixed seed from the machine, so every
    # store runs the same sequence of steps.
    bound = type(machine.__name__, (machine,), attributes)
    run_state_machine_as_test(bound, settings=model_settings(profile, shrink=shrink))
    assert run.steps >= profile.min_steps, f"only {run.steps} steps ran; the profile promises {profile.min_steps}"
    missing = REQUIRED_OUTCOMES - set(run.outcomes)
    assert not missing, f"the run never reached {sorted(missing)}: too shallow to prove anything"
    return run
