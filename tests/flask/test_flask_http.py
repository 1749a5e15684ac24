"""The blueprint only translates: what the core handler answers is what the client gets."""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import EnvironBuilder, run_wsgi_app

from octotp_core import http


def test_round_trip_over_http(client: FlaskClient, new_project: Callable[..., tuple[str, str]]) -> None:
    project_id, key = new_project()
    created = client.post(
        "/api/tokens",
        json={"projectId": project_id, "recipientEmail": "User@Example.com", "recipientPhone": None},
        headers={"X-Api-Key": key},
    )
    assert created.status_code == 201, created.data
    assert created.headers["RateLimit-Limit"] == "60"
    assert created.headers["X-Request-Id"]
    code = created.get_json()["code"]
    body = {"projectId": project_id, "recipientEmail": "user@example.com", "code": code}
    validate = {"json": body, "headers": {"X-Api-Key": key}}
    assert client.post("/api/tokens/validate", **validate).get_json() == {"isValid": True, "status": "approved"}
    assert client.post("/api/tokens/validate", **validate).get_json() == {"isValid": False, "status": "not_found"}


@pytest.mark.parametrize(
    ("method", "path", "headers", "body"),
    [
        ("GET", "/openapi.json", {}, b""),
        ("GET", "/healthz", {}, b""),
        ("HEAD", "/healthz", {}, b""),
        ("GET", "/api/tokens", {}, b""),
        ("OPTIONS", "/api/tokens/validate", {}, b""),
        ("GET", "/api/tokens/", {}, b""),
        ("DELETE", "/api/tokens/a%0A%20", {}, b""),
        ("DELETE", "/api/tokens//x", {}, b""),
        ("GET", "/api/tokens/%00/b", {}, b""),
        ("POST", "/api/tokens", {"X-Api-Key": "octotp_nope"}, b"{}"),
        ("POST", "/api/tokens/validate", {"Content-Type": "text/plain"}, b"{}"),
        ("POST", "/api/tokens/validate", {"Content-Type": "application/json"}, b"{not json"),
        ("POST", "/api/tokens/validate", {"Content-Type": "application/json"}, b'{"code": 1}'),
        ("DELETE", "/api/tokens/123", {}, b""),
        ("POST", "/api/tokens?api_key=octotp_x", {}, b""),
    ],
)
def test_answers_exactly_what_core_answers(
    app: Flask, method: str, path: str, headers: dict[str, str], body: bytes
) -> None:
    """Status, headers and body byte for byte (the request id pinned so both sides agree)."""
    headers = {**headers, "X-Request-Id": "pinned-id"}
    flask_response = app.test_client().open(path, method=method, headers=headers, data=body)
    route, _, query = path.partition("?")
    route = urllib.parse.unquote(route)
    expected = http.ApiHandler(app.extensions["octotp"]).handle(
        http.Request(method, route, headers, body, query_string=query)
    )
    assert flask_response.status_code == expected.status
    got_headers = [(k, v) for k, v in flask_response.headers.items() if k != "Content-Length"]
    assert got_headers == expected.headers
    assert flask_response.data == (b"" if method == "HEAD" else expected.body)
    if method != "HEAD":
        assert flask_response.headers["Content-Length"] == str(len(expected.body))


def test_huge_body_is_refused_without_reading_it_all(app: Flask) -> None:
    app.config["MAX_CONTENT_LENGTH"] = 1024  # the host's own limit does not replace octotp's problem body
    consumed = []

    class Flood:
        """A 50 MB body that counts how much of it is read."""

        def __init__(self) -> None:
            self.left = 50 * 1024 * 1024

        def read(self, size: int = -1) -> bytes:
            size = self.left if size < 0 else min(size, self.left)
            self.left -= size
            consumed.append(size)
            return b"x" * size

    size = str(50 * 1024 * 1024)
    environ = EnvironBuilder(
        "/api/tokens/validate", method="POST", headers={"Content-Type": "application/json"}
    ).get_environ()
    environ.update({"wsgi.input": Flood(), "CONTENT_LENGTH": size})
    body, status, _headers = run_wsgi_app(app, environ, buffered=True)
    assert status.startswith("413")
    assert json.loads(b"".join(body))["code"] == "payload_too_large"
    assert sum(consumed) <= http.MAX_BODY_BYTES + 1


def test_prefix_owns_everything_below_it(make_app: Callable[..., Flask], database_url: str) -> None:
    app = make_app(OCTOTP_DATABASE_URL=database_url, OCTOTP_URL_PREFIX="/octotp")
    client = app.test_client()
    assert client.get("/octotp/healthz").get_json() == {"status": "ok"}
    for path in ("/octotp/nothing/here", "/octotp/", "/octotp", "/octotp//x", "/octotp/%0A"):
        response = client.get(path)
        assert response.status_code == 404
        assert response.headers["Content-Type"] == "application/problem+json"
    # Outside the prefix the host's app is untouched.
    assert client.get("/").get_json() == {"host": "yes"}
    assert client.get("/healthz").status_code == 404
    assert client.get("/elsewhere").headers["Content-Type"].startswith("text/html")


def test_at_the_root_octotp_claims_only_its_paths(client: FlaskClient) -> None:
    assert client.get("/").get_json() == {"host": "yes"}
    assert client.get("/elsewhere").headers["Content-Type"].startswith("text/html")  # the host's 404
    response = client.get("/api/tokens/a/b")
    assert (response.status_code, response.headers["Content-Type"]) == (404, "application/problem+json")


def test_under_a_wsgi_mount_point(app: Flask, new_project: Callable[..., tuple[str, str]]) -> None:
    """SCRIPT_NAME (e.g. a reverse proxy sub-path) is not part of the path core sees."""
    project_id, key = new_project()
    response = app.test_client().post(
        "/api/tokens",
        base_url="http://localhost/mounted",
        data=json.dumps({"projectId": project_id, "recipientEmail": "a@example.com"}),
        headers={"X-Api-Key": key, "Content-Type": "application/json"},
    )
    assert response.status_code == 201, response.data


def test_client_address_and_headers_reach_core(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[http.Request] = []
    original = http.ApiHandler.handle

    def spy(self: http.ApiHandler, request: http.Request) -> http.Response:
        seen.append(request)
        return original(self, request)

    monkeypatch.setattr(http.ApiHandler, "handle", spy)
    app.test_client().get("/healthz?a=1&b=%20", headers={"X-Thing": "yes"}, environ_base={"REMOTE_ADDR": "10.1.2.3"})
    (request,) = seen
    assert (request.method, request.path, request.query_string) == ("GET", "/healthz", "a=1&b=%20")
    assert request.client == "10.1.2.3"
    assert request.header("x-thing") == "yes"
