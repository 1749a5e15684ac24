"""The SQL both stores run, written once.

Every statement of the token, API-key, usage and idempotency paths is built here with SQLAlchemy Core
from the tables in ``models`` (the same tables Django's migrations create), with named bound
parameters, and nothing else decides how those rows are read or changed:

- ``SqlAlchemyStore`` executes them on its engine with a parameter dict;
- ``DjangoStore`` compiles each one once per database alias for that connection's SQLAlchemy dialect
  (``format`` parameter style, as Django's cursors expect) and runs the compiled text through
  Django's own ``connection.cursor()``, so Django's transactions, routers and execute wrappers apply.

Bound parameters are named ``b_*`` (conditions) and ``v_*`` (values written); the ``*_params``
helpers build them from records, so both stores pass the same values. Select lists follow the
records' field order, so a row becomes its record positionally (``Token(*row)``).

Token state changes are conditional single statements whose row count decides the winner (no
read-then-write): single use holds under any concurrency on SQLite, PostgreSQL and MariaDB/MySQL.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
from typing import TYPE_CHECKING, Any

from sqlalchemy import Column, Integer, Table, bindparam, delete, insert, select, text, update

from ..states import CLOSED_STATES
from .models import ApiKeyRow, IdempotencyKeyRow, ProjectRow, TokenRow, UsageRow
from .records import ApiKey, IdempotencyRecord, NewToken, Project, Token, TokenFilter, UsageDay

if TYPE_CHECKING:
    from .protocol import Store

projects: Table = ProjectRow.__table__  # type: ignore[assignment]
api_keys: Table = ApiKeyRow.__table__  # type: ignore[assignment]
tokens: Table = TokenRow.__table__  # type: ignore[assignment]
usage_daily: Table = UsageRow.__table__  # type: ignore[assignment]
idempotency_keys: Table = IdempotencyKeyRow.__table__  # type: ignore[assignment]

COUNTERS = ("created", "approved", "failed", "rate_limited")


def _names(record: type[Any]) -> list[str]:
    return [f.name for f in dataclasses.fields(record)]


def _columns(table: Table, record: type[Any]) -> list[Column[Any]]:
    """``table``'s columns in the order of ``record``'s fields, so a row is the record's arguments."""
    return [table.c[name] for name in _names(record)]


def _b(table: Table, name: str, column: str | None = None) -> Any:
    """A condition parameter ``b_<name>`` typed as ``table``'s ``column`` (default: the same name)."""
    return bindparam(f"b_{name}", type_=table.c[column or name].type)


def _values(table: Table, names: list[str]) -> dict[str, Any]:
    """``{column: v_<column>}``: an INSERT's or UPDATE's values, all bound at execution."""
    return {name: bindparam(f"v_{name}", type_=table.c[name].type) for name in names}


def _v(values: dict[str, Any]) -> dict[str, Any]:
    """Values keyed as ``_values`` binds them."""
    return {f"v_{name}": value for name, value in values.items()}


# -- tokens ----------------------------------------------------------------------------------
TOKEN_COLUMNS = _columns(tokens, Token)
_INSERTED_TOKEN = [*_names(NewToken), "attempts"]


def _binding() -> tuple[Any, ...]:
    return (
        tokens.c.project_id == _b(tokens, "project_id"),
        tokens.c.recipient_digest == _b(tokens, "recipient_digest"),
        tokens.c.purpose == _b(tokens, "purpose"),
    )


# What "can still take an attempt" means, in one place (reserve_attempt and reserve_latest).
def _reservable() -> tuple[Any, ...]:
    return (
        tokens.c.attempts < tokens.c.max_attempts,
        tokens.c.closed_at.is_(None),
        tokens.c.expires_at > _b(tokens, "now", "expires_at"),
    )


SUPERSEDE_TOKENS = (
    update(tokens)
    .where(*_binding(), tokens.c.closed_at.is_(None))
    .values(closed_at=_b(tokens, "now", "closed_at"), closed_reason="superseded")
)
# ``inline``: no implicit RETURNING of the new ``pk`` on PostgreSQL; nobody reads it.
INSERT_TOKEN = insert(tokens).values(_values(tokens, _INSERTED_TOKEN)).inline()


# PostgreSQL runs a create as one statement (one round trip, atomic on its own): a data-modifying
# CTE supersedes the binding's open tokens and the INSERT adds the new one, both on the statement's
# snapshot, so the new row is never among those superseded. (SQLAlchemy's own CTE-in-INSERT would
# turn the execution parameters into SET columns of the inner UPDATE, hence text with typed binds.)
def _pg_superseding_insert() -> Any:
    sql = (
        f"WITH superseded AS (UPDATE {tokens.name} SET closed_at = :b_now, closed_reason = 'superseded' "
        "WHERE project_id = :b_project_id AND recipient_digest = :b_recipient_digest AND purpose = :b_purpose "
        f"AND closed_at IS NULL) INSERT INTO {tokens.name} ({', '.join(_INSERTED_TOKEN)}) "
        f"VALUES ({', '.join(':v_' + n for n in _INSERTED_TOKEN)})"
    )
    binds = list(_values(tokens, _INSERTED_TOKEN).values())
    binds += [_b(tokens, "now", "closed_at"), _b(tokens, "project_id"), _b(tokens, "recipient_digest")]
    binds += [_b(tokens, "purpose")]
    return text(sql).bindparams(*binds)


PG_SUPERSEDING_INSERT = _pg_superseding_insert()


def insert_token_params(token: NewToken) -> dict[str, Any]:
    """The parameters of ``SUPERSEDE_TOKENS`` and ``INSERT_TOKEN`` (or ``PG_SUPERSEDING_INSERT``) together."""
    return {
        "b_project_id": token.project_id,
        "b_recipient_digest": token.recipient_digest,
        "b_purpose": token.purpose,
        "b_now": token.created_at,
        **_v({"attempts": 0, **token.__dict__}),
    }


def latest_token_select(project_id: Any, recipient_digest: Any, purpose: Any) -> Any:
    """The validate lookup: one seek on ``ix_octotp_tokens_binding``, newest first."""
    return (
        select(*TOKEN_COLUMNS)
        .where(
            tokens.c.project_id == project_id,
            tokens.c.recipient_digest == recipient_digest,
            tokens.c.purpose == purpose,
        )
        .order_by(tokens.c.pk.desc())
        .limit(1)
        # MySQL/MariaDB may pick a shorter project index for ORDER BY ... LIMIT 1 and scan a busy
        # project's rows; name the binding index so the lookup stays one seek at any size.
        .with_hint(tokens, "FORCE INDEX (ix_octotp_tokens_binding)", "mysql")
        .with_hint(tokens, "FORCE INDEX (ix_octotp_tokens_binding)", "mariadb")
    )


LATEST_TOKEN = latest_token_select(*[_b(tokens, n) for n in ("project_id", "recipient_digest", "purpose")])
GET_TOKEN = select(*TOKEN_COLUMNS).where(tokens.c.id == _b(tokens, "id"))
LIST_TOKENS = (
    select(*TOKEN_COLUMNS)
    .where(tokens.c.project_id == _b(tokens, "project_id"))
    .order_by(tokens.c.created_at.desc(), tokens.c.pk.desc())
    .limit(bindparam("b_limit", type_=Integer))
    .offset(bindparam("b_offset", type_=Integer))
)


def state_condition(state: str) -> tuple[Any, ...]:
    """SQL that holds for exactly the tokens ``octotp_core.states.token_state`` calls ``state`` at
    ``b_now`` (the same order of rules: a closed token is its reason, then expiry beats the cap)."""
    if state in CLOSED_STATES:
        return (tokens.c.closed_reason == state,)
    now = _b(tokens, "now", "expires_at")
    open_ = tokens.c.closed_reason.is_(None)
    if state == "expired":
        return (open_, tokens.c.expires_at <= now)
    if state == "locked":
        return (open_, tokens.c.expires_at > now, tokens.c.attempts >= tokens.c.max_attempts)
    if state == "pending":
        return (open_, tokens.c.expires_at > now, tokens.c.attempts < tokens.c.max_attempts)
    raise ValueError(f"unknown token state {state!r}")


TOKEN_FILTERS = ("recipient_digest", "state", "purpose", "channel")


@functools.lru_cache(maxsize=128)
def list_tokens_select(filters: tuple[str, ...], state: str | None = None) -> Any:
    """``LIST_TOKENS`` narrowed by the named ``TOKEN_FILTERS`` (parameters ``b_<name>``; the state's
    own condition reads ``b_now``). One statement per combination, so each compiles once."""
    statement = LIST_TOKENS
    for name in filters:
        if name == "state":
            assert state is not None
            statement = statement.where(*state_condition(state))
        else:
            statement = statement.where(tokens.c[name] == _b(tokens, name))
    return statement


def list_tokens_params(
    project_id: str, limit: int, offset: int, token_filter: TokenFilter | None, now: dt.datetime
) -> tuple[Any, dict[str, Any]]:
    """The statement ``Store.list_tokens`` runs for this filter, with its parameters."""
    params: dict[str, Any] = {"b_project_id": project_id, "b_limit": limit, "b_offset": offset, "b_now": now}
    if token_filter is None:
        return LIST_TOKENS, params
    used = tuple(name for name in TOKEN_FILTERS if getattr(token_filter, name) is not None)
    for name in used:
        if name != "state":
            params[f"b_{name}"] = getattr(token_filter, name)
    return list_tokens_select(used, token_filter.state), params


RESERVE_ATTEMPT = (
    update(tokens).where(tokens.c.id == _b(tokens, "id"), *_reservable()).values(attempts=tokens.c.attempts + 1)
)
# Validation's usual case in one statement: reserve an attempt on the binding's newest token if it
# is open, unexpired and under its cap, and return it. Only where UPDATE ... RETURNING exists
# (PostgreSQL, SQLite 3.35+); MariaDB/MySQL have neither that nor a self-referencing subquery in an
# UPDATE, so they take ``reserve_latest_in_two_steps``.
RESERVE_LATEST = (
    update(tokens)
    .where(
        tokens.c.pk == select(tokens.c.pk).where(*_binding()).order_by(tokens.c.pk.desc()).limit(1).scalar_subquery(),
        *_reservable(),
    )
    .values(attempts=tokens.c.attempts + 1)
    .returning(*TOKEN_COLUMNS)
)
CONSUME_TOKEN = (
    update(tokens)
    .where(tokens.c.id == _b(tokens, "id"), tokens.c.closed_at.is_(None))
    .values(closed_at=_b(tokens, "now", "closed_at"), closed_reason="approved")
)
CLOSE_TOKEN = (
    update(tokens)
    .where(tokens.c.id == _b(tokens, "id"), tokens.c.closed_at.is_(None))
    .values(closed_at=_b(tokens, "now", "closed_at"), closed_reason=_b(tokens, "reason", "closed_reason"))
)
CLOSE_PROJECT_TOKEN = CLOSE_TOKEN.where(tokens.c.project_id == _b(tokens, "project_id"))


def binding_params(
    project_id: str, recipient_digest: str, purpose: str, now: dt.datetime | None = None
) -> dict[str, Any]:
    """The parameters of ``LATEST_TOKEN`` (and, with ``now``, ``RESERVE_LATEST``)."""
    params: dict[str, Any] = {"b_project_id": project_id, "b_recipient_digest": recipient_digest, "b_purpose": purpose}
    if now is not None:
        params["b_now"] = now
    return params


def reserve_latest_in_two_steps(
    store: Store, project_id: str, recipient_digest: str, purpose: str, now: dt.datetime
) -> Token | None:
    """``Store.reserve_latest`` where ``RESERVE_LATEST`` cannot run (no ``UPDATE ... RETURNING``): the
    newest token, then ``reserve_attempt`` on it, whose row count still decides."""
    token = store.latest_token(project_id, recipient_digest, purpose)
    if token is None or not store.reserve_attempt(token.id, now):
        return None
    return dataclasses.replace(token, attempts=token.attempts + 1)


# -- projects (the hot path's read; the rest of project CRUD stays with each store) ----------
PROJECT_COLUMNS = _columns(projects, Project)
GET_PROJECT = select(*PROJECT_COLUMNS).where(projects.c.id == _b(projects, "id"))

# -- API keys --------------------------------------------------------------------------------
API_KEY_COLUMNS = _columns(api_keys, ApiKey)
INSERT_API_KEY = insert(api_keys).values(_values(api_keys, [*_names(ApiKey), "digest"]))
# The key's columns, then its project's (``row[:API_KEY_WIDTH]`` and ``row[API_KEY_WIDTH:]``).
FIND_API_KEY = (
    select(*API_KEY_COLUMNS, *[c.label(f"p_{c.name}") for c in PROJECT_COLUMNS])
    .join(projects, projects.c.id == api_keys.c.project_id)
    .where(api_keys.c.digest == _b(api_keys, "digest"))
)
API_KEY_WIDTH = len(API_KEY_COLUMNS)
# Oldest first; the id breaks ties between keys created in the same microsecond.
LIST_API_KEYS = (
    select(*API_KEY_COLUMNS)
    .where(api_keys.c.project_id == _b(api_keys, "project_id"))
    .order_by(api_keys.c.created_at, api_keys.c.id)
)
REVOKE_API_KEY = (
    update(api_keys)
    .where(api_keys.c.id == _b(api_keys, "id"), api_keys.c.revoked_at.is_(None))
    .values(revoked_at=_b(api_keys, "now", "revoked_at"))
)
TOUCH_API_KEY = (
    update(api_keys).where(api_keys.c.id == _b(api_keys, "id")).values(last_used_at=_b(api_keys, "now", "last_used_at"))
)


def insert_api_key_params(key: ApiKey, digest: str) -> dict[str, Any]:
    """The parameters of ``INSERT_API_KEY``."""
    return _v({**key.__dict__, "digest": digest})


# -- idempotency keys ------------------------------------------------------------------------
IDEMPOTENCY_COLUMNS = _columns(idempotency_keys, IdempotencyRecord)
_IDEMPOTENCY_KEY = (
    idempotency_keys.c.project_id == _b(idempotency_keys, "project_id"),
    idempotency_keys.c.key == _b(idempotency_keys, "key"),
)
INSERT_IDEMPOTENCY_KEY = insert(idempotency_keys).values(
    _values(idempotency_keys, ["project_id", "key", "fingerprint", "claimed_at", "sent"])
)
GET_IDEMPOTENCY_KEY = select(*IDEMPOTENCY_COLUMNS).where(*_IDEMPOTENCY_KEY)
# Taking a key over is conditional, so concurrent retries never both win: an in-progress claim only
# once it is stale, a completed one only while it still names the token the caller saw.
_RECLAIM = (
    update(idempotency_keys)
    .where(*_IDEMPOTENCY_KEY)
    .values(token_id=None, response=None, claimed_at=_b(idempotency_keys, "now", "claimed_at"))
)
RECLAIM_STALE_IDEMPOTENCY_KEY = _RECLAIM.where(
    idempotency_keys.c.token_id.is_(None),
    idempotency_keys.c.claimed_at < _b(idempotency_keys, "claimed_before", "claimed_at"),
)
RECLAIM_COMPLETED_IDEMPOTENCY_KEY = _RECLAIM.where(idempotency_keys.c.token_id == _b(idempotency_keys, "token_id"))
COMPLETE_IDEMPOTENCY_KEY = (
    update(idempotency_keys)
    .where(*_IDEMPOTENCY_KEY)
    .values(_values(idempotency_keys, ["token_id", "response", "sent"]))
)
RELEASE_IDEMPOTENCY_KEY = delete(idempotency_keys).where(*_IDEMPOTENCY_KEY)


def idempotency_key_params(project_id: str, key: str, **more: Any) -> dict[str, Any]:
    """``b_project_id``/``b_key`` and any further ``b_*`` or ``v_*`` parameters."""
    return {"b_project_id": project_id, "b_key": key, **more}


def claim_idempotency_key_params(project_id: str, key: str, fingerprint: str, now: dt.datetime) -> dict[str, Any]:
    """The parameters of ``INSERT_IDEMPOTENCY_KEY`` (and of ``GET_IDEMPOTENCY_KEY``): a fresh in-progress claim."""
    values = {"project_id": project_id, "key": key, "fingerprint": fingerprint, "claimed_at": now, "sent": False}
    return idempotency_key_params(project_id, key, **_v(values))


def reclaim_idempotency_key(
    project_id: str, key: str, expected_token_id: str | None, claimed_before: dt.datetime, now: dt.datetime
) -> tuple[Any, dict[str, Any]]:
    """The statement ``Store.reclaim_idempotency_key`` runs, with its parameters."""
    if expected_token_id is None:
        params = idempotency_key_params(project_id, key, b_now=now, b_claimed_before=claimed_before)
        return RECLAIM_STALE_IDEMPOTENCY_KEY, params
    params = idempotency_key_params(project_id, key, b_now=now, b_token_id=expected_token_id)
    return RECLAIM_COMPLETED_IDEMPOTENCY_KEY, params


# -- usage -----------------------------------------------------------------------------------
USAGE_COLUMNS = _columns(usage_daily, UsageDay)
USAGE_SINCE = (
    select(*USAGE_COLUMNS)
    .where(
        usage_daily.c.project_id == _b(usage_daily, "project_id"), usage_daily.c.day >= _b(usage_daily, "since", "day")
    )
    .order_by(usage_daily.c.day)
)


@functools.lru_cache(maxsize=64)
def usage_upsert(dialect: str, counted: tuple[str, ...]) -> Any:
    """The usage-counter upsert adding to the ``counted`` columns, for one dialect (``sqlite``,
    ``postgresql``, ``mysql``/``mariadb``): a single statement, so concurrent counts never race."""
    values = _values(usage_daily, ["project_id", "day", *COUNTERS])
    if dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        s = sqlite_insert(usage_daily).values(values)
        return s.on_conflict_do_update(
            index_elements=["project_id", "day"], set_={k: usage_daily.c[k] + s.excluded[k] for k in counted}
        )
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        p = pg_insert(usage_daily).values(values)
        return p.on_conflict_do_update(
            index_elements=["project_id", "day"], set_={k: usage_daily.c[k] + p.excluded[k] for k in counted}
        )
    if dialect in ("mysql", "mariadb"):
        from sqlalchemy.dialects.mysql import insert as mysql_insert

        m = mysql_insert(usage_daily).values(values)
        return m.on_duplicate_key_update({k: usage_daily.c[k] + m.inserted[k] for k in counted})
    raise NotImplementedError(f"usage counters on {dialect}")  # pragma: no cover - not supported


def usage_counts(
    project_id: str, day: dt.date, created: int, approved: int, failed: int, rate_limited: int
) -> tuple[tuple[str, ...], dict[str, Any]] | None:
    """The counters ``add_usage`` adds to (for ``usage_upsert``) and its parameters; None when all are 0."""
    counts = (created, approved, failed, rate_limited)
    counted = tuple(name for name, count in zip(COUNTERS, counts, strict=True) if count)
    if not counted:
        return None
    return counted, _v({"project_id": project_id, "day": day, **dict(zip(COUNTERS, counts, strict=True))})
