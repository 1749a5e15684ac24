"""The model-based test of DESIGN §5 (``octotp_core.testing.model``) on ``DjangoStore``, on every selected
database. ``OCTOTP_TEST_MODEL_PROFILE=deep`` (``tox -e model``) runs it much longer."""

from __future__ import annotations

import pytest

from octotp_core.store import Store
from octotp_core.testing.model import REQUIRED_OUTCOMES, profile_from_env, run_token_model

# transaction=True: every statement commits as in production, rather than inside one test transaction.
pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")

# See tests/core/test_model_tokens.py: rotation resets budgets until issue 11 item 7 lands.
BUDGETS_SURVIVE_ROTATION = False


def test_token_semantics_follow_the_model(store: Store, octotp_db: str) -> None:
    run = run_token_model(store, budgets_survive_rotation=BUDGETS_SURVIVE_ROTATION)
    assert run.steps >= profile_from_env().min_steps
    assert set(run.outcomes) >= REQUIRED_OUTCOMES
    print(f"\nmodel on Django/{octotp_db}: {run.examples} examples, {run.steps} steps, {dict(run.outcomes)}")
