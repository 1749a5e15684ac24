"""Fixtures for the Flask extension: host apps with octotp mounted, on every database backend."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from octotp_core import FrozenClock
from octotp_core.store import make_engine
from octotp_core.testing.databases import migrated_sqlite_url
from octotp_flask import Octotp, get_octotp


@pytest.fixture
def make_app(tmp_path: Path, test_secret: str, clock: FrozenClock) -> Iterator[Callable[..., Flask]]:
    """Build a host Flask app with octotp initialised; keyword arguments become config keys.

    ``extension=`` passes a ready ``Octotp`` extension (app-factory style); other objects
    (``engine``, ``store``...) go to the extension.
    """
    cores = []

    def factory(*, extension: Octotp | None = None, options: dict[str, Any] | None = None, **config: Any) -> Flask:
        app = Flask(f"host_{len(cores)}", instance_path=str(tmp_path / "instance"))
        app.config.update(TESTING=True, SECRET_KEY=test_secret)
        app.config.update(config)

        @app.get("/")
        def home() -> dict[str, str]:
            return {"host": "yes"}

        ext = extension or Octotp(clock=clock, **(options or {}))
        ext.init_app(app)
        cores.append(app.extensions["octotp"])
        return app

    yield factory
    for core in cores:
        core.close()


@pytest.fixture
def app(make_app: Callable[..., Flask], database_url: str) -> Flask:
    """A host app on the session database of the current backend, octotp at the root."""
    return make_app(OCTOTP_DATABASE_URL=database_url)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def new_project(app: Flask) -> Callable[..., tuple[str, str]]:
    """Create a project in ``app``'s database; returns (project id, API key)."""

    def create(plan: str | None = None) -> tuple[str, str]:
        with app.app_context():
            created = get_octotp().accounts.create_project("flask-test", plan=plan)
        return created.project.id, created.api_key.secret

    return create


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A fresh, migrated SQLite database of this test's own."""
    return migrated_sqlite_url(tmp_path / "own.db")


@pytest.fixture(scope="session")
def shared_sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A migrated SQLite database shared by the tests that only need some database."""
    from octotp_core.migrate import upgrade

    url = f"sqlite:///{tmp_path_factory.mktemp('flask-shared') / 'shared.db'}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    return url
