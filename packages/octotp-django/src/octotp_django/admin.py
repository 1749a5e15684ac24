"""Django admin for octotp's dashboard accounts (no password field; disable/enable and the operator
role go through core's operator actions), projects (with their team members), API keys (digest never
shown; revoke action), tokens (read-only), the audit log and invitations (read-only).

API keys are only ever created through octotp (the plain key is shown once, never stored): adding a
project, or the "Create an API key" action, shows the new key on the page that answers. Accounts are
only ever created through octotp too (``manage.py octotp accounts create``, sign-up, invitations, or a
Django user's first visit with ``OCTOTP["DASHBOARD_AUTH"] = "django"``), which sets their password.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from octotp_core.accounts import IssuedKey
from octotp_core.console.operators import OperatorActions
from octotp_core.errors import InvalidInput, NotFound
from octotp_core.internal import CONSOLE_PROJECT_ID
from octotp_core.projects import validate_project
from octotp_core.recipients import normalise_email
from octotp_core.states import token_state
from octotp_core.store import Project as ProjectRecord
from octotp_core.usage import freshness

from .api import get_octotp
from .models import Account, ApiKey, AuditEvent, Invitation, Project, ProjectMember, Token, UsageDay


def _admin_label(request: HttpRequest) -> str:
    """Who the audit log names for a change made in the Django admin."""
    return f"{request.user.get_username()} (Django admin)"


def _show_keys(
    request: HttpRequest, project_admin: admin.ModelAdmin[Any], issued: list[tuple[Project, IssuedKey]]
) -> HttpResponse:
    context = {
        **project_admin.admin_site.each_context(request),
        "title": "New API key" if len(issued) == 1 else "New API keys",
        "issued": [{"project": project, "key": key} for project, key in issued],
        "opts": project_admin.model._meta,
    }
    response = TemplateResponse(request, "octotp/admin/api_keys_created.html", context)
    response["Cache-Control"] = "no-store"
    return response


class ProjectForm(forms.ModelForm):  # type: ignore[type-arg]
    """Project fields, with the plan chosen among the plans in settings.

    ``clean()`` runs core's ``validate_project``, the one validation every project write goes through
    (the operator's bounds from ``OCTOTP``, the expiry ordering, the phone region), and shows what it
    refuses on the field it is about.
    """

    plan = forms.ChoiceField(choices=())

    class Meta:
        model = Project
        fields = [
            "name",
            "plan",
            "owner",
            "code_length",
            "expiry_default",
            "expiry_min",
            "expiry_max",
            "default_phone_region",
            "deliver_only",
            "validate_requires_key",
            "suspended_at",
        ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        settings = get_octotp().settings
        plan_field = self.fields["plan"]
        assert isinstance(plan_field, forms.ChoiceField)
        plan_field.choices = [(name, name) for name in sorted(settings.plans)]
        plan_field.initial = settings.default_plan

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        # ProjectForm.Meta, not self.Meta: the admin's subclass of this form lists its read-only fields too.
        fields = {name: cleaned.get(name, getattr(self.instance, name)) for name in ProjectForm.Meta.fields}
        if any(name in self.errors for name in fields):
            return cleaned  # a value Django already refused is not there to check again
        owner = fields.pop("owner")
        record = ProjectRecord(
            id=self.instance.id,
            owner_id=owner.id if owner is not None else None,
            created_at=self.instance.created_at,
            **fields,
        )
        try:
            record = validate_project(record, get_octotp().settings)
        except InvalidInput as exc:
            for error in exc.errors:
                # Core names fields as the Project attributes, which are the model's field names.
                self.add_error(error.field if error.field in self.fields else None, error.reason)
            return cleaned
        # What core normalised (the name stripped, the region upper-cased) is what gets saved.
        cleaned["name"], cleaned["default_phone_region"] = record.name, record.default_phone_region
        return cleaned


class AccountForm(forms.ModelForm):  # type: ignore[type-arg]
    """An account's email (normalised as octotp does, so it still signs in), flags and verification;
    never its password hash."""

    class Meta:
        model = Account
        fields = ["email", "is_active", "is_operator", "verified_at"]

    def clean_email(self) -> str:
        try:
            return normalise_email(self.cleaned_data["email"], field="email").value
        except InvalidInput as exc:
            raise forms.ValidationError(exc.errors[0].reason) from None


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """octotp's own dashboard accounts. No password here: it is set through octotp (``manage.py octotp
    accounts create``, the console's password reset and change pages). Disabling an account ends its
    dashboard sessions at once; that and the operator role are saved through core's
    ``OperatorActions``, so the audit log names the admin user as for every other way of changing them."""

    form = AccountForm
    list_display = ("email", "is_active", "is_operator", "verified_at", "created_at")
    list_filter = ("is_active", "is_operator")
    search_fields = ("email",)
    fields = ("id", "email", "is_active", "is_operator", "verified_at", "created_at", "external_id")
    readonly_fields = ("id", "created_at", "external_id")
    ordering = ("email",)
    actions = ("disable", "enable")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # octotp creates accounts (with their password); see the module's docstring

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # disable instead: the account's projects keep their owner, its audit trail stays

    def save_model(self, request: HttpRequest, obj: Account, form: forms.ModelForm, change: bool) -> None:  # type: ignore[type-arg]
        """Save the email and verification; the two flags through core's ``OperatorActions``."""
        octotp = get_octotp()
        before = octotp.store.get_account(str(obj.id))
        active, operator = obj.is_active, obj.is_operator
        if before is not None:
            obj.is_active, obj.is_operator = before.is_active, before.is_operator
        super().save_model(request, obj, form, change)
        self._set_flags(request, str(obj.id), active=active, operator=operator)

    def _set_flags(self, request: HttpRequest, account_id: str, *, active: bool, operator: bool) -> None:
        octotp = get_octotp()
        actions = OperatorActions(octotp)
        account = actions.account(account_id)
        label = _admin_label(request)
        account = actions.set_active(account, active, actor=None, actor_label=label)
        actions.set_operator(account, operator, actor=None, actor_label=label)

    @admin.action(description="Disable the selected accounts (their dashboard sessions end)")
    def disable(self, request: HttpRequest, queryset: QuerySet[Account]) -> None:
        for account in queryset:
            self._set_flags(request, str(account.id), active=False, operator=account.is_operator)
        self.message_user(request, f"Disabled {len(queryset)} account(s).", messages.SUCCESS)

    @admin.action(description="Enable the selected accounts")
    def enable(self, request: HttpRequest, queryset: QuerySet[Account]) -> None:
        for account in queryset:
            self._set_flags(request, str(account.id), active=True, operator=account.is_operator)
        self.message_user(request, f"Enabled {len(queryset)} account(s).", messages.SUCCESS)


class MemberInline(admin.TabularInline):  # type: ignore[type-arg]
    """A project's team members and their console roles (the owner is the project's ``owner``)."""

    model = ProjectMember
    extra = 0
    fields = ("account", "role", "created_at")
    readonly_fields = ("created_at",)


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    form = ProjectForm
    inlines = (MemberInline,)
    list_display = ("name", "id", "plan", "deliver_only", "validate_requires_key", "suspended_at", "created_at")
    list_filter = ("plan", "deliver_only", "validate_requires_key", "suspended_at")
    search_fields = ("name", "id")
    readonly_fields = ("id", "created_at")
    actions = ("create_api_key",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Project]:
        """Every project but the console's internal one (it holds the console's own codes)."""
        projects: QuerySet[Project] = super().get_queryset(request).exclude(id=CONSOLE_PROJECT_ID)
        return projects

    def save_model(self, request: HttpRequest, obj: Project, form: forms.ModelForm, change: bool) -> None:  # type: ignore[type-arg]
        """Save, and record a plan change or a suspension in octotp's audit log, as every other way of
        making them does."""
        octotp = get_octotp()
        before = octotp.store.get_project(str(obj.id)) if change else None
        super().save_model(request, obj, form, change)
        after = octotp.store.get_project(str(obj.id))
        if before is not None and after is not None:
            label = _admin_label(request)
            actions = OperatorActions(octotp)
            actions.plan_changed(before, after, actor=None, actor_label=label)
            actions.suspension_changed(before, after, actor=None, actor_label=label)

    def response_add(self, request: HttpRequest, obj: Project, post_url_continue: str | None = None) -> HttpResponse:
        """A new project gets its first key, shown on this page only."""
        issued = get_octotp().accounts.create_api_key(obj.id, "default")
        return _show_keys(request, self, [(obj, issued)])

    @admin.action(description="Create an API key for the selected projects")
    def create_api_key(self, request: HttpRequest, queryset: QuerySet[Project]) -> HttpResponse:
        accounts = get_octotp().accounts
        issued = [(project, accounts.create_api_key(project.id, "admin")) for project in queryset]
        return _show_keys(request, self, issued)


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("name", "prefix", "project", "created_at", "last_used_at", "revoked_at")
    list_select_related = ("project",)
    list_filter = ("revoked_at",)
    search_fields = ("name", "prefix", "project__name", "project__id")
    fields = ("id", "project", "name", "prefix", "created_at", "last_used_at", "revoked_at")
    readonly_fields = ("id", "project", "prefix", "created_at", "last_used_at", "revoked_at")
    actions = ("revoke",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # keys are issued through octotp, so the secret is shown exactly once

    @admin.action(description="Revoke the selected API keys")
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        accounts = get_octotp().accounts
        revoked = 0
        for key in queryset:
            try:
                accounts.revoke_api_key(key.id)
                revoked += 1
            except NotFound:  # already revoked
                pass
        self.message_user(request, f"Revoked {revoked} API key(s).", messages.SUCCESS)


@admin.register(Token)
class TokenAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Read-only; the recipient is the masked hint and the code hash is never shown."""

    list_display = ("token_id", "project", "recipient_hint", "channel", "purpose", "status", "created_at", "expires_at")
    list_select_related = ("project",)
    list_filter = ("channel", "closed_reason")
    search_fields = ("token_id", "project__id", "project__name")
    fields = (
        "token_id",
        "project",
        "recipient_hint",
        "channel",
        "purpose",
        "created_at",
        "expires_at",
        "attempts",
        "max_attempts",
        "closed_at",
        "closed_reason",
    )
    readonly_fields = fields

    @admin.display(description="status")
    def status(self, token: Token) -> str:
        """The token's state in core's one vocabulary (``pending``, ``expired``, ``locked``, or why it closed)."""
        return token_state(token, get_octotp().clock.now())

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(UsageDay)
class UsageDayAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Read-only daily counters. Each page first writes this process's pending counts (core's
    ``UsageMeter`` adds them up in memory) and says how current the numbers are."""

    list_display = ("day", "project", "created", "approved", "failed", "rate_limited")
    list_select_related = ("project",)
    list_filter = ("day",)
    search_fields = ("project__name", "project__id")
    change_list_template = "octotp/admin/usage_change_list.html"
    change_form_template = "octotp/admin/usage_change_form.html"

    def _fresh_context(self, extra_context: dict[str, Any] | None) -> dict[str, Any]:
        octotp = get_octotp()
        octotp.tokens.meter.flush()  # what the dashboard shows (TokenService.usage flushes too)
        return {**(extra_context or {}), "usage_freshness": freshness(octotp.settings.usage_flush_seconds)}

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        return super().changelist_view(request, self._fresh_context(extra_context))

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        return super().change_view(request, object_id, form_url, self._fresh_context(extra_context))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """The console's audit log, read-only: who did what and when (never a secret or a code)."""

    list_display = ("at", "actor", "action", "detail", "project_id", "address")
    list_filter = ("action",)
    search_fields = ("actor", "project_id", "account_id")
    date_hierarchy = "at"
    readonly_fields = ("id", "at", "action", "actor_id", "actor", "project_id", "account_id", "detail", "address")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Open and past project invitations (the link's token is never stored, so never shown; delete to cancel)."""

    list_display = ("email", "project", "role", "created_at", "expires_at", "accepted_at")
    list_select_related = ("project",)
    fields = ("email", "project", "role", "invited_by", "created_at", "expires_at", "accepted_at")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
