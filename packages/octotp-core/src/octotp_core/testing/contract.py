"""The HTTP contract suite (DESIGN §4-5 over HTTP), written once, run against every adapter.

Subclass ``ContractSuite`` and provide a ``mounted`` fixture returning a ``MountedOctotp``. The
app's settings must define the plans in ``CONTRACT_PLANS`` (``contract_settings()`` gives the
keyword arguments), with the dashboard on (its login throttle is the per-address limit tested).

Every adapter runs every test. A few need a tool only some apps can give (``CAPABILITIES``): an
app without one declares it in ``MountedOctotp.lacks``, and those tests are skipped with the reason
``adapter lacks <name>`` (shown by ``pytest -ra``). Nothing else can skip: a missing tool that is
not declared is an error when the fixture is built, and ``lacks`` accepts only known names.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import pytest

from ..clock import FrozenClock
from ..core import Octotp
from ..errors import InvalidInput
from ..tokens import EventKind, TokenEvent
from .dashboard import hidden_field
from .http_clients import HttpClient, HttpResult

CONTRACT_PLANS: dict[str, dict[str, int]] = {
    "free": {"creates_per_minute": 60},
    "pro": {"creates_per_minute": 600},
    "tiny": {"creates_per_minute": 3},
}


def contract_settings() -> dict[str, Any]:
    """Settings overrides every app under the contract suite must use."""
    return {"plans": CONTRACT_PLANS}


@dataclass(frozen=True)
class ProjectKey:
    """A project made for one test, and its API key."""

    project_id: str
    api_key: str
    key_id: str


CAPABILITIES: dict[str, str] = {
    "clock": "the app runs in-process on a FrozenClock the suite can move (MountedOctotp.clock)",
    "listeners": "the suite can connect token-event listeners the app's own way (MountedOctotp.connect_listener)",
}
"""What an app under the suite may lack, and what providing it means. Only these can be skipped."""

Listener = Callable[[TokenEvent], None]
ConnectListener = Callable[[EventKind, Listener], Callable[[], None]]


@dataclass
class MountedOctotp:
    """An app with octotp mounted, as the suite sees it."""

    client: HttpClient
    new_project: Callable[[str | None], ProjectKey]
    """Create a project on the given plan (None: the default plan) in the app's database."""
    revoke_key: Callable[[str], None]
    """Revoke an API key by id."""
    clock: FrozenClock | None = None
    """The app's clock (capability ``clock``)."""
    extra: dict[str, Any] = field(default_factory=dict)
    lacks: frozenset[str] = frozenset()
    """Capabilities (``CAPABILITIES``) this app does not provide; their tests are skipped, by name."""
    connect_listener: ConnectListener | None = None
    """Connect ``listener`` to the event ``kind`` the way the adapter's users do (a Flask or Django
    signal receiver, a core ``TokenService`` listener); returns a function that disconnects it
    (capability ``listeners``). The listener gets the core ``TokenEvent``."""
    read_logs: Callable[[], str] | None = None
    """Everything the app has logged so far, for an app in another process; in-process apps leave
    it None and the suite reads the ``logging`` records itself."""

    configure_project: Callable[..., object] | None = None
    """Change a project's settings as the operator would: ``configure_project(project_id, **fields)``
    with the keywords of ``AccountService.configure_project`` (pass that method). Required by the
    tests of per-project settings; they fail, never skip, without it."""

    def __post_init__(self) -> None:
        unknown = set(self.lacks) - set(CAPABILITIES)
        if unknown:
            raise ValueError(f"unknown capabilities in lacks: {sorted(unknown)}; known: {sorted(CAPABILITIES)}")
        provided = {"clock": self.clock is not None, "listeners": self.connect_listener is not None}
        for name, given in provided.items():
            if not given and name not in self.lacks:
                raise ValueError(f"MountedOctotp provides no {name}: provide it, or declare lacks={{{name!r}}}")
            if given and name in self.lacks:
                raise ValueError(f"MountedOctotp provides {name} but declares that it lacks it")

    def configure(self, project_id: str, **fields: Any) -> None:
        """``configure_project``, or a failure that says the fixture must provide it."""
        if self.configure_project is None:
            pytest.fail("MountedOctotp.configure_project is not set: pass accounts.configure_project")
        self.configure_project(project_id, **fields)


def core_listeners(octotp: Octotp) -> ConnectListener:
    """``MountedOctotp.connect_listener`` for an app whose users listen on ``octotp.tokens.listeners``
    (FastAPI, or any adapter without signals of its own)."""

    def connect(kind: EventKind, listener: Listener) -> Callable[[], None]:
        def on_event(event: TokenEvent) -> None:
            if event.kind == kind:
                listener(event)

        octotp.tokens.listeners.append(on_event)
        return lambda: octotp.tokens.listeners.remove(on_event)

    return connect


def require(mounted: MountedOctotp, capability: str) -> None:
    """Skip the calling test, naming the capability, when the app declares it lacks it."""
    if capability not in CAPABILITIES:
        raise ValueError(f"unknown capability {capability!r}")
    if capability in mounted.lacks:
        pytest.skip(f"adapter lacks {capability}")


def _email() -> str:
    return f"user-{uuid.uuid4().hex[:10]}@example.com"


class _Calls:
    def __init__(self, mounted: MountedOctotp) -> None:
        self.m = mounted

    def post(
        self, path: str, data: Any, key: str | None = None, headers: Mapping[str, str] | None = None
    ) -> HttpResult:
        hdrs = {"Content-Type": "application/json", **(headers or {})}
        if key is not None:
            hdrs["X-Api-Key"] = key
        return self.m.client.request("POST", path, headers=hdrs, body=json.dumps(data).encode())

    def create(self, p: ProjectKey, **fields: Any) -> HttpResult:
        body = {"projectId": p.project_id, **fields}
        if "recipientEmail" not in fields and "recipientPhone" not in fields:
            body["recipientEmail"] = _email()
        return self.post("/api/tokens", body, p.api_key)

    def validate(self, p: ProjectKey, code: str, key: str | None = "same", **fields: Any) -> HttpResult:
        return self.post(
            "/api/tokens/validate",
            {"projectId": p.project_id, "code": code, **fields},
            p.api_key if key == "same" else key,
        )


def assert_problem(result: HttpResult, status: int, code: str | None = None) -> dict[str, Any]:
    """``result`` is an RFC 9457 problem with this status (and stable ``code``)."""
    assert result.status == status, (result.status, result.body[:500])
    assert result.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = result.json()
    for member in ("type", "title", "status", "detail", "code", "requestId"):
        assert member in body, (member, body)
    assert body["status"] == status
    assert body["requestId"] == result.headers["x-request-id"]
    if code is not None:
        assert body["code"] == code, body
    return body


def _octotp_logs(caplog: pytest.LogCaptureFixture) -> str:
    """What octotp's own loggers wrote (the host's HTTP client may log URLs: not octotp's to answer for)."""
    handler = caplog.handler
    return "\n".join(handler.format(r) for r in caplog.records if r.name.split(".")[0] == "octotp")


def _wrong(code: str) -> str:
    return str((int(code) + 1) % 10 ** len(code)).zfill(len(code))


class ContractSuite:
    """Every status, field error, header, problem body and token semantic of the API."""

    @pytest.fixture
    def mounted(self) -> MountedOctotp:
        raise NotImplementedError("provide a `mounted` fixture returning MountedOctotp")

    @pytest.fixture
    def api(self, mounted: MountedOctotp) -> _Calls:
        return _Calls(mounted)

    @pytest.fixture
    def project(self, mounted: MountedOctotp) -> ProjectKey:
        return mounted.new_project(None)

    # -- create ------------------------------------------------------------------------------
    def test_create_returns_id_code_expiry_and_headers(self, api: _Calls, project: ProjectKey) -> None:
        before = dt.datetime.now(dt.timezone.utc)
        r = api.create(project)
        assert r.status == 201, r.body
        assert r.headers["content-type"].startswith("application/json")
        body = r.json()
        uuid.UUID(body["id"])
        assert re.fullmatch(r"\d{6}", body["code"])
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", body["expiresAt"])
        expires = dt.datetime.strptime(body["expiresAt"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.timezone.utc)
        assert dt.timedelta(seconds=0) < expires - before <= dt.timedelta(seconds=301)
        assert r.headers["x-request-id"]
        assert r.headers["cache-control"] == "no-store"
        assert r.headers["ratelimit-limit"] == "60"
        assert int(r.headers["ratelimit-remaining"]) == 59
        assert 0 < int(r.headers["ratelimit-reset"]) <= 60

    def test_compat_example_create_and_validate(self, api: _Calls, project: ProjectKey) -> None:
        created = api.create(project, recipientEmail="user@example.com", recipientPhone=None, expiresInSeconds=300)
        assert created.status == 201
        code = created.json()["code"]
        wrong = api.validate(project, _wrong(code), recipientEmail="user@example.com", recipientPhone=None)
        assert wrong.status == 200
        assert wrong.json() == {"isValid": False, "status": "incorrect"}
        ok = api.validate(project, code, recipientEmail="user@example.com", recipientPhone=None)
        assert ok.json() == {"isValid": True, "status": "approved"}
        used = api.validate(project, code, recipientEmail="user@example.com", recipientPhone=None)
        assert used.json()["isValid"] is False

    def test_phone_recipient_normalised(self, api: _Calls, project: ProjectKey) -> None:
        created = api.create(project, recipientPhone="+44 20 7946 0958")
        assert created.status == 201, created.body
        code = created.json()["code"]
        assert created.json()["channel"] == "sms"
        ok = api.validate(project, code, recipientPhone="+442079460958")
        assert ok.json() == {"isValid": True, "status": "approved"}

    def test_email_matched_case_insensitively(self, api: _Calls, project: ProjectKey) -> None:
        code = api.create(project, recipientEmail="Mixed.Case@Example.COM").json()["code"]
        assert api.validate(project, code, recipientEmail="mixed.case@example.com").json()["status"] == "approved"

    def test_expires_in_seconds_within_bounds(self, api: _Calls, project: ProjectKey) -> None:
        r = api.create(project, expiresInSeconds=30)
        assert r.status == 201
        for bad in (29, 601, 0, -5):
            body = assert_problem(api.create(project, expiresInSeconds=bad), 400, "invalid_field")
            assert body["errors"][0]["field"] == "expiresInSeconds"
            assert "30" in body["errors"][0]["reason"]
            assert "600" in body["errors"][0]["reason"]

    @pytest.mark.parametrize("seconds", [999_999_999_999, 10**30, -(10**30)])
    def test_huge_expires_in_seconds_is_a_400_naming_the_bounds(
        self, api: _Calls, mounted: MountedOctotp, project: ProjectKey, seconds: int
    ) -> None:
        """A huge integer overflowed the expiry arithmetic (500) once an owner had raised expiry_max; the
        operator's ceiling (default 3600 s) now bounds what a project may set, and the answer is a 400."""
        with pytest.raises(InvalidInput, match="3600"):
            mounted.configure(project.project_id, expiry_max=10**12)
        mounted.configure(project.project_id, expiry_max=3600)
        body = assert_problem(api.create(project, expiresInSeconds=seconds), 400, "invalid_field")
        assert body["errors"][0]["field"] == "expiresInSeconds"
        assert re.search(r"\b30\b", body["errors"][0]["reason"]), body
        assert re.search(r"\b3600\b", body["errors"][0]["reason"]), body
        assert api.create(project, expiresInSeconds=3600).status == 201

    @pytest.mark.parametrize(
        ("fields", "field_name"),
        [
            ({"recipientEmail": "not-an-email"}, "recipientEmail"),
            ({"recipientPhone": "12"}, "recipientPhone"),
            ({"recipientEmail": "a@example.com", "recipientPhone": "+442079460958"}, "recipientEmail"),
            ({"recipientEmail": None, "recipientPhone": None}, "recipientEmail"),
            ({"recipientEmail": 42}, "recipientEmail"),
            ({"recipientEmail": "a@example.com", "expiresInSeconds": "300"}, "expiresInSeconds"),
            ({"recipientEmail": "a@example.com", "expiresInSeconds": 300.5}, "expiresInSeconds"),
            ({"recipientEmail": "a@example.com", "send": "yes"}, "send"),
            ({"recipientEmail": "a@example.com", "channel": "pigeon"}, "channel"),
            ({"recipientEmail": "a@example.com", "purpose": "has spaces"}, "purpose"),
            ({"recipientPhone": "+442079460958", "channel": "email"}, "channel"),
        ],
    )
    def test_create_field_errors_name_the_field(
        self, api: _Calls, project: ProjectKey, fields: dict[str, Any], field_name: str
    ) -> None:
        r = api.post("/api/tokens", {"projectId": project.project_id, **fields}, project.api_key)
        body = assert_problem(r, 400, "invalid_field")
        assert field_name in [e["field"] for e in body["errors"]], body
        assert all(e["reason"] for e in body["errors"])

    def test_missing_and_malformed_project_id(self, api: _Calls, project: ProjectKey) -> None:
        body = assert_problem(api.post("/api/tokens", {"recipientEmail": _email()}, project.api_key), 400)
        assert body["errors"] == [{"field": "projectId", "reason": "is required"}]
        body = assert_problem(
            api.post("/api/tokens", {"projectId": "nope", "recipientEmail": _email()}, project.api_key), 400
        )
        assert body["errors"][0]["field"] == "projectId"

    def test_malformed_json_and_non_object(self, mounted: MountedOctotp, project: ProjectKey) -> None:
        headers = {"Content-Type": "application/json", "X-Api-Key": project.api_key}
        for raw in (b"{not json", b"", b"[1, 2]", b'"text"', b"\xff\xfe"):
            r = mounted.client.request("POST", "/api/tokens", headers=headers, body=raw)
            assert_problem(r, 400, "malformed_json")

    def test_unsupported_media_type(self, mounted: MountedOctotp, project: ProjectKey) -> None:
        body = json.dumps({"projectId": project.project_id, "recipientEmail": _email()}).encode()
        for ctype in ("text/plain", "application/x-www-form-urlencoded"):
            r = mounted.client.request(
                "POST", "/api/tokens", headers={"Content-Type": ctype, "X-Api-Key": project.api_key}, body=body
            )
            assert_problem(r, 415, "unsupported_media_type")

    def test_body_over_64_kib(self, mounted: MountedOctotp, project: ProjectKey) -> None:
        big = json.dumps({"projectId": project.project_id, "recipientEmail": _email(), "pad": "x" * 70_000}).encode()
        r = mounted.client.request(
            "POST", "/api/tokens", headers={"Content-Type": "application/json", "X-Api-Key": project.api_key}, body=big
        )
        assert_problem(r, 413, "payload_too_large")

    # -- authentication ----------------------------------------------------------------------
    def test_missing_invalid_unknown_and_revoked_keys(
        self, api: _Calls, mounted: MountedOctotp, project: ProjectKey
    ) -> None:
        payload = {"projectId": project.project_id, "recipientEmail": _email()}
        assert_problem(api.post("/api/tokens", payload), 401, "invalid_api_key")
        assert_problem(api.post("/api/tokens", payload, "garbage"), 401, "invalid_api_key")
        other = mounted.new_project(None)
        mounted.revoke_key(other.key_id)
        assert_problem(api.post("/api/tokens", {**payload, "projectId": other.project_id}, other.api_key), 401)
        assert api.post("/api/tokens", payload, project.api_key).status == 201

    def test_key_for_another_project_is_forbidden(
        self, api: _Calls, mounted: MountedOctotp, project: ProjectKey
    ) -> None:
        other = mounted.new_project(None)
        r = api.post("/api/tokens", {"projectId": other.project_id, "recipientEmail": _email()}, project.api_key)
        assert_problem(r, 403, "project_mismatch")
        v = api.post(
            "/api/tokens/validate",
            {"projectId": other.project_id, "recipientEmail": _email(), "code": "123456"},
            project.api_key,
        )
        assert_problem(v, 403, "project_mismatch")

    def test_key_in_query_string_is_refused_and_not_echoed(
        self, mounted: MountedOctotp, project: ProjectKey, caplog: pytest.LogCaptureFixture
    ) -> None:
        """A key in the URL is refused even beside a valid ``X-Api-Key`` (so it is the URL, not a
        missing header, that is refused), and it reaches neither the answer nor the logs."""
        caplog.set_level(logging.DEBUG, logger="octotp")
        headers = {"Content-Type": "application/json", "X-Api-Key": project.api_key}
        create = json.dumps({"projectId": project.project_id, "recipientEmail": _email()}).encode()
        validate = json.dumps({"projectId": project.project_id, "recipientEmail": _email(), "code": "123456"}).encode()
        assert mounted.client.request("POST", "/api/tokens", headers=headers, body=create).status == 201
        key = project.api_key
        queries = [("/api/tokens", f"api_key={key}", create), ("/api/tokens", f"x={key}", create)]
        queries.append(("/api/tokens/validate", f"key={key}", validate))
        refused = [mounted.client.request("POST", f"{p}?{q}", headers=headers, body=b) for p, q, b in queries]
        logs = mounted.read_logs() if mounted.read_logs is not None else _octotp_logs(caplog)
        for r in refused:
            assert_problem(r, 401, "invalid_api_key")
            assert project.api_key.encode() not in r.body
            assert r.headers["x-request-id"] in logs  # the request was logged, and its log line is clean
        assert project.api_key not in logs

    # -- validate ----------------------------------------------------------------------------
    def test_validate_statuses(self, api: _Calls, project: ProjectKey) -> None:
        email = _email()
        assert api.validate(project, "123456", recipientEmail=email).json() == {
            "isValid": False,
            "status": "not_found",
        }
        code = api.create(project, recipientEmail=email).json()["code"]
        for _ in range(5):
            assert api.validate(project, _wrong(code), recipientEmail=email).json()["status"] == "incorrect"
        assert api.validate(project, code, recipientEmail=email).json() == {"isValid": False, "status": "locked"}

    # -- validate with a key (validateRequiresKey) -------------------------------------------
    def test_validate_with_the_projects_key(self, api: _Calls, project: ProjectKey) -> None:
        email = _email()
        code = api.create(project, recipientEmail=email).json()["code"]
        r = api.validate(project, code, key=project.api_key, recipientEmail=email)
        assert (r.status, r.json()) == (200, {"isValid": True, "status": "approved"})

    def test_validate_with_another_projects_key_is_forbidden(
        self, api: _Calls, mounted: MountedOctotp, project: ProjectKey
    ) -> None:
        other = mounted.new_project(None)
        email = _email()
        code = api.create(project, recipientEmail=email).json()["code"]
        assert_problem(api.validate(project, code, key=other.api_key, recipientEmail=email), 403, "project_mismatch")
        # The refusal spent nothing: the right key still approves the same code.
        assert api.validate(project, code, recipientEmail=email).json()["status"] == "approved"

    def test_validate_with_a_bad_or_revoked_key_is_unauthorised(
        self, api: _Calls, mounted: MountedOctotp, project: ProjectKey
    ) -> None:
        email = _email()
        code = api.create(project, recipientEmail=email).json()["code"]
        assert_problem(api.validate(project, code, key="garbage", recipientEmail=email), 401, "invalid_api_key")
        spare = mounted.new_project(None)
        mounted.revoke_key(spare.key_id)
        revoked = api.validate(spare, "123456", recipientEmail=email)
        assert_problem(revoked, 401, "invalid_api_key")
        assert api.validate(project, code, recipientEmail=email).json()["status"] == "approved"

    def test_new_projects_refuse_validate_without_a_key(self, api: _Calls, project: ProjectKey) -> None:
        email = _email()
        code = api.create(project, recipientEmail=email).json()["code"]
        for _ in range(6):  # more than the attempt cap: none of these may count
            body = assert_problem(api.validate(project, code, key=None, recipientEmail=email), 401, "invalid_api_key")
            assert "requires an API key" in body["detail"]
            assert "X-Api-Key" in body["detail"]
        assert api.validate(project, code, recipientEmail=email).json()["status"] == "approved"

    def test_project_with_validate_requires_key_off_validates_without_a_key(
        self, api: _Calls, mounted: MountedOctotp, project: ProjectKey
    ) -> None:
        """Projects from before the setting (migrated with it off) keep the Octotp behaviour."""
        mounted.configure(project.project_id, validate_requires_key=False)
        email = _email()
        code = api.create(project, recipientEmail=email).json()["code"]
        assert_problem(api.validate(project, code, key="garbage", recipientEmail=email), 401)  # a sent key counts
        r = api.validate(project, code, key=None, recipientEmail=email)
        assert (r.status, r.json()) == (200, {"isValid": True, "status": "approved"})
        mounted.configure(project.project_id, validate_requires_key=True)
        assert_problem(api.validate(project, code, key=None, recipientEmail=email), 401, "invalid_api_key")

    def test_resend_supersedes(self, api: _Calls, project: ProjectKey) -> None:
        email = _email()
        first = api.create(project, recipientEmail=email).json()["code"]
        second = api.create(project, recipientEmail=email).json()["code"]
        if first != second:
            assert api.validate(project, first, recipientEmail=email).json()["status"] == "incorrect"
        assert api.validate(project, second, recipientEmail=email).json()["status"] == "approved"

    def test_purpose_binds_the_code(self, api: _Calls, project: ProjectKey) -> None:
        email = _email()
        login = api.create(project, recipientEmail=email, purpose="login").json()["code"]
        reset = api.create(project, recipientEmail=email, purpose="reset").json()["code"]
        assert api.validate(project, login, recipientEmail=email).json()["status"] == "not_found"
        assert api.validate(project, login, recipientEmail=email, purpose="login").json()["status"] == "approved"
        assert api.validate(project, reset, recipientEmail=email, purpose="reset").json()["status"] == "approved"

    @pytest.mark.parametrize(
        ("fields", "field_name"),
        [
            ({"code": 123456}, "code"),
            ({"code": "12ab56"}, "code"),
            ({"code": "12"}, "code"),
            ({}, "code"),
        ],
    )
    def test_validate_field_errors(
        self, api: _Calls, project: ProjectKey, fields: dict[str, Any], field_name: str
    ) -> None:
        r = api.post(
            "/api/tokens/validate",
            {"projectId": project.project_id, "recipientEmail": _email(), **fields},
            project.api_key,
        )
        body = assert_problem(r, 400, "invalid_field")
        assert field_name in [e["field"] for e in body["errors"]]

    def test_validate_unknown_project(self, api: _Calls) -> None:
        r = api.post(
            "/api/tokens/validate", {"projectId": str(uuid.uuid4()), "recipientEmail": _email(), "code": "123456"}
        )
        assert_problem(r, 404, "not_found")

    # -- cancel ------------------------------------------------------------------------------
    def test_cancel(self, api: _Calls, mounted: MountedOctotp, project: ProjectKey) -> None:
        email = _email()
        created = api.create(project, recipientEmail=email).json()
        headers = {"X-Api-Key": project.api_key}
        r = mounted.client.request("DELETE", f"/api/tokens/{created['id']}", headers=headers)
        assert r.status == 204
        assert r.body == b""
        assert r.headers["x-request-id"]
        assert api.validate(project, created["code"], recipientEmail=email).json()["status"] == "not_found"
        again = mounted.client.request("DELETE", f"/api/tokens/{created['id']}", headers=headers)
        assert again.status == 204  # DELETE is idempotent: safe for clients to retry
        other_email = _email()
        approved = api.create(project, recipientEmail=other_email).json()
        assert api.validate(project, approved["code"], recipientEmail=other_email).json()["status"] == "approved"
        gone = mounted.client.request("DELETE", f"/api/tokens/{approved['id']}", headers=headers)
        assert_problem(gone, 404, "not_found")  # a used code cannot be cancelled
        assert_problem(mounted.client.request("DELETE", "/api/tokens/not-a-uuid", headers=headers), 404)
        assert_problem(mounted.client.request("DELETE", f"/api/tokens/{created['id']}"), 401)

    def test_cancel_in_another_project_is_not_found(
        self, api: _Calls, mounted: MountedOctotp, project: ProjectKey
    ) -> None:
        created = api.create(project).json()
        other = mounted.new_project(None)
        r = mounted.client.request("DELETE", f"/api/tokens/{created['id']}", headers={"X-Api-Key": other.api_key})
        assert_problem(r, 404)

    # -- limits ------------------------------------------------------------------------------
    def test_plan_limit_429_with_retry_after(self, api: _Calls, mounted: MountedOctotp) -> None:
        tiny = mounted.new_project("tiny")
        statuses = [api.create(tiny).status for _ in range(3)]
        assert statuses == [201, 201, 201]
        r = api.create(tiny)
        body = assert_problem(r, 429, "rate_limited")
        assert 1 <= int(r.headers["retry-after"]) <= 60
        assert r.headers["ratelimit-limit"] == "3"
        assert r.headers["ratelimit-remaining"] == "0"
        assert body["retryAfter"] == int(r.headers["retry-after"])
        other = mounted.new_project("tiny")
        assert api.create(other).status == 201  # per project, not global

    def test_free_plan_allows_60_per_minute(self, api: _Calls, project: ProjectKey) -> None:
        results = [api.create(project).status for _ in range(61)]
        assert results[:60] == [201] * 60
        assert results[60] == 429

    def test_recipient_send_budget(self, api: _Calls, project: ProjectKey) -> None:
        email = _email()
        statuses = [api.create(project, recipientEmail=email).status for _ in range(6)]
        assert statuses == [201] * 5 + [429]

    # -- transport ---------------------------------------------------------------------------
    def test_unknown_path_and_wrong_method(self, mounted: MountedOctotp) -> None:
        assert_problem(mounted.client.request("GET", "/api/nothing-here"), 404, "not_found")
        r = mounted.client.request("GET", "/api/tokens")
        assert_problem(r, 405, "method_not_allowed")
        assert r.headers["allow"] == "POST"
        r = mounted.client.request("PUT", "/api/tokens/validate")
        assert_problem(r, 405)

    def test_odd_token_paths_get_problem_404(self, mounted: MountedOctotp, project: ProjectKey) -> None:
        for path in ("/api/tokens/%0A", "/api/tokens/%20", "/api/tokens/..%2F", "/api/tokens/a%00b"):
            r = mounted.client.request("DELETE", path, headers={"X-Api-Key": project.api_key})
            assert_problem(r, 404)

    def test_request_id_echoed_or_generated(self, mounted: MountedOctotp) -> None:
        r = mounted.client.request("GET", "/healthz", headers={"X-Request-Id": "abc-123"})
        assert r.headers["x-request-id"] == "abc-123"
        r = mounted.client.request("GET", "/healthz", headers={"X-Request-Id": "bad id with spaces"})
        assert re.fullmatch(r"[0-9a-f]{32}", r.headers["x-request-id"])

    def test_health_ready_openapi(self, mounted: MountedOctotp) -> None:
        assert mounted.client.request("GET", "/healthz").json() == {"status": "ok"}
        assert mounted.client.request("GET", "/readyz").json() == {"status": "ready"}
        doc = mounted.client.request("GET", "/openapi.json")
        assert doc.status == 200
        spec = doc.json()
        assert spec["openapi"] == "3.1.0"
        assert {"/api/tokens", "/api/tokens/validate", "/api/tokens/{tokenId}", "/healthz", "/readyz"} <= set(
            spec["paths"]
        )
        assert spec["components"]["securitySchemes"]["ApiKey"]["name"] == "X-Api-Key"

    # -- time (capability: clock) ------------------------------------------------------------
    def test_code_expires(self, mounted: MountedOctotp) -> None:
        require(mounted, "clock")
        assert mounted.clock is not None
        api = _Calls(mounted)
        project = mounted.new_project(None)
        email = _email()
        code = api.create(project, recipientEmail=email, expiresInSeconds=60).json()["code"]
        mounted.clock.advance(61)
        assert api.validate(project, code, recipientEmail=email).json() == {"isValid": False, "status": "expired"}

    def test_default_expiry_is_300_seconds(self, mounted: MountedOctotp) -> None:
        require(mounted, "clock")
        assert mounted.clock is not None
        api = _Calls(mounted)
        project = mounted.new_project(None)
        email = _email()
        body = api.create(project, recipientEmail=email).json()
        expires = dt.datetime.strptime(body["expiresAt"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.timezone.utc)
        assert abs((expires - mounted.clock.now()).total_seconds() - 300) < 1.5
        mounted.clock.advance(299)
        assert api.validate(project, body["code"], recipientEmail=email).json()["status"] == "approved"

    # -- Idempotency-Key on create: never delivers twice, always leaves a working code --------
    def test_replay_without_delivery_returns_a_fresh_working_code(self, mounted: MountedOctotp) -> None:
        api = _Calls(mounted)
        project = mounted.new_project(None)
        email = _email()
        body = {"projectId": project.project_id, "recipientEmail": email}
        key = {"Idempotency-Key": uuid.uuid4().hex}
        first = api.post("/api/tokens", body, project.api_key, key)
        second = api.post("/api/tokens", body, project.api_key, key)
        assert first.status == second.status == 201
        assert "idempotent-replayed" not in first.headers
        assert second.headers["idempotent-replayed"] == "true"
        code = second.json()["code"]
        assert api.validate(project, code, recipientEmail=email).json()["status"] == "approved"

    def test_same_key_different_body_conflicts(self, mounted: MountedOctotp) -> None:
        api = _Calls(mounted)
        project = mounted.new_project(None)
        key = {"Idempotency-Key": uuid.uuid4().hex}
        assert (
            api.post(
                "/api/tokens", {"projectId": project.project_id, "recipientEmail": _email()}, project.api_key, key
            ).status
            == 201
        )
        r = api.post("/api/tokens", {"projectId": project.project_id, "recipientEmail": _email()}, project.api_key, key)
        assert_problem(r, 409, "idempotency_key_reused")

    def test_failed_request_can_be_retried_with_the_same_key(self, mounted: MountedOctotp) -> None:
        api = _Calls(mounted)
        project = mounted.new_project(None)
        key = {"Idempotency-Key": uuid.uuid4().hex}
        bad = {"projectId": project.project_id, "recipientEmail": _email(), "expiresInSeconds": 5}
        assert_problem(api.post("/api/tokens", bad, project.api_key, key), 400)
        good = {**bad, "expiresInSeconds": 60}
        assert api.post("/api/tokens", good, project.api_key, key).status == 201

    def test_invalid_idempotency_key(self, mounted: MountedOctotp) -> None:
        api = _Calls(mounted)
        project = mounted.new_project(None)
        body = {"projectId": project.project_id, "recipientEmail": _email()}
        r = api.post("/api/tokens", body, project.api_key, {"Idempotency-Key": "x" * 300})
        assert assert_problem(r, 400)["errors"][0]["field"] == "Idempotency-Key"

    # -- client addresses --------------------------------------------------------------------
    def test_forged_x_forwarded_for_is_ignored_for_per_address_limits(self, mounted: MountedOctotp) -> None:
        """The suite's requests come from a peer no app trusts, so ``X-Forwarded-For`` must not pick the
        address that per-address limits count (the dashboard's login throttle here): a fresh forged
        address on every attempt still runs out of the peer's one budget."""
        form = DashboardLoginForm.fetch(mounted.client)
        statuses: list[int] = []
        for attempt in range(MAX_ATTEMPTS_TO_THROTTLE):
            r = form.attempt(mounted.client, forwarded_for=f"203.0.113.{attempt % 250 + 1}, 198.51.100.{attempt % 250}")
            statuses.append(r.status)
            if r.status != 200:
                break
        assert statuses[-1] == 429, f"no 429 after {len(statuses)} attempts, each with a fresh forged address"
        assert set(statuses[:-1]) <= {200}, statuses
        assert form.attempt(mounted.client).status == 429  # it is the peer's own address that is spent

    # -- listeners (capability: listeners) ---------------------------------------------------
    def test_a_raising_listener_cannot_change_a_stored_outcome(self, mounted: MountedOctotp, api: _Calls) -> None:
        """A listener that raises is the listener's failure: the create stays a 201 with a working code,
        the validations keep their answers, and the other listeners are still told."""
        require(mounted, "listeners")
        assert mounted.connect_listener is not None
        project = mounted.new_project(None)
        told: list[tuple[str, str | None]] = []

        def fail(event: TokenEvent) -> None:
            raise RuntimeError("a listener's own bug")

        def record(event: TokenEvent) -> None:
            told.append((event.kind, event.status))

        kinds: tuple[EventKind, ...] = ("created", "approved", "failed", "locked")
        disconnects = [mounted.connect_listener(kind, fail) for kind in kinds]
        disconnects += [mounted.connect_listener(kind, record) for kind in kinds]
        try:
            email = _email()
            created = api.create(project, recipientEmail=email)
            assert created.status == 201, created.body
            code = created.json()["code"]
            assert api.validate(project, _wrong(code), recipientEmail=email).json()["status"] == "incorrect"
            assert api.validate(project, code, recipientEmail=email).json() == {"isValid": True, "status": "approved"}
            # Stored, so it stands: the code was used once and for all.
            assert api.validate(project, code, recipientEmail=email).json()["isValid"] is False
        finally:
            for disconnect in disconnects:
                disconnect()
        assert told[:3] == [("created", None), ("failed", "incorrect"), ("approved", "approved")], told
        assert len(told) == 4


MAX_ATTEMPTS_TO_THROTTLE = 200
"""Login attempts the per-address test makes at most before it expects a 429 (the default limit is 20)."""


@dataclass(frozen=True)
class DashboardLoginForm:
    """The dashboard login form's pre-session CSRF pair, for login attempts over any ``HttpClient``."""

    cookie: str
    token: str

    @classmethod
    def fetch(cls, client: HttpClient, path: str = "/dashboard/login") -> DashboardLoginForm:
        """GET the login page (``path`` relative to the client's base) and keep its cookie and token."""
        page = client.request("GET", path)
        assert page.status == 200, (page.status, page.body[:300])
        match = re.search(r"octotp_login_csrf=([^;,\s]+)", page.headers.get("set-cookie", ""))
        assert match is not None, "the login page set no octotp_login_csrf cookie"
        return cls(match.group(1), hidden_field(page.body.decode(), "csrf_token"))

    def attempt(
        self, client: HttpClient, *, forwarded_for: str | None = None, path: str = "/dashboard/login"
    ) -> HttpResult:
        """POST a wrong password for a fresh email (so only the per-address limit can refuse it)."""
        headers = {"Content-Type": "application/x-www-form-urlencoded", "Cookie": f"octotp_login_csrf={self.cookie}"}
        if forwarded_for is not None:
            headers["X-Forwarded-For"] = forwarded_for
        body = urlencode({"csrf_token": self.token, "email": _email(), "password": "not the password"}).encode()
        return client.request("POST", path, headers=headers, body=body)


def assert_trusted_proxy_names_the_client(proxy: HttpClient, limit: int) -> None:
    """For an app whose ``trusted_proxies`` include the peer ``proxy`` connects from, and whose
    per-address login limit is ``limit`` a minute: ``X-Forwarded-For`` names the client that the
    limit counts (the right-most hop; the left-most is whatever the client forged)."""
    form = DashboardLoginForm.fetch(proxy)
    one = [form.attempt(proxy, forwarded_for=f"6.6.6.{i}, 198.51.100.1").status for i in range(limit + 1)]
    assert one == [200] * limit + [429], one
    assert form.attempt(proxy, forwarded_for="198.51.100.2").status == 200  # another client, its own budget
    assert form.attempt(proxy).status == 200  # the proxy's own address was never spent
