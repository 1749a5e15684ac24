"""Host views calling the in-process API: octotp errors answered as problem JSON, only where the
host opted in (``@handle_octotp_errors`` on a view, or ``OctotpErrorsMiddleware``).

This module is also the URLconf of its tests: the host's own views, beside octotp's."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.test import Client, override_settings
from django.urls import include, path
from django.views.decorators.csrf import csrf_exempt

from octotp_core import InvalidInput, Octotp
from octotp_django import get_octotp
from octotp_django.errors import OctotpErrorsMiddleware, handle_octotp_errors

pytestmark = pytest.mark.django_db(databases="__all__")


def signup(request: HttpRequest) -> HttpResponse:
    """The README's host view: a create with whatever the user typed."""
    token = get_octotp().tokens.create(request.POST["project"], email=request.POST["email"])
    return JsonResponse({"tokenId": token.id})


async def async_cancel(request: HttpRequest, project: str, token_id: str) -> HttpResponse:
    await sync_to_async(get_octotp().tokens.cancel)(project, token_id)
    return HttpResponse(status=204)


urlpatterns = [
    path("plain/signup", csrf_exempt(signup)),
    path("decorated/signup", csrf_exempt(handle_octotp_errors(signup))),
    # No csrf_exempt here: Django 4.2's wraps an async view in a sync function (async-aware from 5.0),
    # and Django's test client does not enforce CSRF anyway.
    path("decorated/cancel/<str:project>/<str:token_id>", handle_octotp_errors(async_cancel)),
    path("", include("octotp_django.urls")),
]
MIDDLEWARE_ON = [
    "django.middleware.common.CommonMiddleware",
    f"{OctotpErrorsMiddleware.__module__}.{OctotpErrorsMiddleware.__name__}",
]


@pytest.fixture
def project(django_octotp: Octotp) -> str:
    return django_octotp.accounts.create_project("errors").project.id


def assert_names_the_email_argument(answer: HttpResponse) -> None:
    assert answer.status_code == 400
    assert answer["Content-Type"] == "application/problem+json"
    body = answer.json()  # type: ignore[attr-defined]
    assert body["code"] == "invalid_field"
    assert [e["field"] for e in body["errors"]] == ["email"]  # the view's argument, not recipientEmail
    assert b"recipientEmail" not in answer.content
    assert body["requestId"] == answer["X-Request-Id"]


@override_settings(ROOT_URLCONF=__name__)
def test_a_decorated_view_answers_a_problem_naming_the_python_argument(project: str) -> None:
    client = Client()
    answer = client.post("/decorated/signup", {"project": project, "email": "not an email"}, HTTP_X_REQUEST_ID="t-1")
    assert_names_the_email_argument(answer)
    assert answer["X-Request-Id"] == "t-1"
    missing = client.post(f"/decorated/cancel/{project}/00000000-0000-4000-8000-000000000000")
    assert missing.status_code == 404
    assert missing.json()["code"] == "not_found"


@override_settings(ROOT_URLCONF=__name__, MIDDLEWARE=MIDDLEWARE_ON)
def test_the_middleware_answers_for_every_view(project: str) -> None:
    client = Client()
    assert_names_the_email_argument(client.post("/plain/signup", {"project": project, "email": "not an email"}))
    # octotp's own API is unchanged: it answers its problems itself, with the JSON member names.
    api = client.post("/api/tokens", b"{}", content_type="application/json")
    assert api.json()["code"] == "invalid_api_key"


@override_settings(ROOT_URLCONF=__name__)
def test_without_opting_in_the_error_reaches_the_host(project: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        Client().post("/plain/signup", {"project": project, "email": "not an email"})
    assert [e.field for e in caught.value.errors] == ["email"]
    answer = Client(raise_request_exception=False).post("/plain/signup", {"project": project, "email": "x"})
    assert answer.status_code == 500
