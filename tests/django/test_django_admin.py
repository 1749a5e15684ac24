"""The admin renders for a superuser and never shows digests, code hashes or full recipients."""

from __future__ import annotations

import re

import pytest
from django.contrib import admin
from django.contrib.auth.models import User
from django.test import Client, override_settings
from django.urls import reverse

import octotp_django
from octotp_core import Octotp
from octotp_django import models

pytestmark = pytest.mark.django_db(databases="__all__")


@pytest.fixture
def admin_client() -> Client:
    user = User.objects.create_superuser("admin", "admin@example.com", "pw")
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def project(django_octotp: Octotp) -> models.Project:
    created = django_octotp.accounts.create_project("Shop")
    token = octotp_django.create_token(created.project.id, email="jane.doe@example.com")
    assert token.code is not None
    octotp_django.validate_token(created.project.id, email="jane.doe@example.com", code=token.code)
    django_octotp.tokens.meter.flush()  # write the usage row now rather than within the flush interval
    return models.Project.objects.get(id=created.project.id)


def test_pages_render_without_secrets(admin_client: Client, project: models.Project) -> None:
    key = models.ApiKey.objects.get(project=project)
    token = models.Token.objects.get(project=project)
    usage = models.UsageDay.objects.get(project=project)
    pages = [
        reverse("admin:index"),
        reverse("admin:octotp_project_changelist"),
        reverse("admin:octotp_project_change", args=[project.id]),
        reverse("admin:octotp_project_add"),
        reverse("admin:octotp_apikey_changelist"),
        reverse("admin:octotp_apikey_change", args=[key.id]),
        reverse("admin:octotp_token_changelist"),
        reverse("admin:octotp_token_change", args=[token.seq]),
        reverse("admin:octotp_usageday_changelist"),
        reverse("admin:octotp_usageday_change", args=[usage.pk]),
        reverse("admin:octotp_auditevent_changelist"),
        reverse("admin:octotp_invitation_changelist"),
        reverse("admin:octotp_account_changelist"),
    ]
    for url in pages:
        response = admin_client.get(url)
        assert response.status_code == 200, url
        body = response.content.decode()
        assert key.digest not in body, url
        assert token.code_hash not in body, url
        assert token.recipient_digest not in body, url
        assert "jane.doe" not in body, url
    token_page = admin_client.get(reverse("admin:octotp_token_changelist")).content.decode()
    assert "j***@example.com" in token_page
    assert "approved" in token_page
    assert admin_client.get(reverse("admin:octotp_apikey_add")).status_code == 403
    assert admin_client.get(reverse("admin:octotp_token_add")).status_code == 403


def test_revoke_action(admin_client: Client, project: models.Project) -> None:
    key = models.ApiKey.objects.get(project=project)
    response = admin_client.post(
        reverse("admin:octotp_apikey_changelist"), {"action": "revoke", "_selected_action": [key.id]}, follow=True
    )
    assert response.status_code == 200
    assert "Revoked 1 API key(s)." in response.content.decode()
    key.refresh_from_db()
    assert key.revoked_at is not None


def test_adding_a_project_shows_its_first_key_once(admin_client: Client) -> None:
    inline = {"members-TOTAL_FORMS": "0", "members-INITIAL_FORMS": "0"}  # the members inline's management form
    response = admin_client.post(reverse("admin:octotp_project_add"), {"name": "From admin", "plan": "pro", **inline})
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    project = models.Project.objects.get(name="From admin")
    assert project.plan == "pro"
    [secret] = re.findall(r"<code>(octotp_[^<]+)</code>", response.content.decode())
    _, found = octotp_django.get_octotp().accounts.authenticate(secret)
    assert found.id == project.id
    assert secret not in admin_client.get(reverse("admin:octotp_project_change", args=[project.id])).content.decode()


def test_create_key_action(admin_client: Client, project: models.Project) -> None:
    response = admin_client.post(
        reverse("admin:octotp_project_changelist"), {"action": "create_api_key", "_selected_action": [project.id]}
    )
    assert response.status_code == 200
    assert len(re.findall(r"<code>octotp_[^<]+</code>", response.content.decode())) == 1
    assert models.ApiKey.objects.filter(project=project).count() == 2


def test_token_status_speaks_cores_vocabulary(django_octotp: Octotp, project: models.Project) -> None:
    """The admin's status column is ``octotp_core.states.token_state``: ``pending``, never "open"."""
    waiting = octotp_django.create_token(project.id, email="john.roe@example.com")
    token_admin = admin.site._registry[models.Token]
    statuses = {t.token_id: token_admin.status(t) for t in models.Token.objects.filter(project=project)}  # type: ignore[attr-defined]
    assert statuses[waiting.id] == "pending"
    assert sorted(statuses.values()) == ["approved", "pending"]


def _change(admin_client: Client, project: models.Project, **fields: object) -> tuple[int, dict[str, list[str]]]:
    """Post the change form; the status and the form's errors by field (``__all__``: not one field's)."""
    # The members inline's management form (no rows changed) comes with every change form.
    inline = {"members-TOTAL_FORMS": "0", "members-INITIAL_FORMS": "0"}
    data = {"name": project.name, "plan": project.plan, "owner": "", **inline, **fields}
    response = admin_client.post(reverse("admin:octotp_project_change", args=[project.id]), data)
    if response.status_code != 200:
        return response.status_code, {}
    errors = response.context["adminform"].form.errors
    assert "errornote" in response.content.decode()  # and the page shows them
    return response.status_code, {name: list(messages) for name, messages in errors.items()}


@pytest.mark.parametrize(
    ("fields", "field", "reason"),
    [
        ({"code_length": "4"}, "code_length", "must be 6-10 digits"),
        ({"expiry_max": "86400"}, "expiry_max", "must be 1-3600 seconds"),
        ({"expiry_default": "5000"}, "expiry_default", "must be 1-3600 seconds"),
        # Django's own range check where the database has one (not SQLite), else core's
        ({"expiry_max": str(10**12)}, "expiry_max", "less than or equal to|must be 1-3600 seconds"),
        ({"default_phone_region": "ZZ"}, "default_phone_region", "two-letter region code"),
    ],
)
def test_change_form_runs_the_core_validation(
    admin_client: Client, project: models.Project, fields: dict[str, str], field: str, reason: str
) -> None:
    """The admin form saved through the ORM and skipped the operator's bounds; now each is a field error."""
    status, errors = _change(admin_client, project, **fields)
    assert status == 200  # the form again, with errors (a saved change redirects)
    assert list(errors) == [field]
    assert re.search(reason, errors[field][0]), errors
    stored = models.Project.objects.get(id=project.id)
    assert getattr(stored, field) in (None, "")


def test_change_form_reports_unordered_expiry_bounds(admin_client: Client, project: models.Project) -> None:
    status, errors = _change(admin_client, project, expiry_min="500", expiry_max="400")
    assert status == 200
    assert errors == {"__all__": ["need expiry_min <= expiry_default <= expiry_max, got 500 <= 300 <= 400"]}
    assert models.Project.objects.get(id=project.id).expiry_min is None


def test_change_form_saves_what_core_normalises(admin_client: Client, project: models.Project) -> None:
    status, _ = _change(
        admin_client,
        project,
        name="  Renamed  ",
        plan="pro",
        code_length="8",
        expiry_max="3600",
        default_phone_region="gb",
        validate_requires_key="on",
    )
    assert status == 302
    stored = models.Project.objects.get(id=project.id)
    assert (stored.name, stored.plan, stored.code_length, stored.expiry_max) == ("Renamed", "pro", 8, 3600)
    assert (stored.default_phone_region, stored.validate_requires_key) == ("GB", True)
    _change(admin_client, stored)  # the checkbox left unticked: anonymous validates allowed again
    assert models.Project.objects.get(id=project.id).validate_requires_key is False


def test_usage_days_flush_first_and_say_how_fresh(admin_client: Client, octotp_db: str) -> None:
    """Usage is added up in memory: the admin's "Usage days" writes this process's counts before it
    reads them (as the dashboard does), so it never shows Approved 0 for a code approved just now."""
    from django.conf import settings

    with override_settings(OCTOTP={**settings.OCTOTP, "USAGE_FLUSH_SECONDS": 3600}):
        octotp = octotp_django.get_octotp()
        project = octotp.accounts.create_project("Fresh usage").project
        token = octotp_django.create_token(project.id, email="jane.doe@example.com")
        assert token.code is not None
        assert octotp_django.validate_token(project.id, email="jane.doe@example.com", code=token.code).is_valid
        assert not models.UsageDay.objects.filter(project_id=project.id).exists()  # still in memory
        response = admin_client.get(reverse("admin:octotp_usageday_changelist"))
        assert response.status_code == 200
        row = models.UsageDay.objects.get(project_id=project.id)
        assert (row.created, row.approved) == (1, 1)
        body = response.content.decode()
        assert re.search(r'<td class="field-approved">1</td>', body), body
        assert 'id="usage-freshness"' in body
        assert "3600 s" in body
        detail = admin_client.get(reverse("admin:octotp_usageday_change", args=[row.pk]))
        assert 'id="usage-freshness"' in detail.content.decode()


def test_members_inline_and_audit_log_show_the_console(
    admin_client: Client, django_octotp: Octotp, project: models.Project
) -> None:
    member = django_octotp.accounts.create_account("member@example.com", "long enough password 1")
    models.ProjectMember.objects.create(project=project, account_id=member.id, role="viewer")
    django_octotp.audit.record("member.joined", actor=member, project_id=project.id, detail="viewer")
    page = admin_client.get(reverse("admin:octotp_project_change", args=[project.id])).content.decode()
    assert "member@example.com" in page
    assert 'value="viewer"' in page
    log = admin_client.get(reverse("admin:octotp_auditevent_changelist")).content.decode()
    assert "member.joined" in log
    assert admin_client.get(reverse("admin:octotp_auditevent_add")).status_code == 403


def test_suspending_in_the_admin_refuses_the_projects_keys(
    admin_client: Client, django_octotp: Octotp, project: models.Project
) -> None:
    from octotp_core import ProjectSuspended

    secret = django_octotp.accounts.create_api_key(project.id, "ci").secret
    django_octotp.accounts.authenticate(secret)
    status, errors = _change(admin_client, project, suspended_at_0="2026-12-01", suspended_at_1="10:00:00")
    assert (status, errors) == (302, {})
    assert models.Project.objects.get(id=project.id).suspended_at is not None
    django_octotp.accounts._cache.clear()
    with pytest.raises(ProjectSuspended):
        django_octotp.accounts.authenticate(secret)
    events = [(e.action, e.actor) for e in django_octotp.audit.for_project(str(project.id))]
    assert events == [("project.suspended", "admin (Django admin)")]


def test_a_plan_change_in_the_admin_is_audited(
    admin_client: Client, project: models.Project, django_octotp: Octotp
) -> None:
    """The admin changes plans too, and says so in octotp's audit log as the other ways do."""
    assert _change(admin_client, project, plan="pro")[0] == 302
    assert _change(admin_client, models.Project.objects.get(id=project.id), name="Renamed")[0] == 302  # no plan change
    events = [(e.action, e.actor, e.detail) for e in django_octotp.audit.for_project(str(project.id))]
    assert events == [("project.plan_changed", "admin (Django admin)", "free → pro")]


@pytest.fixture
def account(django_octotp: Octotp) -> models.Account:
    created = django_octotp.accounts.create_account("Dana@Example.com", "long enough password 1")
    return models.Account.objects.get(id=created.id)


def _change_account(admin_client: Client, account: models.Account, **fields: object) -> int:
    data: dict[str, object] = {"email": account.email, "verified_at_0": "", "verified_at_1": ""}
    if account.verified_at is not None:
        data["verified_at_0"] = account.verified_at.strftime("%Y-%m-%d")
        data["verified_at_1"] = account.verified_at.strftime("%H:%M:%S")
    if account.is_active:
        data["is_active"] = "on"
    if account.is_operator:
        data["is_operator"] = "on"
    data.update(fields)
    data = {name: value for name, value in data.items() if value is not None}
    response = admin_client.post(reverse("admin:octotp_account_change", args=[account.id]), data)
    return response.status_code


def test_accounts_are_listed_searched_and_never_show_a_password(admin_client: Client, account: models.Account) -> None:
    listing = admin_client.get(reverse("admin:octotp_account_changelist"))
    assert listing.status_code == 200
    body = listing.content.decode()
    assert "dana@example.com" in body  # normalised by octotp when it was made
    for column in ("email", "is_active", "is_operator", "verified_at", "created_at"):
        assert f"column-{column}" in body, column
    found = admin_client.get(reverse("admin:octotp_account_changelist"), {"q": "dana@"}).content.decode()
    assert "dana@example.com" in found
    missing = admin_client.get(reverse("admin:octotp_account_changelist"), {"q": "nobody"}).content.decode()
    assert "dana@example.com" not in missing
    page = admin_client.get(reverse("admin:octotp_account_change", args=[account.id]))
    assert page.status_code == 200
    form = page.context["adminform"].form
    assert set(form.fields) == {"email", "is_active", "is_operator", "verified_at"}
    html = page.content.decode()
    assert account.password_hash not in html
    assert 'name="password' not in html
    assert "password_hash" not in html
    assert "Password hash" not in html
    assert 'name="id"' not in html
    assert 'name="created_at"' not in html
    assert account.id in html
    # octotp makes accounts (with their password) and an account is disabled rather than deleted
    assert admin_client.get(reverse("admin:octotp_account_add")).status_code == 403
    assert admin_client.get(reverse("admin:octotp_account_delete", args=[account.id])).status_code == 403


def test_disabling_an_account_in_the_admin_ends_its_sessions_and_is_audited(
    admin_client: Client, django_octotp: Octotp, account: models.Account
) -> None:
    models.DashboardSession.objects.create(
        id_digest="d" * 64,
        account=account,
        csrf_token="c" * 32,
        created_at=account.created_at,
        last_seen_at=account.created_at,
        expires_at=account.created_at.replace(year=account.created_at.year + 1),
    )
    assert _change_account(admin_client, account, is_active=None, is_operator="on") == 302
    stored = models.Account.objects.get(id=account.id)
    assert (stored.is_active, stored.is_operator) == (False, True)
    assert not models.DashboardSession.objects.filter(account=account).exists()
    events = [(e.action, e.actor, e.detail) for e in django_octotp.audit.for_account(str(account.id))]
    assert sorted(events) == [
        ("account.disabled", "admin (Django admin)", "1 session ended"),
        ("account.operator_granted", "admin (Django admin)", ""),
    ]
    response = admin_client.post(
        reverse("admin:octotp_account_changelist"), {"action": "enable", "_selected_action": [account.id]}, follow=True
    )
    assert "Enabled 1 account(s)." in response.content.decode()
    assert models.Account.objects.get(id=account.id).is_active is True


def test_account_email_is_normalised_and_unique(
    admin_client: Client, django_octotp: Octotp, account: models.Account
) -> None:
    django_octotp.accounts.create_account("other@example.com", "long enough password 1")
    assert _change_account(admin_client, account, email="  Dana.New@EXAMPLE.com ") == 302
    assert models.Account.objects.get(id=account.id).email == "dana.new@example.com"
    assert django_octotp.accounts.authenticate_account("dana.new@example.com", "long enough password 1") is not None
    fresh = models.Account.objects.get(id=account.id)
    for taken in ("Other@example.com", "not an email"):
        response = admin_client.post(
            reverse("admin:octotp_account_change", args=[account.id]),
            {"email": taken, "is_active": "on", "verified_at_0": "", "verified_at_1": ""},
        )
        assert response.status_code == 200, taken
        assert "email" in response.context["adminform"].form.errors, taken
    assert models.Account.objects.get(id=account.id).email == fresh.email
