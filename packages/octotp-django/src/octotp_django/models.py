"""octotp's tables as Django models: the same tables, columns and indexes as core's SQLAlchemy models.

Two differences Django needs: the token row's integer key is the field ``seq`` (column ``pk``,
since ``pk`` is reserved in Django) and its public UUID the field ``token_id`` (column ``id``);
``octotp_usage_daily`` and ``octotp_idempotency_keys`` have a surrogate ``id`` key plus a unique
constraint on core's composite key, because Django 4.2 has no composite primary keys.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.db import models
from django.db.backends.base.base import BaseDatabaseWrapper
from django.utils import timezone


def new_id() -> str:
    """A new UUID as a string (ids are UUIDs sent as strings)."""
    return str(uuid.uuid4())


class DigestField(models.BinaryField):  # type: ignore[type-arg]
    """Core's ``HexDigest``: a SHA-256 digest that is 64 hex characters in Python and its 32 raw bytes
    in the row (``bytea`` on PostgreSQL, ``BLOB`` on SQLite, ``binary(32)`` on MariaDB/MySQL, where a
    blob could not be indexed)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 32)
        kwargs.setdefault("editable", False)
        super().__init__(*args, **kwargs)

    def db_type(self, connection: BaseDatabaseWrapper) -> str | None:
        if connection.vendor == "mysql":
            return "binary(32)"
        return super().db_type(connection)

    def get_db_prep_value(self, value: Any, connection: BaseDatabaseWrapper, prepared: bool = False) -> Any:
        if isinstance(value, str):
            value = bytes.fromhex(value)
        return super().get_db_prep_value(value, connection, prepared)

    def from_db_value(self, value: Any, expression: Any, connection: BaseDatabaseWrapper) -> str | None:
        return None if value is None else bytes(value).hex()

    def to_python(self, value: Any) -> Any:
        if isinstance(value, (bytes, memoryview)):
            return bytes(value).hex()
        return value

    def value_to_string(self, obj: models.Model) -> str:
        """The hex digest (a serializer's text; ``BinaryField`` would write base64)."""
        return str(self.value_from_object(obj))


class TokenIdField(models.CharField):  # type: ignore[type-arg]
    """Core's ``NativeUuid``: a UUID string in Python, PostgreSQL's 16-byte ``uuid`` in the row there,
    ``varchar(36)`` on SQLite and MariaDB/MySQL."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 36)
        super().__init__(*args, **kwargs)

    def db_type(self, connection: BaseDatabaseWrapper) -> str | None:
        if connection.vendor == "postgresql":
            return "uuid"
        return super().db_type(connection)

    def from_db_value(self, value: Any, expression: Any, connection: BaseDatabaseWrapper) -> str | None:
        return None if value is None else str(value)


class Account(models.Model):
    """A dashboard account: octotp's own user (the default), or, with ``OCTOTP["DASHBOARD_AUTH"] =
    "django"``, the account octotp keeps for a Django user (made on the user's first visit; the audit
    log and team memberships name it)."""

    id = models.CharField(max_length=36, primary_key=True, default=new_id, editable=False)
    email = models.CharField(max_length=320, unique=True)
    password_hash = models.CharField(max_length=255)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)
    is_operator = models.BooleanField(default=False, help_text="Sees every account and project, sets plans.")
    verified_at = models.DateTimeField(
        null=True, blank=True, default=timezone.now, help_text="Blank: the email is not verified (no API keys)."
    )
    external_id = models.CharField(
        max_length=200,
        unique=True,
        null=True,
        blank=True,
        help_text="The host user's id when the account stands for a Django user (DASHBOARD_AUTH = 'django').",
    )

    class Meta:
        db_table = "octotp_accounts"
        verbose_name = "account"

    def __str__(self) -> str:
        return self.email


class Project(models.Model):
    """A tenant: owns API keys and tokens; its plan sets its rate limit."""

    id = models.CharField(max_length=36, primary_key=True, default=new_id, editable=False)
    name = models.CharField(max_length=200)
    owner = models.ForeignKey(
        Account, null=True, blank=True, on_delete=models.SET_NULL, related_name="projects", db_index=False
    )
    plan = models.CharField(max_length=50)
    code_length = models.IntegerField(null=True, blank=True, help_text="Blank: the OCTOTP default.")
    expiry_default = models.IntegerField(null=True, blank=True, help_text="Seconds. Blank: the OCTOTP default.")
    expiry_min = models.IntegerField(null=True, blank=True, help_text="Seconds. Blank: the OCTOTP default.")
    expiry_max = models.IntegerField(null=True, blank=True, help_text="Seconds. Blank: the OCTOTP default.")
    default_phone_region = models.CharField(max_length=2, null=True, blank=True)
    deliver_only = models.BooleanField(default=False, help_text="Never return codes; always deliver them.")
    validate_requires_key = models.BooleanField(
        default=True,
        help_text="Refuse validates without an X-Api-Key. Projects from before this setting have it off.",
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    suspended_at = models.DateTimeField(
        null=True, blank=True, help_text="Set: the project's API keys are refused (problem code project_suspended)."
    )
    message_overrides = models.TextField(
        null=True,
        blank=True,
        help_text="The project's own sender name, reply-to, subject and bodies (JSON; edited in the dashboard).",
    )

    class Meta:
        db_table = "octotp_projects"
        indexes = [models.Index(fields=["owner"], name="ix_octotp_projects_owner_id")]
        # With OCTOTP = {"DASHBOARD_AUTH": "django"}: holders are the dashboard's operators (as superusers are).
        permissions = [("operate", "Can operate the octotp service")]

    def __str__(self) -> str:
        return self.name


class ApiKey(models.Model):
    """An API key's metadata; the key itself is never stored, only its digest."""

    id = models.CharField(max_length=36, primary_key=True, default=new_id, editable=False)
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="api_keys", db_index=False)
    digest = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=20)
    name = models.CharField(max_length=200)
    created_at = models.DateTimeField(default=timezone.now)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "octotp_api_keys"
        verbose_name = "API key"
        indexes = [models.Index(fields=["project"], name="ix_octotp_api_keys_project_id")]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


class Token(models.Model):
    """One issued code: only its hash and a masked recipient hint are stored."""

    seq = models.BigAutoField(primary_key=True, db_column="pk")
    token_id = TokenIdField(unique=True, db_column="id", verbose_name="id")
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="tokens", db_index=False)
    recipient_digest = DigestField()
    recipient_hint = models.CharField(max_length=330, verbose_name="recipient")
    channel = models.CharField(max_length=10)
    purpose = models.CharField(max_length=64, blank=True)
    code_hash = models.CharField(max_length=255)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    attempts = models.IntegerField(default=0)
    max_attempts = models.IntegerField()
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_reason = models.CharField(max_length=20, null=True, blank=True)

    class Meta:
        db_table = "octotp_tokens"
        indexes = [
            # The validate lookup: the newest token of one binding is a single index seek.
            models.Index(fields=["project", "recipient_digest", "purpose", "seq"], name="ix_octotp_tokens_binding"),
            # The newest-first list (core's ix_octotp_tokens_project_created; Django caps names at 30).
            models.Index(fields=["project", "created_at"], name="ix_octotp_tokens_proj_created"),
            models.Index(fields=["expires_at"], name="ix_octotp_tokens_expires_at"),
        ]

    def __str__(self) -> str:
        return str(self.token_id)


class UsageDay(models.Model):
    """One project's counters for one UTC day."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="usage_days", db_index=False)
    day = models.DateField()
    created = models.IntegerField(default=0)
    approved = models.IntegerField(default=0)
    failed = models.IntegerField(default=0)
    rate_limited = models.IntegerField(default=0)

    class Meta:
        db_table = "octotp_usage_daily"
        verbose_name = "usage day"
        constraints = [models.UniqueConstraint(fields=["project", "day"], name="uq_octotp_usage_daily_project_day")]

    def __str__(self) -> str:
        return f"{self.project_id} {self.day}"


class IdempotencyKey(models.Model):
    """A create request seen under an ``Idempotency-Key`` (``token_id`` is None while it is in progress)."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="idempotency_keys", db_index=False)
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64)
    claimed_at = models.DateTimeField()
    token_id = models.CharField(max_length=36, null=True, blank=True)
    response = models.TextField(null=True, blank=True)
    sent = models.BooleanField(default=False)

    class Meta:
        db_table = "octotp_idempotency_keys"
        verbose_name = "idempotency key"
        constraints = [models.UniqueConstraint(fields=["project", "key"], name="uq_octotp_idempotency_keys_key")]
        indexes = [models.Index(fields=["claimed_at"], name="ix_octotp_idem_claimed_at")]

    def __str__(self) -> str:
        return f"{self.project_id} {self.key}"


class DashboardSession(models.Model):
    """A dashboard login: only the SHA-256 digest of the session id is stored (the id is in the cookie)."""

    id_digest = models.CharField(max_length=64, primary_key=True)
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="dashboard_sessions", db_index=False)
    csrf_token = models.CharField(max_length=64)
    created_at = models.DateTimeField()
    last_seen_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    flash = models.TextField(null=True, blank=True, editable=False, help_text="Encrypted; cleared once shown.")

    class Meta:
        db_table = "octotp_dashboard_sessions"
        verbose_name = "dashboard session"
        indexes = [
            models.Index(fields=["account"], name="ix_octotp_dash_sess_account"),
            models.Index(fields=["expires_at"], name="ix_octotp_dash_sess_expires"),
        ]

    def __str__(self) -> str:
        return f"{self.account_id} until {self.expires_at}"


class ProjectMember(models.Model):
    """A team member's role in a project (the owner is ``Project.owner``, not a member row)."""

    id = models.CharField(max_length=36, primary_key=True, default=new_id, editable=False)
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="members", db_index=False)
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=20)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "octotp_project_members"
        verbose_name = "project member"
        constraints = [
            models.UniqueConstraint(fields=["project", "account"], name="uq_octotp_project_members_project_account")
        ]
        indexes = [models.Index(fields=["account"], name="ix_octotp_project_members_acct")]

    def __str__(self) -> str:
        return f"{self.account_id} {self.role} of {self.project_id}"


class Invitation(models.Model):
    """An emailed invitation to a project; its link's token is stored as a SHA-256 digest only."""

    id = models.CharField(max_length=36, primary_key=True, default=new_id, editable=False)
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="invitations", db_index=False)
    email = models.CharField(max_length=320)
    role = models.CharField(max_length=20)
    invited_by = models.ForeignKey(
        Account,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_column="invited_by",
        db_index=False,
    )
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    token_digest = models.CharField(max_length=64, unique=True, editable=False)

    class Meta:
        db_table = "octotp_invitations"
        indexes = [
            models.Index(fields=["project"], name="ix_octotp_invitations_project"),
            models.Index(fields=["invited_by"], name="ix_octotp_invitations_inviter"),
        ]

    def __str__(self) -> str:
        return f"{self.role} of {self.project_id}"


class AuditEvent(models.Model):
    """One line of the audit log (no foreign keys: a deleted project's events stay in its owner's log)."""

    id = models.CharField(max_length=36, primary_key=True, default=new_id, editable=False)
    at = models.DateTimeField()
    action = models.CharField(max_length=50)
    actor_id = models.CharField(max_length=36, null=True, blank=True)
    actor = models.CharField(max_length=320)
    project_id = models.CharField(max_length=36, null=True, blank=True)
    account_id = models.CharField(max_length=36, null=True, blank=True)
    detail = models.CharField(max_length=500, blank=True)
    address = models.CharField(max_length=64, null=True, blank=True)

    class Meta:
        db_table = "octotp_audit_events"
        verbose_name = "audit event"
        indexes = [
            models.Index(fields=["at"], name="ix_octotp_audit_events_at"),
            models.Index(fields=["project_id", "at"], name="ix_octotp_audit_project_at"),
            models.Index(fields=["account_id", "at"], name="ix_octotp_audit_account_at"),
        ]

    def __str__(self) -> str:
        return f"{self.at} {self.action}"


class Job(models.Model):
    """The outbox: a message to send (a code's delivery or an event webhook), written with its token
    and sent by a worker. ``payload`` is sealed with the server secret and wiped once the job is done."""

    id = models.CharField(max_length=36, primary_key=True, default=new_id, editable=False)
    kind = models.CharField(max_length=20)
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="jobs")
    token_id = models.CharField(max_length=36, unique=True, null=True, blank=True)
    state = models.CharField(max_length=10)
    attempts = models.IntegerField(default=0)
    due_at = models.DateTimeField()
    expires_at = models.DateTimeField(db_index=True)
    payload = models.TextField(null=True, blank=True)
    created_at = models.DateTimeField()
    claimed_by = models.CharField(max_length=64, null=True, blank=True)
    reason = models.CharField(max_length=64, null=True, blank=True)
    provider_id = models.CharField(max_length=64, null=True, blank=True, db_index=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    endpoint_id = models.CharField(max_length=36, null=True, blank=True, db_index=True)
    event_type = models.CharField(max_length=40, null=True, blank=True)

    class Meta:
        db_table = "octotp_jobs"
        verbose_name = "delivery job"
        indexes = [models.Index(fields=["state", "due_at"], name="ix_octotp_jobs_state_due")]

    def __str__(self) -> str:
        return f"{self.kind} {self.state}"


class WebhookEndpoint(models.Model):
    """A URL of a project's that receives its events (``token.created``...), signed per Standard
    Webhooks. ``secret_sealed`` is the signing secret sealed with the server secret: manage
    endpoints in octotp's dashboard or with ``manage.py octotp webhooks``, which show the secret once."""

    id = models.CharField(max_length=36, primary_key=True, default=new_id, editable=False)
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="webhook_endpoints")
    url = models.CharField(max_length=2048)
    secret_sealed = models.CharField(max_length=512)
    events = models.CharField(max_length=512, default="", blank=True)
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField()
    description = models.CharField(max_length=200, default="", blank=True)

    class Meta:
        db_table = "octotp_webhook_endpoints"
        verbose_name = "webhook endpoint"

    def __str__(self) -> str:
        return self.url
