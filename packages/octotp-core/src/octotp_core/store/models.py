"""SQLAlchemy 2.x typed models. The Alembic migrations in ``octotp_core.migrations`` must match these."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Dialect,
    Double,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
)
from sqlalchemy.dialects import mysql, postgresql
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Stored as naive UTC with microseconds on every database; read back as aware UTC."""

    impl = DateTime
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> Any:
        if dialect.name in ("mysql", "mariadb"):
            return dialect.type_descriptor(mysql.DATETIME(fsp=6))
        return dialect.type_descriptor(DateTime())

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(dt.timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        return None if value is None else value.replace(tzinfo=dt.timezone.utc)


class HexDigest(TypeDecorator[str]):
    """A SHA-256 digest: 64 hex characters in records and statements' parameters, its 32 raw bytes in
    the row (``bytea`` on PostgreSQL, ``BLOB`` on SQLite, ``BINARY(32)`` on MariaDB/MySQL): half the
    width in the table and in every index that holds it."""

    impl = LargeBinary(32)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> Any:
        if dialect.name in ("mysql", "mariadb"):
            return dialect.type_descriptor(mysql.BINARY(32))
        return dialect.type_descriptor(LargeBinary(32))

    def process_bind_param(self, value: str | None, dialect: Dialect) -> bytes | None:
        return None if value is None else bytes.fromhex(value)

    def process_result_value(self, value: bytes | None, dialect: Dialect) -> str | None:
        return None if value is None else bytes(value).hex()

    def literal_processor(self, dialect: Dialect) -> Any:
        """A bytes literal (for ``literal_binds``, e.g. an EXPLAIN of a statement)."""

        def process(value: str) -> str:
            digits = bytes.fromhex(value).hex()  # only hex digits reach the SQL text
            return f"'\\x{digits}'::bytea" if dialect.name == "postgresql" else f"X'{digits}'"

        return process


class NativeUuid(TypeDecorator[str]):
    """A UUID kept as its canonical string in records, stored as PostgreSQL's 16-byte ``uuid``; on
    SQLite and MariaDB/MySQL the 36-character string as before."""

    impl = String(36)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> Any:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(postgresql.UUID(as_uuid=False))
        return dialect.type_descriptor(String(36))

    def process_result_value(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else str(value)


# SQLite only auto-increments an INTEGER PRIMARY KEY.
BigIntPK = BigInteger().with_variant(Integer, "sqlite")
# Text beyond MySQL's 64 kB TEXT (MEDIUMTEXT: 16 MB there; TEXT is unbounded elsewhere).
LONG_TEXT = Text().with_variant(mysql.MEDIUMTEXT(), "mysql", "mariadb")


class Base(DeclarativeBase):
    """Declarative base with its own metadata, so a host app's tables never mix with ours."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class AccountRow(Base):
    __tablename__ = "octotp_accounts"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    is_operator: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # Migration 0006 marks existing accounts verified (an operator made them).
    verified_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # The host's user id when the account stands for a host app's user (dashboard host login).
    external_id: Mapped[str | None] = mapped_column(String(200), unique=True, index=True)


class ProjectRow(Base):
    __tablename__ = "octotp_projects"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    owner_id: Mapped[str | None] = mapped_column(ForeignKey("octotp_accounts.id", ondelete="SET NULL"), index=True)
    plan: Mapped[str] = mapped_column(String(50))
    code_length: Mapped[int | None] = mapped_column(Integer)
    expiry_default: Mapped[int | None] = mapped_column(Integer)
    expiry_min: Mapped[int | None] = mapped_column(Integer)
    expiry_max: Mapped[int | None] = mapped_column(Integer)
    default_phone_region: Mapped[str | None] = mapped_column(String(2))
    deliver_only: Mapped[bool] = mapped_column(Boolean, default=False)
    # Migration 0004 fills existing rows with false (Octotp compatibility), and so does the database for a
    # writer that does not know the column; octotp itself creates new projects with it on.
    validate_requires_key: Mapped[bool] = mapped_column(Boolean, default=True, server_default=false())
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    suspended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # JSON text (Project.message_overrides); MEDIUMTEXT on MySQL, whose TEXT stops at 64 kB (an HTML
    # body may be 100,000 characters).
    message_overrides: Mapped[str | None] = mapped_column(LONG_TEXT)


class ApiKeyRow(Base):
    __tablename__ = "octotp_api_keys"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    project_id: Mapped[str] = mapped_column(ForeignKey("octotp_projects.id", ondelete="CASCADE"), index=True)
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class TokenRow(Base):
    __tablename__ = "octotp_tokens"
    # Every index serves a statement of ``statements``/``purge_statements`` (issue 18 measured each one's
    # bytes per token with benchmarks/row_size.py):
    # - the primary key ``pk``: ``RESERVE_LATEST``'s subquery and the purge's batched deletes;
    # - unique ``id``: every per-token statement (``GET_TOKEN``, ``RESERVE_ATTEMPT``, ``CONSUME_TOKEN``,
    #   ``CLOSE_TOKEN``), since records and the API name a token by its UUID;
    # - ``ix_octotp_tokens_binding``, ``ix_octotp_tokens_project_created``: below;
    # - ``expires_at``: the purge's oldest-first batch of expired keys and its count.
    __table_args__ = (
        # The validate lookup and the create's supersede: newest token of one binding is a single
        # index seek. project_id stays first: a recipient's digest is the same in every project, so
        # without it a lookup would walk that recipient's tokens of all projects.
        Index("ix_octotp_tokens_binding", "project_id", "recipient_digest", "purpose", "pk"),
        # The dashboard's newest-first list (``LIST_TOKENS``). Deliberately not (project_id, pk): that
        # would compete with the binding index for the validate lookup's ORDER BY pk and scan a busy
        # project's tokens.
        Index("ix_octotp_tokens_project_created", "project_id", "created_at"),
    )

    pk: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    # A uuid (16 bytes) on PostgreSQL, the 36-character text elsewhere; a str in records (migration 0011).
    id: Mapped[str] = mapped_column(NativeUuid, unique=True)
    project_id: Mapped[str] = mapped_column(ForeignKey("octotp_projects.id", ondelete="CASCADE"))
    # The keyed SHA-256 of the recipient as 32 bytes (migration 0011); hex in records and parameters.
    recipient_digest: Mapped[str] = mapped_column(HexDigest)
    recipient_hint: Mapped[str] = mapped_column(String(330))
    channel: Mapped[str] = mapped_column(String(10))
    purpose: Mapped[str] = mapped_column(String(64))
    # Text either hasher writes (argon2's encoded hash, ~97 characters; ``hmac-sha256$`` and 64 hex):
    # variable-length on every database, so the 255 only bounds it.
    code_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer)
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    closed_reason: Mapped[str | None] = mapped_column(String(20))


class JobRow(Base):
    """The outbox: a message to send, written with its token (``Job``)."""

    __tablename__ = "octotp_jobs"
    __table_args__ = (
        # What a worker claims: due jobs in order, one index seek whatever the table holds.
        Index("ix_octotp_jobs_state_due", "state", "due_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    project_id: Mapped[str] = mapped_column(ForeignKey("octotp_projects.id", ondelete="CASCADE"), index=True)
    # Not a foreign key: purge and project deletion delete jobs with their tokens explicitly.
    token_id: Mapped[str | None] = mapped_column(String(36), unique=True, index=True)
    state: Mapped[str] = mapped_column(String(10))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    due_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    payload: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str | None] = mapped_column(String(64))
    provider_id: Mapped[str | None] = mapped_column(String(64), index=True)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    delivered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    endpoint_id: Mapped[str | None] = mapped_column(String(36), index=True)
    event_type: Mapped[str | None] = mapped_column(String(40))


class WebhookEndpointRow(Base):
    __tablename__ = "octotp_webhook_endpoints"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    project_id: Mapped[str] = mapped_column(ForeignKey("octotp_projects.id", ondelete="CASCADE"), index=True)
    url: Mapped[str] = mapped_column(String(2048))
    secret_sealed: Mapped[str] = mapped_column(String(512))
    events: Mapped[str] = mapped_column(String(512), default="")
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    description: Mapped[str] = mapped_column(String(200), default="")


class UsageRow(Base):
    __tablename__ = "octotp_usage_daily"

    project_id: Mapped[str] = mapped_column(ForeignKey("octotp_projects.id", ondelete="CASCADE"), primary_key=True)
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    created: Mapped[int] = mapped_column(Integer, default=0)
    approved: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    rate_limited: Mapped[int] = mapped_column(Integer, default=0)


class IdempotencyKeyRow(Base):
    __tablename__ = "octotp_idempotency_keys"

    project_id: Mapped[str] = mapped_column(ForeignKey("octotp_projects.id", ondelete="CASCADE"), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    claimed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    token_id: Mapped[str | None] = mapped_column(String(36))
    response: Mapped[str | None] = mapped_column(Text)
    sent: Mapped[bool] = mapped_column(Boolean, default=False)


class DashboardSessionRow(Base):
    __tablename__ = "octotp_dashboard_sessions"

    id_digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("octotp_accounts.id", ondelete="CASCADE"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    flash: Mapped[str | None] = mapped_column(Text)


class ProjectMemberRow(Base):
    """A team member's role in a project (the owner is ``octotp_projects.owner_id``, not a row here)."""

    __tablename__ = "octotp_project_members"
    __table_args__ = (UniqueConstraint("project_id", "account_id", name="uq_octotp_project_members_project_account"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    project_id: Mapped[str] = mapped_column(ForeignKey("octotp_projects.id", ondelete="CASCADE"))
    account_id: Mapped[str] = mapped_column(ForeignKey("octotp_accounts.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class InvitationRow(Base):
    """An emailed invitation to a project; its link's token is kept as a SHA-256 digest only."""

    __tablename__ = "octotp_invitations"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    project_id: Mapped[str] = mapped_column(ForeignKey("octotp_projects.id", ondelete="CASCADE"), index=True)
    email: Mapped[str] = mapped_column(String(320))
    role: Mapped[str] = mapped_column(String(20))
    invited_by: Mapped[str | None] = mapped_column(ForeignKey("octotp_accounts.id", ondelete="SET NULL"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    accepted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    token_digest: Mapped[str] = mapped_column(String(64), unique=True)


class AuditEventRow(Base):
    """One line of the audit log. No foreign keys: a project's deletion stays in its owner's log."""

    __tablename__ = "octotp_audit_events"
    __table_args__ = (
        Index("ix_octotp_audit_events_project_at", "project_id", "at"),
        Index("ix_octotp_audit_events_account_at", "account_id", "at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    action: Mapped[str] = mapped_column(String(50))
    actor_id: Mapped[str | None] = mapped_column(String(36))
    actor: Mapped[str] = mapped_column(String(320))
    project_id: Mapped[str | None] = mapped_column(String(36))
    account_id: Mapped[str | None] = mapped_column(String(36))
    detail: Mapped[str] = mapped_column(String(500))
    address: Mapped[str | None] = mapped_column(String(64))


class RateLimitHitRow(Base):
    """One entry of a moving window of the ``database://`` rate-limit storage (``limitstorage``).

    Times are seconds since the epoch as ``limits`` counts them (a double, not a datetime: every
    decision compares them with ``time.time()``)."""

    __tablename__ = "octotp_rate_limit_hits"
    __table_args__ = (
        # Counting one key's window is a range seek on (key, hit_at).
        Index("ix_octotp_rate_limit_hits_key_hit_at", "key", "hit_at"),
    )

    pk: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(255))
    hit_at: Mapped[float] = mapped_column(Double)
    # The sweep deletes by expiry across keys.
    expires_at: Mapped[float] = mapped_column(Double, index=True)


SQLALCHEMY_ONLY_TABLES = frozenset({RateLimitHitRow.__tablename__})
"""Tables of features only the SQLAlchemy store offers (the ``database://`` rate-limit storage);
octotp-django's migrations do not create them."""
