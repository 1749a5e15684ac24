"""Host views calling the in-process API: octotp errors answered as problem JSON, only when opted in;
and ``OCTOTP_*`` config mistakes refused at ``init_app`` with the key named."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Blueprint, Flask, request

from octotp_core import InvalidInput
from octotp_flask import ConfigurationError, create_token, get_octotp, handle_octotp_errors


def add_signup_view(app: Flask, project_id: str, scope: Flask | Blueprint | None = None) -> None:
    """The README's host view: ``create_token`` with whatever the user typed."""
    target = scope or app

    @target.post("/signup")
    def signup() -> dict[str, str]:
        token = create_token(project_id, email=request.form["email"])
        return {"tokenId": token.id}

    if isinstance(scope, Blueprint):
        app.register_blueprint(scope, url_prefix="/bp")


def project_in(app: Flask) -> str:
    with app.app_context():
        return get_octotp().accounts.create_project("errors").project.id


def test_opted_in_a_bad_email_is_a_problem_naming_the_python_argument(
    make_app: Callable[..., Flask], sqlite_url: str
) -> None:
    app = make_app(OCTOTP_DATABASE_URL=sqlite_url, OCTOTP_HANDLE_ERRORS=True)
    add_signup_view(app, project_in(app))
    answer = app.test_client().post("/signup", data={"email": "not an email"}, headers={"X-Request-Id": "trace-1"})
    assert answer.status_code == 400
    assert answer.mimetype == "application/problem+json"
    assert answer.headers["X-Request-Id"] == "trace-1"
    body = answer.get_json(force=True)
    assert body["code"] == "invalid_field"
    assert body["status"] == 400
    assert body["requestId"] == "trace-1"
    assert [e["field"] for e in body["errors"]] == ["email"]  # the view's argument, not recipientEmail
    assert "recipientEmail" not in answer.get_data(as_text=True)


def test_opted_in_other_errors_keep_the_apis_status(make_app: Callable[..., Flask], sqlite_url: str) -> None:
    app = make_app(OCTOTP_DATABASE_URL=sqlite_url, options={"handle_errors": True})
    project_id = project_in(app)

    @app.post("/cancel/<token_id>")
    def cancel(token_id: str) -> str:
        get_octotp().tokens.cancel(project_id, token_id)
        return ""

    answer = app.test_client().post("/cancel/00000000-0000-4000-8000-000000000000")
    assert answer.status_code == 404
    assert answer.get_json(force=True)["code"] == "not_found"


def test_without_opting_in_the_error_reaches_the_host(make_app: Callable[..., Flask], sqlite_url: str) -> None:
    app = make_app(OCTOTP_DATABASE_URL=sqlite_url)  # TESTING: Flask re-raises what no handler took
    add_signup_view(app, project_in(app))
    with pytest.raises(InvalidInput) as caught:
        app.test_client().post("/signup", data={"email": "not an email"})
    assert [e.field for e in caught.value.errors] == ["email"]
    assert str(caught.value).startswith("email: ")


def test_a_blueprint_can_opt_in_alone(make_app: Callable[..., Flask], sqlite_url: str) -> None:
    app = make_app(OCTOTP_DATABASE_URL=sqlite_url)
    project_id = project_in(app)
    blueprint = Blueprint("accounts", __name__)
    handle_octotp_errors(blueprint)
    add_signup_view(app, project_id, blueprint)
    add_signup_view(app, project_id)
    client = app.test_client()
    assert client.post("/bp/signup", data={"email": "nope"}).status_code == 400
    with pytest.raises(InvalidInput):
        client.post("/signup", data={"email": "nope"})


# -- configuration mistakes --------------------------------------------------------------------
@pytest.mark.parametrize(
    ("key", "meant"),
    [
        ("OCTOTP_CODE_LENGHT", "OCTOTP_CODE_LENGTH"),
        ("OCTOTP_URL_PREFX", "OCTOTP_URL_PREFIX"),  # a Flask-only key
        ("OCTOTP_HANDLE_ERROR", "OCTOTP_HANDLE_ERRORS"),
    ],
)
def test_a_misspelt_key_is_refused_with_the_key_meant(
    make_app: Callable[..., Flask], sqlite_url: str, key: str, meant: str
) -> None:
    with pytest.raises(ConfigurationError) as caught:
        make_app(OCTOTP_DATABASE_URL=sqlite_url, **{key: 8})
    assert str(caught.value) == f"{key} is not an octotp setting (did you mean {meant}?)"


def test_an_unknown_key_with_no_near_name_is_refused(make_app: Callable[..., Flask], sqlite_url: str) -> None:
    with pytest.raises(ConfigurationError, match="OCTOTP_COLOUR is not an octotp setting"):
        make_app(OCTOTP_DATABASE_URL=sqlite_url, OCTOTP_COLOUR="blue")


def test_a_setting_only_octotp_serve_acts_on_is_refused_not_ignored(
    make_app: Callable[..., Flask], sqlite_url: str
) -> None:
    with pytest.raises(ConfigurationError) as caught:
        make_app(OCTOTP_DATABASE_URL=sqlite_url, OCTOTP_PURGE_INTERVAL_SECONDS=3600)
    assert str(caught.value) == (
        "OCTOTP_PURGE_INTERVAL_SECONDS is not used by octotp-flask "
        "(only octotp serve runs a scheduled purge; run `flask octotp purge` from cron)"
    )
    with pytest.raises(ConfigurationError, match=r"^OCTOTP_LOG_FORMAT is not used by octotp-flask \(octotp configures"):
        make_app(OCTOTP_DATABASE_URL=sqlite_url, OCTOTP_LOG_FORMAT="json")
    # The defaults ask for nothing.
    make_app(OCTOTP_DATABASE_URL=sqlite_url, OCTOTP_PURGE_INTERVAL_SECONDS=0, OCTOTP_LOG_FORMAT="text")


def test_a_misspelt_option_gets_a_guess() -> None:
    from octotp_flask import Octotp

    with pytest.raises(TypeError, match=r"code_lenght \(did you mean code_length\?\)"):
        Octotp(code_lenght=8)


def test_a_refused_value_names_the_config_key(make_app: Callable[..., Flask], sqlite_url: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        make_app(OCTOTP_DATABASE_URL=sqlite_url, OCTOTP_CODE_LENGTH="eight")
    message = str(caught.value)
    assert message.startswith("invalid octotp configuration: OCTOTP_CODE_LENGTH: ")
    assert "ExplicitSettings" not in message
    assert "eight" not in message

    with pytest.raises(ConfigurationError, match=r"OCTOTP_PLANS\['free'\]\['creates_per_minute'\]: "):
        make_app(OCTOTP_DATABASE_URL=sqlite_url, OCTOTP_PLANS={"free": {"creates_per_minute": "many"}})
    with pytest.raises(ConfigurationError, match="OCTOTP_CODE_LENGTH \\(4\\) is below OCTOTP_PROJECT_MIN_CODE_LENGTH"):
        make_app(OCTOTP_DATABASE_URL=sqlite_url, OCTOTP_CODE_LENGTH=4)


def test_a_refused_secret_is_never_repeated(make_app: Callable[..., Flask], sqlite_url: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        make_app(OCTOTP_DATABASE_URL=sqlite_url, OCTOTP_SECRET_KEY="hunter2-short")
    assert "OCTOTP_SECRET_KEY" in str(caught.value)
    assert "hunter2" not in str(caught.value)
    assert caught.value.__cause__ is None  # pydantic's error, which shows the input, is not chained
    assert caught.value.__suppress_context__


def test_a_short_app_secret_key_is_named_as_such(make_app: Callable[..., Flask], sqlite_url: str) -> None:
    with pytest.raises(ConfigurationError) as caught:  # Flask's classic development SECRET_KEY = "dev"
        make_app(OCTOTP_DATABASE_URL=sqlite_url, SECRET_KEY="dev")
    assert str(caught.value).startswith("invalid octotp configuration: SECRET_KEY (octotp's secret while ")
    with pytest.raises(ConfigurationError, match=r"^invalid octotp configuration: SECRET_KEY_FALLBACKS: "):
        make_app(OCTOTP_DATABASE_URL=sqlite_url, SECRET_KEY_FALLBACKS=["old"])
