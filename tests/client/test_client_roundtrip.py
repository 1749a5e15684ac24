"""Happy paths against live servers: ``octotp serve`` and a host FastAPI app with octotp under a prefix."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from typing import Any

import pytest
import requests

from octotp_client import AsyncOctotpClient, ConfigurationError, CreatedToken, OctotpClient

pytestmark = pytest.mark.xdist_group("client")


@pytest.fixture(params=["standalone", "hosted"])
def live_project(request: pytest.FixtureRequest) -> Any:
    """A fresh project on each kind of live server."""
    return request.getfixturevalue(request.param).project()


def assert_fresh(token: CreatedToken, lifetime: int = 300) -> None:
    assert uuid.UUID(token.id)
    assert token.code is not None
    assert token.code.isdigit()
    assert len(token.code) == 6
    assert token.expires_at.tzinfo is not None
    remaining = (token.expires_at - dt.datetime.now(dt.timezone.utc)).total_seconds()
    assert lifetime - 30 < remaining <= lifetime + 1
    assert (token.channel, token.sent) in {("email", False), ("sms", False)}


def test_create_validate_cancel(live_project: Any, make_client: Any, recipient: str) -> None:
    client = make_client(live_project)
    token = client.create_token(email=recipient)
    assert_fresh(token)
    assert token.code not in repr(token)  # results can be logged without leaking the code

    wrong = "000000" if token.code != "000000" else "111111"
    assert client.validate_token(email=recipient, code=wrong) == _validation(False, "incorrect")
    assert client.validate_token(email=recipient.upper(), code=token.code) == _validation(True, "approved")
    assert client.validate_token(email=recipient, code=token.code) == _validation(False, "not_found")

    second = client.create_token(email=recipient, purpose="login")
    client.cancel_token(second.id)
    assert second.code is not None
    assert client.validate_token(email=recipient, code=second.code, purpose="login").status == "not_found"


def test_async_create_validate_cancel(live_project: Any, recipient: str) -> None:
    async def scenario() -> None:
        async with AsyncOctotpClient(live_project.api_key, live_project.base_url, project_id=live_project.id) as c:
            token = await c.create_token(email=recipient, expires_in=dt.timedelta(minutes=2))
            assert_fresh(token, lifetime=120)
            assert token.code is not None
            assert (await c.validate_token(email=recipient, code=token.code)) == _validation(True, "approved")
            again = await c.create_token(email=recipient)
            await c.cancel_token(again.id)
            assert again.code is not None
            assert (await c.validate_token(email=recipient, code=again.code)).status == "not_found"
            assert (await c.health()).status == "ok"
            assert (await c.ready()).status == "ready"

    asyncio.run(scenario())


def test_phone_recipient_purpose_and_expiry(live_project: Any, make_client: Any) -> None:
    client = make_client(live_project)
    phone = f"+4479111{uuid.uuid4().int % 100000:05d}"
    token = client.create_token(phone=phone, purpose="reset-password", expires_in=60)
    assert_fresh(token, lifetime=60)
    assert token.channel == "sms"
    assert token.code is not None
    assert client.validate_token(phone=phone, code=token.code).status == "not_found"  # other purpose
    assert client.validate_token(phone=phone, code=token.code, purpose="reset-password").is_valid


def test_the_same_idempotency_key_is_replayed_by_the_server(
    live_project: Any, make_client: Any, recipient: str
) -> None:
    client = make_client(live_project)
    key = str(uuid.uuid4())
    first = client.create_token(email=recipient, idempotency_key=key)
    again = client.create_token(email=recipient, idempotency_key=key)
    assert (first.replayed, again.replayed) == (False, True)
    # The caller may have lost the first answer, so the replay carries a fresh, working code.
    assert again.code is not None
    assert client.validate_token(email=recipient, code=again.code).is_valid


def test_health_and_ready(live_project: Any, make_client: Any) -> None:
    client = make_client(live_project)
    assert client.health().status == "ok"
    assert client.ready().status == "ready"


def test_project_id_per_call_overrides_the_client(standalone: Any, recipient: str) -> None:
    project = standalone.project()
    with OctotpClient(project.api_key, project.base_url) as client:  # no default project
        with pytest.raises(ConfigurationError, match="OCTOTP_PROJECT_ID"):
            client.create_token(email=recipient)
        token = client.create_token(email=recipient, project_id=project.id)
        assert token.code is not None
        assert client.validate_token(email=recipient, code=token.code, project_id=project.id).is_valid


def test_configuration_from_environment(standalone: Any, recipient: str, monkeypatch: pytest.MonkeyPatch) -> None:
    project = standalone.project()
    monkeypatch.setenv("OCTOTP_BASE_URL", project.base_url + "/")
    monkeypatch.setenv("OCTOTP_API_KEY", project.api_key)
    monkeypatch.setenv("OCTOTP_PROJECT_ID", project.id)
    with OctotpClient() as client:
        assert client.base_url == project.base_url
        assert project.api_key not in repr(client)
        token = client.create_token(email=recipient)
        assert token.code is not None
        assert client.validate_token(email=recipient, code=token.code).is_valid


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"api_key": "k"}, "OCTOTP_BASE_URL"),
        ({"base_url": "http://127.0.0.1:1"}, "OCTOTP_API_KEY"),
        ({"api_key": "k", "base_url": "127.0.0.1:8000"}, "http:// or https://"),
        ({"api_key": "k", "base_url": "http://h", "timeout": 0}, "timeout"),
        ({"api_key": "k", "base_url": "http://h", "max_retries": -1}, "max_retries"),
    ],
)
def test_missing_or_bad_configuration_fails_at_construction(
    kwargs: dict[str, Any], message: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("OCTOTP_BASE_URL", "OCTOTP_API_KEY", "OCTOTP_PROJECT_ID"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ConfigurationError, match=message):
        OctotpClient(**kwargs)
    with pytest.raises(ValueError, match=message):  # also a ValueError, for code that expects one
        AsyncOctotpClient(**kwargs)


def test_one_pooled_connection_is_reused(scripted: Any, project: Any, make_client: Any, recipient: str) -> None:
    client = make_client(project, base_url=scripted.base_url)
    token = client.create_token(email=recipient)
    assert token.code is not None
    client.validate_token(email=recipient, code=token.code)
    client.health()
    assert len({r.client_port for r in scripted.received}) == 1


def test_own_session_is_used_and_left_open(project: Any, recipient: str) -> None:
    session = requests.Session()
    session.headers["X-Custom"] = "mine"
    with OctotpClient(project.api_key, project.base_url, project_id=project.id, session=session) as client:
        assert client.create_token(email=recipient).code is not None
    assert session.headers["X-Custom"] == "mine"
    assert "X-Api-Key" not in session.headers  # the client never changes a session it was given
    session.get(project.base_url + "/healthz", timeout=5).raise_for_status()  # still open
    session.close()


def _validation(is_valid: bool, status: str) -> Any:
    from octotp_client import Validation

    return Validation(is_valid=is_valid, status=status)
