"""``octotp webhooks``: a project's event webhook endpoints from the command line, on each database,
and one endpoint that a real receiver (``tests/webhook_receiver.py``) verifies as a user's would."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from octotp_client import verify_webhook
from octotp_core import FrozenClock
from octotp_core.cli import main

from ..outbox_runs import run_due, run_out_leftover_jobs
from ..webhook_receiver import running
from .conftest import MakeOctotp


@pytest.fixture
def env(database_url: str, test_secret: str, tmp_path: Path) -> dict[str, str]:
    """The CLI on the session database, with the test secret (so ``make_octotp`` reads what it seals)."""
    return {
        "OCTOTP_DATA_DIR": str(tmp_path / "data"),
        "OCTOTP_DATABASE_URL": database_url,
        "OCTOTP_SECRET_KEY": test_secret,
        "OCTOTP_WEBHOOK_PRIVATE_ADDRESSES": "false",
    }


def run(env: Mapping[str, str], *args: str) -> Result:
    return CliRunner().invoke(main, list(args), env=dict(env))


def ok_json(env: Mapping[str, str], *args: str) -> Any:
    result = run(env, *args, "--json")
    assert result.exit_code == 0, (result.stdout, result.stderr, result.exception)
    return json.loads(result.stdout)


def fails(env: Mapping[str, str], *args: str, code: int) -> str:
    """Run a command that must fail with exit ``code``, printing nothing on stdout and no traceback."""
    result = run(env, *args)
    assert result.exit_code == code, (result.stdout, result.stderr, result.exception)
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    return result.stderr


def new_project(env: Mapping[str, str]) -> str:
    return str(ok_json(env, "projects", "create", f"Hooks {uuid.uuid4().hex[:6]}")["projectId"])


def test_add_list_update_rotate_remove(env: dict[str, str]) -> None:
    project = new_project(env)
    added = ok_json(
        env,
        "webhooks",
        "add",
        project,
        "https://hooks.example.com/octotp",
        "--event",
        "token.approved",
        "--event",
        "delivery.failed",
        "--description",
        "billing",
    )
    assert added["secret"].startswith("whsec_")
    assert added["events"] == ["token.approved", "delivery.failed"]
    assert (added["url"], added["enabled"], added["description"]) == (
        "https://hooks.example.com/octotp",
        True,
        "billing",
    )
    endpoint = added["endpointId"]

    listed = ok_json(env, "webhooks", "list", project)
    assert [e["endpointId"] for e in listed] == [endpoint]
    assert "secret" not in listed[0]
    text = run(env, "webhooks", "list", project).stdout
    assert endpoint in text
    assert "token.approved, delivery.failed" in text
    assert added["secret"] not in text

    changed = ok_json(env, "webhooks", "update", project, endpoint, "--url", "https://other.example.com/x", "--disable")
    assert (changed["url"], changed["enabled"], changed["events"]) == (
        "https://other.example.com/x",
        False,
        ["token.approved", "delivery.failed"],
    )
    assert ok_json(env, "webhooks", "update", project, endpoint, "--event", "token.created")["events"] == [
        "token.created"
    ]
    every = ok_json(env, "webhooks", "update", project, endpoint, "--all-events", "--enable", "--description", "")
    assert (every["events"], every["enabled"], every["description"]) == ([], True, "")
    assert "every event type" in run(env, "webhooks", "list", project).stdout

    rotated = ok_json(env, "webhooks", "rotate-secret", project, endpoint)
    assert rotated["endpointId"] == endpoint
    assert rotated["secret"].startswith("whsec_")
    assert rotated["secret"] != added["secret"]

    assert ok_json(env, "webhooks", "remove", project, endpoint) == {"endpointId": endpoint, "removed": True}
    assert ok_json(env, "webhooks", "list", project) == []
    assert "no such webhook endpoint" in fails(env, "webhooks", "log", project, endpoint, code=1)
    assert run(env, "webhooks", "list", project).stdout.strip() == "No webhook endpoints."


def test_a_new_secret_is_printed_as_shell_to_paste(env: dict[str, str]) -> None:
    """Like a new API key: every line a ``#`` comment but one ``export`` line, the secret only there."""
    project = new_project(env)
    result = run(env, "webhooks", "add", project, "https://hooks.example.com/octotp")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    exports = [line for line in lines if not line.startswith("#")]
    assert len(exports) == 1
    assert exports[0].startswith("export OCTOTP_WEBHOOK_SECRET=whsec_")
    secret = exports[0].split("=", 1)[1]
    assert sum(secret in line for line in lines) == 1
    assert any("shown only this once" in line for line in lines)
    assert "every event type" in result.stdout
    endpoint = ok_json(env, "webhooks", "list", project)[0]["endpointId"]
    rotated = run(env, "webhooks", "rotate-secret", project, endpoint)
    assert rotated.exit_code == 0, rotated.output
    assert next(line for line in rotated.stdout.splitlines() if not line.startswith("#")).startswith(
        "export OCTOTP_WEBHOOK_SECRET=whsec_"
    )
    assert secret not in rotated.stdout


def test_bad_input_names_the_option_and_exits_without_a_traceback(env: dict[str, str]) -> None:
    project = new_project(env)
    # The server's own network is refused unless the operator allows it (webhook_private_addresses).
    refused = fails(env, "webhooks", "add", project, "http://127.0.0.1:8080/hook", code=2)
    assert "Invalid value for 'URL'" in refused
    assert "must be a public address" in refused
    assert "Invalid value for 'URL'" in fails(env, "webhooks", "add", project, "ftp://example.com/x", code=2)
    unknown = fails(env, "webhooks", "add", project, "https://hooks.example.com/x", "--event", "token.exploded", code=2)
    assert "'--event'" in unknown
    assert "token.created" in unknown  # the choices are listed
    long = fails(env, "webhooks", "add", project, "https://hooks.example.com/x", "--description", "d" * 201, code=2)
    assert "'--description'" in long
    assert "200" in long
    assert ok_json(env, "webhooks", "list", project) == []

    endpoint = ok_json(env, "webhooks", "add", project, "https://hooks.example.com/x")["endpointId"]
    assert "'--url'" in fails(env, "webhooks", "update", project, endpoint, "--url", "http://10.1.2.3/x", code=2)
    both = fails(env, "webhooks", "update", project, endpoint, "--event", "token.created", "--all-events", code=2)
    assert "--all-events" in both
    assert ok_json(env, "webhooks", "list", project)[0]["url"] == "https://hooks.example.com/x"

    missing = str(uuid.uuid4())
    assert f"no project {missing}" in fails(env, "webhooks", "add", missing, "https://hooks.example.com/x", code=1)
    assert f"no project {missing}" in fails(env, "webhooks", "list", missing, code=1)
    assert "no project" in fails(env, "webhooks", "list", "not-a-uuid", code=1)
    other = new_project(env)
    for args in (
        ("update", other, endpoint, "--disable"),
        ("rotate-secret", other, endpoint),
        ("remove", other, endpoint),
        ("log", other, endpoint),
        ("log", project, "not-a-uuid"),
    ):
        assert "no such webhook endpoint" in fails(env, "webhooks", *args, code=1), args
    assert "no such webhook message" in fails(env, "webhooks", "resend", project, missing, code=1)
    assert ok_json(env, "webhooks", "list", project)[0]["enabled"] is True


def test_an_endpoint_added_from_the_cli_gets_events_and_its_log_shows_them(
    env: dict[str, str], make_octotp: MakeOctotp, clock: FrozenClock
) -> None:
    """Added and re-sent from the CLI, sent by the outbox's worker to a real receiver that verifies
    each request with the printed secret; ``log`` shows what happened, with the webhook-id as id."""
    env["OCTOTP_WEBHOOK_PRIVATE_ADDRESSES"] = "true"  # the receiver is on 127.0.0.1
    octotp = make_octotp(webhook_private_addresses=True)
    run_out_leftover_jobs(octotp)
    project = new_project(env)
    secret: dict[str, str] = {}  # the receiver's URL is needed before the secret exists

    def verify(body: bytes, headers: Mapping[str, str]) -> Any:
        return verify_webhook(body, headers, secret["whsec"])

    with running(verify, answers=[410]) as receiver:
        added = ok_json(env, "webhooks", "add", project, receiver.url, "--event", "token.created")
        secret["whsec"] = added["secret"]
        endpoint = added["endpointId"]
        assert run(env, "webhooks", "log", project, endpoint).stdout.strip() == "Nothing sent yet."

        created = octotp.tokens.create(project, email=f"cli-{uuid.uuid4().hex[:8]}@example.com")
        run_due(octotp)
        (failed,) = ok_json(env, "webhooks", "log", project, endpoint)
        assert (failed["state"], failed["reason"], failed["eventType"]) == ("failed", "endpoint_gone", "token.created")
        assert "endpoint_gone" in run(env, "webhooks", "log", project, endpoint).stdout

        queued = ok_json(env, "webhooks", "resend", project, failed["jobId"])
        assert (queued["jobId"], queued["state"], queued["attempts"]) == (failed["jobId"], "queued", 0)
        clock.advance(5)  # the worker's clock is frozen; the CLI queued it at the real now
        run_due(octotp)

    assert [r.status for r in receiver.received] == [410, 204]
    assert all(r.error is None for r in receiver.received), [r.error for r in receiver.received]
    assert {r.headers["webhook-id"] for r in receiver.received} == {failed["jobId"]}
    event = receiver.received[-1].result
    assert (event["type"], event["data"]["tokenId"]) == ("token.created", created.id)
    assert created.code not in receiver.received[-1].body.decode()

    (sent,) = ok_json(env, "webhooks", "log", project, endpoint, "--limit", "5")
    assert (sent["jobId"], sent["state"], sent["attempts"], sent["reason"]) == (failed["jobId"], "sent", 1, None)
    assert sent["sentAt"] is not None
    text = run(env, "webhooks", "log", project, endpoint).stdout
    assert failed["jobId"] in text
    assert "sent" in text
    assert added["secret"] not in text
