"""``octotp serve``: run the standalone service under uvicorn (added to the ``octotp`` CLI by entry point)."""

from __future__ import annotations

import contextlib
import logging
import logging.config
import os
import shutil
import socket
import tempfile
from collections.abc import Iterator
from typing import Any

import click

from octotp_core import Octotp, Settings
from octotp_core.cli import describe_database, octotp_command
from octotp_core.dashboard import new_setup_token, setup_url
from octotp_core.health import check_rate_limit_storage
from octotp_core.logs import logging_config
from octotp_core.metrics import MULTIPROC_ENV
from octotp_core.migrate import upgrade
from octotp_core.purge import PurgeSchedule
from octotp_core.ratelimit import DATABASE_SCHEME, is_per_process, storage_scheme
from octotp_core.store.engine import make_engine

_log = logging.getLogger("octotp.serve")


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to bind.")
@click.option("--port", default=8000, show_default=True, type=int, help="Port to bind.")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64), help="Worker processes.")
@click.option("--migrate/--no-migrate", default=True, show_default=True, help="Upgrade the database first.")
@click.option(
    "--purge-every",
    type=click.IntRange(0),
    default=None,
    metavar="SECONDS",
    help="Run `octotp purge` every SECONDS in this process (once, however many workers); 0 never. "
    "Default: purge_interval_seconds (0).",
)
def serve(host: str, port: int, workers: int, migrate: bool, purge_every: int | None) -> None:
    """Run the octotp service (API at /api, health at /healthz, readiness at /readyz)."""
    import uvicorn

    settings = worker_settings(workers)
    # This process logs in log_format from here on (migrations, the announcement); uvicorn applies
    # the same configuration in each worker, in place of its own formatters.
    log_config = logging_config(settings.log_format)
    logging.config.dictConfig(log_config)
    settings.secrets()  # create and persist the secret once, before any worker starts
    url = settings.effective_database_url
    if migrate:
        engine = make_engine(url)
        upgrade(engine)
        engine.dispose()
    announce(settings, host, port, workers)
    # A daemon thread: a purge stopped with the server rolls back its current batch only.
    start_purge_schedule(settings, purge_every)
    options: dict[str, Any] = {
        "factory": True,
        "host": host,
        "port": port,
        "workers": workers,
        "log_config": log_config,
        "access_log": False,
        "timeout_graceful_shutdown": 10,
        "server_header": False,
        # uvicorn would otherwise rewrite the peer from X-Forwarded-For sent by anyone on 127.0.0.1
        # (its default forwarded_allow_ips): core sees the real peer and applies trusted_proxies.
        "proxy_headers": False,
    }
    if workers == 1:
        uvicorn.run("octotp_fastapi.app:app_from_env", **options)
        return
    from uvicorn.supervisors import Multiprocess

    config = uvicorn.Config("octotp_fastapi.app:app_from_env", **options)
    with metrics_multiprocess(settings, workers):
        Multiprocess(config, sockets=[listening_socket(config)]).run()


@contextlib.contextmanager
def metrics_multiprocess(settings: Settings, workers: int) -> Iterator[None]:
    """With metrics on and several workers: prometheus-client's multiprocess mode, so a scrape of any
    worker's ``/metrics`` reports the sum over all of them. The workers inherit
    ``PROMETHEUS_MULTIPROC_DIR``, a private directory made here and removed when serving ends (one an
    operator set already is used as it is, and left to them to clear between runs)."""
    if not settings.metrics_enabled or workers == 1 or os.environ.get(MULTIPROC_ENV):
        yield
        return
    directory = tempfile.mkdtemp(prefix="octotp-metrics-")  # mode 0700
    os.environ[MULTIPROC_ENV] = directory
    try:
        yield
    finally:
        os.environ.pop(MULTIPROC_ENV, None)
        shutil.rmtree(directory, ignore_errors=True)


def start_purge_schedule(settings: Settings, purge_every: int | None) -> PurgeSchedule | None:
    """The scheduled purge (``--purge-every``, else ``purge_interval_seconds``), or None when off.

    It runs in this process only: with ``--workers N`` this is uvicorn's supervisor, which serves no
    request, so the purge runs once per interval rather than N times and takes no time from a worker.
    Its counts are logged by ``octotp.purge``."""
    interval = settings.purge_interval_seconds if purge_every is None else purge_every
    if interval == 0:
        return None
    octotp = Octotp(settings)
    _log.info("purging every %d s (%d rows per transaction)", interval, settings.purge_batch_size)
    return PurgeSchedule(octotp.store, settings, octotp.clock, interval, close=octotp.close).start()


def announce(settings: Settings, host: str, port: int, workers: int) -> None:
    """Tell the operator, on stderr, where data and secret live, what is served and what to do first
    (the one-time setup link while no dashboard account exists).

    With ``log_format=json`` each line is a log record of ``octotp.serve`` instead, so stderr stays
    JSON lines; the setup link is then left out (a log collector must not keep it)."""
    as_json = settings.log_format == "json"

    def say(line: str, level: int = logging.INFO) -> None:
        if as_json:
            _log.log(level, line.removeprefix("octotp: "))
        else:
            click.echo(line, err=True)

    secret_from = "OCTOTP_SECRET_KEY" if settings.secret_key else str(settings.data_dir / "secret_key")
    probe = Octotp(settings)
    say(f"octotp: database {describe_database(probe)}; secret from {secret_from}")
    say(f"octotp: serving on http://{host}:{port} with {workers} worker(s); API docs at /docs")
    if workers > 1 and storage_scheme(settings.rate_limit_storage) == DATABASE_SCHEME:
        say(
            f"octotp: rate limits shared by the {workers} workers in the database (rate_limit_storage=database://;"
            " set OCTOTP_RATE_LIMIT_STORAGE=redis://... for scale)"
        )
    # The same octotp, runnable from a second terminal while this one serves (plain ``octotp`` is not
    # on a tox user's PATH, and ``tox -e serve -- ...`` would wait for this tox's lock).
    command = octotp_command()
    if settings.dashboard and not probe.store.list_accounts():
        # The one-time bootstrap link (like Jupyter's): printed to this console only, never to a log,
        # and dead as soon as an account exists. Workers read it from the environment.
        token = settings.dashboard_setup_token.get_secret_value() if settings.dashboard_setup_token else None
        if token is None:
            token = os.environ["OCTOTP_DASHBOARD_SETUP_TOKEN"] = new_setup_token()
        shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host  # noqa: S104 - comparing, not binding
        shown = f"[{shown}]" if ":" in shown else shown
        if as_json:
            say("octotp: no dashboard account yet (the one-time setup link is shown with OCTOTP_LOG_FORMAT=text only)")
        else:
            link = setup_url(f"http://{shown}:{port}/dashboard", token)
            say(f"octotp: no dashboard account yet — create the first one at {link}")
        say(f"octotp: (or, in another terminal: {command} accounts create EMAIL)")
    elif settings.dashboard:
        say(f"octotp: dashboard at http://{host}:{port}/dashboard/")
    storage = check_rate_limit_storage(probe)
    if not storage.ok:
        # Not fatal: an outage ends without a restart (requests needing limits answer 503 meanwhile).
        say(
            f"octotp: PROBLEM rate-limit storage {storage.detail}; requests that need rate limits answer 503"
            " until it answers (`octotp check` tells more)",
            logging.WARNING,
        )
    if settings.metrics_enabled:
        say("octotp: Prometheus metrics at /metrics, for Authorization: Bearer <OCTOTP_METRICS_TOKEN>")
    if settings.trusted_proxies:
        proxies = ", ".join(str(network) for network in settings.trusted_proxies)
        say(f"octotp: X-Forwarded-For believed from trusted proxies {proxies}")
    else:
        say("octotp: client addresses are socket peers (set OCTOTP_TRUSTED_PROXIES behind a proxy)")
    if not probe.accounts.list_projects():
        say(
            "octotp: no projects yet — create one in the dashboard, or in another terminal:"
            f" {command} projects create NAME"
        )
    probe.close()


def worker_settings(workers: int) -> Settings:
    """The settings every worker will read, with rate limits all ``workers`` processes share.

    Several workers on a per-process storage would each count alone (a 60/minute plan becoming 60
    per worker): left at its default, the storage becomes the database (``database://``, which the
    workers inherit through the environment); set explicitly to ``memory://``, it is refused.
    """
    settings = Settings()
    if workers == 1 or not is_per_process(settings.rate_limit_storage):
        return settings
    if "rate_limit_storage" in settings.model_fields_set:
        raise click.UsageError(
            f"--workers {workers} needs rate limits the workers share, but OCTOTP_RATE_LIMIT_STORAGE="
            f"{settings.rate_limit_storage} counts in each process. Set OCTOTP_RATE_LIMIT_STORAGE=database:// "
            "(octotp's database) or redis://HOST:6379/0, or run one worker."
        )
    os.environ["OCTOTP_RATE_LIMIT_STORAGE"] = "database://"
    return settings.model_copy(update={"rate_limit_storage": "database://"})


def listening_socket(config: Any) -> socket.socket:
    """The workers' shared listening socket, as an ``IPPROTO_TCP`` socket.

    uvicorn binds it with proto 0, so asyncio never sets TCP_NODELAY on accepted connections and
    every keep-alive response after the first waits ~40 ms for a delayed ACK (uvicorn issue 3149).
    """
    bound = config.bind_socket()
    sock = socket.socket(bound.family, socket.SOCK_STREAM, socket.IPPROTO_TCP, fileno=bound.detach())
    sock.set_inheritable(True)
    return sock
