"""schemathesis against the Flask host app's ``/openapi.json`` (served by Werkzeug on 127.0.0.1): every check,
no server error, no schema violation. Valid project ids are mixed in so the token logic is reached."""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, settings
from werkzeug.serving import make_server

from octotp_core.http import openapi_document
from octotp_core.migrate import upgrade
from octotp_core.store import make_engine
from octotp_flask import Octotp, get_octotp

schema = schemathesis.openapi.from_dict(openapi_document())
CASES: list[int] = []


@pytest.fixture(scope="module")
def fuzz_app(tmp_path_factory: pytest.TempPathFactory, test_secret: str) -> Iterator[dict[str, Any]]:
    """A host app with limits high enough that fuzzing is not just a stream of 429s."""
    directory: Path = tmp_path_factory.mktemp("flask-fuzz")
    url = f"sqlite:///{directory / 'fuzz.db'}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    app = Flask("fuzz_host", instance_path=str(directory))
    app.config.update(
        SECRET_KEY=test_secret,
        OCTOTP_DATABASE_URL=url,
        OCTOTP_PLANS={"free": {"creates_per_minute": 10**6}},
        OCTOTP_RECIPIENT_SEND_BUDGET="1000000/minute",
        OCTOTP_RECIPIENT_FAILURE_BUDGET="1000000/minute",
    )
    Octotp(app)
    with app.app_context():
        created = get_octotp().accounts.create_project("fuzz")
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield {
        "url": f"http://127.0.0.1:{server.port}",
        "project_id": created.project.id,
        "api_key": created.api_key.secret,
    }
    print(f"\nschemathesis (flask): {len(CASES)} cases")
    server.shutdown()
    thread.join(10)
    app.extensions["octotp"].close()


@pytest.mark.xdist_group("flask-schemathesis")
@schema.parametrize()
@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_conforms(case: schemathesis.Case, fuzz_app: dict[str, Any]) -> None:
    if isinstance(case.body, dict) and "projectId" in case.body and random.random() < 0.7:
        case.body["projectId"] = fuzz_app["project_id"]
    CASES.append(1)
    case.call_and_validate(base_url=fuzz_app["url"], headers={"X-Api-Key": fuzz_app["api_key"]})
