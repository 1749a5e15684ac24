"""Fixtures for the FastAPI adapter: a host app (in-process) and ``octotp serve`` (a real process)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from octotp_core import Octotp, Settings
from octotp_core.testing.contract import MountedOctotp, ProjectKey, contract_settings, core_listeners
from octotp_core.testing.http_clients import HttpResult
from octotp_core.testing.servers import ServeProcess
from octotp_fastapi import install


class TestClientAdapter:
    """The contract suite's HttpClient over Starlette's TestClient, under a prefix."""

    def __init__(self, client: TestClient, prefix: str) -> None:
        self.client, self.prefix = client, prefix

    def request(
        self, method: str, path: str, *, headers: dict[str, str] | None = None, body: bytes | None = None
    ) -> HttpResult:
        r = self.client.request(method, self.prefix + path, headers=headers, content=body)
        return HttpResult(r.status_code, {k.lower(): v for k, v in r.headers.items()}, r.content)


def project_factory(octotp: Octotp) -> Callable[[str | None], ProjectKey]:
    """``MountedOctotp.new_project`` on an Octotp sharing the app's database."""

    def new_project(plan: str | None) -> ProjectKey:
        created = octotp.accounts.create_project("contract", plan=plan)
        return ProjectKey(created.project.id, created.api_key.secret, created.api_key.key.id)

    return new_project


@pytest.fixture
def host_app(database_url: str, make_settings: Callable[..., Settings], clock: Any) -> Iterator[MountedOctotp]:
    """A host FastAPI app with octotp mounted under /octotp, on the current database backend."""
    octotp = Octotp(make_settings(database_url=database_url, **contract_settings()), clock=clock)
    app = FastAPI(title="host")

    @app.get("/")
    def home() -> dict[str, str]:
        return {"host": "yes"}

    install(app, octotp, prefix="/octotp")
    with TestClient(app) as client:
        yield MountedOctotp(
            TestClientAdapter(client, "/octotp"),
            project_factory(octotp),
            octotp.accounts.revoke_api_key,
            clock=clock,
            extra={"app": app, "octotp": octotp, "raw": client},
            connect_listener=core_listeners(octotp),
            configure_project=octotp.accounts.configure_project,
        )
    octotp.close()


def serve_env(data_dir: Path, secret: str, **extra: str) -> dict[str, str]:
    import json

    return {
        "OCTOTP_DATA_DIR": str(data_dir),
        "OCTOTP_SECRET_KEY": secret,
        "OCTOTP_PLANS": json.dumps(contract_settings()["plans"]),
        **extra,
    }


@pytest.fixture(scope="session")
def standalone(tmp_path_factory: pytest.TempPathFactory, test_secret: str) -> Iterator[tuple[ServeProcess, Octotp]]:
    """One ``octotp serve`` process (SQLite default) for the session, and an Octotp on its database."""
    data_dir = tmp_path_factory.mktemp("serve")
    server = ServeProcess(serve_env(data_dir, test_secret))
    octotp = Octotp(Settings(data_dir=data_dir, secret_key=test_secret, **contract_settings()))
    yield server, octotp
    octotp.close()
    server.stop()
