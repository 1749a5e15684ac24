"""The dashboard conformance suite on a Flask host app, under a prefix (every database) and at the root."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from octotp_core.store import Account
from octotp_core.testing.console import ConsoleSuite
from octotp_core.testing.dashboard import MountedDashboard, RawResult
from octotp_flask import get_octotp


class RawFlaskClient:
    """The dashboard suite's ``RawClient`` over Flask's test client (every ``Set-Cookie`` kept)."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client

    def request(
        self, method: str, path: str, *, headers: Mapping[str, str] | None = None, body: bytes | None = None
    ) -> RawResult:
        path, _, query = path.partition("?")
        r = self.client.open(
            path, method=method, headers=dict(headers or {}), data=body or b"", query_string=query or None
        )
        return RawResult(r.status_code, list(r.headers.items()), r.data)


def mounted(app: Flask, prefix: str) -> MountedDashboard:
    def create_account(email: str, password: str) -> Account:
        with app.app_context():
            return get_octotp().accounts.create_account(email, password)

    client = app.test_client(use_cookies=False)  # the suite's browser keeps its own cookies
    octotp = app.extensions["octotp"]
    return MountedDashboard(RawFlaskClient(client), prefix + "/dashboard", prefix, create_account, octotp=octotp)


def config(settings: dict[str, Any]) -> dict[str, Any]:
    """Settings overrides as Flask config keys (``dashboard_signup`` → ``OCTOTP_DASHBOARD_SIGNUP``)."""
    return {f"OCTOTP_{name.upper()}": value for name, value in settings.items()}


@pytest.mark.one_database  # core's and Django's console suites run on every database
class TestFlaskDashboardUnderPrefix(ConsoleSuite):
    @pytest.fixture
    def make_dashboard(self, make_app: Callable[..., Flask], database_url: str) -> Callable[..., MountedDashboard]:
        def build(**settings: Any) -> MountedDashboard:
            app = make_app(OCTOTP_DATABASE_URL=database_url, OCTOTP_URL_PREFIX="/octotp", **config(settings))
            return mounted(app, "/octotp")

        return build


@pytest.mark.one_database  # core's and Django's console suites run on every database
class TestFlaskDashboardAtRoot(ConsoleSuite):
    @pytest.fixture
    def make_dashboard(self, make_app: Callable[..., Flask], shared_sqlite_url: str) -> Callable[..., MountedDashboard]:
        def build(**settings: Any) -> MountedDashboard:
            return mounted(make_app(OCTOTP_DATABASE_URL=shared_sqlite_url, **config(settings)), "")

        return build


def test_dashboard_off(make_app: Callable[..., Flask], shared_sqlite_url: str) -> None:
    app = make_app(OCTOTP_DATABASE_URL=shared_sqlite_url, OCTOTP_DASHBOARD=False)
    r = app.test_client().get("/dashboard/login")
    assert (r.status_code, r.headers["content-type"]) == (404, "text/html; charset=utf-8")  # the host's 404
    assert b"Log in" not in r.data
