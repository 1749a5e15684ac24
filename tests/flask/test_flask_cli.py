"""`flask octotp ...`: the core commands, configured by the app."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import click
from flask import Flask

from octotp_core.cli import main as octotp_main
from octotp_core.migrate import current_revision, head_revision
from octotp_flask import get_octotp


def run(app: Flask, *args: str, input: str | None = None) -> str:
    result = app.test_cli_runner().invoke(args=["octotp", *args], input=input)
    assert result.exit_code == 0, (args, result.output, result.exception)
    return result.stdout


def test_same_commands_as_the_octotp_cli(make_app: Callable[..., Flask], sqlite_url: str) -> None:
    app = make_app(OCTOTP_DATABASE_URL=sqlite_url)
    group = app.cli.commands["octotp"]
    assert isinstance(group, click.Group)
    assert group.commands == {name: cmd for name, cmd in octotp_main.commands.items() if name != "serve"}
    assert "octotp" in run(app, "--help")


def test_db_upgrade_on_a_fresh_database(make_app: Callable[..., Flask], tmp_path: Path) -> None:
    app = make_app(OCTOTP_DATABASE_URL=f"sqlite:///{tmp_path / 'cli.db'}")
    core = app.extensions["octotp"]
    assert current_revision(core.engine) is None
    assert json.loads(run(app, "db", "upgrade", "--json")) == {"revision": head_revision()}
    assert json.loads(run(app, "db", "current", "--json")) == {"revision": head_revision(), "head": head_revision()}


def test_projects_keys_plans_and_purge(make_app: Callable[..., Flask], database_url: str) -> None:
    app = make_app(
        OCTOTP_DATABASE_URL=database_url,
        OCTOTP_PLANS={"free": {"creates_per_minute": 60}, "tiny": {"creates_per_minute": 5}},
    )
    created = json.loads(run(app, "projects", "create", "From the CLI", "--plan", "tiny", "--json"))
    assert created["plan"] == "tiny"
    assert created["apiKey"].startswith("octotp_")
    project_id = created["projectId"]
    assert project_id in run(app, "projects", "list")

    key = json.loads(run(app, "keys", "create", project_id, "--name", "second", "--json"))
    listed = json.loads(run(app, "keys", "list", project_id, "--json"))
    assert {k["apiKeyId"] for k in listed} == {created["apiKeyId"], key["apiKeyId"]}
    run(app, "keys", "revoke", key["apiKeyId"])

    plans = {p["name"]: p["createsPerMinute"] for p in json.loads(run(app, "plans", "list", "--json"))}
    assert plans == {"free": 60, "tiny": 5}
    run(app, "plans", "set", project_id, "free")
    with app.app_context():
        assert get_octotp().accounts.get_project(project_id).plan == "free"

    assert "deleted" in json.loads(run(app, "purge", "--json"))


def test_accounts_and_clean_errors(make_app: Callable[..., Flask], database_url: str) -> None:
    import uuid

    app = make_app(OCTOTP_DATABASE_URL=database_url)
    email = f"owner-{uuid.uuid4().hex[:8]}@example.com"
    account = json.loads(run(app, "accounts", "create", email, "--password-stdin", "--json", input="a long password\n"))
    assert account["email"] == email
    result = app.test_cli_runner().invoke(args=["octotp", "keys", "list", str(uuid.uuid4())])
    assert result.exit_code == 1
    assert "Traceback" not in result.output


def test_operator_commands(make_app: Callable[..., Flask], database_url: str) -> None:
    """The operator's commands work on the app's own database (the same click commands as `octotp`)."""
    import uuid

    app = make_app(OCTOTP_DATABASE_URL=database_url)
    email = f"operator-{uuid.uuid4().hex[:8]}@example.com"
    created = json.loads(
        run(app, "accounts", "create", email, "--operator", "--password-stdin", "--json", input="a long password\n")
    )
    assert created["isOperator"] is True
    assert json.loads(run(app, "accounts", "disable", email, "--json"))["isActive"] is False
    assert json.loads(run(app, "accounts", "promote", email, "--demote", "--json"))["isOperator"] is False
    project_id = json.loads(run(app, "projects", "create", "Suspended", "--json"))["projectId"]
    assert json.loads(run(app, "projects", "suspend", project_id, "--json"))["suspendedAt"]
    with app.app_context():
        octotp = get_octotp()
        account = octotp.accounts.account_by_email(email)
        assert (account.is_active, account.is_operator) == (False, False)
        assert octotp.accounts.get_project(project_id).suspended_at is not None
        assert [e.action for e in octotp.audit.for_project(project_id)] == ["project.suspended"]


def test_webhooks_on_the_apps_database(make_app: Callable[..., Flask], database_url: str) -> None:
    """`flask octotp webhooks ...` manages the app's project endpoints (the core commands' group)."""
    app = make_app(OCTOTP_DATABASE_URL=database_url)
    project_id = json.loads(run(app, "projects", "create", "Hooked", "--json"))["projectId"]
    added = json.loads(
        run(app, "webhooks", "add", project_id, "https://hooks.example.com/flask", "--event", "token.created", "--json")
    )
    assert added["secret"].startswith("whsec_")
    listed = json.loads(run(app, "webhooks", "list", project_id, "--json"))
    assert [(e["endpointId"], e["events"]) for e in listed] == [(added["endpointId"], ["token.created"])]
    with app.app_context():
        (endpoint,) = get_octotp().webhooks.for_project(project_id)
        assert endpoint.url == "https://hooks.example.com/flask"
    refused = app.test_cli_runner().invoke(args=["octotp", "webhooks", "add", project_id, "http://localhost/x"])
    assert refused.exit_code == 2
    assert "Invalid value for 'URL'" in refused.output
    assert "Traceback" not in refused.output


def test_secret_rotate_points_to_the_host_settings(
    make_app: Callable[..., Flask], sqlite_url: str, tmp_path: Path
) -> None:
    app = make_app(OCTOTP_DATABASE_URL=sqlite_url, OCTOTP_DATA_DIR=str(tmp_path / "data"))
    for command in ("rotate", "retire"):
        result = app.test_cli_runner().invoke(args=["octotp", "secret", command])
        assert result.exit_code == 1, result.output
        assert "host application's settings" in result.output
        assert "docs/operations/secret-rotation.md" in result.output
    assert not (tmp_path / "data" / "secret_key_fallbacks").exists()
