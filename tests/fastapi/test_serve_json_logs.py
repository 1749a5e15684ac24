"""``octotp serve`` with ``OCTOTP_LOG_FORMAT=json``: every line it writes (the announcement, uvicorn's
server, octotp's request lines) is one JSON object with time, level, logger and
message, request lines carry the request id, and no line holds a code, an API key, a full recipient
or the dashboard's one-time setup link."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from pathlib import Path
from typing import Any

import pytest

from octotp_core import Octotp, Settings
from octotp_core.testing.http_clients import UrlClient
from octotp_core.testing.mailbox import Mailbox
from octotp_core.testing.servers import ServeProcess

from .conftest import serve_env

pytestmark = pytest.mark.xdist_group("processes")


def _post(url: str, path: str, body: dict[str, Any], *, key: str | None = None, request_id: str) -> Any:
    headers = {"Content-Type": "application/json", "X-Request-Id": request_id}
    if key is not None:
        headers["X-Api-Key"] = key
    return UrlClient(url).request("POST", path, headers=headers, body=json.dumps(body).encode())


def parse_json_lines(output: str) -> list[dict[str, Any]]:
    """Every line as a JSON object; a line that is not one fails the test."""
    records = []
    for line in output.splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            pytest.fail(f"not a JSON line: {line!r}")
        assert isinstance(record, dict), line
        assert {"time", "level", "logger", "message"} <= set(record), line
        stamp = dt.datetime.fromisoformat(record["time"].replace("Z", "+00:00"))
        assert stamp.utcoffset() == dt.timedelta(0), line
        records.append(record)
    return records


def test_serve_writes_json_lines_with_request_ids_and_no_secret(tmp_path: Path, test_secret: str) -> None:
    box = Mailbox().start()
    tag = uuid.uuid4().hex[:8]
    email, phone, mailed = f"json.{tag}@example.com", "+442079460958", f"mailed.{tag}@example.com"
    env = serve_env(
        tmp_path,
        test_secret,
        OCTOTP_LOG_FORMAT="json",
        OCTOTP_CODE_LENGTH="10",  # 10-digit codes cannot turn up by coincidence in an id or a time
        **box.delivery_environment,
    )
    server = ServeProcess(env)  # migrates the database
    try:
        octotp = Octotp(Settings(data_dir=tmp_path, secret_key=test_secret))
        created = octotp.accounts.create_project(f"json logs {tag}")
        octotp.close()
        project_id, key = created.project.id, created.api_key.secret
        secrets = [key, key.removeprefix("octotp_"), email, email.upper(), mailed, phone]
        request_ids = [f"req-{tag}-{n}" for n in range(6)]
        url = server.url
        first = _post(url, "/api/tokens", {"projectId": project_id, "recipientEmail": email.upper()}, key=key,
                      request_id=request_ids[0])  # fmt: skip
        assert first.status == 201
        code = first.json()["code"]
        by_phone = _post(url, "/api/tokens", {"projectId": project_id, "recipientPhone": phone}, key=key,
                         request_id=request_ids[1])  # fmt: skip
        assert by_phone.status == 201
        wrong = str((int(code) + 1) % 10**10).zfill(10)
        body = {"projectId": project_id, "recipientEmail": email}
        assert (
            _post(url, "/api/tokens/validate", {**body, "code": wrong}, key=key, request_id=request_ids[2]).status
            == 200
        )
        assert _post(url, "/api/tokens/validate", {**body, "code": code}, key=key, request_id=request_ids[3]).json()[
            "isValid"
        ]
        in_url = _post(url, f"/api/tokens?api_key={key}", body, request_id=request_ids[4])
        assert in_url.status == 401
        sent = _post(url, "/api/tokens", {"projectId": project_id, "recipientEmail": mailed, "send": True}, key=key,
                     request_id=request_ids[5])  # fmt: skip
        assert sent.status == 201
        delivered = box.code_for(mailed)
        secrets += [code, wrong, by_phone.json()["code"], delivered]
    finally:
        server.stop()
        box.stop()

    output = server.output()
    records = parse_json_lines(output)
    loggers = {r["logger"] for r in records}
    # The scan means something only if every kind of line was there.
    assert {"octotp.serve", "octotp.http", "uvicorn.error"} <= loggers, loggers
    assert any(r["message"].startswith("Started server process") for r in records)  # uvicorn's own
    requests = {r["request_id"]: r for r in records if r["logger"] == "octotp.http" and "request_id" in r}
    assert set(request_ids) <= set(requests)
    assert requests[request_ids[0]]["status"] == 201
    in_url_line = requests[request_ids[4]]
    # The query string, with the key in it, is never logged: the path alone.
    assert (in_url_line["method"], in_url_line["path"], in_url_line["status"]) == ("POST", "/api/tokens", 401)
    # Records logged while answering a request carry its id, whichever module logged them.
    assert any(r["logger"] == "octotp.tokens" and r.get("request_id") == request_ids[0] for r in records)
    assert "setup?token=" not in output  # the one-time link goes to a terminal, never to JSON logs
    lowered = output.lower()
    for secret in secrets:
        assert secret.lower() not in lowered, f"a log line holds a secret: {secret[:3]}..."
