"""Checks that octotp's dependencies answer: ``/readyz`` runs the cheap ones, ``octotp check`` all.

Each check returns a ``Check`` (its name, whether it passed and why, never a secret) instead of
raising, so a command can report every problem at once. ``ensure_ready`` is ``/readyz``: the
database and the rate-limit storage, raising ``StorageUnavailable`` (503) on the first that fails.

Delivery backends are checked in dry run: a backend with a ``check()`` method (``check() -> str``,
raising when the backend cannot work) is asked; ``check`` never sends a message.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .core import Octotp
from .delivery import CheckFailed
from .errors import OctotpError, StorageUnavailable


@dataclass(frozen=True)
class Check:
    """The outcome of one check: ``name`` (``database``, ``delivery email``...), ``ok``, and
    ``detail`` saying what was found or what is wrong (no password, key or code)."""

    name: str
    ok: bool
    detail: str
    cause: BaseException | None = field(default=None, repr=False, compare=False)
    """The exception a failed check caught (not shown: ``detail`` describes it)."""

    def as_dict(self) -> dict[str, Any]:
        """The check as ``--json`` prints it."""
        return {"name": self.name, "ok": self.ok, "detail": self.detail}


def reason(exc: BaseException) -> str:
    """A one-line reason for ``exc``: an octotp error's detail, with the driver's own first line
    (``connection refused``...) when it wrapped one."""
    if isinstance(exc, CheckFailed):
        return str(exc)
    if isinstance(exc, OctotpError):
        text = exc.detail
        cause = exc.__cause__
        if cause is not None:
            inner = getattr(cause, "orig", None) or cause
            first = str(inner).strip().splitlines()[0] if str(inner).strip() else ""
            if first:
                text = f"{text} ({first})"
        return text
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__


def _run(name: str, probe: Callable[[], str]) -> Check:
    try:
        return Check(name, True, probe())
    except Exception as exc:  # a check reports, it never raises
        return Check(name, False, reason(exc), exc)


def _masked(url: Any) -> str:
    from .cli.database import masked_url  # the CLI's masking, imported late: the CLI imports core

    return masked_url(url)


def check_database(octotp: Octotp) -> Check:
    """The database answers a ``SELECT 1``."""

    def probe() -> str:
        octotp.store.ping()
        if octotp.engine is None:
            return f"the {type(octotp.store).__name__} answers"
        return f"{_masked(octotp.engine.url)} answers"

    return _run("database", probe)


def check_migrations(octotp: Octotp) -> Check:
    """The database is at the newest Alembic revision this octotp ships (SQLAlchemy stores only; a
    Django store is migrated by ``manage.py migrate``, whose own checks cover it)."""
    from .migrate import current_revision, head_revision

    def probe() -> str:
        if octotp.engine is None:
            return f"not checked: the {type(octotp.store).__name__} is migrated by its framework"
        head = head_revision()
        try:
            current = current_revision(octotp.engine)
        except Exception as exc:  # the database is down: the database check says why
            raise StorageUnavailable(f"cannot read the revision: {type(exc).__name__}") from exc
        if current is None:
            raise StorageUnavailable(f"octotp's tables do not exist (newest revision {head}): run `octotp db upgrade`")
        if current != head:
            raise StorageUnavailable(f"at revision {current}, not the newest {head}: run `octotp db upgrade`")
        return f"at the newest revision {head}"

    return _run("database migrations", probe)


def check_rate_limit_storage(octotp: Octotp) -> Check:
    """The rate-limit storage answers (``limits``' own ``check()``: a Redis PING)."""
    uri = octotp.settings.rate_limit_storage

    def probe() -> str:
        octotp.limits.ping()
        if uri.startswith("memory://"):
            return "memory:// (counts in each process: use database:// or redis:// with several)"
        return f"{_masked(uri)} answers"

    check = _run("rate-limit storage", probe)
    if not check.ok:  # name where it looked: limits' check() answers only yes or no
        return Check(check.name, False, f"{_masked(uri)}: {check.detail}", check.cause)
    return check


def check_delivery(octotp: Octotp) -> list[Check]:
    """Each channel's delivery backend, in dry run: its ``check()`` when it has one (SMTP connects,
    says EHLO, STARTTLS and logs in when configured, then QUITs without sending)."""
    checks = []
    for channel, backend in sorted(octotp.tokens.backends.items()):
        kind = getattr(backend, "name", type(backend).__name__)
        probe = getattr(backend, "check", None)
        if probe is None:
            checks.append(Check(f"delivery {channel}", True, f"{kind}: built (it has no dry-run check)"))
            continue
        check = _run(f"delivery {channel}", probe)
        checks.append(Check(check.name, check.ok, f"{kind}: {check.detail}", check.cause))
    return checks


def readiness_checks(octotp: Octotp) -> list[Check]:
    """The cheap checks ``/readyz`` runs on every call: the database and the rate-limit storage."""
    return [check_database(octotp), check_rate_limit_storage(octotp)]


def ensure_ready(octotp: Octotp) -> None:
    """``/readyz``: raise ``StorageUnavailable`` (503) for the first readiness check that fails.

    The error is the store's or the limits' own (naming only the exception's type), not the check's
    detail: ``/readyz`` is public and need not say where the database lives."""
    for check in readiness_checks(octotp):
        if not check.ok:
            if isinstance(check.cause, StorageUnavailable):
                raise check.cause
            raise StorageUnavailable(f"{check.name} unavailable") from check.cause


def all_checks(octotp: Octotp) -> list[Check]:
    """Everything ``octotp check`` reports: database, its migration level, rate-limit storage, and
    each delivery backend."""
    database = check_database(octotp)
    migrations = check_migrations(octotp) if database.ok else Check("database migrations", False, "not checked")
    return [database, migrations, check_rate_limit_storage(octotp), *check_delivery(octotp)]
