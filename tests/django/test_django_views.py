"""The API views only translate: same bytes as core's handler, under WSGI and ASGI, with ATOMIC_REQUESTS."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from asgiref.sync import async_to_sync
from django.db import connections
from django.test import AsyncClient, Client, RequestFactory
from django.urls import reverse

from octotp_core import Octotp
from octotp_core.http import Request
from octotp_django import views
from octotp_django.api import get_api_handler

pytestmark = pytest.mark.django_db(databases="__all__")


@pytest.fixture
def project(django_octotp: Octotp) -> tuple[str, str]:
    created = django_octotp.accounts.create_project("views")
    return created.project.id, created.api_key.secret


def _create_body(project_id: str, email: str = "user@example.com") -> bytes:
    return json.dumps({"projectId": project_id, "recipientEmail": email}).encode()


def test_urls_are_namespaced_and_csrf_exempt(project: tuple[str, str]) -> None:
    assert reverse("octotp:api", kwargs={"path": "api/tokens"}) == "/api/tokens"
    assert reverse("prefixed:api", kwargs={"path": "healthz"}) == "/octotp/healthz"
    client = Client(enforce_csrf_checks=True)
    project_id, key = project
    response = client.post("/api/tokens", _create_body(project_id), content_type="application/json", HTTP_X_API_KEY=key)
    assert response.status_code == 201


def test_response_is_byte_for_byte_core_s(project: tuple[str, str]) -> None:
    direct = get_api_handler().handle(Request("GET", "/openapi.json", {"X-Request-Id": "same"}))
    response = views.api(RequestFactory().get("/openapi.json", headers={"X-Request-Id": "same"}), "openapi.json")
    assert response.status_code == direct.status
    assert response.content == direct.body
    assert sorted(response.items()) == sorted(direct.headers)
    # through the whole stack, the host's middleware may only add headers
    full = Client().get("/openapi.json", headers={"X-Request-Id": "same"})
    assert full.content == direct.body
    assert set(direct.headers) <= set(full.items())

    no_content = Client().delete("/api/tokens/00000000-0000-0000-0000-000000000000", headers={"X-Api-Key": "x"})
    assert no_content.status_code == 401
    assert no_content["Content-Type"] == "application/problem+json"


def test_under_asgi(project: tuple[str, str]) -> None:
    project_id, key = project
    client = AsyncClient()
    created = async_to_sync(client.post)(
        "/octotp/api/tokens", _create_body(project_id), content_type="application/json", headers={"X-Api-Key": key}
    )
    assert created.status_code == 201, created.content
    code = created.json()["code"]
    validated = async_to_sync(client.post)(
        "/octotp/api/tokens/validate",
        json.dumps({"projectId": project_id, "recipientEmail": "user@example.com", "code": code}).encode(),
        content_type="application/json",
        headers={"X-Api-Key": key},
    )
    assert validated.json() == {"isValid": True, "status": "approved"}


@pytest.fixture
def atomic_requests(octotp_db: str) -> Iterator[None]:
    """ATOMIC_REQUESTS on for every database while the test runs."""
    saved = {alias: connections[alias].settings_dict["ATOMIC_REQUESTS"] for alias in connections}
    for alias in connections:
        connections[alias].settings_dict["ATOMIC_REQUESTS"] = True
    yield
    for alias, value in saved.items():
        connections[alias].settings_dict["ATOMIC_REQUESTS"] = value


@pytest.mark.django_db(databases="__all__", transaction=True)
def test_atomic_requests_do_not_wrap_the_api(atomic_requests: None, django_octotp: Octotp, octotp_db: str) -> None:
    # The API view commits each step itself (a counted attempt survives whatever happens next).
    assert getattr(views.api, "_non_atomic_requests", set()) >= set(connections)
    created = django_octotp.accounts.create_project("atomic")
    project_id, key = created.project.id, created.api_key.secret
    client = Client()
    response = client.post(
        "/api/tokens", _create_body(project_id), content_type="application/json", headers={"X-Api-Key": key}
    )
    code = response.json()["code"]
    wrong = "0" * 6 if code != "0" * 6 else "1" * 6
    body = {"projectId": project_id, "recipientEmail": "user@example.com", "code": wrong}
    keyed = {"content_type": "application/json", "headers": {"X-Api-Key": key}}
    response = client.post("/api/tokens/validate", json.dumps(body).encode(), **keyed)
    assert response.json()["status"] == "incorrect"
    [token] = django_octotp.store.list_tokens(project_id)
    assert token.attempts == 1
    body["code"] = code
    response = client.post("/api/tokens/validate", json.dumps(body).encode(), **keyed)
    assert response.json() == {"isValid": True, "status": "approved"}


def test_request_headers_are_djangos() -> None:
    """The neutral request carries exactly ``request.headers`` (names as Django spells them)."""
    request = RequestFactory().post(
        "/api/tokens?x=1",
        b"{}",
        content_type="application/json",
        headers={"X-Api-Key": "k", "X-Forwarded-For": "10.0.0.1", "Idempotency-Key": "i", "Cookie": "a=b"},
    )
    request.META["HTTP_CONTENT_TYPE"] = "text/plain"  # a later duplicate wins, as in HttpHeaders
    neutral = views.to_neutral_request(request, "/api/tokens")
    assert neutral.headers == dict(request.headers)
    assert neutral.header("x-api-key") == "k"
    assert neutral.header("content-length") == "2"
    assert (neutral.query_string, neutral.body, neutral.method) == ("x=1", b"{}", "POST")
