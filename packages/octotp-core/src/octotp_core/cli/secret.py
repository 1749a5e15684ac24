"""``octotp secret rotate`` and ``octotp secret retire``: the server secret's rotation
(``secret_rotation``), with the steps an operator follows printed by the command itself."""

from __future__ import annotations

import secrets

import click

from ..core import Octotp
from ..secret_rotation import needed_until, read_fallbacks, rotate_data_dir_secret, write_fallbacks
from ..settings import ExplicitSettings
from .context import emit, json_option, pass_octotp

DOCS = "docs/operations/secret-rotation.md"

HOST_SETTINGS = (
    "this octotp's secret comes from the host application's settings (Flask: OCTOTP_SECRET_KEY or SECRET_KEY; "
    "Django: OCTOTP['SECRET_KEY'] or SECRET_KEY): rotate it there, keeping the old one in the fallbacks "
    f"setting, as {DOCS} describes. This command writes no file."
)


def _from_host(octotp: Octotp) -> bool:
    return isinstance(octotp.settings, ExplicitSettings)


@click.group("secret")
def secret() -> None:
    """The server secret (the HMAC pepper): rotate it, then retire the old one."""


@secret.command("rotate")
@click.option("--print", "print_secret", is_flag=True, help="With OCTOTP_SECRET_KEY set: print a new secret to use.")
@json_option
@pass_octotp
def secret_rotate(octotp: Octotp, print_secret: bool, as_json: bool) -> None:
    """Make a new server secret and keep the old one as a fallback.

    With the secret in the data directory (no OCTOTP_SECRET_KEY): writes a new <data dir>/secret_key,
    puts the old one first in <data dir>/secret_key_fallbacks (mode 0600) and re-seals every event
    webhook endpoint's signing secret under the new one. Then restart every process, wait until
    what the old secret issued has expired, and run `octotp secret retire`.

    With OCTOTP_SECRET_KEY set, no file is written: it says how to rotate with the environment
    variables (and prints a new secret only with --print)."""
    settings = octotp.settings
    if _from_host(octotp):
        raise click.ClickException(HOST_SETTINGS)
    if settings.secret_key is not None:
        steps = (
            "OCTOTP_SECRET_KEY is set, so no file is written. To rotate: set OCTOTP_SECRET_KEY_FALLBACKS to a JSON "
            "list with the current secret first, set OCTOTP_SECRET_KEY to a new one (generate it with "
            "`octotp secret rotate --print`), restart every process with the same two values, then drop the "
            f"fallback once what it issued has expired ({DOCS})."
        )
        new = secrets.token_urlsafe(32) if print_secret else None
        if as_json:
            emit(True, {"rotated": False, "newSecret": new, "steps": steps}, "")
        else:
            click.echo(steps, err=new is not None)
            if new is not None:
                click.echo(new)  # stdout: for a secret store, never a log
        return
    data_dir = settings.data_dir
    rotate_data_dir_secret(data_dir, octotp.clock.now())
    rotated = Octotp(settings, store=octotp.store, clock=octotp.clock)  # reads the new secret and the fallback
    resealed, unreadable = rotated.webhooks.reseal_secrets()
    fallback = read_fallbacks(data_dir)[0]
    until = needed_until(settings, fallback)
    numbered = [
        "1. Restart every octotp process using this data directory (they hold the old secret until then).",
        f"2. Wait until {until.isoformat()}: what the old secret issued (codes, idempotency records, queued "
        "deliveries and webhook jobs) has expired by then.",
        "3. Run `octotp secret retire` to drop the old secret.",
    ]
    data = {
        "rotated": True,
        "secretFile": str(data_dir / "secret_key"),
        "fallbacksFile": str(data_dir / "secret_key_fallbacks"),
        "fallbacks": len(read_fallbacks(data_dir)),
        "webhookEndpointsResealed": resealed,
        "webhookEndpointsUnreadable": unreadable,
        "retireAfter": until.isoformat(),
        "steps": numbered,
    }
    text = (
        f"New secret in {data_dir / 'secret_key'}; the old one is a fallback in {data_dir / 'secret_key_fallbacks'}. "
        f"{resealed} webhook endpoint secret(s) re-sealed under the new one.\n" + "\n".join(numbered)
    )
    emit(as_json, data, text)


@secret.command("retire")
@click.option("--force", is_flag=True, help="Drop the fallbacks even while they may still be needed (warns).")
@json_option
@pass_octotp
def secret_retire(octotp: Octotp, force: bool, as_json: bool) -> None:
    """Drop the data directory's fallback secrets once nothing issued under them is in use.

    Refuses before the time `rotate` named (codes, idempotency records and queued jobs issued
    under them may still be in use) unless --force, and while a webhook
    endpoint's secret is sealed under a fallback only (it re-seals those first)."""
    if _from_host(octotp):
        raise click.ClickException(HOST_SETTINGS)
    settings = octotp.settings
    if settings.secret_key is not None:
        raise click.ClickException(
            "OCTOTP_SECRET_KEY is set: retire a fallback by removing it from OCTOTP_SECRET_KEY_FALLBACKS and "
            f"restarting every process ({DOCS})."
        )
    fallbacks = read_fallbacks(settings.data_dir)
    if not fallbacks:
        emit(as_json, {"retired": 0}, "No fallback secret to retire.")
        return
    now = octotp.clock.now()
    needed = max(needed_until(settings, f) for f in fallbacks)
    if needed > now and not force:
        raise click.ClickException(
            f"the fallback secret may still be needed until {needed.isoformat()} (codes, idempotency records or "
            "queued jobs issued under it); run again then, or with --force"
        )
    if needed > now:
        click.echo(
            f"warning: retiring before {needed.isoformat()}: what the old secret issued stops working now", err=True
        )
    _, unreadable = octotp.webhooks.reseal_secrets()  # endpoints a not-yet-restarted process created
    if unreadable and not force:
        raise click.ClickException(
            f"{unreadable} webhook endpoint secret(s) are sealed under no known secret; rotate those endpoints' "
            "secrets (`octotp webhooks rotate-secret`) or run again with --force"
        )
    write_fallbacks(settings.data_dir, [])
    emit(
        as_json,
        {"retired": len(fallbacks)},
        f"Retired {len(fallbacks)} fallback secret(s). Restart every octotp process so none still accepts them.",
    )
