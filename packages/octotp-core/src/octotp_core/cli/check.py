"""``octotp check``: validate the configuration and reach every dependency, one line per check."""

from __future__ import annotations

import click
from pydantic import ValidationError

from ..health import Check, all_checks, reason
from .context import CliContext, emit, json_option


@click.command("check")
@json_option
@click.pass_context
def check(ctx: click.Context, as_json: bool) -> None:
    """Validate the configuration and reach every dependency: the database and its migration level,
    the rate-limit storage, each delivery backend in dry run (nothing is sent). One line per check;
    exits 1 when any fails."""
    cli_context = ctx.find_object(CliContext)
    if cli_context is None:  # pragma: no cover - only if mounted without a context
        raise click.UsageError("octotp commands need a CliContext")
    try:
        octotp = cli_context.build()
    except Exception as exc:  # bad settings, a backend that cannot be built: reported, not raised
        checks = [Check("configuration", False, _configuration_problem(exc), exc)]
    else:
        try:
            checks = [Check("configuration", True, "settings valid"), *all_checks(octotp)]
        finally:
            octotp.close()
    ok = all(c.ok for c in checks)
    emit(as_json, {"ok": ok, "checks": [c.as_dict() for c in checks]}, "\n".join(_line(c) for c in checks))
    if not ok:
        if not as_json:
            failed = sum(not c.ok for c in checks)
            click.echo(f"octotp check: {failed} problem(s)", err=True)
        ctx.exit(1)


def _line(check: Check) -> str:
    return f"{'ok' if check.ok else 'PROBLEM':<8}{check.name}: {check.detail}"


def _configuration_problem(exc: Exception) -> str:
    """Each refused setting by its environment variable and why (never its value: Settings hides
    input in its errors), or the reason a backend could not be built."""
    if isinstance(exc, ValidationError):
        return "; ".join(
            f"OCTOTP_{'__'.join(str(part) for part in error['loc']).upper()}: {error['msg']}" for error in exc.errors()
        )
    return reason(exc)
