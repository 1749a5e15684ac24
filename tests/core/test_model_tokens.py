"""The model-based test of DESIGN §5 (``octotp_core.testing.model``) on ``SqlAlchemyStore``, on SQLite,
PostgreSQL and MariaDB. ``OCTOTP_TEST_MODEL_PROFILE=deep`` (``tox -e model``) runs it much longer."""

from __future__ import annotations

from pathlib import Path

import pytest

from octotp_core.store import SqlAlchemyStore, make_engine
from octotp_core.testing.databases import migrated_sqlite_url
from octotp_core.testing.model import REQUIRED_OUTCOMES, ModelProfile, profile_from_env, run_token_model

# Until issue 11 item 7 lands, a rotation starts the recipient budgets afresh (they are keyed on the
# recipient's digest under the current secret), so the CI run checks rotation for tokens only.
BUDGETS_SURVIVE_ROTATION = False


def test_token_semantics_follow_the_model(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        run = run_token_model(SqlAlchemyStore(engine), budgets_survive_rotation=BUDGETS_SURVIVE_ROTATION)
    finally:
        engine.dispose()
    assert run.steps >= profile_from_env().min_steps
    assert set(run.outcomes) >= REQUIRED_OUTCOMES
    print(f"\nmodel on {engine.dialect.name}: {run.examples} examples, {run.steps} steps, {dict(run.outcomes)}")


@pytest.mark.xfail(
    not BUDGETS_SURVIVE_ROTATION,
    strict=True,
    reason="per-recipient budgets are keyed on the current secret's digest: a rotation starts them afresh",
)
def test_budgets_survive_a_secret_rotation(tmp_path: Path) -> None:
    """DESIGN: budgets follow the recipient whatever secret found the token. When this passes, set
    ``BUDGETS_SURVIVE_ROTATION = True`` above (and in tests/django/test_django_model.py)."""
    engine = make_engine(migrated_sqlite_url(tmp_path / "model.db"))
    try:
        run_token_model(
            SqlAlchemyStore(engine),
            profile=ModelProfile(examples=100, steps=40, min_steps=2_000, derandomize=True),
            budgets_survive_rotation=True,
            shrink=False,
        )
    finally:
        engine.dispose()
