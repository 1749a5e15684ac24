"""Persistence: the ``Store`` protocol, its records, and the SQLAlchemy implementation."""

from .engine import make_engine
from .protocol import IdempotencyClaimRaced, Store
from .records import Account, ApiKey, DashboardSession, IdempotencyRecord, NewToken, Project, Token, UsageDay
from .sql import SqlAlchemyStore

__all__ = [
    "Account",
    "ApiKey",
    "DashboardSession",
    "IdempotencyClaimRaced",
    "IdempotencyRecord",
    "NewToken",
    "Project",
    "SqlAlchemyStore",
    "Store",
    "Token",
    "UsageDay",
    "make_engine",
]
