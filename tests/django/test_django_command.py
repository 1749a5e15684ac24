"""``manage.py octotp``: the core click commands on the Django store; ``db`` runs Django migrations."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from octotp_core import Octotp
from octotp_django import migrations as octotp_migrations
from octotp_django.management.commands.octotp import Command

pytestmark = pytest.mark.django_db(databases="__all__")


def _json(capsys: pytest.CaptureFixture[str], *args: str) -> object:
    capsys.readouterr()
    call_command("octotp", *args, "--json")
    return json.loads(capsys.readouterr().out)


def test_projects_keys_plans(django_octotp: Octotp, capsys: pytest.CaptureFixture[str]) -> None:
    created = _json(capsys, "projects", "create", "From the command")
    assert isinstance(created, dict)
    project_id = created["projectId"]
    assert created["apiKey"].startswith("octotp_")
    assert django_octotp.accounts.get_project(project_id).name == "From the command"
    listed = _json(capsys, "projects", "list")
    assert isinstance(listed, list)
    assert project_id in [p["projectId"] for p in listed]
    key = _json(capsys, "keys", "create", project_id, "--name", "second")
    assert isinstance(key, dict)
    _json(capsys, "keys", "revoke", key["apiKeyId"])
    keys = _json(capsys, "keys", "list", project_id)
    assert isinstance(keys, list)
    assert [k["revokedAt"] is not None for k in keys] == [False, True]
    _json(capsys, "plans", "set", project_id, "pro")
    assert django_octotp.accounts.get_project(project_id).plan == "pro"
    assert _json(capsys, "purge") == {
        "deleted": 0,
        "sessionsDeleted": 0,
        "auditEventsDeleted": 0,
        "jobsDeleted": 0,
        "idempotencyKeysDeleted": 0,
    }


def test_db_commands_use_django_migrations(octotp_db: str, capsys: pytest.CaptureFixture[str]) -> None:
    head = max(p.stem for p in Path(octotp_migrations.__file__).parent.glob("0*.py"))
    assert _json(capsys, "db", "current") == {"revision": head, "head": head}
    assert _json(capsys, "db", "upgrade") == {"revision": head, "database": octotp_db}


def test_errors_become_command_errors(django_octotp: Octotp) -> None:
    with pytest.raises(CommandError, match="no project"):
        call_command("octotp", "keys", "list", "00000000-0000-0000-0000-000000000000")


def test_run_from_argv_hands_over_to_click(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        Command().run_from_argv(["manage.py", "octotp", "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert "manage.py octotp" in out
    for command in ("accounts", "db", "keys", "plans", "projects", "purge"):
        assert command in out


def test_call_command_passes_verbosity_to_migrate(octotp_db: str, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    call_command("octotp", "db", "upgrade", verbosity=0)
    assert capsys.readouterr().out.splitlines()[-1].startswith(f"Database {octotp_db!r} is at migration")
    call_command("octotp", "db", "upgrade", verbosity=2)
    assert "Running post-migrate handlers" in capsys.readouterr().out


def test_data_commands_name_the_django_database(
    django_octotp: Octotp, octotp_db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Like every octotp CLI (issue 13, trap 5): stderr says which database was used, here the Django
    alias octotp's models are routed to, never its password."""
    from django.db import connections

    capsys.readouterr()
    call_command("octotp", "projects", "list")
    err = capsys.readouterr().err
    assert f"(Django alias {octotp_db!r})" in err
    params = connections[octotp_db].settings_dict
    assert str(params["NAME"]) in err
    if params.get("PASSWORD"):
        assert str(params["PASSWORD"]) not in err
    if connections[octotp_db].vendor != "sqlite":
        assert err.startswith(f"octotp: database {connections[octotp_db].vendor}://")


def test_operator_commands_on_the_django_store(django_octotp: Octotp, capsys: pytest.CaptureFixture[str]) -> None:
    """`manage.py octotp` has the operator's commands, on the Django ORM store."""
    import uuid

    email = f"operator-{uuid.uuid4().hex[:8]}@example.com"
    account = django_octotp.accounts.create_account(email, "a long enough password")
    assert _json(capsys, "accounts", "promote", email) == {
        "id": account.id,
        "email": email,
        "createdAt": account.created_at.isoformat(),
        "isActive": True,
        "isOperator": True,
        "verifiedAt": account.verified_at.isoformat() if account.verified_at else None,
    }
    disabled = _json(capsys, "accounts", "disable", email)
    assert isinstance(disabled, dict)
    assert disabled["isActive"] is False
    assert not django_octotp.accounts.account_by_email(email).is_active
    created = _json(capsys, "projects", "create", "To suspend", "--owner", email)
    assert isinstance(created, dict)
    project_id = created["projectId"]
    _json(capsys, "projects", "suspend", project_id)
    assert django_octotp.accounts.get_project(project_id).suspended_at is not None
    _json(capsys, "projects", "resume", project_id)
    assert django_octotp.accounts.get_project(project_id).suspended_at is None
    actions = {e.action for e in django_octotp.audit.for_project(project_id)}
    assert actions == {"project.suspended", "project.resumed"}


def test_webhooks_on_the_django_store(django_octotp: Octotp, capsys: pytest.CaptureFixture[str]) -> None:
    """`manage.py octotp webhooks ...` manages endpoints in the Django ORM store."""
    created = _json(capsys, "projects", "create", "Hooked")
    assert isinstance(created, dict)
    project_id = created["projectId"]
    added = _json(capsys, "webhooks", "add", project_id, "https://hooks.example.com/django")
    assert isinstance(added, dict)
    assert added["secret"].startswith("whsec_")
    listed = _json(capsys, "webhooks", "list", project_id)
    assert listed == [{k: v for k, v in added.items() if k != "secret"}]
    _json(capsys, "webhooks", "update", project_id, added["endpointId"], "--disable")
    (endpoint,) = django_octotp.webhooks.for_project(project_id)
    assert (endpoint.url, endpoint.enabled) == ("https://hooks.example.com/django", False)
    with pytest.raises(CommandError, match="no such webhook endpoint"):
        call_command("octotp", "webhooks", "log", project_id, "00000000-0000-0000-0000-000000000000")
    with pytest.raises(CommandError, match="must be a public address"):
        call_command("octotp", "webhooks", "update", project_id, added["endpointId"], "--url", "http://10.1.2.3/x")


def test_secret_rotate_points_to_the_host_settings(django_octotp: Octotp) -> None:
    with pytest.raises(CommandError, match="host application's settings"):
        call_command("octotp", "secret", "rotate")
