"""The core commands: ``db``, ``accounts``, ``projects``, ``keys``, ``tokens``, ``plans``, ``purge``,
``worker`` (and ``webhooks``, from ``webhooks.py``).

Written once and mounted by every front end (``octotp``, ``flask octotp``, ``manage.py octotp``).
"""

from __future__ import annotations

import contextlib
import shlex
import signal
import sys
from pathlib import Path

import click

from ..backup import BackupRefused, backup_sqlite, sqlite_file
from ..console.operators import OperatorActions
from ..core import Octotp
from ..logs import configure_logging
from ..migrate import current_revision, head_revision, upgrade
from ..outbox import Worker
from ..purge import purge_all, purgeable_counts
from ..states import token_state
from ..store import Account
from .check import check
from .context import CliContext, emit, json_option, pass_octotp
from .secret import secret
from .webhooks import webhooks

PROJECT_ID_VARIABLE = "OCTOTP_PROJECT_ID"
API_KEY_VARIABLE = "OCTOTP_API_KEY"
"""The environment variables a new API key is printed for: the names octotp-client reads."""

KEEP_THE_KEY = "# The API key is shown only this once: keep it. For the shell you call the API from:"


def export_line(project_id: str, api_key: str) -> str:
    """The ready-to-paste ``export OCTOTP_PROJECT_ID=… OCTOTP_API_KEY=…`` line.

    Every other line of the text output that shows a new key is a ``#`` comment, so the whole output
    is shell: paste the line, or ``eval "$(octotp projects create NAME)"``.
    """
    return f"export {PROJECT_ID_VARIABLE}={shlex.quote(project_id)} {API_KEY_VARIABLE}={shlex.quote(api_key)}"


@click.group("db")
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@json_option
@pass_octotp
def db_upgrade(octotp: Octotp, as_json: bool) -> None:
    """Create or upgrade octotp's tables to the newest revision."""
    if octotp.engine is None:
        raise click.ClickException("this octotp does not use SQLAlchemy (use your framework's migrations)")
    upgrade(octotp.engine)
    revision = current_revision(octotp.engine)
    emit(as_json, {"revision": revision}, f"Database is at revision {revision}.")


@db.command("current")
@json_option
@pass_octotp
def db_current(octotp: Octotp, as_json: bool) -> None:
    """Show the database's revision and the newest one available."""
    if octotp.engine is None:
        raise click.ClickException("this octotp does not use SQLAlchemy")
    current, head = current_revision(octotp.engine), head_revision()
    emit(as_json, {"revision": current, "head": head}, f"current: {current or 'none'}  head: {head}")


@db.command("backup")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@json_option
@pass_octotp
def db_backup(octotp: Octotp, path: Path, as_json: bool) -> None:
    """Copy the SQLite database to PATH while the server runs (SQLite's online backup API, never a
    file copy), then check the copy with PRAGMA integrity_check. Restore: stop the server, remove
    octotp.db and its -wal and -shm files, copy the backup in as octotp.db (mode 0600), start it.
    For PostgreSQL or MariaDB use pg_dump or mariadb-dump (docs/operations/backups.md)."""
    if octotp.engine is None:
        raise click.ClickException("this octotp uses its host's database: back it up with the host's tools")
    try:
        result = backup_sqlite(sqlite_file(octotp.engine.url), path)
    except BackupRefused as exc:
        raise click.ClickException(str(exc)) from None
    if result.integrity != "ok":
        raise click.ClickException(f"the backup at {result.path} failed PRAGMA integrity_check: {result.integrity}")
    emit(
        as_json,
        {"path": str(result.path), "bytes": result.size, "integrityCheck": result.integrity},
        f"Backed up to {result.path} ({result.size} bytes; integrity_check: {result.integrity}). "
        "Keep the secret with it (docs/operations/backups.md).",
    )


@click.group("accounts")
def accounts() -> None:
    """Dashboard accounts."""


@accounts.command("create")
@click.argument("email")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input instead of a prompt.")
@click.option("--operator", is_flag=True, help="Make it an operator account (sees every account and project).")
@json_option
@pass_octotp
def accounts_create(octotp: Octotp, email: str, password_stdin: bool, operator: bool, as_json: bool) -> None:
    """Create a dashboard account (verified: an operator vouches for it)."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True, err=True)
    account = octotp.accounts.create_account(email, password, operator=operator)
    if operator:
        OperatorActions(octotp).operator_created(account)
    kind = "operator account" if operator else "account"
    emit(
        as_json,
        {"id": account.id, "email": account.email, "isOperator": account.is_operator},
        f"Created {kind} {account.email} ({account.id}).",
    )


def _account_data(account: Account) -> dict[str, object]:
    return {
        "id": account.id,
        "email": account.email,
        "createdAt": account.created_at.isoformat(),
        "isActive": account.is_active,
        "isOperator": account.is_operator,
        "verifiedAt": account.verified_at.isoformat() if account.verified_at else None,
    }


def _account_flags(account: Account) -> str:
    flags = [
        "operator" if account.is_operator else "",
        "" if account.is_active else "disabled",
        "" if account.verified_at else "unverified",
    ]
    return "  ".join(f for f in flags if f)


@accounts.command("list")
@json_option
@pass_octotp
def accounts_list(octotp: Octotp, as_json: bool) -> None:
    """List accounts (operator, disabled and unverified ones are marked)."""
    rows = octotp.store.list_accounts()
    emit(
        as_json,
        [_account_data(a) for a in rows],
        "\n".join(f"{a.id}  {a.email}  {_account_flags(a)}".rstrip() for a in rows) or "No accounts.",
    )


@accounts.command("promote")
@click.argument("email")
@click.option("--demote", is_flag=True, help="Take the operator role away instead.")
@json_option
@pass_octotp
def accounts_promote(octotp: Octotp, email: str, demote: bool, as_json: bool) -> None:
    """Make an account an operator (or, with --demote, no longer one)."""
    account = OperatorActions(octotp).set_operator(octotp.accounts.account_by_email(email), not demote, actor=None)
    said = "is an operator" if account.is_operator else "is not an operator"
    emit(as_json, _account_data(account), f"{account.email} {said}.")


@accounts.command("disable")
@click.argument("email")
@json_option
@pass_octotp
def accounts_disable(octotp: Octotp, email: str, as_json: bool) -> None:
    """Disable an account: its sessions end at once and it cannot sign in until enabled."""
    account = OperatorActions(octotp).set_active(octotp.accounts.account_by_email(email), False, actor=None)
    emit(as_json, _account_data(account), f"{account.email} is disabled; its dashboard sessions have ended.")


@accounts.command("enable")
@click.argument("email")
@json_option
@pass_octotp
def accounts_enable(octotp: Octotp, email: str, as_json: bool) -> None:
    """Enable a disabled account again (it can sign in)."""
    account = OperatorActions(octotp).set_active(octotp.accounts.account_by_email(email), True, actor=None)
    emit(as_json, _account_data(account), f"{account.email} is enabled.")


@click.group("projects")
def projects() -> None:
    """Projects (each has its own keys, tokens and plan)."""


NO_OWNER_HINT = (
    "No dashboard shows a project without an owner; give it one with `projects set PROJECT_ID --owner EMAIL`."
)


def _new_project_owner(octotp: Octotp, owner_email: str | None) -> Account | None:
    """``--owner``'s account; without it the only dashboard account when there is exactly one. With
    none or several there is no owner (guessing among several would hand a project to the wrong
    person; scripts that make API-only projects keep working), and the text output says so."""
    if owner_email:
        return octotp.accounts.account_by_email(owner_email)
    existing = octotp.store.list_accounts()
    return existing[0] if len(existing) == 1 else None


@projects.command("create")
@click.argument("name")
@click.option(
    "--owner",
    "owner_email",
    help="Email of the dashboard account that owns it (default: the only account, when there is exactly one).",
)
@click.option("--plan", default=None, help="Plan name (default: the default plan).")
@click.option(
    "--validate-requires-key/--no-validate-requires-key",
    default=True,
    show_default=True,
    help="Refuse validates without an X-Api-Key (off: Octotp-compatible anonymous validates).",
)
@json_option
@pass_octotp
def projects_create(
    octotp: Octotp,
    name: str,
    owner_email: str | None,
    plan: str | None,
    validate_requires_key: bool,
    as_json: bool,
) -> None:
    """Create a project and print its id and first API key (shown only this once).

    The text output is shell: ``#`` comments and one ``export OCTOTP_PROJECT_ID=… OCTOTP_API_KEY=…``
    line (the names octotp-client reads) to paste, or ``eval "$(octotp projects create NAME)"``.

    Its owner's dashboard lists it. Without --owner the only dashboard account owns it when there
    is exactly one; otherwise it has no owner and appears in no dashboard until
    `projects set PROJECT_ID --owner EMAIL`.
    """
    owner = _new_project_owner(octotp, owner_email)
    created = octotp.accounts.create_project(name, owner, plan, validate_requires_key=validate_requires_key)
    data = {
        "projectId": created.project.id,
        "name": created.project.name,
        "plan": created.project.plan,
        "validateRequiresKey": created.project.validate_requires_key,
        "ownerEmail": owner.email if owner else None,
        "apiKey": created.api_key.secret,
        "apiKeyId": created.api_key.key.id,
    }
    owner_line = f"owner:     {owner.email}" if owner else f"owner:     none. {NO_OWNER_HINT}"
    emit(
        as_json,
        data,
        f"# projectId: {data['projectId']}\n# {owner_line}\n{KEEP_THE_KEY}\n"
        + export_line(created.project.id, created.api_key.secret),
    )


@projects.command("set")
@click.argument("project_id")
@click.option("--name", default=None, help="Rename the project.")
@click.option("--plan", default=None, help="Move the project to this plan (see `plans list`).")
@click.option("--code-length", type=int, default=None, help="Digits per code (project_min_code_length to 10).")
@click.option("--expiry-default", type=int, default=None, help="Seconds a code lives when not asked otherwise.")
@click.option("--expiry-min", type=int, default=None, help="Shortest expiresInSeconds accepted.")
@click.option(
    "--expiry-max", type=int, default=None, help="Longest expiresInSeconds accepted (up to project_expiry_max_ceiling)."
)
@click.option("--phone-region", default=None, help="Region for national phone numbers, e.g. GB.")
@click.option(
    "--deliver-only/--return-codes",
    default=None,
    help="Deliver-only: codes are always sent and never returned by the API.",
)
@click.option(
    "--validate-requires-key/--no-validate-requires-key",
    default=None,
    help="Refuse validates without an X-Api-Key, or accept them (Octotp compatibility).",
)
@click.option("--owner", "owner_email", default=None, help="Email of the dashboard account that owns it from now on.")
@json_option
@pass_octotp
def projects_set(
    octotp: Octotp,
    project_id: str,
    owner_email: str | None,
    name: str | None,
    plan: str | None,
    code_length: int | None,
    expiry_default: int | None,
    expiry_min: int | None,
    expiry_max: int | None,
    phone_region: str | None,
    deliver_only: bool | None,
    validate_requires_key: bool | None,
    as_json: bool,
) -> None:
    """Change a project's settings, plan or owner (whose dashboard shows it); options left out stay as they are.

    Values are held to the operator's bounds in settings (project_min_code_length,
    project_expiry_max_ceiling), as in the dashboard.
    """
    owner = octotp.accounts.account_by_email(owner_email) if owner_email else None
    before = octotp.accounts.get_project(project_id)
    p = octotp.accounts.configure_project(
        project_id,
        owner=owner,
        name=name,
        plan=plan,
        code_length=code_length,
        expiry_default=expiry_default,
        expiry_min=expiry_min,
        expiry_max=expiry_max,
        default_phone_region=phone_region,
        deliver_only=deliver_only,
        validate_requires_key=validate_requires_key,
    )
    OperatorActions(octotp).plan_changed(before, p, actor=None)
    data = {
        "projectId": p.id,
        "name": p.name,
        "plan": p.plan,
        "ownerId": p.owner_id,
        "codeLength": p.code_length,
        "expiryDefault": p.expiry_default,
        "expiryMin": p.expiry_min,
        "expiryMax": p.expiry_max,
        "defaultPhoneRegion": p.default_phone_region,
        "deliverOnly": p.deliver_only,
        "validateRequiresKey": p.validate_requires_key,
    }
    emit(as_json, data, "\n".join(f"{k}: {v}" for k, v in data.items() if v is not None))


@projects.command("list")
@json_option
@pass_octotp
def projects_list(octotp: Octotp, as_json: bool) -> None:
    """List projects (suspended ones are marked)."""
    rows = octotp.accounts.list_projects()
    emit(
        as_json,
        [
            {
                "projectId": p.id,
                "name": p.name,
                "plan": p.plan,
                "ownerId": p.owner_id,
                "validateRequiresKey": p.validate_requires_key,
                "suspendedAt": p.suspended_at.isoformat() if p.suspended_at else None,
            }
            for p in rows
        ],
        "\n".join(f"{p.id}  {p.plan:<6} {p.name}{'  (suspended)' if p.suspended_at else ''}" for p in rows)
        or "No projects.",
    )


@projects.command("suspend")
@click.argument("project_id")
@json_option
@pass_octotp
def projects_suspend(octotp: Octotp, project_id: str, as_json: bool) -> None:
    """Suspend a project: its API keys are refused (problem code project_suspended) until it is resumed."""
    project = OperatorActions(octotp).set_suspended(project_id, True, actor=None)
    assert project.suspended_at is not None
    emit(
        as_json,
        {"projectId": project.id, "suspendedAt": project.suspended_at.isoformat()},
        f"Project {project.id} is suspended: its API keys are refused.",
    )


@projects.command("resume")
@click.argument("project_id")
@json_option
@pass_octotp
def projects_resume(octotp: Octotp, project_id: str, as_json: bool) -> None:
    """Resume a suspended project: its API keys work again."""
    project = OperatorActions(octotp).set_suspended(project_id, False, actor=None)
    emit(as_json, {"projectId": project.id, "suspendedAt": None}, f"Project {project.id} is resumed.")


@click.group("keys")
def keys() -> None:
    """API keys."""


@keys.command("create")
@click.argument("project_id")
@click.option("--name", default="", help="A label to tell keys apart.")
@json_option
@pass_octotp
def keys_create(octotp: Octotp, project_id: str, name: str, as_json: bool) -> None:
    """Create another API key for a project (shown only this once)."""
    project = octotp.accounts.get_project(project_id)
    issued = octotp.accounts.create_api_key(project.id, name)
    emit(
        as_json,
        {"apiKeyId": issued.key.id, "apiKey": issued.secret, "projectId": project.id},
        f"# apiKeyId:  {issued.key.id}\n# projectId: {project.id}\n{KEEP_THE_KEY}\n"
        + export_line(project.id, issued.secret),
    )


@keys.command("list")
@click.argument("project_id")
@json_option
@pass_octotp
def keys_list(octotp: Octotp, project_id: str, as_json: bool) -> None:
    """List a project's keys (prefixes only; keys themselves are never stored)."""
    project = octotp.accounts.get_project(project_id)
    rows = octotp.store.list_api_keys(project.id)
    data = [
        {
            "apiKeyId": k.id,
            "name": k.name,
            "prefix": k.prefix,
            "createdAt": k.created_at.isoformat(),
            "lastUsedAt": k.last_used_at.isoformat() if k.last_used_at else None,
            "revokedAt": k.revoked_at.isoformat() if k.revoked_at else None,
        }
        for k in rows
    ]
    text = "\n".join(f"{k.id}  {k.prefix}…  {k.name}{'  (revoked)' if k.revoked_at else ''}" for k in rows)
    emit(as_json, data, text or "No keys.")


@keys.command("revoke")
@click.argument("key_id")
@json_option
@pass_octotp
def keys_revoke(octotp: Octotp, key_id: str, as_json: bool) -> None:
    """Revoke an API key (refused everywhere within seconds)."""
    octotp.accounts.revoke_api_key(key_id)
    emit(as_json, {"apiKeyId": key_id, "revoked": True}, f"Revoked {key_id}.")


@click.group("tokens")
def tokens() -> None:
    """Tokens (their state only; codes are never stored)."""


@tokens.command("list")
@click.argument("project_id")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 1000), help="Most recent first.")
@json_option
@pass_octotp
def tokens_list(octotp: Octotp, project_id: str, limit: int, as_json: bool) -> None:
    """List a project's most recent tokens with their state (``pending``, ``approved``, ``expired``, ...)."""
    project = octotp.accounts.get_project(project_id)
    now = octotp.clock.now()
    rows = [(t, token_state(t, now)) for t in octotp.store.list_tokens(project.id, limit)]
    data = [
        {
            "tokenId": t.id,
            "status": state,
            "channel": t.channel,
            "recipientHint": t.recipient_hint,
            "purpose": t.purpose,
            "createdAt": t.created_at.isoformat(),
            "expiresAt": t.expires_at.isoformat(),
        }
        for t, state in rows
    ]
    text = "\n".join(f"{t.id}  {state:<15} {t.channel:<5} {t.recipient_hint}" for t, state in rows)
    emit(as_json, data, text or "No tokens.")


@click.group("plans")
def plans() -> None:
    """Plans and their limits."""


@plans.command("list")
@json_option
@pass_octotp
def plans_list(octotp: Octotp, as_json: bool) -> None:
    """List the plans defined in settings."""
    data = [
        {
            "name": name,
            "createsPerMinute": plan.creates_per_minute,
            "createsPerMonth": plan.creates_per_month,
            "description": plan.description,
            "price": plan.price,
            "default": name == octotp.settings.default_plan,
        }
        for name, plan in sorted(octotp.settings.plans.items())
    ]
    emit(
        as_json,
        data,
        "\n".join(
            f"{d['name']:<8} {d['createsPerMinute']:>6}/min"
            + (f" {d['createsPerMonth']:>10,}/month" if d["createsPerMonth"] else "")
            + ("  (default)" if d["default"] else "")
            for d in data
        ),
    )


@plans.command("set")
@click.argument("project_id")
@click.argument("plan")
@json_option
@pass_octotp
def plans_set(octotp: Octotp, project_id: str, plan: str, as_json: bool) -> None:
    """Move a project to a plan (its rate limit follows on its next request)."""
    OperatorActions(octotp).set_plan(project_id, plan, actor=None)
    emit(as_json, {"projectId": project_id, "plan": plan}, f"Project {project_id} is now on plan {plan}.")


@click.command("purge")
@click.option("--grace", default=0, show_default=True, help="Keep tokens that expired less than this many seconds ago.")
@json_option
@pass_octotp
def purge(octotp: Octotp, grace: int, as_json: bool) -> None:
    """Delete expired tokens, finished jobs, old idempotency records, dashboard sessions and audit events
    past their retention, so tables stay bounded.

    Deletes purge_batch_size rows per transaction (OCTOTP_PURGE_BATCH_SIZE, default 5000), so the
    server keeps writing meanwhile. On a terminal it shows a progress bar on stderr; with --json, or
    when stderr is not a terminal (cron, a pipe), it prints the counts as JSON.
    """
    if as_json or not sys.stderr.isatty():
        counts = purge_all(octotp.store, octotp.settings, octotp.clock, grace)
        emit(True, counts.as_json(), "")
        return
    length = sum(purgeable_counts(octotp.store, octotp.settings, octotp.clock, grace).values())
    with click.progressbar(length=length, label="Purging", file=sys.stderr, show_pos=True) as bar:
        counts = purge_all(octotp.store, octotp.settings, octotp.clock, grace, lambda kind, n: bar.update(n))
    click.echo(
        f"Deleted {counts.tokens} expired tokens, {counts.jobs} finished jobs, {counts.idempotency_keys} idempotency "
        f"records, {counts.sessions} expired dashboard sessions and {counts.audit_events} audit events older than "
        f"{octotp.settings.audit_retention_days} days."
    )


@click.command("worker")
@click.option("--poll", default=0.5, show_default=True, help="Seconds to wait when no job is due.")
@click.option("--batch", default=20, show_default=True, help="Jobs claimed at a time.")
@pass_octotp
@click.pass_context
def worker(ctx: click.Context, octotp: Octotp, poll: float, batch: int) -> None:
    """Send queued deliveries (delivery_mode=queue) and event webhooks until stopped (Ctrl-C,
    SIGTERM). Run as many as you like, on any machines sharing the database: each job is sent by one
    of them. Logs on stderr in log_format (OCTOTP_LOG_FORMAT=json for JSON lines)."""
    cli_context = ctx.find_object(CliContext)
    if cli_context is not None and cli_context.owns_logging:
        configure_logging(octotp.settings.log_format)
    between = cli_context.between_batches if cli_context is not None else None
    running = Worker(octotp.outbox, poll=poll, batch=batch, between_batches=between)
    if octotp.settings.delivery_mode != "queue":
        click.echo("note: delivery_mode is sync, so this worker sends event webhooks only (OCTOTP_DELIVERY_MODE=queue)")

    def stop(signum: int, frame: object) -> None:
        running.stop(timeout=0)

    signal.signal(signal.SIGTERM, stop)
    click.echo(f"octotp worker {running.name} sending queued deliveries and webhooks; Ctrl-C stops it")
    with contextlib.suppress(KeyboardInterrupt):
        running.run()


CORE_COMMANDS: list[click.Command] = [
    db,
    accounts,
    projects,
    keys,
    tokens,
    plans,
    purge,
    worker,
    webhooks,
    check,
    secret,
]
