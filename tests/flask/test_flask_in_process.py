"""The in-process API (no HTTP) and the signals it sends."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask

import octotp_flask
from octotp_core import InvalidInput, NotFound, TokenEvent
from octotp_flask import signals


def test_module_functions_and_extension_methods(app: Flask, new_project: Callable[..., tuple[str, str]]) -> None:
    project_id, _ = new_project()
    ext = octotp_flask.Octotp()  # any instance works: state lives on the app
    with app.test_request_context():
        created = octotp_flask.create_token(project_id, email="a@example.com", purpose="login", expires_in=60)
        assert created.code is not None
        assert octotp_flask.validate_token(project_id, email="a@example.com", code=created.code).status == "not_found"
        assert ext.validate_token(project_id, email="a@example.com", code=created.code, purpose="login").is_valid
        second = ext.create_token(project_id, phone="+1 650-253-0000")
        ext.cancel_token(project_id, second.id)
        octotp_flask.cancel_token(project_id, second.id)  # idempotent
        with pytest.raises(NotFound):
            octotp_flask.cancel_token(project_id, created.id)  # used, not cancellable
        with pytest.raises(InvalidInput):
            ext.create_token(project_id, email="not an email")
        assert ext.core is octotp_flask.get_octotp() is app.extensions["octotp"]


def test_same_public_names_as_every_adapter() -> None:
    for name in ("Octotp", "get_octotp", "create_token", "validate_token", "cancel_token"):
        assert name in octotp_flask.__all__


def test_signals_fire_without_the_code(app: Flask, new_project: Callable[..., tuple[str, str]]) -> None:
    project_id, _ = new_project()
    received: list[tuple[str, Any, dict[str, Any]]] = []

    def receiver(name: str) -> Callable[..., None]:
        def receive(sender: Any, **kwargs: Any) -> None:
            received.append((name, sender, kwargs))

        return receive

    receivers = {name: receiver(name) for name in ("created", "approved", "failed", "locked")}
    for name, fn in receivers.items():
        getattr(signals, f"token_{name}").connect(fn, app)
    try:
        with app.app_context():
            token = octotp_flask.create_token(project_id, email="sig@example.com")
            assert token.code is not None
            wrong = str((int(token.code) + 1) % 10**6).zfill(6)
            octotp_flask.validate_token(project_id, email="sig@example.com", code=wrong)
            octotp_flask.validate_token(project_id, email="sig@example.com", code=token.code)
            octotp_flask.validate_token(project_id, email="nobody@example.com", code=wrong)
            again = octotp_flask.create_token(project_id, email="sig@example.com")
            assert again.code is not None
            wrong = str((int(again.code) + 1) % 10**6).zfill(6)
            statuses = [
                octotp_flask.validate_token(project_id, email="sig@example.com", code=wrong).status for _ in range(6)
            ]
            assert statuses == ["incorrect"] * 5 + ["locked"]
    finally:
        for name, fn in receivers.items():
            getattr(signals, f"token_{name}").disconnect(fn)

    kinds = [name for name, _, _ in received]
    assert kinds[:4] == ["created", "failed", "approved", "failed"]
    assert all(sender is app for _, sender, _ in received)
    created = received[0][2]
    assert created["token_id"] == token.id
    assert created["project_id"] == project_id
    assert created["recipient_hint"] == "s***@example.com"
    assert isinstance(created["event"], TokenEvent)
    assert received[1][2]["status"] == "incorrect"
    assert received[3][2]["status"] == "not_found"
    assert kinds[4:] == ["created"] + ["failed"] * 5 + ["locked"]
    assert received[-1][2]["status"] == "locked"
    for _, _, kwargs in received:
        assert "code" not in kwargs
        for value in [*kwargs.values(), *vars(kwargs["event"]).values()]:
            assert token.code not in str(value)
            assert again.code not in str(value)
