"""``log_format=json``: ``JsonFormatter`` writes one JSON object per record on one line, and
``octotp worker`` logs JSON lines on stderr holding no code and no full recipient."""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from octotp_core import Octotp, Settings
from octotp_core.logs import JsonFormatter, logging_config, request_context
from octotp_core.testing.mailbox import Mailbox
from octotp_core.testing.servers import clean_environment

OCTOTP = Path(sys.executable).with_name("octotp")  # the env's console script


def _emit(log: logging.Logger, action: Any) -> list[dict[str, Any]]:
    """What ``action(log)`` writes through a handler formatted by ``JsonFormatter``, parsed line by line."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    log.addHandler(handler)
    log.propagate, log.level = False, logging.DEBUG
    try:
        action(log)
    finally:
        log.removeHandler(handler)
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_a_record_is_one_line_with_time_level_logger_message_and_request_id() -> None:
    log = logging.getLogger(f"octotp.test.{uuid.uuid4().hex[:6]}")

    def action(log: logging.Logger) -> None:
        log.info("plain %s", "one")
        with request_context("req-42"):
            log.warning("inside a request\nwith a second line", extra={"status": 201, "thing": object()})
        try:
            raise ValueError("boom")
        except ValueError:
            log.exception("failed")

    before = dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=1)
    plain, inside, failed = _emit(log, action)
    assert plain.keys() == {"time", "level", "logger", "message"}
    assert (plain["level"], plain["logger"], plain["message"]) == ("INFO", log.name, "plain one")
    assert plain["time"].endswith("Z")
    assert dt.datetime.fromisoformat(plain["time"].replace("Z", "+00:00")) >= before
    assert inside["request_id"] == "req-42"
    assert inside["message"] == "inside a request\nwith a second line"  # escaped: still one line
    assert inside["status"] == 201
    assert inside["thing"].startswith("<object object")  # not JSON: its repr
    assert "request_id" not in failed  # the request's context ended with it
    assert failed["level"] == "ERROR"
    assert "ValueError: boom" in failed["exception"]


def test_logging_config_formats_uvicorn_and_octotp_alike_and_keeps_the_access_log_off() -> None:
    config = logging_config("json")
    assert config["formatters"]["octotp"] == {"()": "octotp_core.logs.JsonFormatter"}
    assert config["loggers"]["uvicorn"]["handlers"] == config["loggers"]["octotp"]["handlers"] == ["stderr"]
    assert config["loggers"]["uvicorn.access"]["handlers"] == []
    assert "()" not in logging_config("text")["formatters"]["octotp"]


def test_the_worker_logs_json_lines_without_codes_or_recipients(
    database_url: str, tmp_path: Path, test_secret: str
) -> None:
    box = Mailbox().start()
    settings: dict[str, Any] = {"database_url": database_url, "delivery_mode": "queue", **box.delivery_settings}
    octotp = Octotp(Settings(data_dir=tmp_path, secret_key=test_secret, code_length=10, **settings))
    env = clean_environment(
        {
            "OCTOTP_DATA_DIR": str(tmp_path),
            "OCTOTP_SECRET_KEY": test_secret,
            "OCTOTP_DATABASE_URL": database_url,
            "OCTOTP_DELIVERY_MODE": "queue",
            "OCTOTP_LOG_FORMAT": "json",
            **box.delivery_environment,
        }
    )
    stderr = tmp_path / "worker.stderr"
    tag = uuid.uuid4().hex[:8]
    to = f"worker.{tag}@example.com"
    try:
        project = octotp.accounts.create_project(f"json worker {tag}").project.id
        code = octotp.tokens.create(project, email=to, send=True).code
        assert code is not None
        with stderr.open("wb") as err:
            worker = subprocess.Popen(
                [str(OCTOTP), "worker", "--poll", "0.1"], env=env, stdout=subprocess.DEVNULL, stderr=err
            )
        try:
            box.wait_for(to, timeout=90)  # the worker process starts first
            assert box.code_for(to) == code
            time.sleep(0.3)  # the worker logs the send once it is recorded
        finally:
            worker.terminate()
            worker.wait(timeout=30)
    finally:
        box.stop()
        octotp.close()
    output = stderr.read_text()
    records = [json.loads(line) for line in output.splitlines()]  # every line JSON, or this fails
    assert all({"time", "level", "logger", "message"} <= set(r) for r in records)
    loggers = {r["logger"] for r in records}
    assert {"octotp.cli", "octotp.outbox"} <= loggers, output  # the database line, the worker's own
    assert any(r["logger"] == "octotp.outbox" and "sent" in r["message"] for r in records), output
    assert code not in output
    assert to not in output.lower()
