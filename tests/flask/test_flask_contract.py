"""The HTTP contract suite against a host Flask app with octotp mounted, on every database."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from octotp_core import FrozenClock, TokenEvent
from octotp_core.testing.contract import (
    ContractSuite,
    Listener,
    MountedOctotp,
    ProjectKey,
    assert_problem,
    assert_trusted_proxy_names_the_client,
    contract_settings,
)
from octotp_core.testing.http_clients import HttpResult
from octotp_core.tokens import EventKind
from octotp_flask import get_octotp
from octotp_flask.signals import SIGNALS


class FlaskClientAdapter:
    """The contract suite's ``HttpClient`` over Flask's test client, under a prefix."""

    def __init__(self, client: FlaskClient, prefix: str) -> None:
        self.client, self.prefix = client, prefix

    def request(
        self, method: str, path: str, *, headers: Mapping[str, str] | None = None, body: bytes | None = None
    ) -> HttpResult:
        r = self.client.open(self.prefix + path, method=method, headers=dict(headers or {}), data=body or b"")
        return HttpResult(r.status_code, {k.lower(): v for k, v in r.headers.items()}, r.data)


def mounted_flask_app(app: Flask, prefix: str, clock: FrozenClock | None) -> MountedOctotp:
    """``MountedOctotp`` for a Flask app: projects and revocations go through the app's own octotp."""

    def new_project(plan: str | None) -> ProjectKey:
        with app.app_context():
            created = get_octotp().accounts.create_project("contract", plan=plan)
        return ProjectKey(created.project.id, created.api_key.secret, created.api_key.key.id)

    def revoke_key(key_id: str) -> None:
        with app.app_context():
            get_octotp().accounts.revoke_api_key(key_id)

    def connect_listener(kind: EventKind, listener: Listener) -> Callable[[], None]:
        """A receiver of the Flask signal for ``kind``, for this app only (as a host connects one)."""

        def receiver(sender: Flask, event: TokenEvent, **fields: object) -> None:
            listener(event)

        SIGNALS[kind].connect(receiver, sender=app, weak=False)
        return lambda: SIGNALS[kind].disconnect(receiver, sender=app)

    def configure_project(project_id: str, **fields: Any) -> None:
        with app.app_context():
            get_octotp().accounts.configure_project(project_id, **fields)

    return MountedOctotp(
        FlaskClientAdapter(app.test_client(), prefix),
        new_project,
        revoke_key,
        clock,
        {"app": app},
        connect_listener=connect_listener,
        configure_project=configure_project,
    )


def contract_config(database_url: str) -> dict[str, object]:
    return {"OCTOTP_DATABASE_URL": database_url} | {f"OCTOTP_{k.upper()}": v for k, v in contract_settings().items()}


class TestFlaskHostUnderPrefix(ContractSuite):
    """A host app with its own routes, octotp under ``/octotp``."""

    @pytest.fixture
    def mounted(self, make_app: Callable[..., Flask], database_url: str, clock: FrozenClock) -> MountedOctotp:
        app = make_app(OCTOTP_URL_PREFIX="/octotp", **contract_config(database_url))
        return mounted_flask_app(app, "/octotp", clock)


class TestFlaskHostAtRoot(ContractSuite):
    """octotp at the app root, next to the host's own routes (one database: only the paths differ)."""

    @pytest.fixture
    def mounted(self, make_app: Callable[..., Flask], shared_sqlite_url: str, clock: FrozenClock) -> MountedOctotp:
        app = make_app(**contract_config(shared_sqlite_url))
        return mounted_flask_app(app, "", clock)

    def test_unknown_path_and_wrong_method(self, mounted: MountedOctotp) -> None:
        """At the root octotp claims only its own paths: elsewhere the host's 404 stands.

        Replaces the suite's version, whose ``/api/nothing-here`` is the host's to answer here.
        """
        assert_problem(mounted.client.request("GET", "/api/tokens/a/b"), 404, "not_found")
        host = mounted.client.request("GET", "/api/nothing-here")
        assert (host.status, host.headers["content-type"]) == (404, "text/html; charset=utf-8")
        r = mounted.client.request("GET", "/api/tokens")
        assert_problem(r, 405, "method_not_allowed")
        assert r.headers["allow"] == "POST"
        assert_problem(mounted.client.request("PUT", "/api/tokens/validate"), 405)


def test_trusted_proxies_setting_is_honoured(make_app: Callable[..., Flask], shared_sqlite_url: str) -> None:
    """``OCTOTP_TRUSTED_PROXIES`` from ``app.config``; the peer is ``REMOTE_ADDR`` (no ProxyFix)."""
    app = make_app(
        OCTOTP_DATABASE_URL=shared_sqlite_url,
        OCTOTP_TRUSTED_PROXIES=["10.0.0.0/8"],
        OCTOTP_DASHBOARD_LOGIN_LIMIT_PER_ADDRESS="3/minute",
    )
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = "10.0.0.2"
    assert_trusted_proxy_names_the_client(FlaskClientAdapter(client, ""), 3)
