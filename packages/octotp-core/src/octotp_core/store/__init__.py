"""Persistence: the ``Store`` protocol, its records, and the SQLAlchemy implementation."""

from .engine import make_engine
from .protocol import IdempotencyClaimRaced, Store
from .records import (
    Account,
    ApiKey,
    AuditEvent,
    DashboardSession,
    IdempotencyRecord,
    Invitation,
    Job,
    Member,
    NewToken,
    Project,
    Token,
    TokenFilter,
    UsageDay,
    WebhookEndpoint,
)
from .sql import SqlAlchemyStore

__all__ = [
    "Account",
    "ApiKey",
    "AuditEvent",
    "DashboardSession",
    "IdempotencyClaimRaced",
    "IdempotencyRecord",
    "Invitation",
    "Job",
    "Member",
    "NewToken",
    "Project",
    "SqlAlchemyStore",
    "Store",
    "Token",
    "TokenFilter",
    "UsageDay",
    "WebhookEndpoint",
    "make_engine",
]
