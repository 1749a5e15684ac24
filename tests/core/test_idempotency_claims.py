"""An Idempotency-Key claim that races a release: the store reports it, ``run_idempotent`` claims again.

The race is real: an engine event deletes the record (in its own committed transaction) just before
the store reads back the record its insert lost to, as a concurrent ``release_idempotency_key``
between those two statements would.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, delete, event

from octotp_core import FrozenClock
from octotp_core.http.idempotency import RequestFingerprints, run_idempotent
from octotp_core.store import IdempotencyClaimRaced, Project, SqlAlchemyStore, make_engine
from octotp_core.store.sql import idempotency_keys

FINGERPRINTS = RequestFingerprints([b"idempotency-claims-test-secret"])


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


def _release_before_read_back(engine: Engine, project_id: str, key: str, times: int) -> list[str]:
    """Delete the record before each of the next ``times`` read-backs of a lost claim; the statements seen."""
    released: list[str] = []

    def before(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        if len(released) < times and statement.lstrip().startswith("SELECT") and idempotency_keys.name in statement:
            released.append(statement)
            with engine.begin() as other:
                c = idempotency_keys.c
                other.execute(delete(idempotency_keys).where(c.project_id == project_id, c.key == key))

    event.listen(engine, "before_cursor_execute", before)
    return released


def _project(store: SqlAlchemyStore, clock: FrozenClock) -> Project:
    project = Project(str(uuid.uuid4()), "claims", None, "free", clock.now())
    store.create_project(project)
    return project


def test_the_store_reports_a_claim_that_lost_to_a_released_record(engine: Engine, clock: FrozenClock) -> None:
    store = SqlAlchemyStore(engine)
    project = _project(store, clock)
    assert store.claim_idempotency_key(project.id, "k", "f" * 64, clock.now()) is None
    released = _release_before_read_back(engine, project.id, "k", times=1)
    with pytest.raises(IdempotencyClaimRaced):
        store.claim_idempotency_key(project.id, "k", "f" * 64, clock.now())
    assert len(released) == 1
    assert store.claim_idempotency_key(project.id, "k", "f" * 64, clock.now()) is None  # nobody holds it now


def test_run_idempotent_claims_again_after_a_race(engine: Engine, clock: FrozenClock) -> None:
    store = SqlAlchemyStore(engine)
    project = _project(store, clock)
    body = b'{"recipientEmail": "a@example.com"}'
    # An earlier request's claim, released (its request failed) while this one reads it back.
    assert store.claim_idempotency_key(project.id, "k", FINGERPRINTS.of(body), clock.now()) is None
    released = _release_before_read_back(engine, project.id, "k", times=1)
    calls: list[int] = []

    def create() -> tuple[dict[str, Any], str, bool]:
        calls.append(1)
        return {"id": "t1", "code": "123456"}, "t1", False

    data, replayed = run_idempotent(store, clock, project.id, "k", body, create, FINGERPRINTS)
    assert (data, replayed, len(calls), len(released)) == ({"id": "t1", "code": "123456"}, False, 1, 1)
    record = store.claim_idempotency_key(project.id, "k", FINGERPRINTS.of(body), clock.now())
    assert record is not None
    assert (record.token_id, json.loads(record.response or "null")) == ("t1", {"id": "t1"})
