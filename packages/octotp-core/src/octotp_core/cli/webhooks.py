"""``octotp webhooks``: a project's event webhook endpoints, their secrets and delivery logs.

The same ``octotp.webhooks`` calls the dashboard makes (``WebhookEndpoints``); mounted with the other
core commands on ``octotp``, ``flask octotp`` and ``manage.py octotp``.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, TypeVar

import click

from ..core import Octotp
from ..errors import InvalidInput
from ..store import Job, WebhookEndpoint
from ..webhooks import EVENT_TYPES
from .context import emit, json_option, pass_octotp

F = TypeVar("F", bound=Callable[..., Any])

SECRET_VARIABLE = "OCTOTP_WEBHOOK_SECRET"  # noqa: S105 - a variable's name
"""The environment variable a new signing secret is printed for (what the docs' receivers read)."""

SHOWN_ONCE_NOTE = (
    "# The signing secret is shown only this once: keep it where your receiver reads it "
    "(octotp_client.verify_webhook(body, headers, secret)):"
)


def _event_option(help: str) -> Callable[[F], F]:
    """``--event TYPE``, repeatable, choosing among core's event types (so ``--help`` lists them)."""
    return click.option("--event", "events", multiple=True, type=click.Choice(EVENT_TYPES), help=help)


@contextmanager
def _named(options: Mapping[str, str]) -> Iterator[None]:
    """Core's ``InvalidInput`` as click's usage error naming the option or argument (exit code 2):
    ``options`` maps core's field name (``url``, ``events``) to how the command line spells it."""
    try:
        yield
    except InvalidInput as exc:
        error = exc.errors[0]
        raise click.BadParameter(error.reason, param_hint=f"'{options.get(error.field, error.field)}'") from None


def _endpoint_data(endpoint: WebhookEndpoint) -> dict[str, object]:
    return {
        "endpointId": endpoint.id,
        "projectId": endpoint.project_id,
        "url": endpoint.url,
        "events": endpoint.events.split(),
        "enabled": endpoint.enabled,
        "description": endpoint.description,
        "createdAt": endpoint.created_at.isoformat(),
    }


def _events_text(endpoint: WebhookEndpoint) -> str:
    return ", ".join(endpoint.events.split()) or "every event type"


def _endpoint_text(endpoint: WebhookEndpoint) -> str:
    lines = [
        f"endpointId:  {endpoint.id}",
        f"url:         {endpoint.url}",
        f"events:      {_events_text(endpoint)}",
        f"enabled:     {'yes' if endpoint.enabled else 'no'}",
    ]
    if endpoint.description:
        lines.append(f"description: {endpoint.description}")
    return "\n".join(lines)


def _secret_text(endpoint: WebhookEndpoint, secret: str) -> str:
    """Shell, like a new API key's output: ``#`` comments and one ``export`` line to paste."""
    return (
        f"# endpointId: {endpoint.id}\n# url:        {endpoint.url}\n# events:     {_events_text(endpoint)}\n"
        f"{SHOWN_ONCE_NOTE}\nexport {SECRET_VARIABLE}={shlex.quote(secret)}"
    )


def _job_data(job: Job) -> dict[str, object]:
    return {
        "jobId": job.id,
        "eventType": job.event_type,
        "state": job.state,
        "attempts": job.attempts,
        "reason": job.reason,
        "createdAt": job.created_at.isoformat(),
        "sentAt": job.sent_at.isoformat() if job.sent_at else None,
        "retryUntil": job.expires_at.isoformat(),
    }


def _job_text(job: Job) -> str:
    tries = f"{job.attempts} {'try' if job.attempts == 1 else 'tries'}"
    line = f"{job.id}  {job.event_type or '':<20} {job.state:<7} {tries:<9} {job.created_at.isoformat()}"
    return f"{line}  {job.reason}" if job.reason else line


@click.group("webhooks")
def webhooks() -> None:
    """A project's event webhook endpoints (token, delivery and plan events, signed per Standard
    Webhooks with each endpoint's own secret; sent by a worker: `octotp worker` or `octotp serve`)."""


@webhooks.command("add")
@click.argument("project_id")
@click.argument("url")
@_event_option("An event type it receives; repeat for several (none given: every type).")
@click.option("--description", default="", help="A note to tell endpoints apart.")
@json_option
@pass_octotp
def webhooks_add(
    octotp: Octotp, project_id: str, url: str, events: tuple[str, ...], description: str, as_json: bool
) -> None:
    """Add an endpoint to a project and print its signing secret (shown only this once).

    The text output is shell, like `keys create`: `#` comments and one
    `export OCTOTP_WEBHOOK_SECRET=whsec_…` line. Addresses on private networks (localhost, 10.x…)
    are refused unless the operator sets webhook_private_addresses.
    """
    project = octotp.accounts.get_project(project_id)
    with _named({"url": "URL", "events": "--event", "description": "--description"}):
        endpoint, secret = octotp.webhooks.create(project.id, url, events, description)
    emit(as_json, {**_endpoint_data(endpoint), "secret": secret}, _secret_text(endpoint, secret))


@webhooks.command("list")
@click.argument("project_id")
@json_option
@pass_octotp
def webhooks_list(octotp: Octotp, project_id: str, as_json: bool) -> None:
    """List a project's endpoints, oldest first (secrets are never shown again)."""
    project = octotp.accounts.get_project(project_id)
    rows = octotp.webhooks.for_project(project.id)
    text = "\n".join(
        f"{e.id}  {'enabled ' if e.enabled else 'disabled'}  {e.url}  ({_events_text(e)})"
        + (f"  {e.description}" if e.description else "")
        for e in rows
    )
    emit(as_json, [_endpoint_data(e) for e in rows], text or "No webhook endpoints.")


@webhooks.command("update")
@click.argument("project_id")
@click.argument("endpoint_id")
@click.option("--url", default=None, help="Send to this URL from now on.")
@_event_option("Receive only these event types from now on; repeat for several.")
@click.option("--all-events", is_flag=True, help="Receive every event type (instead of the --event ones).")
@click.option("--enable/--disable", "enabled", default=None, help="Send it events, or stop (its log stays).")
@click.option("--description", default=None, help="A note to tell endpoints apart.")
@json_option
@pass_octotp
def webhooks_update(
    octotp: Octotp,
    project_id: str,
    endpoint_id: str,
    url: str | None,
    events: tuple[str, ...],
    all_events: bool,
    enabled: bool | None,
    description: str | None,
    as_json: bool,
) -> None:
    """Change an endpoint; options left out stay as they are. --event replaces its event types."""
    if events and all_events:
        raise click.UsageError("give --event or --all-events, not both")
    chosen: tuple[str, ...] | None = () if all_events else (events or None)
    with _named({"url": "--url", "events": "--event", "description": "--description"}):
        endpoint = octotp.webhooks.update(
            project_id, endpoint_id, url=url, events=chosen, enabled=enabled, description=description
        )
    emit(as_json, _endpoint_data(endpoint), _endpoint_text(endpoint))


@webhooks.command("rotate-secret")
@click.argument("project_id")
@click.argument("endpoint_id")
@json_option
@pass_octotp
def webhooks_rotate_secret(octotp: Octotp, project_id: str, endpoint_id: str, as_json: bool) -> None:
    """Give an endpoint a new signing secret (shown only this once); the old one stops signing at once."""
    secret = octotp.webhooks.rotate_secret(project_id, endpoint_id)
    endpoint = octotp.webhooks.get(project_id, endpoint_id)
    emit(as_json, {"endpointId": endpoint.id, "secret": secret}, _secret_text(endpoint, secret))


@webhooks.command("remove")
@click.argument("project_id")
@click.argument("endpoint_id")
@json_option
@pass_octotp
def webhooks_remove(octotp: Octotp, project_id: str, endpoint_id: str, as_json: bool) -> None:
    """Delete an endpoint and its log (events still queued for it are never sent)."""
    octotp.webhooks.delete(project_id, endpoint_id)
    emit(as_json, {"endpointId": endpoint_id, "removed": True}, f"Removed webhook endpoint {endpoint_id}.")


@webhooks.command("log")
@click.argument("project_id")
@click.argument("endpoint_id")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 1000), help="Most recent first.")
@json_option
@pass_octotp
def webhooks_log(octotp: Octotp, project_id: str, endpoint_id: str, limit: int, as_json: bool) -> None:
    """What was sent to an endpoint, newest first: each job's id (its webhook-id header), event
    type, state (queued, sending, sent, failed), tries and the last failure's reason."""
    rows = octotp.webhooks.log(project_id, endpoint_id, limit)
    emit(as_json, [_job_data(j) for j in rows], "\n".join(_job_text(j) for j in rows) or "Nothing sent yet.")


@webhooks.command("resend")
@click.argument("project_id")
@click.argument("job_id")
@json_option
@pass_octotp
def webhooks_resend(octotp: Octotp, project_id: str, job_id: str, as_json: bool) -> None:
    """Queue a job from an endpoint's log again (the same webhook-id, so a receiver that already
    has it can drop it); a worker sends it, retried like a new one."""
    job = octotp.webhooks.resend(project_id, job_id)
    emit(as_json, _job_data(job), f"Queued {job.id} ({job.event_type}) again; a worker sends it.")
