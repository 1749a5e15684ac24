"""System checks name every bad octotp setting; the settings module maps the dict onto core ``Settings``."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.contrib.auth.middleware import AuthenticationMiddleware
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from octotp_django.checks import check_settings
from octotp_django.conf import derive_secret, get_settings


def _errors(octotp: Any, **django: Any) -> list[tuple[str, str]]:
    with override_settings(OCTOTP=octotp, **django):
        return [(e.id or "", e.msg) for e in check_settings()]


def test_the_test_project_is_clean() -> None:
    assert check_settings() == []


def test_not_a_dict() -> None:
    assert _errors(["CODE_LENGTH"]) == [("octotp.E001", "OCTOTP: OCTOTP must be a dict, not list")]


def test_unknown_and_lowercase_keys() -> None:
    errors = _errors({"CODE_LENGHT": 6, "code_length": 6})
    assert [e[0] for e in errors] == ["octotp.E002", "octotp.E002"]
    assert "OCTOTP['CODE_LENGHT']" in errors[0][1]
    assert "OCTOTP['code_length']" in errors[1][1]
    with override_settings(OCTOTP={"code_length": 6}):
        assert check_settings()[0].hint == "did you mean OCTOTP['CODE_LENGTH']?"


@pytest.mark.parametrize(
    ("key", "meant"),
    [("CODE_LENGHT", "CODE_LENGTH"), ("MAX_ATTEMPT", "MAX_ATTEMPTS"), ("RATELIMIT_STORAGE", "RATE_LIMIT_STORAGE")],
)
def test_unknown_key_gets_one_suggestion(key: str, meant: str) -> None:
    with override_settings(OCTOTP={key: 1}):
        (error,) = check_settings()
    assert error.id == "octotp.E002"
    assert error.hint == f"did you mean OCTOTP[{meant!r}]?"


@pytest.mark.parametrize("key", ["FOO", "DATABASE_URI", "DATABASE_UR", "database_ur", "DATA_DIRS"])
def test_unknown_key_without_a_close_match_points_at_the_docs(key: str) -> None:
    """Nothing close (and DATABASE_URL, which octotp-django does not use, is never offered): the hint
    says where the keys are documented instead of listing all of them."""
    with override_settings(OCTOTP={key: 1}):
        (error,) = check_settings()
    assert error.id == "octotp.E002"
    assert error.hint is not None
    assert "DATABASE_URL" not in error.hint
    assert "DATA_DIR" not in error.hint
    assert "README" in error.hint
    assert "Settings" in error.hint
    assert "CODE_LENGTH" not in error.hint  # not a list of every key


@pytest.mark.parametrize(
    ("octotp", "setting"),
    [
        ({"CODE_LENGTH": 3}, "OCTOTP['CODE_LENGTH']"),
        ({"HASHER": "md5"}, "OCTOTP['HASHER']"),
        ({"RECIPIENT_SEND_BUDGET": "lots"}, "OCTOTP['RECIPIENT_SEND_BUDGET']"),
        ({"PLANS": {"free": {"CREATES_PER_MINUTE": 0}}}, "OCTOTP['PLANS']['free']['creates_per_minute']"),
        ({"EXPIRY_MIN": 900}, "OCTOTP"),
    ],
)
def test_invalid_values_name_the_setting(octotp: dict[str, Any], setting: str) -> None:
    errors = _errors(octotp)
    assert len(errors) == 1, errors
    assert errors[0][0] == "octotp.E003"
    assert errors[0][1].startswith(setting + ":"), errors


@pytest.mark.parametrize("key", ["DATABASE_URL", "DATA_DIR", "LOG_FORMAT"])
def test_keys_octotp_django_does_not_use_are_refused(key: str) -> None:
    assert [e[0] for e in _errors({key: "somewhere"})] == ["octotp.E004"]


def test_a_secret_is_required() -> None:
    assert [e[0] for e in _errors({}, SECRET_KEY="")] == ["octotp.E005"]
    assert _errors({"SECRET_KEY": "octotp's own secret"}, SECRET_KEY="") == []
    (short,) = _errors({"SECRET_KEY": "own secret"}, SECRET_KEY="")
    assert short[0] == "octotp.E003"
    assert short[1].startswith("OCTOTP['SECRET_KEY']:")
    assert "at least 16 characters" in short[1]


def test_use_tz_is_required() -> None:
    assert [e[0] for e in _errors({}, USE_TZ=False)] == ["octotp.E006"]


def test_delivery_backends_must_import() -> None:
    errors = _errors({"DELIVERY_EMAIL_BACKEND": "nowhere.Backend", "DELIVERY_SMS_BACKEND": "octotp_django.mail.Nope"})
    assert [e[0] for e in errors] == ["octotp.E007", "octotp.E007"]
    assert "OCTOTP['DELIVERY_EMAIL_BACKEND']" in errors[0][1]


def test_settings_mapping() -> None:
    with override_settings(
        OCTOTP={"CODE_LENGTH": 8, "PLANS": {"free": {"creates_per_minute": 5}}, "RATE_LIMIT_STORAGE": "memory://"},
        SECRET_KEY="django secret",
        SECRET_KEY_FALLBACKS=["old django secret"],
    ):
        settings = get_settings()
    assert settings.code_length == 8
    assert settings.plans["free"].creates_per_minute == 5
    assert settings.delivery_email_backend == "octotp_django.mail.DjangoEmailBackend"
    assert settings.secrets() == [derive_secret("django secret").encode(), derive_secret("old django secret").encode()]
    assert derive_secret("django secret") != "django secret"


def test_environment_variables_are_not_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OCTOTP_CODE_LENGTH", "9")
    assert get_settings().code_length == 6


def test_get_settings_raises_naming_the_setting() -> None:
    with override_settings(OCTOTP={"CODE_LENGTH": 99}), pytest.raises(ImproperlyConfigured, match="CODE_LENGTH"):
        get_settings()


# -- rate limits across worker processes (issue 11 item 1) ---------------------------------------
def _worker_checks(octotp: Any, **django: Any) -> list[tuple[str, str]]:
    from octotp_django.checks import check_worker_storage

    with override_settings(OCTOTP=octotp, **django):
        return [(e.id or "", e.msg) for e in check_worker_storage()]


def test_per_process_rate_limits_in_production_are_a_warning() -> None:
    (warning,) = _worker_checks({"HASHER": "hmac"}, DEBUG=False)
    assert warning[0] == "octotp.W001"
    assert "OCTOTP['RATE_LIMIT_STORAGE']" in warning[1]
    assert "counts in each process" in warning[1]
    assert "redis://" in warning[1]
    assert "database://" not in warning[1]


def test_no_worker_warning_in_debug_or_with_a_shared_storage() -> None:
    assert _worker_checks({"HASHER": "hmac"}, DEBUG=True) == []
    assert _worker_checks({"RATE_LIMIT_STORAGE": "redis://127.0.0.1:6379/1"}, DEBUG=False) == []


def test_database_rate_limit_storage_is_an_error_under_django() -> None:
    assert [e[0] for e in _worker_checks({"RATE_LIMIT_STORAGE": "database://"})] == ["octotp.E008"]


def test_the_readme_documents_every_key_octotp_django_uses() -> None:
    """The E002 hint sends people to the README's Settings table: it must list every key."""
    from pathlib import Path

    from octotp_django.conf import NOT_USED, DjangoSettings

    readme = (Path(__file__).resolve().parents[2] / "packages" / "octotp-django" / "README.md").read_text()
    section = readme.split("\n## Settings\n", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"`([A-Z][A-Z0-9_]+)`", section))
    used = {name.upper() for name in DjangoSettings.model_fields} - set(NOT_USED)
    assert used <= documented, sorted(used - documented)


# -- host login (issue 15): OCTOTP["DASHBOARD_AUTH"] ----------------------------------------------
def _host_login_checks(octotp: Any, **django: Any) -> list[tuple[str, str, str | None]]:
    from octotp_django.checks import check_host_login

    with override_settings(OCTOTP=octotp, **django):
        return [(e.id or "", e.msg, e.hint) for e in [*check_settings(), *check_host_login()]]


def test_dashboard_auth_takes_octotp_or_django() -> None:
    from octotp_django.conf import dashboard_auth

    assert _host_login_checks({"DASHBOARD_AUTH": "octotp"}) == []
    assert _host_login_checks({"DASHBOARD_AUTH": "django"}) == []
    assert dashboard_auth() == "octotp"
    with override_settings(OCTOTP={"DASHBOARD_AUTH": "django"}):
        assert dashboard_auth() == "django"
        assert get_settings().code_length == 6  # not a core setting: left out of core's Settings


@pytest.mark.parametrize("value", ["Django", "allauth", True, None])
def test_a_bad_dashboard_auth_names_the_setting_and_the_choices(value: Any) -> None:
    from octotp_django.conf import dashboard_auth

    ((check_id, message, _hint),) = _host_login_checks({"DASHBOARD_AUTH": value})
    assert check_id == "octotp.E003"
    assert message.startswith("OCTOTP['DASHBOARD_AUTH']: must be 'octotp'")
    assert "'django'" in message
    assert repr(value) in message
    with override_settings(OCTOTP={"DASHBOARD_AUTH": value}), pytest.raises(ImproperlyConfigured, match="DASHBOARD"):
        dashboard_auth()


def test_a_misspelt_dashboard_auth_gets_a_suggestion() -> None:
    with override_settings(OCTOTP={"DASHBOARD_AUTHS": "django"}):
        (error,) = check_settings()
    assert (error.id, error.hint) == ("octotp.E002", "did you mean OCTOTP['DASHBOARD_AUTH']?")


def test_django_mode_needs_django_contrib_auth() -> None:
    from django.conf import settings

    without_auth = [
        app for app in settings.INSTALLED_APPS if app not in ("django.contrib.auth", "django.contrib.admin")
    ]
    with override_settings(INSTALLED_APPS=without_auth):
        errors = _host_login_checks({"DASHBOARD_AUTH": "django"})
        assert _host_login_checks({}) == []  # octotp's own accounts need no Django auth
    ((check_id, message, hint),) = errors
    assert check_id == "octotp.E009"
    assert "OCTOTP['DASHBOARD_AUTH']" in message
    assert "'django.contrib.auth' is not in INSTALLED_APPS" in message
    assert hint is not None
    assert "INSTALLED_APPS" in hint


@pytest.mark.parametrize(
    "dropped",
    [
        ["django.contrib.auth.middleware.AuthenticationMiddleware"],
        [
            "django.contrib.sessions.middleware.SessionMiddleware",
            "django.contrib.auth.middleware.AuthenticationMiddleware",
        ],
    ],
)
def test_django_mode_needs_the_session_and_authentication_middleware(dropped: list[str]) -> None:
    from django.conf import settings

    middleware = [path for path in settings.MIDDLEWARE if path not in dropped]
    ((check_id, message, hint),) = _host_login_checks({"DASHBOARD_AUTH": "django"}, MIDDLEWARE=middleware)
    assert check_id == "octotp.E010"
    assert "request.user" in message
    for path in dropped:
        assert repr(path) in message
    assert hint is not None
    assert "AuthenticationMiddleware" in hint
    assert _host_login_checks({}, MIDDLEWARE=middleware) == []


def test_a_subclass_of_the_authentication_middleware_will_do() -> None:
    from django.conf import settings

    middleware = [
        f"{__name__}.SiteAuthenticationMiddleware" if path.endswith(".AuthenticationMiddleware") else path
        for path in settings.MIDDLEWARE
    ]
    assert _host_login_checks({"DASHBOARD_AUTH": "django"}, MIDDLEWARE=middleware) == []


class SiteAuthenticationMiddleware(AuthenticationMiddleware):
    """A site's own authentication middleware (a subclass of Django's, as many projects write)."""
