"""Sharing the host's database: its engine (Flask-SQLAlchemy or plain) and its own Alembic history."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import Engine, String, inspect, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from octotp_core.migrate import VERSION_TABLE, head_revision, include_name
from octotp_core.store import make_engine
from octotp_core.testing.databases import ServiceUnavailable, temporary_database
from octotp_flask import Octotp

from ..conftest import unavailable


@pytest.fixture
def fresh_database_url(db_backend: str, tmp_path: Path) -> Iterator[str]:
    """An empty database of this test's own on the current backend (the host's database)."""
    try:
        with temporary_database(db_backend, tmp_path) as url:
            yield url
    except ServiceUnavailable as exc:
        unavailable(exc)


def host_db() -> SQLAlchemy:
    """The host's Flask-SQLAlchemy, with one model of its own."""

    class Base(DeclarativeBase):
        pass

    db = SQLAlchemy(model_class=Base)

    class Item(db.Model):  # type: ignore[name-defined,misc]
        __tablename__ = "host_items"
        id: Mapped[int] = mapped_column(primary_key=True)
        name: Mapped[str] = mapped_column(String(50))

    return db


def test_reuses_a_flask_sqlalchemy_engine(make_app: Callable[..., Flask], database_url: str) -> None:
    db = host_db()
    app = Flask("host_fsa")
    app.config.update(SQLALCHEMY_DATABASE_URI=database_url, SECRET_KEY="x" * 32)
    db.init_app(app)
    Octotp(app, engine=db)
    with app.app_context():
        assert app.extensions["octotp"].engine is db.engine
        project = app.extensions["octotp"].accounts.create_project("fsa")
    response = app.test_client().post(
        "/api/tokens",
        json={"projectId": project.project.id, "recipientEmail": "a@example.com"},
        headers={"X-Api-Key": project.api_key.secret},
    )
    assert response.status_code == 201, response.data


@pytest.mark.parametrize("form", ["engine", "callable", "config"])
def test_reuses_a_plain_engine(make_app: Callable[..., Flask], database_url: str, form: str) -> None:
    engine = make_engine(database_url)
    try:
        if form == "engine":
            app = make_app(options={"engine": engine})
        elif form == "callable":
            app = make_app(options={"engine": lambda: engine})
        else:
            app = make_app(OCTOTP_ENGINE=engine)
        core = app.extensions["octotp"]
        assert core.engine is engine
        with app.app_context():
            project = core.accounts.create_project("plain").project
            assert core.create_token(project.id, email="b@example.com").code
    finally:
        engine.dispose()


def test_engine_must_be_an_engine(make_app: Callable[..., Flask]) -> None:
    with pytest.raises(TypeError, match="OCTOTP_ENGINE"):
        make_app(OCTOTP_ENGINE="postgresql://nope")


def _versions(engine: Engine, table: str) -> list[str]:
    with engine.connect() as conn:
        return [row[0] for row in conn.execute(text(f"SELECT version_num FROM {table}"))]


@pytest.mark.filterwarnings("ignore:'get_engine' is deprecated:DeprecationWarning")  # Flask-Migrate's env.py
def test_host_alembic_history_is_untouched(fresh_database_url: str, tmp_path: Path) -> None:
    """A Flask-SQLAlchemy + Flask-Migrate host: `flask octotp db upgrade` leaves its history alone,
    and with ``include_name`` its autogenerate leaves octotp's tables alone."""
    from flask_migrate import Migrate

    db = host_db()
    app = Flask("host_migrate", instance_path=str(tmp_path / "instance"))
    app.config.update(SQLALCHEMY_DATABASE_URI=fresh_database_url, SECRET_KEY="y" * 32)
    db.init_app(app)
    Migrate(app, db, directory=str(tmp_path / "migrations"), include_name=include_name)
    Octotp(app, engine=db)
    runner = app.test_cli_runner()

    def flask(*args: str) -> str:
        result = runner.invoke(args=list(args))
        assert result.exit_code == 0, (args, result.output, result.exception)
        return result.stdout

    flask("db", "init")
    # The generated env.py calls logging.config.fileConfig, which disables every logger already
    # created in this process (other tests read octotp's logs); the host's migrations don't need it.
    env_py = tmp_path / "migrations" / "env.py"
    env_py.write_text(env_py.read_text().replace("fileConfig(config.config_file_name)", "pass"))
    flask("db", "migrate", "-m", "host items")
    flask("db", "upgrade")
    with app.app_context():
        engine = db.engine
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO host_items (id, name) VALUES (1, 'kept')"))
        host_before = _versions(engine, "alembic_version")
        assert len(host_before) == 1

        out = json.loads(flask("octotp", "db", "upgrade", "--json"))
        assert out["revision"] == head_revision()
        assert _versions(engine, "alembic_version") == host_before
        assert _versions(engine, VERSION_TABLE) == [head_revision()]
        tables = set(inspect(engine).get_table_names())
        assert {"host_items", "alembic_version", "octotp_tokens", VERSION_TABLE} <= tables
        with engine.connect() as conn:
            assert conn.execute(text("SELECT name FROM host_items")).scalar_one() == "kept"

    # The host's own tooling still sees its history and no change to make.
    versions = set((tmp_path / "migrations" / "versions").iterdir())
    flask("db", "migrate", "-m", "nothing")  # autogenerate: no migration written, octotp's tables ignored
    assert set((tmp_path / "migrations" / "versions").iterdir()) == versions
    # Why the hook is documented: without it autogenerate proposes dropping octotp's tables.
    app.extensions["migrate"].configure_args.pop("include_name")
    flask("db", "migrate", "-m", "without the hook")
    (written,) = {p for p in (tmp_path / "migrations" / "versions").glob("*.py")} - versions
    assert "drop_table('octotp_tokens')" in written.read_text()
    # A second octotp upgrade is a no-op.
    assert json.loads(flask("octotp", "db", "upgrade", "--json"))["revision"] == head_revision()
    with app.app_context():
        assert _versions(db.engine, "alembic_version") == host_before
        db.engine.dispose()
