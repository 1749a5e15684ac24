"""``OCTOTP = {"DASHBOARD_AUTH": "django"}``: the dashboard signed in by Django's own users, login page
and permissions. The test project becomes a host (``django_host_settings``): Django's real
``LoginView`` at ``/accounts/login/``, real ``User`` and ``Permission`` rows, the full middleware stack
with Django's CSRF enforced. Core's ``HostConsoleSuite`` runs through it (on SQLite: the behaviour is
decided above the store), then what only Django does.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterable, Iterator
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractUser, Permission
from django.test import Client, override_settings
from django.urls import reverse

from octotp_core import HOST_PERMISSIONS, FrozenClock, HostIdentity, HostLogin, Octotp
from octotp_core.testing.dashboard import DashboardBrowser, MountedDashboard, RawResult, hidden_field
from octotp_core.testing.host_console import HostConsoleSuite, host_create_account
from octotp_django import models
from octotp_django.api import build_octotp, get_dashboard_handler, reset_octotp
from octotp_django.auth import host_identity, host_login

from .django_host_settings import LOGIN_URL, host_settings
from .test_django_dashboard import RawDjangoClient

# The behaviour is decided above the store (core's suites and the Django store suite run on every database).
pytestmark = [pytest.mark.django_db(databases="__all__"), pytest.mark.one_database]

BASE = "/octotp/dashboard"
PASSWORD = "a long host password 1"
_ZERO = "00000000-0000-4000-8000-000000000000"


class DjangoHost:
    """The test project's users and ``LoginView``, as core's ``HostDriver``: users are
    ``django.contrib.auth`` users (username: the address's local part) with ``Permission`` rows,
    superusers for operators; login GETs Django's form and POSTs it with its ``csrfmiddlewaretoken``."""

    login_path = LOGIN_URL

    def __init__(self) -> None:
        self.usernames: dict[str, str] = {}

    def create_user(
        self, email: str, password: str, *, permissions: Iterable[str] = (), operator: bool = False
    ) -> HostIdentity:
        user_model = get_user_model()
        username = email.split("@")[0]
        make = user_model.objects.create_superuser if operator else user_model.objects.create_user
        user = make(username, email, password)
        wanted = set(permissions)
        rows = list(Permission.objects.filter(content_type__app_label="octotp", codename__in=wanted))
        assert {p.codename for p in rows} == wanted, f"no such octotp permission: {wanted - {p.codename for p in rows}}"
        user.user_permissions.add(*rows)
        self.usernames[email] = username
        identity = host_identity(user_model.objects.get(pk=user.pk))  # a fresh permission cache
        assert identity is not None
        return identity

    def login(self, browser: DashboardBrowser, email: str, password: str) -> RawResult:
        page = browser.request("GET", self.login_path)
        assert page.status == 200, page.status
        fields = {
            "csrfmiddlewaretoken": hidden_field(page, "csrfmiddlewaretoken"),
            "username": self.usernames.get(email, email),
            "password": password,
        }
        return browser.request("POST", self.login_path, fields)

    def post_headers(self, browser: DashboardBrowser) -> dict[str, str]:
        """Django's CSRF token for the suite's own POSTs, as a page's script would send it (the forms
        carry it as ``csrfmiddlewaretoken``; the suite posts only the fields it names)."""
        token = browser.cookies.get("csrftoken")
        return {"X-CSRFToken": token} if token else {}


@pytest.fixture
def make_host_dashboard(octotp_db: str, clock: FrozenClock) -> Iterator[Callable[..., MountedDashboard]]:
    """``make_host_dashboard(**settings)``: the test project as a host in django mode, ``OCTOTP`` plus
    these settings, for the rest of the test; the last one built answers."""
    from django.conf import settings as django_settings

    enabled: list[override_settings] = []

    def build(**settings: Any) -> MountedDashboard:
        overrides = {name.upper(): value for name, value in settings.items()}
        override = override_settings(**host_settings({**django_settings.OCTOTP, **overrides}))
        override.enable()
        enabled.append(override)
        octotp = build_octotp(clock=clock)
        reset_octotp(octotp)
        host = DjangoHost()
        client = RawDjangoClient(Client(enforce_csrf_checks=True))
        return MountedDashboard(client, BASE, "/octotp", host_create_account(octotp, host), octotp=octotp, host=host)

    yield build
    for override in reversed(enabled):
        override.disable()
    reset_octotp()


class TestDjangoHostLogin(HostConsoleSuite):
    @pytest.fixture
    def make_dashboard(self, make_host_dashboard: Callable[..., MountedDashboard]) -> Callable[..., MountedDashboard]:
        return make_host_dashboard


# -- what only Django does ------------------------------------------------------------------------
@pytest.fixture
def host(make_host_dashboard: Callable[..., MountedDashboard]) -> MountedDashboard:
    return make_host_dashboard()


def _user(username: str, **fields: Any) -> AbstractUser:
    user: AbstractUser = get_user_model().objects.create_user(username, f"{username}@example.com", PASSWORD, **fields)
    return user


def _grant(user: AbstractUser, *codenames: str) -> None:
    user.user_permissions.add(*Permission.objects.filter(content_type__app_label="octotp", codename__in=codenames))


def _signed_in(user: AbstractUser) -> Client:
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    return client


def _post(client: Client, path: str, fields: dict[str, str]) -> Any:
    """A form POST as a browser sends it (urlencoded, with its Host and Origin)."""
    browser = {"Host": "testserver", "Origin": "http://testserver"}
    return client.post(path, urlencode(fields), content_type="application/x-www-form-urlencoded", headers=browser)


def _csrf_form(client: Client, path: str) -> dict[str, str]:
    """The two CSRF fields of a dashboard page's forms: octotp's ``csrf_token`` and Django's."""
    page = client.get(path)
    assert page.status_code == 200, page.status_code
    text = page.content.decode()
    found = {name: re.search(rf'name="{name}" value="([^"]+)"', text) for name in ("csrf_token", "csrfmiddlewaretoken")}
    assert all(found.values()), found
    return {name: match.group(1) for name, match in found.items() if match}


def test_anonymous_visitors_go_to_login_url_with_next(host: MountedDashboard) -> None:
    client = Client(enforce_csrf_checks=True)
    for path in ("/", "/projects/00000000-0000-4000-8000-000000000000?page=2"):
        response = client.get(BASE + path)
        assert response.status_code == 303, path
        assert response["Location"] == f"/accounts/login/?next={quote(BASE + path, safe='/')}"
    # Django's own login page takes that ``next`` and the user comes back to it.
    _user("ada")
    login = client.get(f"/accounts/login/?next={BASE}/")
    assert login.status_code == 200
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login.content.decode())
    assert token is not None
    fields = {"csrfmiddlewaretoken": token.group(1), "username": "ada", "password": PASSWORD, "next": f"{BASE}/"}
    back = client.post("/accounts/login/", fields)
    assert (back.status_code, back["Location"]) == (302, f"{BASE}/")


def test_login_url_may_be_a_url_name_and_logout_leads_to_logout_redirect_url(host: MountedDashboard) -> None:
    from django.conf import settings

    with override_settings(LOGIN_URL="login", LOGOUT_REDIRECT_URL="home"):
        assert host_login() == HostLogin("/accounts/login/", "/")
        response = Client().get(BASE + "/")
        assert response["Location"] == f"/accounts/login/?next={BASE}/"
    with override_settings(LOGOUT_REDIRECT_URL=None):
        assert host_login() == HostLogin(settings.LOGIN_URL, None)
    user = _user("leaving")
    _grant(user, "add_project")
    client = _signed_in(user)
    out = _post(client, BASE + "/logout", _csrf_form(client, BASE + "/"))
    assert (out.status_code, out["Location"]) == (303, "/")  # LOGOUT_REDIRECT_URL of the host settings
    assert client.get("/").content.decode().count("Signed in: leaving") == 1  # still signed in to the site


def _every_route(values: dict[str, str]) -> list[tuple[str, str]]:
    """(method, path) for every route of the dashboard a signed-in host user may ask for (not
    octotp's own account pages, not an invitation link), its path groups filled from ``values``."""
    handler = get_dashboard_handler()
    found = []
    for route in handler.routes:
        if route.own_accounts or route.any_user:
            continue
        path = route.pattern.pattern.removeprefix("^").removesuffix("$")
        path = re.sub(r"\(\?P<(\w+)>([^)]*)\)", lambda m: values.get(m.group(1)) or m.group(2).split("|")[0], path)
        assert not re.search(r"[(\[]", path), path  # every group filled in
        found += [(method, path) for method in route.methods]
    return found


def test_a_user_without_octotp_permission_gets_403_on_every_page_and_post(host: MountedDashboard) -> None:
    owner = _user("owner")
    _grant(owner, "add_project")
    owner_client = _signed_in(owner)
    made = _post(owner_client, BASE + "/projects", {**_csrf_form(owner_client, BASE + "/"), "name": "Owned"})
    assert made.status_code == 303
    project = host.octotp.accounts.list_projects()[0]
    key = host.octotp.store.list_api_keys(project.id)[0]
    values = {
        "project_id": project.id,
        "account_id": project.owner_id,
        "key_id": key.id,
        "invitation_id": _ZERO,
        "endpoint_id": _ZERO,
        "job_id": _ZERO,
    }

    stranger = _user("stranger")
    # Permissions on Django's own models, none of octotp's: they open nothing in the dashboard.
    stranger.user_permissions.add(*Permission.objects.filter(content_type__app_label="auth"))
    client = _signed_in(stranger)
    assert client.get(BASE + "/").status_code == 403  # the first visit sets Django's CSRF cookie
    token = client.cookies["csrftoken"].value
    routes = _every_route(values)
    assert len(routes) > 20, routes
    assert ("POST", f"/projects/{project.id}/keys/{key.id}/revoke") in routes
    for method, path in routes:
        if method == "GET":
            answer = client.get(BASE + path)
        else:  # Django's CSRF passes (its token is sent): the 403 is octotp's, for want of permission
            fields = {"csrfmiddlewaretoken": token, "csrf_token": "x" * 43, "name": "x", "confirm": project.name}
            answer = _post(client, BASE + path, fields)
        assert answer.status_code == 403, (method, path, answer.status_code)
        assert "Not allowed" in answer.content.decode(), (method, path)
    assert [(p.id, p.name) for p in host.octotp.accounts.list_projects()] == [(project.id, "Owned")]
    assert [k.revoked_at for k in host.octotp.store.list_api_keys(project.id)] == [None]


def test_a_post_without_djangos_csrf_token_is_refused_by_django(host: MountedDashboard) -> None:
    user = _user("poster")
    _grant(user, "add_project")
    client = _signed_in(user)
    fields = _csrf_form(client, BASE + "/")
    octotp_only = {"csrf_token": fields["csrf_token"], "name": "No Django token"}
    refused = _post(client, BASE + "/projects", octotp_only)
    assert refused.status_code == 403
    assert "CSRF" in refused.content.decode()  # Django's own CSRF failure page, not octotp's
    assert "Not allowed" not in refused.content.decode()
    wrong = _post(client, BASE + "/projects", {**octotp_only, "csrfmiddlewaretoken": "x" * 64})
    assert wrong.status_code == 403
    assert host.octotp.accounts.list_projects() == []
    made = _post(client, BASE + "/projects", {**fields, "name": "With both tokens"})
    assert made.status_code == 303
    assert [p.name for p in host.octotp.accounts.list_projects()] == ["With both tokens"]


def test_every_form_carries_djangos_csrf_token(host: MountedDashboard) -> None:
    user = _user("forms", is_superuser=True)
    client = _signed_in(user)
    page = client.get(BASE + "/").content.decode()
    forms = re.findall(r"<form[^>]*method=\"post\"[\s\S]*?</form>", page)
    assert len(forms) >= 2  # create a project, log out
    for form in forms:
        assert 'name="csrfmiddlewaretoken"' in form, form


@pytest.mark.parametrize("how", ["is_superuser", "octotp.operate"])
def test_superusers_and_holders_of_octotp_operate_are_operators(host: MountedDashboard, how: str) -> None:
    user = _user(f"op-{uuid.uuid4().hex[:6]}", is_superuser=how == "is_superuser")
    if how == "octotp.operate":
        _grant(user, "operate")
    identity = host_identity(get_user_model().objects.get(pk=user.pk))
    assert identity is not None
    assert identity.is_operator
    client = _signed_in(user)
    accounts = client.get(BASE + "/operator/accounts")
    assert accounts.status_code == 200
    assert user.email in accounts.content.decode()
    account = host.octotp.store.get_account_by_external_id(str(user.pk))
    assert account is not None
    assert account.email == user.email


def test_the_identity_is_the_users(host: MountedDashboard) -> None:
    user = _user("grace")
    _grant(user, "view_project", "add_apikey")
    user.first_name = "Grace"
    user.save()
    identity = host_identity(get_user_model().objects.get(pk=user.pk))
    assert identity == HostIdentity(
        id=str(user.pk),
        email="grace@example.com",
        operator=False,
        permissions=frozenset({"view_project", "add_apikey"}),
        name="grace",
    )
    assert set(identity.permissions) <= set(HOST_PERMISSIONS)
    inactive = _user("inactive", is_active=False)
    assert host_identity(inactive) is None
    from django.contrib.auth.models import AnonymousUser

    assert host_identity(AnonymousUser()) is None
    client = _signed_in(user)
    page = client.get(BASE + "/").content.decode()
    assert "grace (grace@example.com)" in page  # the header names the Django user


def test_every_octotp_permission_exists_in_django(host: MountedDashboard) -> None:
    """Core's permission names are the codenames of octotp's models (and ``operate``)."""
    codenames = set(Permission.objects.filter(content_type__app_label="octotp").values_list("codename", flat=True))
    assert set(HOST_PERMISSIONS) <= codenames, set(HOST_PERMISSIONS) - codenames
    operate = Permission.objects.get(content_type__app_label="octotp", codename="operate")
    assert operate.name == "Can operate the octotp service"


def test_the_admin_shows_the_accounts_of_django_users(host: MountedDashboard) -> None:
    user = _user("visitor")
    _grant(user, "add_project")
    assert _signed_in(user).get(BASE + "/").status_code == 200  # the first visit makes the account
    admin = get_user_model().objects.create_superuser("admin", "admin@example.com", PASSWORD)
    listing = _signed_in(admin).get(reverse("admin:octotp_account_changelist"))
    assert listing.status_code == 200
    assert "visitor@example.com" in listing.content.decode()
    account = models.Account.objects.get(external_id=str(user.pk))
    assert account.email == "visitor@example.com"
    detail = _signed_in(admin).get(reverse("admin:octotp_account_change", args=[account.id])).content.decode()
    assert re.search(r'field-external_id[\s\S]*?<div class="readonly">' + str(user.pk) + "</div>", detail)
    # Disabled in the admin: refused in the dashboard whatever the user's Django permissions.
    admin_client = _signed_in(admin)
    admin_client.get(reverse("admin:octotp_account_changelist"))
    disabled = admin_client.post(
        reverse("admin:octotp_account_changelist"),
        {
            "action": "disable",
            "_selected_action": [account.id],
            "csrfmiddlewaretoken": admin_client.cookies["csrftoken"].value,
        },
    )
    assert disabled.status_code == 302
    assert _signed_in(user).get(BASE + "/").status_code == 403


def test_django_mode_is_off_by_default(octotp_db: str, django_octotp: Octotp) -> None:
    """The default project (octotp's own accounts): no redirect to Django's login, octotp's login page."""
    response = Client().get(BASE + "/")
    assert response.status_code == 303
    assert response["Location"] == f"{BASE}/login"
    assert Client().get(BASE + "/login").status_code == 200


def test_bodies_django_reads_first_still_reach_octotp(host: MountedDashboard) -> None:
    """Django's CSRF check reads the form before octotp does: a multipart form is still there for
    octotp (which takes only urlencoded forms: 403, not a 500), and a body over octotp's limit gets
    octotp's 413."""
    user = _user("bodies")
    _grant(user, "add_project")
    client = _signed_in(user)
    fields = _csrf_form(client, BASE + "/")
    multipart = client.post(BASE + "/projects", {**fields, "name": "Multipart"}, headers={"Host": "testserver"})
    assert multipart.status_code == 403
    large = _post(client, BASE + "/projects", {**fields, "name": "x" * 70_000})
    assert large.status_code == 413
    assert host.octotp.accounts.list_projects() == []
