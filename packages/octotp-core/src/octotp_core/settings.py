"""The one typed settings object every package reads (env prefix ``OCTOTP_``)."""

from __future__ import annotations

import contextlib
import difflib
import os
import secrets
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from limits import parse as parse_limit
from pydantic import BaseModel, Field, IPvAnyNetwork, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from .codes import MAX_CODE_LENGTH, MIN_CODE_LENGTH
from .files import make_private_dir
from .passwords import DEFAULT_MIN_PASSWORD_LENGTH

MAX_EXPIRY_SECONDS = 2**31 - 1
"""No expiry bound can exceed this: it fits every database's INTEGER column and any date arithmetic."""


class Plan(BaseModel):
    """A named set of per-project limits, and how the console presents it."""

    creates_per_minute: int = Field(gt=0)
    """Token creations per minute per project, across all its keys and all processes (enforced)."""
    creates_per_month: int | None = Field(default=None, gt=0)
    """Creations a project on this plan is meant for per calendar month: the plans page shows this
    month's use against it (shown, not enforced: no billing integration)."""
    description: str = ""
    """A short sentence for the plans page and the landing page."""
    price: str | None = None
    """An optional price label ("Free", "$29 / month"), shown as written."""


DEFAULT_PLANS: dict[str, Plan] = {
    "free": Plan(creates_per_minute=60, creates_per_month=10_000, description="For trying octotp out.", price="Free"),
    "pro": Plan(creates_per_minute=600, creates_per_month=1_000_000, description="For production traffic."),
}


MIN_SECRET_LENGTH = 16
"""The shortest server secret (or fallback) octotp accepts, in characters after trimming whitespace.
Generated secrets are 43 characters (256 random bits, URL-safe base64)."""

_HOW_TO_GENERATE = "generate one with: python -c 'import secrets; print(secrets.token_urlsafe(32))'"


class SecretTooShort(ValueError):
    """A server secret that is empty or shorter than ``MIN_SECRET_LENGTH``; the message names where it
    came from, never the value."""

    def __init__(self, source: str, length: int) -> None:
        super().__init__(
            f"the server secret from {source} is {'empty' if length == 0 else f'too short ({length} characters)'};"
            f" at least {MIN_SECRET_LENGTH} characters are required ({_HOW_TO_GENERATE})"
        )


def check_secret(value: str, source: str) -> str:
    """``value`` if it is long enough to key octotp's HMACs, else ``SecretTooShort`` naming ``source``."""
    length = len(value.strip())
    if length < MIN_SECRET_LENGTH:
        raise SecretTooShort(source, length)
    return value


def default_data_dir() -> Path:
    """Where the standalone service keeps its SQLite file and generated secret."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "octotp"


class Settings(BaseSettings):
    """Everything octotp can be configured with. Every field reads ``OCTOTP_<NAME>`` from the environment."""

    # hide_input_in_errors: a refused secret (or any value next to one) must never be echoed into an
    # exception message, a log or a Django check; the message names the setting instead.
    model_config = SettingsConfigDict(
        env_prefix="OCTOTP_", env_nested_delimiter="__", extra="forbid", hide_input_in_errors=True
    )

    data_dir: Path = Field(default_factory=default_data_dir)
    """Where the standalone service keeps its SQLite file and generated secret (``~/.local/share/octotp``,
    or ``$XDG_DATA_HOME/octotp``); created with mode 0700."""
    database_url: str | None = None
    """SQLAlchemy URL; defaults to ``sqlite:///<data_dir>/octotp.db``."""
    secret_key: SecretStr | None = None
    """The server secret (HMAC pepper). When unset, one is generated and kept in ``<data_dir>/secret_key``."""
    secret_key_fallbacks: list[SecretStr] = Field(default_factory=list)
    """Older secrets still accepted when verifying, for rotation."""

    hasher: Literal["argon2", "hmac"] = "argon2"
    """How codes are hashed: ``argon2`` (argon2id over the peppered code, the default) or ``hmac``
    (keyed SHA-256 only: for very high volume, relying on the attempt caps and budgets)."""
    argon2_profile: Literal["otp", "owasp"] = "otp"
    """argon2id cost: ``otp`` (t=1, m=8 MiB, p=1: short-lived codes under attempt caps) or ``owasp``
    (t=2, m=19 MiB, p=1)."""

    code_length: int = Field(default=6, ge=MIN_CODE_LENGTH, le=MAX_CODE_LENGTH)
    """Digits in a code when a project sets none."""
    expiry_default: int = Field(default=300, gt=0)
    """Seconds a code stays valid when the request names no ``expiresIn``."""
    expiry_min: int = Field(default=30, gt=0)
    """The shortest ``expiresIn`` a request may ask for (seconds)."""
    expiry_max: int = Field(default=600, gt=0)
    """The longest ``expiresIn`` a request may ask for (seconds)."""
    project_expiry_max_ceiling: int = Field(default=3600, gt=0, le=MAX_EXPIRY_SECONDS)
    """Operator policy: the highest ``expiry_min``/``expiry_default``/``expiry_max`` a project may set
    (seconds). Owners choose within it; a stored value above it is clamped to it."""
    project_min_code_length: int = Field(default=6, ge=MIN_CODE_LENGTH, le=MAX_CODE_LENGTH)
    """Operator policy: the shortest code length a project may set. A stored shorter one is raised to it."""
    max_attempts: int = Field(default=5, gt=0)
    """Wrong codes allowed per token; the next wrong one locks it (status ``locked``)."""
    recipient_send_budget: str = "5/10 minutes"
    """Codes that may be created per recipient (a ``limits`` string), delivered or not; more answer 429."""
    recipient_failure_budget: str = "10/hour"
    """Wrong codes allowed per recipient across all its tokens and resends (a ``limits`` string)."""
    default_phone_region: str | None = None
    """Region (``"US"``, ``"GB"``...) for phone numbers given without ``+`` and a country code; unset:
    every number must be in international form."""

    plans: dict[str, Plan] = Field(default_factory=lambda: dict(DEFAULT_PLANS))
    """Named plans and their limits (``creates_per_minute``); the default is ``free`` (60) and ``pro``
    (600). Setting it replaces the whole mapping."""
    default_plan: str = "free"
    """The plan a new project gets; must be one of ``plans``."""
    rate_limit_storage: str = "memory://"
    """Where rate limits and budgets are counted: ``memory://`` (this process only: the embedded
    default), ``database://`` (octotp's own database, shared by every process that uses it) or a
    ``limits`` storage URI such as ``redis://host:6379/0`` (shared; the choice for scale).
    ``octotp serve --workers N`` (N > 1) uses ``database://`` when this is not set, and refuses an
    explicit ``memory://``."""
    anonymous_validate_limit_per_address: str = "60/minute"
    """Validates sent without an API key allowed per client address (a ``limits`` string), counted
    before any hashing."""
    trusted_proxies: list[IPvAnyNetwork] = Field(default_factory=list)
    """Reverse proxies (addresses or CIDR networks) whose ``X-Forwarded-For`` and ``X-Forwarded-Proto``
    are believed. Empty (the default): the socket peer is the client, whatever headers it sends.
    From the environment as a JSON list: ``OCTOTP_TRUSTED_PROXIES='["127.0.0.1", "10.0.0.0/8"]'``."""

    delivery_email_backend: str = "octotp_core.delivery.console.ConsoleBackend"
    """Dotted path of the class that sends codes by email when a create asks ``send``; the console
    backend prints them (development)."""
    delivery_sms_backend: str = "octotp_core.delivery.console.ConsoleBackend"
    """Dotted path of the class that sends codes by SMS (e.g. ``octotp_core.delivery.twilio.TwilioSmsBackend``)."""
    delivery_options: dict[str, Any] = Field(default_factory=dict)
    """Keyword options for the delivery backends (SMTP host, Twilio account...), as each backend documents."""

    delivery_mode: Literal["sync", "queue"] = "sync"
    """How ``send: true`` delivers. ``sync``: inside the create request, which fails (502
    ``delivery_failed``, no usable code left) when sending fails; a successful send is recorded as a
    ``sent`` delivery (the API's ``delivery``, Twilio's status callbacks). ``queue``: the code's delivery is a
    job written with the token (the outbox) and sent by a worker (``octotp worker``, or the one
    ``octotp serve`` runs), retried until the code expires; create answers at once."""
    delivery_lease_seconds: float = Field(default=30.0, gt=0)
    """How long a worker holds a job it claimed; a job whose worker died is taken over after it."""
    delivery_retry_seconds: float = Field(default=2.0, gt=0)
    """The first retry's delay after a transient failure; each next one doubles (up to a minute),
    with jitter."""
    delivery_dispatch: str | None = Field(default=None, pattern=r"^[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)+$")
    """Dotted path of a callable ``dispatch(job_id: str) -> None`` (``delivery_mode="queue"``): called
    with each new job's id once its create has committed, to hand the job to the host's task queue
    (Celery, RQ) instead of waiting for a polling worker; the task then calls
    ``Octotp.outbox.send_job(job_id, worker_name)``. A dispatch that raises is logged and the job
    waits for a polling worker, which also sends retries and anything a lost task missed."""

    webhook_retry_seconds: int = Field(default=86400, ge=60)
    """How long an event webhook is retried (with backoff up to an hour) until its endpoint takes it
    (a 2xx answer); then it is ``failed`` and can be re-sent from the dashboard."""
    webhook_timeout_seconds: float = Field(default=10.0, gt=0, le=60)
    """How long a webhook endpoint has to answer one request."""
    webhook_private_addresses: bool = False
    """Let project webhook endpoints be loopback, private or link-local addresses (``localhost``,
    ``10.0.0.5``). Off by default: on a service strangers sign up to, an endpoint could otherwise make
    the server call its own network. Turn it on where every console user is trusted (a host app's
    staff, development)."""

    usage_flush_seconds: float = Field(default=1.0, ge=0)
    """How often a process writes its added-up usage counters to the database (0: at every count)."""
    api_key_cache_seconds: float = Field(default=2.0, ge=0)
    """How long a looked-up API key is trusted before the database is asked again (revocation delay)."""

    # -- dashboard ---------------------------------------------------------------------------
    dashboard: bool = True
    """Serve the dashboard; adapters mount it at ``<prefix>/dashboard``."""
    dashboard_session_idle_timeout: int = Field(default=1800, gt=0)
    """Seconds without a request after which a dashboard session ends."""
    dashboard_session_lifetime: int = Field(default=43200, gt=0)
    """Seconds after login at which a dashboard session ends however active it is."""
    dashboard_login_limit_per_email: str = "5/minute"
    """Login attempts allowed per email address (a ``limits`` string), counted before any password hashing."""
    dashboard_login_limit_per_address: str = "20/minute"
    """Login (and first-run setup) attempts allowed per client address."""
    dashboard_password_min_length: int = Field(default=DEFAULT_MIN_PASSWORD_LENGTH, ge=8, le=128)
    """The shortest password a dashboard account may set (8 to 128 characters). Whatever its length, a
    password is also refused when it is a very common one (zxcvbn's lists), guessable in under a
    million tries, or contains the account's email local part."""
    dashboard_setup_token: SecretStr | None = None
    """One-time token of the first-run page ``/dashboard/setup``, which works only while no account exists.
    ``octotp serve`` generates one and prints the link when the database has no accounts."""
    dashboard_signup: Literal["closed", "invite", "open"] = "closed"
    """Who may create a dashboard account: ``closed`` (the default: accounts come from the setup link,
    the CLI, an operator, or a project invitation, whose link signs its invitee up; there is no
    sign-up page), ``invite`` (as closed, and the sign-up page says that an invitation is needed), or
    ``open`` (anyone may sign up and verify the email by a code: a hosted service; the standalone
    ``/`` becomes a public landing page)."""
    dashboard_invitation_hours: int = Field(default=72, gt=0)
    """How long a project invitation's link works (hours)."""
    audit_retention_days: int = Field(default=90, gt=0)
    """Days the audit log keeps an event (``octotp purge`` deletes older ones)."""
    purge_batch_size: int = Field(default=5000, ge=1, le=1_000_000)
    """Rows ``octotp purge`` deletes per transaction (tokens, finished jobs, idempotency records,
    sessions, audit events): each batch is one short transaction, so a purge of millions of rows
    never holds a long lock or builds one huge transaction while the server writes."""
    purge_pause_seconds: float = Field(default=0.0, ge=0, le=60)
    """Seconds a purge waits between two batches (0: none), leaving the database and the CPUs to the
    server's own requests while a purge of millions of rows runs."""
    purge_interval_seconds: int = Field(default=0, ge=0)
    """``octotp serve`` runs the purge itself every this many seconds (0: never; run ``octotp purge``
    from cron instead). It runs in the serving command's own process only, however many workers."""
    public_url: str | None = None
    """The service's address as users reach it (``https://verify.example.com``), for links in the
    console's emails (invitations). Unset: the address the inviting request came to."""

    log_format: Literal["text", "json"] = "text"
    """How ``octotp serve`` and ``octotp worker`` write their logs on stderr: ``text`` (one line per
    event: time, level, logger, message) or ``json`` (JSON lines for a log collector: one object per
    event with ``time`` in ISO-8601 UTC, ``level``, ``logger``, ``message`` and the ``request_id`` of
    the API request it belongs to). Neither ever holds a code, an API key or a full recipient. A
    host app keeps its own logging: ``octotp_core.logs.JsonFormatter`` is a ``logging.Formatter``
    it can use for the same lines."""

    metrics_enabled: bool = False
    """Prometheus metrics (``octotp_*``, needs ``octotp-core[metrics]``): counted in every process and
    served at ``/metrics`` by ``octotp serve`` and by each adapter's ``metrics_view``, to a scraper
    sending ``Authorization: Bearer <metrics_token>`` only. Off: no metric is counted and ``/metrics``
    answers 404. See the monitoring page of the docs."""
    metrics_token: SecretStr | None = None
    """The bearer token a scrape of ``/metrics`` must send (at least 16 characters; required when
    ``metrics_enabled`` is on, so the metrics are never public). Compared in constant time."""
    tracing_enabled: bool = True
    """OpenTelemetry spans (``octotp.create``, ``octotp.validate``, ``octotp.hash``, ``octotp.store.*``,
    ``octotp.delivery``) when ``opentelemetry-api`` is importable (``octotp-core[otel]``) and the host
    configured an OpenTelemetry SDK tracer provider before building its ``Octotp``. Without either,
    nothing is wrapped. False: no spans even with an SDK configured."""

    @field_validator(
        "recipient_send_budget",
        "recipient_failure_budget",
        "dashboard_login_limit_per_email",
        "dashboard_login_limit_per_address",
        "anonymous_validate_limit_per_address",
    )
    @classmethod
    def _limit_string(cls, value: str) -> str:
        parse_limit(value)  # raises ValueError with the library's own message
        return value

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _comma_separated(cls, value: Any) -> Any:
        if isinstance(value, str):  # "127.0.0.1, 10.0.0.0/8": e.g. a Flask config value from the environment
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("secret_key")
    @classmethod
    def _secret_long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        # Pydantic reports the field; the message adds the names it is usually set by (the variable
        # in the environment or Flask's config, or the framework secret Flask and Django default to).
        if value is not None:
            check_secret(value.get_secret_value(), "secret_key (OCTOTP_SECRET_KEY, or the SECRET_KEY it defaults to)")
        return value

    @field_validator("secret_key_fallbacks")
    @classmethod
    def _fallbacks_long_enough(cls, values: list[SecretStr]) -> list[SecretStr]:
        for index, value in enumerate(values):
            check_secret(value.get_secret_value(), f"secret_key_fallbacks[{index}] (OCTOTP_SECRET_KEY_FALLBACKS)")
        return values

    @field_validator("rate_limit_storage")
    @classmethod
    def _storage_uri(cls, value: str) -> str:
        scheme = urlsplit(value).scheme.lower()
        if not scheme or scheme.startswith("async+") or "://" not in value:
            raise ValueError(
                "must be memory://, database:// or a synchronous limits storage URI such as redis://host:6379/0"
            )
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Settings:
        if not self.expiry_min <= self.expiry_default <= self.expiry_max:
            raise ValueError("expiry_min <= expiry_default <= expiry_max must hold")
        # The server defaults are what a project without its own values gets: they must obey the same
        # operator policy as a project's own choice.
        if self.expiry_max > self.project_expiry_max_ceiling:
            raise ValueError(
                f"expiry_max ({self.expiry_max}) is above project_expiry_max_ceiling "
                f"({self.project_expiry_max_ceiling}): raise project_expiry_max_ceiling or lower expiry_max"
            )
        if self.code_length < self.project_min_code_length:
            raise ValueError(
                f"code_length ({self.code_length}) is below project_min_code_length "
                f"({self.project_min_code_length}): lower project_min_code_length or raise code_length"
            )
        if self.default_plan not in self.plans:
            raise ValueError(f"default_plan {self.default_plan!r} is not one of plans {sorted(self.plans)}")
        if self.metrics_enabled:
            token = self.metrics_token.get_secret_value().strip() if self.metrics_token else ""
            if len(token) < MIN_SECRET_LENGTH:
                raise ValueError(
                    "metrics_enabled needs metrics_token (OCTOTP_METRICS_TOKEN), at least "
                    f"{MIN_SECRET_LENGTH} characters, so /metrics is never public; {_HOW_TO_GENERATE}"
                )
        return self

    @property
    def effective_database_url(self) -> str:
        """The database URL in force (the SQLite default when none is configured)."""
        return self.database_url or f"sqlite:///{self.data_dir / 'octotp.db'}"

    def secrets(self) -> list[bytes]:
        """The current secret first, then the fallbacks; generates and persists one if none is set.

        With the secret from the data directory, the fallbacks of ``octotp secret rotate``
        (``<data dir>/secret_key_fallbacks``) come after ``secret_key_fallbacks``."""
        if self.secret_key:
            current, kept = self.secret_key.get_secret_value(), []
        else:
            from .secret_rotation import read_fallbacks

            current, kept = load_or_create_secret(self.data_dir), [f.secret for f in read_fallbacks(self.data_dir)]
        return (
            [current.encode()]
            + [s.get_secret_value().encode() for s in self.secret_key_fallbacks]
            + [k.encode() for k in kept]
        )


OWN_PROCESS_SETTINGS: dict[str, str] = {
    "log_format": "octotp configures logging only in its own processes (octotp serve, octotp worker)",
    "purge_interval_seconds": "only octotp serve runs a scheduled purge",
}
"""Settings only octotp's own processes act on, and why. A framework extension refuses one it is
given (each adds what to do instead in its framework) rather than ignore it."""


class ExplicitSettings(Settings):
    """``Settings`` from the values given only, never from the environment: what a framework
    extension uses when its own configuration (Flask's ``app.config``, Django's ``OCTOTP``) is the
    single source."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings,)


def closest_setting(name: str, known: Iterable[str] | None = None) -> str | None:
    """The ``Settings`` field (or one of ``known``) that ``name`` most likely misspells, compared
    case-insensitively (``"CODE_LENGHT"`` gives ``"code_length"``); None when nothing is close.
    Adapters spell the answer their own way (``OCTOTP_CODE_LENGTH``, ``OCTOTP['CODE_LENGTH']``)."""
    candidates = list(Settings.model_fields if known is None else known)
    by_lower = {candidate.lower(): candidate for candidate in candidates}
    close = difflib.get_close_matches(name.lower(), list(by_lower), n=1, cutoff=0.75)
    return by_lower[close[0]] if close else None


def load_or_create_secret(data_dir: Path) -> str:
    """Read ``<data_dir>/secret_key``, creating it (mode 0600, in a 0700 directory) with 256 random bits
    on first use. An empty or short file is refused (``SecretTooShort`` naming the file), never replaced.

    Safe when several processes start at once on a fresh directory: each writes its candidate
    completely to a private temporary file, then hard-links it to the final name. ``link`` never
    replaces an existing name, so the first process wins and every other one reads the winner's
    file, which is complete before it has that name (a reader can never see it half written).
    """
    path = data_dir / "secret_key"
    try:
        return _read_secret(path)
    except FileNotFoundError:
        pass
    make_private_dir(data_dir)
    value = secrets.token_urlsafe(32)
    fd, candidate = tempfile.mkstemp(prefix=".secret_key.", suffix=".tmp", dir=data_dir)  # mode 0600
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(value + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.link(candidate, path)
        except FileExistsError:  # another process won the race: use its secret
            return _read_secret(path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(candidate)
    return value


def _read_secret(path: Path) -> str:
    return check_secret(path.read_text().strip(), str(path))
