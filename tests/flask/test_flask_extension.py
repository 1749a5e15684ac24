"""The extension the Flask way: init_app, OCTOTP_* config, app factories, several apps."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask

import octotp_core
from octotp_flask import Octotp, create_token, get_octotp, validate_token


def test_config_defaults_are_set_for_every_setting(make_app: Callable[..., Flask], sqlite_url: str) -> None:
    app = make_app(OCTOTP_DATABASE_URL=sqlite_url)
    for name in octotp_core.Settings.model_fields:
        assert f"OCTOTP_{name.upper()}" in app.config
    assert app.config["OCTOTP_URL_PREFIX"] == ""
    assert app.config["OCTOTP_RATE_LIMIT_STORAGE"] == "memory://"
    assert app.config["OCTOTP_ENGINE"] is None
    assert app.config["OCTOTP_DATA_DIR"] == str(Path(app.instance_path) / "octotp")
    assert isinstance(app.extensions["octotp"], octotp_core.Octotp)


def test_options_are_defaults_and_config_wins(make_app: Callable[..., Flask], sqlite_url: str) -> None:
    app = make_app(OCTOTP_DATABASE_URL=sqlite_url, OCTOTP_CODE_LENGTH=8, options={"code_length": 4, "max_attempts": 3})
    core = app.extensions["octotp"]
    assert core.settings.code_length == 8
    assert core.settings.max_attempts == 3
    assert app.config["OCTOTP_MAX_ATTEMPTS"] == 3


def test_unknown_option_is_refused() -> None:
    with pytest.raises(TypeError, match="databse_url"):
        Octotp(databse_url="sqlite://")


def test_invalid_config_names_the_setting(make_app: Callable[..., Flask], sqlite_url: str) -> None:
    with pytest.raises(ValueError, match="OCTOTP_CODE_LENGTH: "):
        make_app(OCTOTP_DATABASE_URL=sqlite_url, OCTOTP_CODE_LENGTH=99)


def test_secret_falls_back_to_the_apps_secret_key(
    make_app: Callable[..., Flask], sqlite_url: str, test_secret: str
) -> None:
    app = make_app(OCTOTP_DATABASE_URL=sqlite_url, SECRET_KEY_FALLBACKS=["the-old-app-secret"])
    assert app.extensions["octotp"].settings.secrets() == [test_secret.encode(), b"the-old-app-secret"]
    own = make_app(OCTOTP_DATABASE_URL=sqlite_url, OCTOTP_SECRET_KEY="octotp-own-secret")
    assert own.extensions["octotp"].settings.secrets() == [b"octotp-own-secret"]
    with pytest.raises(ValueError, match="at least 16 characters"):  # e.g. the classic SECRET_KEY = "dev"
        make_app(OCTOTP_DATABASE_URL=sqlite_url, SECRET_KEY="dev")


def test_environment_is_not_read(
    make_app: Callable[..., Flask], sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OCTOTP_CODE_LENGTH", "9")
    app = make_app(OCTOTP_DATABASE_URL=sqlite_url)
    assert app.extensions["octotp"].settings.code_length == 6


def test_init_twice_on_one_app_is_an_error(make_app: Callable[..., Flask], sqlite_url: str) -> None:
    app = make_app(OCTOTP_DATABASE_URL=sqlite_url)
    with pytest.raises(RuntimeError, match="already initialised"):
        Octotp().init_app(app)


def test_needs_an_app_context_and_an_initialised_app() -> None:
    with pytest.raises(RuntimeError, match="application context"):
        get_octotp()
    with Flask("bare").app_context(), pytest.raises(RuntimeError, match="not initialised"):
        get_octotp()


def test_extension_holds_no_app(make_app: Callable[..., Flask], sqlite_url: str) -> None:
    ext = Octotp()
    app = make_app(OCTOTP_DATABASE_URL=sqlite_url, extension=ext)
    assert not any(isinstance(v, Flask) for v in vars(ext).values())
    assert app.extensions["octotp"] is not None


def test_app_factory_with_two_apps_in_one_process(make_app: Callable[..., Flask], tmp_path: Path) -> None:
    """One extension object, two apps from a factory, each with its own database and prefix."""
    from octotp_core.migrate import upgrade
    from octotp_core.store import make_engine

    ext = Octotp()  # module level in a real app
    urls = []
    for name in ("a", "b"):
        url = f"sqlite:///{tmp_path / name}.db"
        engine = make_engine(url)
        upgrade(engine)
        engine.dispose()
        urls.append(url)
    app_a = make_app(extension=ext, OCTOTP_DATABASE_URL=urls[0], OCTOTP_URL_PREFIX="/otp-a")
    app_b = make_app(extension=ext, OCTOTP_DATABASE_URL=urls[1], OCTOTP_URL_PREFIX="otp-b/")
    assert app_a.extensions["octotp"] is not app_b.extensions["octotp"]

    with app_a.app_context():
        # Validated anonymously below, as the Octotp API allowed: a project with the setting off.
        project = get_octotp().accounts.create_project("a", validate_requires_key=False).project
        token = ext.create_token(project.id, email="x@example.com")
    assert token.code is not None
    with app_b.app_context(), pytest.raises(octotp_core.NotFound):
        create_token(project.id, email="x@example.com")  # b's database has no such project

    client_a, client_b = app_a.test_client(), app_b.test_client()
    assert client_a.get("/otp-a/healthz").status_code == 200
    assert client_a.get("/otp-b/healthz").status_code == 404
    assert client_b.get("/otp-b/healthz").status_code == 200
    body = {"projectId": project.id, "recipientEmail": "x@example.com", "code": token.code}
    assert client_b.post("/otp-b/api/tokens/validate", json=body).status_code == 404  # no such project in b
    assert client_a.post("/otp-a/api/tokens/validate", json=body).get_json() == {"isValid": True, "status": "approved"}
    with app_a.app_context():
        again = validate_token(project.id, email="x@example.com", code=token.code)
    assert again.status == "not_found"


def test_auto_migrate(make_app: Callable[..., Flask], tmp_path: Path) -> None:
    from octotp_core.migrate import current_revision, head_revision

    app = make_app(OCTOTP_DATABASE_URL=f"sqlite:///{tmp_path / 'fresh.db'}", OCTOTP_AUTO_MIGRATE=True)
    assert current_revision(app.extensions["octotp"].engine) == head_revision()


def test_default_database_lives_in_the_instance_folder(make_app: Callable[..., Flask]) -> None:
    app = make_app(OCTOTP_AUTO_MIGRATE=True)
    assert app.extensions["octotp"].settings.effective_database_url.startswith("sqlite:///")
    assert (Path(app.instance_path) / "octotp" / "octotp.db").exists()


def test_blueprint_can_be_left_out(make_app: Callable[..., Flask], sqlite_url: str) -> None:
    app = make_app(OCTOTP_DATABASE_URL=sqlite_url, OCTOTP_REGISTER_BLUEPRINT=False)
    assert "octotp" not in app.blueprints
    assert app.test_client().get("/healthz").status_code == 404
