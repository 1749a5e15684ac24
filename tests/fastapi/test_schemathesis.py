"""schemathesis against ``/openapi.json`` of a running ``octotp serve``: every check, no server error,
no schema violation. Valid project ids are mixed into generated bodies so the token logic is reached,
not only authentication."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from octotp_core import Octotp, Settings
from octotp_core.http import openapi_document
from octotp_core.testing.http_clients import UrlClient
from octotp_core.testing.servers import ServeProcess

schema = schemathesis.openapi.from_dict(openapi_document())
CASES: list[int] = []


@pytest.fixture(scope="module")
def fuzz_server(tmp_path_factory: pytest.TempPathFactory, test_secret: str) -> Iterator[dict[str, Any]]:
    """A server whose limits are high enough that fuzzing is not just a stream of 429s."""
    data_dir: Path = tmp_path_factory.mktemp("fuzz")
    env = {
        "OCTOTP_DATA_DIR": str(data_dir),
        "OCTOTP_SECRET_KEY": test_secret,
        "OCTOTP_PLANS": json.dumps({"free": {"creates_per_minute": 1_000_000}}),
        "OCTOTP_RECIPIENT_SEND_BUDGET": "1000000/minute",
        "OCTOTP_RECIPIENT_FAILURE_BUDGET": "1000000/minute",
    }
    server = ServeProcess(env)
    octotp = Octotp(Settings(data_dir=data_dir, secret_key=test_secret, plans={"free": {"creates_per_minute": 10**6}}))
    created = octotp.accounts.create_project("fuzz")
    yield {"url": server.url, "project_id": created.project.id, "api_key": created.api_key.secret, "server": server}
    octotp.close()
    server.stop()
    print(f"\nschemathesis: {len(CASES)} cases against {server.url}")
    assert "Traceback" not in server.output()
    assert "Application shutdown complete" in server.output()


def test_served_document_is_the_canonical_one(fuzz_server: dict[str, Any]) -> None:
    served = UrlClient(fuzz_server["url"]).request("GET", "/openapi.json").json()
    assert served == json.loads(json.dumps(openapi_document()))


@pytest.mark.xdist_group("schemathesis")
@schema.parametrize()
@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_conforms(case: schemathesis.Case, fuzz_server: dict[str, Any]) -> None:
    if isinstance(case.body, dict) and "projectId" in case.body and random.random() < 0.7:
        case.body["projectId"] = fuzz_server["project_id"]
    CASES.append(1)
    case.call_and_validate(base_url=fuzz_server["url"], headers={"X-Api-Key": fuzz_server["api_key"]})
