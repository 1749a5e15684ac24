"""The operator's commands: operator accounts, promote/demote, disable/enable, suspend/resume, and
plan changes, each in the audit log as ``operator (CLI)``."""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path

import pytest

from octotp_core.console.audit import CLI_ACTOR
from octotp_core.errors import ProjectSuspended
from octotp_core.store import DashboardSession

from .test_cli import PASSWORD, fails, in_process, make_owner_and_project, ok_json, run


@pytest.fixture
def cli_env(tmp_path: Path) -> dict[str, str]:
    """Environment for a fresh octotp: its own data directory and SQLite file."""
    return {"OCTOTP_DATA_DIR": str(tmp_path / "data"), "OCTOTP_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}"}


def _account(env: dict[str, str], *options: str) -> dict[str, object]:
    email = f"someone-{uuid.uuid4().hex[:8]}@example.com"
    created: dict[str, object] = ok_json(
        env, "accounts", "create", email, "--password-stdin", *options, stdin=PASSWORD + "\n"
    )
    return created


def _audit(
    env: dict[str, str], *, account: str | None = None, project: str | None = None
) -> list[tuple[str, str, str]]:
    """(action, actor, detail) of an account's or a project's audit events, newest first."""
    octotp = in_process(env)
    try:
        events = octotp.audit.for_account(account) if account else octotp.audit.for_project(project or "")
        return [(e.action, e.actor, e.detail) for e in events]
    finally:
        octotp.close()


def test_accounts_create_operator_and_list_says_who_is_what(cli_env: dict[str, str]) -> None:
    operator = _account(cli_env, "--operator")
    plain = _account(cli_env)
    assert (operator["isOperator"], plain["isOperator"]) == (True, False)
    listed = {a["email"]: a for a in ok_json(cli_env, "accounts", "list")}
    assert listed[operator["email"]]["isOperator"] is True
    assert listed[plain["email"]]["isOperator"] is False
    assert all(a["isActive"] and a["verifiedAt"] for a in listed.values())  # accounts the operator makes are verified
    text = run(cli_env, "accounts", "list").stdout
    assert f"{operator['email']}  operator" in text
    assert f"{plain['email']}\n" in text + "\n"  # nothing to mark
    assert _audit(cli_env, account=str(operator["id"])) == [("account.operator_granted", CLI_ACTOR, "")]
    said = run(
        cli_env, "accounts", "create", "another@example.com", "--operator", "--password-stdin", stdin=PASSWORD + "\n"
    )
    assert said.stdout.startswith("Created operator account another@example.com")


def test_accounts_promote_and_demote(cli_env: dict[str, str]) -> None:
    account = _account(cli_env)
    email = str(account["email"])
    assert ok_json(cli_env, "accounts", "promote", email.upper())["isOperator"] is True  # emails match as normalised
    assert ok_json(cli_env, "accounts", "promote", email)["isOperator"] is True  # already: nothing changes
    assert ok_json(cli_env, "accounts", "promote", email, "--demote")["isOperator"] is False
    assert run(cli_env, "accounts", "promote", email).stdout.strip() == f"{email} is an operator."
    # Granted, revoked, granted again (the promote of an operator recorded nothing).
    assert [e[:2] for e in _audit(cli_env, account=str(account["id"]))] == [
        ("account.operator_granted", CLI_ACTOR),
        ("account.operator_revoked", CLI_ACTOR),
        ("account.operator_granted", CLI_ACTOR),
    ]
    assert "no account" in fails(cli_env, "accounts", "promote", "nobody@example.com")
    fails(cli_env, "accounts", "promote", code=2)


def test_accounts_disable_ends_sessions_and_sign_in_until_enabled(cli_env: dict[str, str]) -> None:
    account = _account(cli_env)
    email, account_id = str(account["email"]), str(account["id"])
    octotp = in_process(cli_env)
    now = dt.datetime.now(dt.timezone.utc)
    session = DashboardSession(uuid.uuid4().hex * 2, account_id, "csrf", now, now, now + dt.timedelta(hours=1))
    try:
        octotp.store.create_session(session)
    finally:
        octotp.close()

    disabled = ok_json(cli_env, "accounts", "disable", email)
    assert disabled["isActive"] is False
    octotp = in_process(cli_env)
    try:
        assert octotp.store.get_session(session.id_digest) is None  # ended at once
        assert octotp.accounts.authenticate_account(email, PASSWORD) is None
    finally:
        octotp.close()
    assert [a["isActive"] for a in ok_json(cli_env, "accounts", "list")] == [False]
    assert f"{email}  disabled" in run(cli_env, "accounts", "list").stdout
    assert "sessions have ended" in run(cli_env, "accounts", "disable", email).stdout  # again: still disabled

    assert ok_json(cli_env, "accounts", "enable", email)["isActive"] is True
    octotp = in_process(cli_env)
    try:
        assert octotp.accounts.authenticate_account(email, PASSWORD) is not None
    finally:
        octotp.close()
    events = _audit(cli_env, account=account_id)
    assert ("account.disabled", CLI_ACTOR, "1 session ended") in events
    assert ("account.enabled", CLI_ACTOR, "") in events
    assert len(events) == 2  # the repeated disable recorded nothing
    assert "no account" in fails(cli_env, "accounts", "disable", "nobody@example.com")


def test_projects_suspend_and_resume(cli_env: dict[str, str]) -> None:
    _, project = make_owner_and_project(cli_env)
    pid, key = project["projectId"], project["apiKey"]
    suspended = ok_json(cli_env, "projects", "suspend", pid)
    assert suspended["projectId"] == pid
    assert dt.datetime.fromisoformat(suspended["suspendedAt"]).tzinfo is not None
    assert ok_json(cli_env, "projects", "suspend", pid) == suspended  # again: suspended since the first time
    assert [p["suspendedAt"] for p in ok_json(cli_env, "projects", "list")] == [suspended["suspendedAt"]]
    assert "(suspended)" in run(cli_env, "projects", "list").stdout
    octotp = in_process(cli_env)
    try:
        with pytest.raises(ProjectSuspended) as refused:
            octotp.accounts.authenticate(key)
        assert refused.value.code == "project_suspended"
    finally:
        octotp.close()

    assert ok_json(cli_env, "projects", "resume", pid) == {"projectId": pid, "suspendedAt": None}
    assert "(suspended)" not in run(cli_env, "projects", "list").stdout
    octotp = in_process(cli_env)
    try:
        assert octotp.accounts.authenticate(key)[1].id == pid
    finally:
        octotp.close()
    actions = [(a, actor) for a, actor, _ in _audit(cli_env, project=pid)]
    assert ("project.suspended", CLI_ACTOR) in actions
    assert ("project.resumed", CLI_ACTOR) in actions
    assert [a for a, _ in actions].count("project.suspended") == 1
    assert "no project" in fails(cli_env, "projects", "suspend", str(uuid.uuid4()))
    assert "no project" in fails(cli_env, "projects", "resume", "not-a-uuid")


def test_plan_changes_are_audited(cli_env: dict[str, str]) -> None:
    _, project = make_owner_and_project(cli_env)
    pid = project["projectId"]
    ok_json(cli_env, "plans", "set", pid, "pro")
    ok_json(cli_env, "projects", "set", pid, "--plan", "free", "--name", "Renamed")
    ok_json(cli_env, "projects", "set", pid, "--name", "Renamed again")  # no plan change: nothing recorded
    ok_json(cli_env, "plans", "set", pid, "free")  # the same plan: nothing recorded
    fails(cli_env, "plans", "set", pid, "platinum")
    changes = [
        (actor, detail) for action, actor, detail in _audit(cli_env, project=pid) if action == "project.plan_changed"
    ]
    assert sorted(changes) == [(CLI_ACTOR, "free → pro"), (CLI_ACTOR, "pro → free")]
