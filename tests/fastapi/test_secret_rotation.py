"""``octotp secret rotate`` and ``retire`` end to end: the real CLI (a subprocess) on a real data
directory, codes issued before the rotation validated after it in-process and through a restarted
``octotp serve``, an event webhook endpoint still signing verifiably after rotate and retire, and
the old secret's codes refused once it is retired."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from standardwebhooks.webhooks import Webhook

from octotp_core import Octotp, Settings
from octotp_core.testing.http_clients import UrlClient
from octotp_core.testing.servers import ServeProcess, clean_environment
from octotp_core.testing.webhook_receiver import running


def octotp_cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "octotp_core.cli", *args],
        env=clean_environment(env),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_rotate_keeps_what_was_issued_and_retire_ends_the_old_secret(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    env = {"OCTOTP_DATA_DIR": str(data_dir), "OCTOTP_WEBHOOK_PRIVATE_ADDRESSES": "true"}

    def fresh() -> Octotp:  # a new process's view: the secret and fallbacks read from the files now
        return Octotp(Settings(data_dir=data_dir, webhook_private_addresses=True))

    before = fresh()
    try:
        before.migrate()
        created = before.accounts.create_project("rotated")
        project, key = created.project.id, created.api_key.secret
        kept = before.create_token(project, email="kept@example.com")
        served = before.create_token(project, email="served@example.com")
        lost = before.create_token(project, email="lost@example.com")
        endpoint, signing_secret = before.webhooks.create(project, "http://127.0.0.1:9/unused")
    finally:
        before.close()
    old_secret = (data_dir / "secret_key").read_text()

    rotated = octotp_cli(env, "secret", "rotate", "--json")
    assert rotated.returncode == 0, rotated.stderr
    report = json.loads(rotated.stdout)
    assert (report["rotated"], report["fallbacks"], report["webhookEndpointsResealed"]) == (True, 1, 1)
    assert "octotp secret retire" in report["steps"][2]
    assert old_secret.strip() not in rotated.stdout + rotated.stderr  # no secret printed
    assert (data_dir / "secret_key").read_text() != old_secret
    for name in ("secret_key", "secret_key_fallbacks"):
        assert (data_dir / name).stat().st_mode & 0o777 == 0o600

    after = fresh()
    try:
        assert after.validate_token(project, email="kept@example.com", code=kept.code).status == "approved"
    finally:
        after.close()
    with ServeProcess(env) as server:  # restarted on the new secret and the fallback
        answer = UrlClient(server.url).request(
            "POST",
            "/api/tokens/validate",
            headers={"Content-Type": "application/json", "X-Api-Key": key},
            body=json.dumps(
                {"projectId": project, "recipientEmail": "served@example.com", "code": served.code}
            ).encode(),
        )
    assert answer.status == 200, answer.body
    assert answer.json() == {"isValid": True, "status": "approved"}

    refused = octotp_cli(env, "secret", "retire")
    assert refused.returncode == 1
    assert "may still be needed until" in refused.stderr
    retired = octotp_cli(env, "secret", "retire", "--force", "--json")
    assert retired.returncode == 0, retired.stderr
    assert json.loads(retired.stdout) == {"retired": 1}
    assert "warning: retiring before" in retired.stderr
    assert not (data_dir / "secret_key_fallbacks").exists()

    def verify(body: bytes, headers: Mapping[str, str]) -> Any:
        return Webhook(signing_secret).verify(body, dict(headers))

    final = fresh()
    try:
        assert len(final.settings.secrets()) == 1
        # The old secret's code is no longer found: its recipient digest was keyed by the old secret.
        assert final.validate_token(project, email="lost@example.com", code=lost.code).status == "not_found"
        with running(verify) as receiver:
            final.webhooks.update(project, endpoint.id, url=receiver.url)
            final.create_token(project, email="after@example.com")
            while final.outbox.run_once("test-worker", 100):
                pass
        assert receiver.received, "the endpoint got nothing"
        assert all(r.error is None for r in receiver.received), [r.error for r in receiver.received]
        assert receiver.received[-1].result["type"] == "token.created"
    finally:
        final.close()


def test_rotate_with_the_secret_in_the_environment_writes_nothing(tmp_path: Path, test_secret: str) -> None:
    data_dir = tmp_path / "data"
    env = {"OCTOTP_DATA_DIR": str(data_dir), "OCTOTP_SECRET_KEY": test_secret}
    told = octotp_cli(env, "secret", "rotate")
    assert told.returncode == 0, told.stderr
    assert "OCTOTP_SECRET_KEY_FALLBACKS" in told.stdout
    assert test_secret not in told.stdout + told.stderr
    assert not (data_dir / "secret_key").exists()
    assert not (data_dir / "secret_key_fallbacks").exists()
    printed = octotp_cli(env, "secret", "rotate", "--print")
    new = printed.stdout.strip()
    assert len(new) >= 32
    assert new != test_secret
    assert "OCTOTP_SECRET_KEY_FALLBACKS" in printed.stderr
