"""``octotp check``: one line per dependency, reached for real (the database and its migration level,
Redis, an SMTP server in dry run), a non-zero exit for any problem, and never a secret in its output."""

from __future__ import annotations

import json
import secrets
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic.script import ScriptDirectory
from click.testing import CliRunner, Result

from octotp_core.cli import main
from octotp_core.migrate import alembic_config, head_revision, upgrade
from octotp_core.store import make_engine
from octotp_core.testing.databases import ServiceUnavailable, temporary_database
from octotp_core.testing.mailbox import Mailbox
from octotp_core.testing.servers import free_port
from octotp_core.testing.twilio_server import TwilioServer

from ..conftest import unavailable

SMTP_USER = "octotp-check"


@pytest.fixture
def env(tmp_path: Path, database_url: str, test_secret: str) -> dict[str, str]:
    """A healthy deployment's environment: the migrated session database, a fixed secret."""
    return {
        "OCTOTP_DATA_DIR": str(tmp_path / "data"),
        "OCTOTP_DATABASE_URL": database_url,
        "OCTOTP_SECRET_KEY": test_secret,
    }


@pytest.fixture
def smtp_password() -> str:
    return secrets.token_urlsafe(16)


@pytest.fixture
def relay(smtp_password: str) -> Iterator[Mailbox]:
    """An SMTP relay requiring STARTTLS and a login, as production ones do."""
    box = Mailbox(tls=True, auth=(SMTP_USER, smtp_password)).start()
    yield box
    box.stop()


@pytest.fixture
def empty_database_url(db_backend: str, tmp_path: Path) -> Iterator[str]:
    """A new database on the current backend where octotp's tables were never created."""
    try:
        with temporary_database(db_backend, tmp_path) as url:
            yield url
    except ServiceUnavailable as exc:
        unavailable(exc)


def check(env: dict[str, str], *args: str) -> Result:
    return CliRunner().invoke(main, ["check", *args], env=env)


def lines(result: Result) -> dict[str, str]:
    """``{check name: the whole line}`` from the text output; every line is one check."""
    found = {}
    for line in result.stdout.splitlines():
        status, _, rest = line.partition(" ")
        assert status in ("ok", "PROBLEM"), line
        found[rest.strip().partition(":")[0]] = line
    return found


def checks_json(env: dict[str, str]) -> tuple[int, dict[str, Any]]:
    result = check(env, "--json")
    return result.exit_code, json.loads(result.stdout)


def smtp_env(box: Mailbox, **overrides: Any) -> dict[str, str]:
    smtp = {**box.delivery_settings["delivery_options"]["smtp"], "timeout": 5, **overrides}
    return {
        "OCTOTP_DELIVERY_EMAIL_BACKEND": "octotp_core.delivery.smtp.SmtpBackend",
        "OCTOTP_DELIVERY_OPTIONS": json.dumps({"smtp": smtp}),
    }


def test_everything_reached_is_one_ok_line_each_and_exit_0(
    env: dict[str, str], redis_url: str, relay: Mailbox, smtp_password: str
) -> None:
    env |= {"OCTOTP_RATE_LIMIT_STORAGE": redis_url, **smtp_env(relay)}
    result = check(env)
    assert result.exit_code == 0, (result.stdout, result.stderr)
    found = lines(result)
    assert list(found) == [
        "configuration",
        "database",
        "database migrations",
        "rate-limit storage",
        "delivery email",
        "delivery sms",
    ]
    assert all(line.startswith("ok ") for line in found.values()), result.stdout
    assert f"at the newest revision {head_revision()}" in found["database migrations"]
    assert f"{redis_url} answers" in found["rate-limit storage"]
    assert f"smtp: 127.0.0.1:{relay.port} accepted EHLO, STARTTLS, login (nothing sent)" in found["delivery email"]
    assert relay.messages == []  # a dry run: connected, logged in, sent nothing
    assert relay.failed_logins == 0
    assert smtp_password not in result.output

    code, data = checks_json(env)
    assert code == 0
    assert data["ok"] is True
    assert [c["name"] for c in data["checks"]] == list(found)
    assert all(c["ok"] for c in data["checks"])


def test_an_unmigrated_database_is_a_problem(env: dict[str, str], empty_database_url: str) -> None:
    env["OCTOTP_DATABASE_URL"] = empty_database_url
    result = check(env)
    assert result.exit_code == 1, (result.stdout, result.stderr)
    found = lines(result)
    assert found["database"].startswith("ok ")
    assert found["database migrations"].startswith("PROBLEM ")
    assert "octotp's tables do not exist" in found["database migrations"]
    assert "run `octotp db upgrade`" in found["database migrations"]
    assert "1 problem(s)" in result.stderr
    # The check looked and changed nothing: the database is still empty (SQLite is not auto-migrated).
    engine = make_engine(empty_database_url)
    try:
        from octotp_core.migrate import current_revision

        assert current_revision(engine) is None
    finally:
        engine.dispose()


def test_a_database_one_migration_behind_is_a_problem(env: dict[str, str], empty_database_url: str) -> None:
    head = head_revision()
    assert head is not None
    previous = ScriptDirectory.from_config(alembic_config()).get_revision(head).down_revision
    assert isinstance(previous, str)
    engine = make_engine(empty_database_url)
    try:
        upgrade(engine, previous)
    finally:
        engine.dispose()
    env["OCTOTP_DATABASE_URL"] = empty_database_url
    code, data = checks_json(env)
    assert code == 1
    assert data["ok"] is False
    migrations = next(c for c in data["checks"] if c["name"] == "database migrations")
    assert migrations == {
        "name": "database migrations",
        "ok": False,
        "detail": f"at revision {previous}, not the newest {head}: run `octotp db upgrade`",
    }


def test_a_database_nobody_answers_for_is_a_problem(env: dict[str, str]) -> None:
    password = secrets.token_urlsafe(12)
    port = free_port()
    env["OCTOTP_DATABASE_URL"] = f"postgresql+psycopg://octotp:{password}@127.0.0.1:{port}/octotp"
    result = check(env)
    assert result.exit_code == 1
    found = lines(result)
    assert found["database"].startswith("PROBLEM ")
    assert "storage unavailable: OperationalError" in found["database"]
    assert "Connection refused" in found["database"]
    assert found["database migrations"] == "PROBLEM database migrations: not checked"
    assert password not in result.output


def test_redis_with_nothing_listening_is_a_problem_and_its_password_is_masked(env: dict[str, str]) -> None:
    password = secrets.token_urlsafe(12)
    port = free_port()
    env["OCTOTP_RATE_LIMIT_STORAGE"] = f"redis://:{password}@127.0.0.1:{port}/0"
    result = check(env)
    assert result.exit_code == 1, (result.stdout, result.stderr)
    found = lines(result)
    assert found["rate-limit storage"].startswith("PROBLEM ")
    assert f"redis://:***@127.0.0.1:{port}/0: rate-limit storage unavailable" in found["rate-limit storage"]
    assert found["database"].startswith("ok ")  # the other checks still ran and passed
    assert password not in result.output


def test_an_smtp_port_with_nothing_listening_is_a_problem(env: dict[str, str], relay: Mailbox) -> None:
    port = free_port()
    env |= smtp_env(relay, port=port)
    result = check(env)
    assert result.exit_code == 1
    line = lines(result)["delivery email"]
    assert line.startswith("PROBLEM ")
    assert f"smtp: cannot talk to 127.0.0.1:{port}: ConnectionRefusedError" in line


def test_a_wrong_smtp_password_is_a_problem_naming_no_password(
    env: dict[str, str], relay: Mailbox, smtp_password: str
) -> None:
    wrong = secrets.token_urlsafe(16)
    env |= smtp_env(relay, password=wrong)
    result = check(env)
    assert result.exit_code == 1, (result.stdout, result.stderr)
    line = lines(result)["delivery email"]
    assert line.startswith("PROBLEM ")
    assert f"smtp: 127.0.0.1:{relay.port} refused the login for the configured user (535)" in line
    assert relay.failed_logins == 1
    assert relay.messages == []
    assert wrong not in result.output
    assert smtp_password not in result.output


def test_invalid_settings_are_one_problem_line_naming_each_variable(env: dict[str, str]) -> None:
    secret_value = f"nope-{uuid.uuid4().hex}"
    env |= {"OCTOTP_LOG_FORMAT": secret_value, "OCTOTP_CODE_LENGTH": "2"}
    result = check(env)
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        "PROBLEM configuration: OCTOTP_CODE_LENGTH: Input should be greater than or equal to 4;"
        " OCTOTP_LOG_FORMAT: Input should be 'text' or 'json'"
    ]
    assert secret_value not in result.output  # values are never echoed (they may be secrets)


def test_a_backend_that_cannot_be_built_is_a_configuration_problem(env: dict[str, str]) -> None:
    env |= {
        "OCTOTP_DELIVERY_SMS_BACKEND": "octotp_core.delivery.twilio.TwilioSmsBackend",
        "OCTOTP_DELIVERY_OPTIONS": json.dumps({"twilio": {"account_sid": "AC123", "auth_token": "t" * 32}}),
    }
    code, data = checks_json(env)
    assert code == 1
    assert data["checks"] == [
        {
            "name": "configuration",
            "ok": False,
            "detail": "ValueError: twilio needs from_number or messaging_service_sid",
        }
    ]


def test_twilio_is_checked_in_dry_run_without_a_message_or_its_token_shown(env: dict[str, str]) -> None:
    twilio = TwilioServer().start()
    try:
        settings = twilio.delivery_settings()
        env |= {
            "OCTOTP_DELIVERY_SMS_BACKEND": settings["delivery_sms_backend"],
            "OCTOTP_DELIVERY_OPTIONS": json.dumps(settings["delivery_options"]),
        }
        result = check(env)
        assert result.exit_code == 0, (result.stdout, result.stderr)
        line = lines(result)["delivery sms"]
        assert (
            line
            == f"ok      delivery sms: twilio: posts to {twilio.url} with from_number (settings valid; not contacted)"
        )
        assert twilio.messages == []
        assert twilio.refused == []
        assert twilio.auth_token not in result.output
    finally:
        twilio.stop()
