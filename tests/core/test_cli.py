"""The ``octotp`` command line: click's ``CliRunner`` for breadth, the installed console script for real."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import inspect
from sqlalchemy.engine import make_url

from octotp_core import FrozenClock, Octotp, Settings, __version__
from octotp_core.apikeys import is_well_formed
from octotp_core.cli import main
from octotp_core.migrate import head_revision
from octotp_core.store import DashboardSession, make_engine
from octotp_core.store.models import Base

PASSWORD = "a long enough password"


@pytest.fixture
def cli_env(tmp_path: Path) -> dict[str, str]:
    """Environment for a fresh octotp: its own data directory and SQLite file."""
    return {
        "OCTOTP_DATA_DIR": str(tmp_path / "data"),
        "OCTOTP_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
    }


def run(env: dict[str, str], *args: str, stdin: str | None = None) -> Result:
    return CliRunner().invoke(main, list(args), env=env, input=stdin)


def ok_json(env: dict[str, str], *args: str, stdin: str | None = None) -> Any:
    """Run a command with ``--json``, check it succeeded, and return its parsed output."""
    result = run(env, *args, "--json", stdin=stdin)
    assert result.exit_code == 0, (result.stdout, result.stderr, result.exception)
    return json.loads(result.stdout)


def fails(env: dict[str, str], *args: str, code: int = 1, stdin: str | None = None) -> str:
    """Run a command that must fail with exit ``code`` and print nothing to stdout; return stderr."""
    result = run(env, *args, stdin=stdin)
    assert result.exit_code == code, (result.stdout, result.stderr, result.exception)
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    return result.stderr


def in_process(env: dict[str, str], clock: FrozenClock | None = None) -> Octotp:
    """The same octotp the CLI configures from ``env``, for checking what it did."""
    settings = Settings(data_dir=Path(env["OCTOTP_DATA_DIR"]), database_url=env["OCTOTP_DATABASE_URL"])
    return Octotp(settings, clock=clock)


def make_owner_and_project(env: dict[str, str]) -> tuple[str, dict[str, Any]]:
    owner = f"owner-{uuid.uuid4().hex[:8]}@example.com"
    ok_json(env, "accounts", "create", owner, "--password-stdin", stdin=PASSWORD + "\n")
    return owner, ok_json(env, "projects", "create", "My app", "--owner", owner)


# -- db --------------------------------------------------------------------------------------------
def test_db_upgrade_and_current(cli_env: dict[str, str]) -> None:
    assert ok_json(cli_env, "db", "upgrade") == {"revision": head_revision()}
    assert ok_json(cli_env, "db", "current") == {"revision": head_revision(), "head": head_revision()}
    text = run(cli_env, "db", "upgrade")
    assert text.exit_code == 0
    assert f"revision {head_revision()}" in text.stdout


def test_db_upgrade_on_each_database(empty_database_url: str, tmp_path: Path) -> None:
    env = {"OCTOTP_DATA_DIR": str(tmp_path / "data"), "OCTOTP_DATABASE_URL": empty_database_url}
    assert ok_json(env, "db", "upgrade") == {"revision": head_revision()}
    assert ok_json(env, "db", "upgrade") == {"revision": head_revision()}  # idempotent
    engine = make_engine(empty_database_url)
    try:
        assert set(Base.metadata.tables) <= set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


# -- accounts --------------------------------------------------------------------------------------
def test_accounts_create_with_password_stdin(cli_env: dict[str, str]) -> None:
    created = ok_json(cli_env, "accounts", "create", "New.Owner@Example.com", "--password-stdin", stdin=PASSWORD + "\n")
    assert created["email"] == "new.owner@example.com"
    uuid.UUID(created["id"])
    listed = ok_json(cli_env, "accounts", "list")
    assert [a["id"] for a in listed] == [created["id"]]
    octotp = in_process(cli_env)
    try:
        account = octotp.accounts.authenticate_account("new.owner@example.com", PASSWORD)
        assert account is not None
        assert account.id == created["id"]
    finally:
        octotp.close()


def test_accounts_create_with_prompt(cli_env: dict[str, str]) -> None:
    result = run(cli_env, "accounts", "create", "prompted@example.com", stdin=f"{PASSWORD}\n{PASSWORD}\n")
    assert result.exit_code == 0, result.stderr
    assert "prompted@example.com" in result.stdout
    assert PASSWORD not in result.stdout


def test_accounts_create_errors(cli_env: dict[str, str]) -> None:
    ok_json(cli_env, "accounts", "create", "taken@example.com", "--password-stdin", stdin=PASSWORD + "\n")
    stdin = PASSWORD + "\n"
    taken = fails(cli_env, "accounts", "create", "TAKEN@example.com", "--password-stdin", "--json", stdin=stdin)
    assert "already exists" in taken
    short = fails(cli_env, "accounts", "create", "short@example.com", "--password-stdin", "--json", stdin="short\n")
    assert "at least 10" in short
    invalid = fails(cli_env, "accounts", "create", "not-an-email", "--password-stdin", "--json", stdin=stdin)
    assert "email" in invalid
    assert [a["email"] for a in ok_json(cli_env, "accounts", "list")] == ["taken@example.com"]
    fails(cli_env, "accounts", "create", code=2)  # missing EMAIL: a usage error


# -- projects and keys -----------------------------------------------------------------------------
def test_projects_create_prints_id_and_working_key(cli_env: dict[str, str]) -> None:
    owner, project = make_owner_and_project(cli_env)
    assert project["name"] == "My app"
    assert project["plan"] == "free"
    uuid.UUID(project["projectId"])
    assert is_well_formed(project["apiKey"])
    octotp = in_process(cli_env)
    try:
        key, found = octotp.accounts.authenticate(project["apiKey"])
        assert (key.id, found.id) == (project["apiKeyId"], project["projectId"])
        assert found.owner_id == octotp.accounts.account_by_email(owner).id
    finally:
        octotp.close()
    listed = ok_json(cli_env, "projects", "list")
    assert [p["projectId"] for p in listed] == [project["projectId"]]
    assert project["apiKey"] not in json.dumps(listed)


def exported_by(shell_output: str) -> dict[str, str]:
    """What ``eval "$(...)"`` of a command's text output sets in bash: its ``OCTOTP_*`` variables."""
    script = 'eval "$1" && env -0'
    done = subprocess.run(
        ["bash", "-c", script, "bash", shell_output], env={"PATH": os.environ["PATH"]}, capture_output=True, check=False
    )
    assert done.returncode == 0, done.stderr
    pairs = (item.split("=", 1) for item in done.stdout.decode().split("\0") if item.startswith("OCTOTP_"))
    return dict(pairs)


def test_projects_create_text_output_is_shell_to_paste(cli_env: dict[str, str]) -> None:
    """The new key appears once, in an ``export`` line with the names octotp-client reads; every
    other line is a comment, so pasting the line or ``eval``-ing the output sets both variables."""
    result = run(cli_env, "projects", "create", "Plain")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    [export] = [line for line in lines if not line.startswith("#")]
    assert export.startswith("export OCTOTP_PROJECT_ID=")
    assert "# projectId:" in result.stdout
    assert "shown only this once" in result.stdout
    exported = exported_by(result.stdout)
    assert set(exported) == {"OCTOTP_PROJECT_ID", "OCTOTP_API_KEY"}
    assert is_well_formed(exported["OCTOTP_API_KEY"])
    assert result.stdout.count(exported["OCTOTP_API_KEY"]) == 1
    assert exported["OCTOTP_API_KEY"] not in result.stderr
    octotp = in_process(cli_env)
    try:
        _, project = octotp.accounts.authenticate(exported["OCTOTP_API_KEY"])
        assert project.id == exported["OCTOTP_PROJECT_ID"]
    finally:
        octotp.close()


def test_keys_create_text_output_is_shell_to_paste(cli_env: dict[str, str]) -> None:
    project_id = ok_json(cli_env, "projects", "create", "Keys")["projectId"]
    result = run(cli_env, "keys", "create", project_id, "--name", "second")
    assert result.exit_code == 0, result.stderr
    exported = exported_by(result.stdout)
    assert exported["OCTOTP_PROJECT_ID"] == project_id
    assert is_well_formed(exported["OCTOTP_API_KEY"])
    assert result.stdout.count(exported["OCTOTP_API_KEY"]) == 1
    assert [line for line in result.stdout.splitlines() if not line.startswith("#")] == [
        f"export OCTOTP_PROJECT_ID={project_id} OCTOTP_API_KEY={exported['OCTOTP_API_KEY']}"
    ]


def test_exported_names_are_the_ones_octotp_client_reads(cli_env: dict[str, str]) -> None:
    client_base = pytest.importorskip(
        "octotp_client._base", reason="octotp-client is not installed in this core-only env (ci and lowest install it)"
    )
    from octotp_core.cli.commands import API_KEY_VARIABLE, PROJECT_ID_VARIABLE

    assert (PROJECT_ID_VARIABLE, API_KEY_VARIABLE) == (client_base.ENV_PROJECT_ID, client_base.ENV_API_KEY)
    # With them exported in the same shell, octotp's own settings still load (they are not settings).
    env = {**cli_env, "OCTOTP_PROJECT_ID": str(uuid.uuid4()), "OCTOTP_API_KEY": "octotp_x", "OCTOTP_BASE_URL": "x"}
    assert ok_json(env, "projects", "list") == []


def test_projects_create_defaults_the_owner_to_the_only_account(cli_env: dict[str, str]) -> None:
    unowned = run(cli_env, "projects", "create", "Before any account")
    assert unowned.exit_code == 0, unowned.stderr
    assert "owner:     none" in unowned.stdout
    assert "projects set PROJECT_ID --owner EMAIL" in unowned.stdout
    ok_json(cli_env, "accounts", "create", "only@example.com", "--password-stdin", stdin=PASSWORD + "\n")
    owned = ok_json(cli_env, "projects", "create", "Mine")
    assert owned["ownerEmail"] == "only@example.com"
    ok_json(cli_env, "accounts", "create", "second@example.com", "--password-stdin", stdin=PASSWORD + "\n")
    several = run(cli_env, "projects", "create", "Whose?")  # several accounts: no guess, and it says so
    assert several.exit_code == 0, several.stderr
    assert "owner:     none" in several.stdout
    theirs = ok_json(cli_env, "projects", "create", "Theirs", "--owner", "Second@example.com")
    assert theirs["ownerEmail"] == "second@example.com"
    accounts = {a["email"]: a["id"] for a in ok_json(cli_env, "accounts", "list")}
    owners = {p["name"]: p["ownerId"] for p in ok_json(cli_env, "projects", "list")}
    assert owners == {
        "Before any account": None,
        "Mine": accounts["only@example.com"],
        "Whose?": None,
        "Theirs": accounts["second@example.com"],
    }


def test_projects_set_owner_puts_a_project_in_that_dashboard(cli_env: dict[str, str]) -> None:
    project = ok_json(cli_env, "projects", "create", "Orphan")
    assert project["ownerEmail"] is None
    ok_json(cli_env, "accounts", "create", "adopter@example.com", "--password-stdin", stdin=PASSWORD + "\n")
    assert "x@example.com" in fails(cli_env, "projects", "set", project["projectId"], "--owner", "x@example.com")
    changed = ok_json(cli_env, "projects", "set", project["projectId"], "--owner", "adopter@example.com")
    octotp = in_process(cli_env)
    try:
        owner = octotp.accounts.account_by_email("adopter@example.com")
        assert changed["ownerId"] == owner.id
        assert [p.id for p in octotp.store.list_projects(owner_id=owner.id)] == [project["projectId"]]
        stored = octotp.store.get_project(project["projectId"])
        assert stored is not None
        assert stored.name == "Orphan"
    finally:
        octotp.close()


def test_projects_create_errors(cli_env: dict[str, str]) -> None:
    assert "nobody@example.com" in fails(cli_env, "projects", "create", "X", "--owner", "nobody@example.com", "--json")
    stderr = fails(cli_env, "projects", "create", "X", "--plan", "platinum", "--json")
    assert "free" in stderr
    assert "pro" in stderr
    fails(cli_env, "projects", "create", "   ", "--json")
    assert ok_json(cli_env, "projects", "list") == []  # nothing half-made


def test_keys_create_list_revoke(cli_env: dict[str, str]) -> None:
    _, project = make_owner_and_project(cli_env)
    project_id = project["projectId"]
    extra = ok_json(cli_env, "keys", "create", project_id, "--name", "ci")
    assert extra["projectId"] == project_id
    assert is_well_formed(extra["apiKey"])
    assert extra["apiKey"] != project["apiKey"]

    listed = ok_json(cli_env, "keys", "list", project_id)
    assert {k["apiKeyId"] for k in listed} == {project["apiKeyId"], extra["apiKeyId"]}
    assert {k["name"] for k in listed} == {"default", "ci"}
    for key in listed:
        assert key["revokedAt"] is None
        assert extra["apiKey"].startswith(key["prefix"]) or project["apiKey"].startswith(key["prefix"])
    text = run(cli_env, "keys", "list", project_id)
    for output in (json.dumps(listed), text.stdout):
        assert extra["apiKey"] not in output
        assert project["apiKey"] not in output

    assert ok_json(cli_env, "keys", "revoke", extra["apiKeyId"]) == {"apiKeyId": extra["apiKeyId"], "revoked": True}
    revoked = {k["apiKeyId"]: k["revokedAt"] for k in ok_json(cli_env, "keys", "list", project_id)}
    assert revoked[extra["apiKeyId"]] is not None
    assert revoked[project["apiKeyId"]] is None
    assert "revoked" in run(cli_env, "keys", "list", project_id).stdout
    fails(cli_env, "keys", "revoke", extra["apiKeyId"], "--json")  # only once


def test_keys_errors(cli_env: dict[str, str]) -> None:
    unknown = str(uuid.uuid4())
    for args in (("keys", "create", unknown), ("keys", "list", unknown), ("keys", "create", "not-a-uuid")):
        assert "no project" in fails(cli_env, *args, "--json")
    assert "no active API key" in fails(cli_env, "keys", "revoke", unknown, "--json")
    fails(cli_env, "keys", "revoke", code=2)


# -- plans -----------------------------------------------------------------------------------------
def test_plans_list(cli_env: dict[str, str]) -> None:
    plans = ok_json(cli_env, "plans", "list")
    assert plans == [
        {
            "name": "free",
            "createsPerMinute": 60,
            "createsPerMonth": 10_000,
            "description": "For trying octotp out.",
            "price": "Free",
            "default": True,
        },
        {
            "name": "pro",
            "createsPerMinute": 600,
            "createsPerMonth": 1_000_000,
            "description": "For production traffic.",
            "price": None,
            "default": False,
        },
    ]
    text = run(cli_env, "plans", "list").stdout.splitlines()
    assert text == ["free         60/min     10,000/month  (default)", "pro         600/min  1,000,000/month"]


def test_plans_come_from_settings(cli_env: dict[str, str]) -> None:
    env = {
        **cli_env,
        "OCTOTP_PLANS": json.dumps({"starter": {"creates_per_minute": 5}, "team": {"creates_per_minute": 120}}),
        "OCTOTP_DEFAULT_PLAN": "starter",
    }
    assert [
        (p["name"], p["createsPerMinute"], p["createsPerMonth"], p["default"]) for p in ok_json(env, "plans", "list")
    ] == [
        ("starter", 5, None, True),
        ("team", 120, None, False),
    ]
    assert ok_json(env, "projects", "create", "Custom")["plan"] == "starter"


def test_plans_set(cli_env: dict[str, str]) -> None:
    _, project = make_owner_and_project(cli_env)
    project_id = project["projectId"]
    assert ok_json(cli_env, "plans", "set", project_id, "pro") == {"projectId": project_id, "plan": "pro"}
    assert [p["plan"] for p in ok_json(cli_env, "projects", "list")] == ["pro"]
    stderr = fails(cli_env, "plans", "set", project_id, "platinum", "--json")
    assert "free" in stderr
    assert "pro" in stderr
    assert [p["plan"] for p in ok_json(cli_env, "projects", "list")] == ["pro"]
    assert "no project" in fails(cli_env, "plans", "set", str(uuid.uuid4()), "free", "--json")
    fails(cli_env, "plans", "set", project_id, code=2)


def test_projects_set_plan_and_validate_requires_key(cli_env: dict[str, str]) -> None:
    """The operator's `projects set` changes the plan and the validate-key setting; JSON shows both."""
    _, project = make_owner_and_project(cli_env)
    pid = project["projectId"]
    assert project["validateRequiresKey"] is True  # every new project
    changed = ok_json(cli_env, "projects", "set", pid, "--plan", "pro", "--no-validate-requires-key")
    assert (changed["plan"], changed["validateRequiresKey"]) == ("pro", False)
    assert [(p["plan"], p["validateRequiresKey"]) for p in ok_json(cli_env, "projects", "list")] == [("pro", False)]
    assert ok_json(cli_env, "projects", "set", pid, "--validate-requires-key")["validateRequiresKey"] is True
    stderr = fails(cli_env, "projects", "set", pid, "--plan", "platinum", "--json")
    assert "free" in stderr
    compatible = ok_json(cli_env, "projects", "create", "Octotp-era", "--no-validate-requires-key")
    assert compatible["validateRequiresKey"] is False


@pytest.mark.parametrize(
    ("option", "value", "reason"),
    [
        ("--code-length", "4", "must be 6-10 digits"),
        ("--expiry-max", "1000000000000", "must be 1-3600 seconds"),
        ("--expiry-default", "3601", "must be 1-3600 seconds"),
    ],
)
def test_projects_set_holds_to_the_operators_bounds(
    cli_env: dict[str, str], option: str, value: str, reason: str
) -> None:
    _, project = make_owner_and_project(cli_env)
    assert reason in fails(cli_env, "projects", "set", project["projectId"], option, value, "--json")
    octotp = in_process(cli_env)
    try:
        stored = octotp.accounts.get_project(project["projectId"])
        assert (stored.code_length, stored.expiry_max, stored.expiry_default) == (None, None, None)
    finally:
        octotp.close()
    # The operator moves the bounds in settings, and the same value is then accepted.
    env = {**cli_env, "OCTOTP_PROJECT_MIN_CODE_LENGTH": "4", "OCTOTP_PROJECT_EXPIRY_MAX_CEILING": "86400"}
    changed = ok_json(env, "projects", "set", project["projectId"], "--code-length", "4", "--expiry-max", "86400")
    assert (changed["codeLength"], changed["expiryMax"]) == (4, 86400)


# -- purge -----------------------------------------------------------------------------------------
NO_MORE = {"jobsDeleted": 0, "idempotencyKeysDeleted": 0}


def test_purge(cli_env: dict[str, str]) -> None:
    ok_json(cli_env, "db", "upgrade")
    now = dt.datetime.now(dt.timezone.utc)
    past = FrozenClock(now - dt.timedelta(hours=2))
    octotp = in_process(cli_env, clock=past)
    try:
        project = octotp.accounts.create_project("purge").project
        long_ago = octotp.create_token(project.id, email="a@example.com", expires_in=30)  # expired 2 h ago
        past.advance(3600)
        recently = octotp.create_token(project.id, email="b@example.com", expires_in=30)  # expired 1 h ago
        past.advance(3600)
        alive = octotp.create_token(project.id, email="c@example.com", expires_in=600)
        account = octotp.accounts.create_account("purged@example.com", PASSWORD)
        sessions = [
            DashboardSession(uuid.uuid4().hex * 2, account.id, "csrf", past.now(), past.now(), past.now() + ttl)
            for ttl in (dt.timedelta(minutes=-10), dt.timedelta(minutes=-1), dt.timedelta(minutes=30))
        ]
        for session in sessions:
            octotp.store.create_session(session)
    finally:
        octotp.close()
    # --grace keeps recently expired tokens only; a session that ended is never resumed, so it goes.
    assert ok_json(cli_env, "purge", "--grace", "5400") == {
        "deleted": 1,
        "sessionsDeleted": 2,
        "auditEventsDeleted": 0,
        **NO_MORE,
    }
    assert ok_json(cli_env, "purge") == {"deleted": 1, "sessionsDeleted": 0, "auditEventsDeleted": 0, **NO_MORE}
    assert ok_json(cli_env, "purge") == {"deleted": 0, "sessionsDeleted": 0, "auditEventsDeleted": 0, **NO_MORE}
    octotp = in_process(cli_env)
    try:
        assert [octotp.store.get_token(t.id) is None for t in (long_ago, recently, alive)] == [True, True, False]
        assert [octotp.store.get_session(s.id_digest) is None for s in sessions] == [True, True, False]
    finally:
        octotp.close()
    # stderr is not a terminal here (no progress bar): the counts come as JSON even without --json.
    assert json.loads(run(cli_env, "purge").stdout) == {
        "deleted": 0,
        "sessionsDeleted": 0,
        "auditEventsDeleted": 0,
        **NO_MORE,
    }
    fails(cli_env, "purge", "--grace", "soon", code=2)


def test_version(cli_env: dict[str, str]) -> None:
    result = run(cli_env, "--version")
    assert (result.exit_code, result.stdout.strip()) == (0, f"octotp, version {__version__}")


# -- the installed console script ------------------------------------------------------------------
def test_console_script(cli_env: dict[str, str]) -> None:
    # Each start imports all of octotp, so the real-process check is kept to a few calls.
    script = Path(sys.executable).parent / ("octotp.exe" if os.name == "nt" else "octotp")
    assert script.exists(), f"the octotp console script is not installed next to {sys.executable}"
    env = {**os.environ, **cli_env}

    def octotp(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(script), *args], env=env, capture_output=True, text=True, timeout=120, check=False)

    upgraded = octotp("db", "upgrade", "--json")
    assert upgraded.returncode == 0, upgraded.stderr
    assert json.loads(upgraded.stdout) == {"revision": head_revision()}
    project = octotp("projects", "create", "Scripted", "--json")
    assert project.returncode == 0, project.stderr
    created = json.loads(project.stdout)
    assert is_well_formed(created["apiKey"])
    bad_plan = octotp("plans", "set", created["projectId"], "platinum", "--json")
    assert (bad_plan.returncode, bad_plan.stdout) == (1, "")
    assert "must be one of free, pro" in bad_plan.stderr
    assert "Traceback" not in bad_plan.stderr


def test_projects_set_changes_what_the_api_does(tmp_path: Path) -> None:
    """`octotp projects set` configures code length, bounds, region and deliver-only; bad values exit 1."""
    from click.testing import CliRunner

    from octotp_core import Octotp, Settings
    from octotp_core.cli import main

    env = {"OCTOTP_DATA_DIR": str(tmp_path), "OCTOTP_SECRET_KEY": "s" * 32}
    runner = CliRunner()
    created = json.loads(runner.invoke(main, ["projects", "create", "cfg", "--json"], env=env).stdout)
    pid = created["projectId"]
    result = runner.invoke(
        main,
        ["projects", "set", pid, "--code-length", "8", "--expiry-max", "900", "--phone-region", "gb", "--json"],
        env=env,
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["defaultPhoneRegion"] == "GB"
    octotp = Octotp(Settings(data_dir=tmp_path, secret_key="s" * 32))
    token = octotp.create_token(pid, phone="020 7946 0958", expires_in=900)  # national number: region GB
    assert token.code is not None
    assert len(token.code) == 8
    octotp.close()
    bad = runner.invoke(main, ["projects", "set", pid, "--expiry-min", "1000", "--json"], env=env)
    assert bad.exit_code == 1
    assert "expiry_min <= expiry_default <= expiry_max" in bad.output
    bad_region = runner.invoke(main, ["projects", "set", pid, "--phone-region", "XX"], env=env)
    assert bad_region.exit_code == 1


def test_unmigrated_server_database_says_run_db_upgrade(empty_database_url: str, tmp_path: Path) -> None:
    """On PostgreSQL/MariaDB nothing migrates implicitly; the error names the command to run."""
    from click.testing import CliRunner

    from octotp_core.cli import main

    env = {"OCTOTP_DATA_DIR": str(tmp_path), "OCTOTP_DATABASE_URL": empty_database_url, "OCTOTP_SECRET_KEY": "s" * 32}
    runner = CliRunner()
    result = runner.invoke(main, ["projects", "list"], env=env)
    if empty_database_url.startswith("sqlite"):
        assert result.exit_code == 0  # the embedded default migrates itself
        return
    assert result.exit_code == 1
    assert "run `octotp db upgrade`" in result.output
    assert runner.invoke(main, ["db", "upgrade"], env=env).exit_code == 0
    assert runner.invoke(main, ["projects", "list"], env=env).exit_code == 0


def test_tokens_list_shows_core_token_states(cli_env: dict[str, str]) -> None:
    """``octotp tokens list`` speaks the one vocabulary of ``octotp_core.states`` and never shows a code."""
    project_id = ok_json(cli_env, "projects", "create", "Tokens")["projectId"]
    octotp = in_process(cli_env)
    used = octotp.create_token(project_id, email="a@example.com")
    waiting = octotp.create_token(project_id, email="b@example.com")
    assert used.code is not None
    assert waiting.code is not None
    assert octotp.validate_token(project_id, email="a@example.com", code=used.code).is_valid
    octotp.close()
    rows = ok_json(cli_env, "tokens", "list", project_id)
    assert {row["tokenId"]: row["status"] for row in rows} == {used.id: "approved", waiting.id: "pending"}
    assert used.code not in json.dumps(rows)
    assert waiting.code not in json.dumps(rows)
    text = run(cli_env, "tokens", "list", project_id).stdout
    assert "pending" in text
    assert "approved" in text


# -- which database a command used -----------------------------------------------------------------
DATA_COMMANDS: list[tuple[str, ...]] = [
    ("db", "upgrade"),
    ("db", "current"),
    ("accounts", "list"),
    ("projects", "create", "Said"),
    ("projects", "list"),
    ("keys", "list", "{project}"),
    ("keys", "create", "{project}"),
    ("tokens", "list", "{project}"),
    ("plans", "list"),
    ("plans", "set", "{project}", "pro"),
    ("purge",),
]


@pytest.mark.parametrize("as_json", [False, True], ids=["text", "json"])
def test_every_data_command_names_its_database_on_stderr(cli_env: dict[str, str], as_json: bool) -> None:
    """A command run without the intended OCTOTP_DATABASE_URL says so at once: each one names the
    database it used on stderr (stdout, ``--json`` too, stays the command's own output)."""
    project = ok_json(cli_env, "projects", "create", "Target")["projectId"]
    database = cli_env["OCTOTP_DATABASE_URL"]
    for command in DATA_COMMANDS:
        args = [arg.format(project=project) for arg in command] + (["--json"] if as_json else [])
        result = run(cli_env, *args)
        assert result.exit_code == 0, (args, result.stderr)
        assert result.stderr.splitlines()[0] == f"octotp: database {database}", args
        assert "octotp: database" not in result.stdout
        if as_json:
            json.loads(result.stdout)


def test_the_default_database_is_called_the_default(tmp_path: Path) -> None:
    """The FastAPI README's trap: `octotp projects create` without OCTOTP_DATABASE_URL writes to the
    default SQLite file, and says that it did and how to choose another."""
    env = {"OCTOTP_DATA_DIR": str(tmp_path / "data")}
    result = run(env, "projects", "create", "Somewhere")
    assert result.exit_code == 0, result.stderr
    default = f"sqlite:///{tmp_path / 'data' / 'octotp.db'}"
    assert result.stderr.splitlines()[0] == (
        f"octotp: database {default} (the default; set OCTOTP_DATABASE_URL to use another)"
    )
    configured = run({**env, "OCTOTP_DATABASE_URL": f"sqlite:///{tmp_path / 'chosen.db'}"}, "projects", "list")
    assert "the default" not in configured.stderr


def with_password(url: str, password: str) -> str:
    return make_url(url).set(password=password).render_as_string(hide_password=False)


def test_a_password_in_the_url_never_appears(server_database_url: str, tmp_path: Path) -> None:
    """The database line masks the password, also when the command then fails (a password the
    server refuses): neither stream ever holds it."""
    password = "pw-" + uuid.uuid4().hex
    url = with_password(server_database_url, password)  # SQLite URLs carry no password
    env = {"OCTOTP_DATA_DIR": str(tmp_path / "data"), "OCTOTP_DATABASE_URL": url, "OCTOTP_SECRET_KEY": "s" * 32}
    for args in (("db", "upgrade"), ("projects", "create", "Masked"), ("projects", "list", "--json")):
        result = run(env, *args)
        assert password not in result.stdout + result.stderr, args
        masked = make_url(url).render_as_string(hide_password=True)
        assert result.stderr.splitlines()[0] == f"octotp: database {masked}"
        assert ":***@" in masked


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql+psycopg://octotp:hunter2@db:5432/octotp", "postgresql+psycopg://octotp:***@db:5432/octotp"),
        ("mysql+pymysql://root:p%40ss%3Aword@db/octotp", "mysql+pymysql://root:***@db/octotp"),
        (
            "postgresql://db/octotp?user=o&password=hunter2&sslmode=require",
            "postgresql://db/octotp?password=***&sslmode=require&user=o",
        ),
        ("postgresql://u@db/octotp?sslpassword=hunter2", "postgresql://u@db/octotp?sslpassword=***"),
        ("sqlite:////var/lib/octotp/octotp.db", "sqlite:////var/lib/octotp/octotp.db"),
        ("not a url hunter2", "an unreadable URL"),
        ("postgresql://u:hunter2@db:notaport/x", "postgresql://***"),
    ],
)
def test_masked_url(url: str, shown: str) -> None:
    from octotp_core.cli import masked_url

    assert masked_url(url) == shown
    assert "hunter2" not in masked_url(url)
