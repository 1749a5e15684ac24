"""Operator policy (issue 11 item 8): owners choose within the operator's bounds, every project write goes
through ``validate_project``, and no stored value can make a request fail with a 500."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import uuid
from collections.abc import Callable

import pytest
from pydantic import ValidationError

from octotp_core import FrozenClock, Octotp, Settings
from octotp_core.errors import InvalidInput
from octotp_core.http import ApiHandler, Request
from octotp_core.store import Project

MakeOctotp = Callable[..., Octotp]


def _email() -> str:
    return f"user-{uuid.uuid4().hex[:12]}@example.com"


def _huge(db_backend: str) -> int:
    """The largest expiry a project row could hold: SQLite stores any integer (10**12 overflowed the
    expiry arithmetic on old main); PostgreSQL's and MariaDB's INTEGER stop at 2**31 - 1."""
    return 10**12 if db_backend == "sqlite" else 2**31 - 1


def _stored_behind_validation(octotp: Octotp, project: Project, **values: object) -> Project:
    """Write values straight to the row, as a database from before the bounds (or a hand edit) holds them."""
    changed = dataclasses.replace(project, **values)  # type: ignore[arg-type]
    assert octotp.store.update_project(changed)
    return changed


def _create_over_http(octotp: Octotp, project_id: str, api_key: str, seconds: int) -> tuple[int, dict[str, object]]:
    body = json.dumps({"projectId": project_id, "recipientEmail": _email(), "expiresInSeconds": seconds})
    headers = {"Content-Type": "application/json", "X-Api-Key": api_key}
    response = ApiHandler(octotp).handle(Request("POST", "/api/tokens", headers, body.encode()))
    return response.status, json.loads(response.body)


# -- owners choose within the operator's bounds -------------------------------------------------------
@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"code_length": 4}, "code_length"),
        ({"code_length": 5}, "code_length"),
        ({"code_length": 11}, "code_length"),
        ({"expiry_max": 10**12}, "expiry_max"),
        ({"expiry_max": 3601}, "expiry_max"),
        ({"expiry_default": 10**30}, "expiry_default"),
        ({"expiry_min": 0}, "expiry_min"),
        ({"plan": "platinum"}, "plan"),
        ({"name": " "}, "name"),
        ({"default_phone_region": "XX"}, "default_phone_region"),
    ],
)
def test_configure_project_refuses_values_outside_the_policy(
    octotp: Octotp, changes: dict[str, object], field: str
) -> None:
    project = octotp.accounts.create_project("policy").project
    with pytest.raises(InvalidInput) as caught:
        octotp.accounts.configure_project(project.id, **changes)  # type: ignore[arg-type]
    assert [e.field for e in caught.value.errors] == [field]
    assert octotp.accounts.get_project(project.id) == project


def test_every_refused_field_is_named_at_once(octotp: Octotp) -> None:
    project = octotp.accounts.create_project("policy").project
    with pytest.raises(InvalidInput) as caught:
        octotp.accounts.configure_project(project.id, code_length=4, expiry_max=10**12, plan="platinum")
    assert {e.field for e in caught.value.errors} == {"code_length", "expiry_max", "plan"}
    reasons = " ".join(e.reason for e in caught.value.errors)
    assert "6-10" in reasons
    assert "1-3600" in reasons


def test_the_operator_moves_the_bounds(make_octotp: MakeOctotp, clock: FrozenClock) -> None:
    octotp = make_octotp(project_min_code_length=4, project_expiry_max_ceiling=86400)
    project = octotp.accounts.create_project("wide").project
    octotp.accounts.configure_project(project.id, code_length=4, expiry_max=86400)
    created = octotp.create_token(project.id, email=_email(), expires_in=86400)
    assert created.code is not None
    assert len(created.code) == 4
    assert created.expires_at == clock.now() + dt.timedelta(days=1)


def test_create_project_and_set_plan_go_through_the_same_validation(octotp: Octotp) -> None:
    with pytest.raises(InvalidInput, match="plan"):
        octotp.accounts.create_project("p", plan="platinum")
    project = octotp.accounts.create_project("p").project
    with pytest.raises(InvalidInput, match="plan"):
        octotp.accounts.set_plan(project.id, "platinum")
    octotp.accounts.set_plan(project.id, "pro")
    assert octotp.accounts.get_project(project.id).plan == "pro"


def test_save_project_validates_a_whole_record(octotp: Octotp) -> None:
    project = octotp.accounts.create_project("record").project
    with pytest.raises(InvalidInput, match="expiry_max"):
        octotp.accounts.save_project(dataclasses.replace(project, expiry_max=10**12))
    saved = octotp.accounts.save_project(dataclasses.replace(project, name="  Tidy  ", default_phone_region="gb"))
    assert (saved.name, saved.default_phone_region) == ("Tidy", "GB")
    assert octotp.accounts.get_project(project.id) == saved


def test_settings_keep_their_own_defaults_within_the_policy(make_settings: Callable[..., Settings]) -> None:
    with pytest.raises(ValidationError, match="project_expiry_max_ceiling"):
        make_settings(expiry_max=7200)
    with pytest.raises(ValidationError, match="project_min_code_length"):
        make_settings(code_length=4)
    with pytest.raises(ValidationError):
        make_settings(project_expiry_max_ceiling=2**31)  # beyond every INTEGER column
    settings = make_settings(expiry_max=7200, project_expiry_max_ceiling=7200, code_length=4, project_min_code_length=4)
    assert (settings.project_expiry_max_ceiling, settings.project_min_code_length) == (7200, 4)


# -- no stored value makes a request fail --------------------------------------------------------------
@pytest.mark.parametrize("seconds", [999_999_999_999, 10**30])
def test_stored_expiry_above_the_ceiling_is_clamped_not_a_500(octotp: Octotp, db_backend: str, seconds: int) -> None:
    """An owner could store expiry_max=10**12; a huge expiresInSeconds then overflowed (500)."""
    created = octotp.accounts.create_project("overflow")
    _stored_behind_validation(octotp, created.project, expiry_max=_huge(db_backend))
    status, body = _create_over_http(octotp, created.project.id, created.api_key.secret, seconds)
    assert status == 400, body
    [error] = body["errors"]  # type: ignore[misc]
    assert error["field"] == "expiresInSeconds"
    assert error["reason"] == "must be an integer from 30 to 3600 seconds"
    status, _ = _create_over_http(octotp, created.project.id, created.api_key.secret, 3600)
    assert status == 201


def test_stored_values_are_held_to_the_policy(octotp: Octotp, db_backend: str, clock: FrozenClock) -> None:
    project = octotp.accounts.create_project("clamped").project
    huge = _huge(db_backend)
    project = _stored_behind_validation(octotp, project, code_length=4, expiry_default=huge, expiry_max=huge)
    created = octotp.create_token(project.id, email=_email())
    assert created.code is not None
    assert len(created.code) == 6  # the operator's minimum, not the stored 4
    assert created.expires_at == clock.now() + dt.timedelta(seconds=3600)


@pytest.mark.parametrize(
    "values",
    [
        {"code_length": 99},
        {"code_length": -1},
        {"expiry_min": 5000, "expiry_max": 100},
        {"expiry_min": -10, "expiry_default": -5, "expiry_max": -1},
        {"expiry_default": 5},
    ],
)
def test_any_stored_numbers_give_a_usable_policy(octotp: Octotp, values: dict[str, int]) -> None:
    project = octotp.accounts.create_project("odd").project
    from octotp_core.projects import token_policy  # imported here: the rest of this file runs on old main too

    project = _stored_behind_validation(octotp, project, **values)
    policy = token_policy(project, octotp.settings)
    assert 6 <= policy.code_length <= 10
    assert 1 <= policy.expiry_min <= policy.expiry_default <= policy.expiry_max <= 3600
    created = octotp.create_token(project.id, email=_email())
    assert created.code is not None
    assert len(created.code) == policy.code_length


def test_validate_project_is_a_pure_check(make_settings: Callable[..., Settings]) -> None:
    from octotp_core.projects import validate_project

    settings = make_settings()
    project = Project(str(uuid.uuid4()), "x", None, "free", dt.datetime.now(dt.timezone.utc), code_length=6)
    assert validate_project(project, settings) == project
    with pytest.raises(InvalidInput):
        validate_project(dataclasses.replace(project, code_length=True), settings)  # type: ignore[arg-type]


# -- validateRequiresKey -------------------------------------------------------------------------------
def test_new_projects_require_a_key_to_validate_and_owners_may_turn_it_off(octotp: Octotp) -> None:
    project = octotp.accounts.create_project("keyed").project
    assert project.validate_requires_key is True
    assert octotp.accounts.get_project(project.id).validate_requires_key is True
    off = octotp.accounts.configure_project(project.id, validate_requires_key=False)
    assert off.validate_requires_key is False
    assert octotp.accounts.get_project(project.id).validate_requires_key is False
    legacy = octotp.accounts.create_project("octotp-era", validate_requires_key=False).project
    assert octotp.accounts.get_project(legacy.id).validate_requires_key is False


def test_in_process_validate_needs_no_key(octotp: Octotp) -> None:
    """The Python API is the host's own code: ``validate_token`` is trusted whatever the setting."""
    project = octotp.accounts.create_project("in-process").project
    recipient = _email()
    created = octotp.create_token(project.id, email=recipient)
    assert created.code is not None
    assert octotp.validate_token(project.id, email=recipient, code=created.code).status == "approved"


def test_openapi_shows_the_key_as_optional_on_validate() -> None:
    from octotp_core.http.openapi import openapi_document

    validate = openapi_document()["paths"]["/api/tokens/validate"]["post"]
    assert validate["security"] == [{"ApiKey": []}, {}]
    assert "validateRequiresKey" in validate["responses"]["401"]["description"]
