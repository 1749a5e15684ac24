"""``DjangoStore``: a claim that lost its insert to a record released before the read-back reports
the race (``IdempotencyClaimRaced``) instead of deciding a retry of its own; ``run_idempotent`` claims again."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connections

from octotp_core import FrozenClock
from octotp_core.http.idempotency import RequestFingerprints, run_idempotent
from octotp_core.store import IdempotencyClaimRaced, Project
from octotp_django import models
from octotp_django.store import DjangoStore

FINGERPRINTS = RequestFingerprints([b"idempotency-claims-test-secret"])

pytestmark = pytest.mark.django_db(databases="__all__", transaction=True)

NOW = dt.datetime(2026, 2, 14, 12, 0, 0, tzinfo=dt.timezone.utc)


def _releasing(db: str, project_id: str, key: str, released: list[str]) -> Callable[..., Any]:
    """An execute wrapper deleting the record just before the first read-back of a lost claim."""

    def wrapper(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        if not released and sql.lstrip().startswith("SELECT") and "octotp_idempotency_keys" in sql:
            released.append(sql)
            models.IdempotencyKey.objects.using(db).filter(project_id=project_id, key=key).delete()
        return execute(sql, params, many, context)

    return wrapper


def test_a_raced_claim_is_reported_and_claimed_again(store: DjangoStore, octotp_db: str) -> None:
    project = Project(str(uuid.uuid4()), "claims", None, "free", NOW)
    store.create_project(project)
    body = b'{"recipientEmail": "a@example.com"}'
    assert store.claim_idempotency_key(project.id, "k", FINGERPRINTS.of(body), NOW) is None
    released: list[str] = []
    wrapper = _releasing(octotp_db, project.id, "k", released)
    with connections[octotp_db].execute_wrapper(wrapper), pytest.raises(IdempotencyClaimRaced):
        store.claim_idempotency_key(project.id, "k", FINGERPRINTS.of(body), NOW)
    assert len(released) == 1
    assert store.claim_idempotency_key(project.id, "k", FINGERPRINTS.of(body), NOW) is None  # nobody held it

    released.clear()
    with connections[octotp_db].execute_wrapper(_releasing(octotp_db, project.id, "k", released)):
        data, replayed = run_idempotent(
            store,
            FrozenClock(NOW),
            project.id,
            "k",
            body,
            lambda: ({"id": "t1", "code": "1234"}, "t1", False),
            FINGERPRINTS,
        )
    assert (data, replayed, len(released)) == ({"id": "t1", "code": "1234"}, False, 1)
    record = store.claim_idempotency_key(project.id, "k", FINGERPRINTS.of(body), NOW)
    assert record is not None
    assert record.token_id == "t1"
