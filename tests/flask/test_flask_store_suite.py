"""The shared ``Store`` conformance suite on the store a Flask app builds over its host's engine."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from flask_sqlalchemy import SQLAlchemy

from octotp_core.store import Store
from octotp_core.testing.store_suite import StoreSuite
from octotp_flask import Octotp


class TestFlaskHostEngineStore(StoreSuite):
    """Every protocol method through a Flask-SQLAlchemy host's engine, on every database."""

    @pytest.fixture
    def store(self, database_url: str) -> Iterator[Store]:
        db = SQLAlchemy()
        app = Flask("host_store_suite")
        app.config.update(SQLALCHEMY_DATABASE_URI=database_url, SECRET_KEY="x" * 32)
        db.init_app(app)
        Octotp(app, engine=db)
        with app.app_context():
            core = app.extensions["octotp"]
            assert core.engine is db.engine
            yield core.store
            db.engine.dispose()
