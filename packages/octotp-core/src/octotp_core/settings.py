"""The one typed settings object every package reads (env prefix ``OCTOTP_``)."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from limits import parse as parse_limit
from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from .codes import MAX_CODE_LENGTH, MIN_CODE_LENGTH


class Plan(BaseModel):
    """A named set of per-project limits."""

    creates_per_minute: int = Field(gt=0)


DEFAULT_PLANS: dict[str, Plan] = {
    "free": Plan(creates_per_minute=60),
    "pro": Plan(creates_per_minute=600),
}


def default_data_dir() -> Path:
    """Where the standalone service keeps its SQLite file and generated secret."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "octotp"


class Settings(BaseSettings):
    """Everything octotp can be configured with. Every field reads ``OCTOTP_<NAME>`` from the environment."""

    model_config = SettingsConfigDict(env_prefix="OCTOTP_", env_nested_delimiter="__", extra="forbid")

    data_dir: Path = Field(default_factory=default_data_dir)
    database_url: str | None = None
    """SQLAlchemy URL; defaults to ``sqlite:///<data_dir>/octotp.db``."""
    secret_key: SecretStr | None = None
    """The server secret (HMAC pepper). When unset, one is generated and kept in ``<data_dir>/secret_key``."""
    secret_key_fallbacks: list[SecretStr] = Field(default_factory=list)
    """Older secrets still accepted when verifying, for rotation."""

    hasher: Literal["argon2", "hmac"] = "argon2"
    argon2_profile: Literal["otp", "owasp"] = "otp"

    code_length: int = Field(default=6, ge=MIN_CODE_LENGTH, le=MAX_CODE_LENGTH)
    expiry_default: int = Field(default=300, gt=0)
    expiry_min: int = Field(default=30, gt=0)
    expiry_max: int = Field(default=600, gt=0)
    max_attempts: int = Field(default=5, gt=0)
    recipient_send_budget: str = "5/10 minutes"
    recipient_failure_budget: str = "10/hour"
    default_phone_region: str | None = None

    plans: dict[str, Plan] = Field(default_factory=lambda: dict(DEFAULT_PLANS))
    default_plan: str = "free"
    rate_limit_storage: str = "memory://"
    """Where rate limits and budgets are counted: ``memory://`` (this process only: the embedded
    default), ``database://`` (octotp's own database, shared by every process that uses it) or a
    ``limits`` storage URI such as ``redis://host:6379/0`` (shared; the choice for scale).
    ``octotp serve --workers N`` (N > 1) uses ``database://`` when this is not set, and refuses an
    explicit ``memory://``."""
    anonymous_validate_limit_per_address: str = "60/minute"
    """Validates sent without an API key allowed per client address (a ``limits`` string), counted
    before any hashing."""

    delivery_email_backend: str = "octotp_core.delivery.console.ConsoleBackend"
    delivery_sms_backend: str = "octotp_core.delivery.console.ConsoleBackend"
    delivery_options: dict[str, Any] = Field(default_factory=dict)

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
    dashboard_setup_token: SecretStr | None = None
    """One-time token of the first-run page ``/dashboard/setup``, which works only while no account exists.
    ``octotp serve`` generates one and prints the link when the database has no accounts."""

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
        if self.default_plan not in self.plans:
            raise ValueError(f"default_plan {self.default_plan!r} is not one of plans {sorted(self.plans)}")
        return self

    @property
    def effective_database_url(self) -> str:
        """The database URL in force (the SQLite default when none is configured)."""
        return self.database_url or f"sqlite:///{self.data_dir / 'octotp.db'}"

    def secrets(self) -> list[bytes]:
        """The current secret first, then the fallbacks; generates and persists one if none is set."""
        current = self.secret_key.get_secret_value() if self.secret_key else load_or_create_secret(self.data_dir)
        return [current.encode()] + [s.get_secret_value().encode() for s in self.secret_key_fallbacks]


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


def load_or_create_secret(data_dir: Path) -> str:
    """Read ``<data_dir>/secret_key``, creating it (mode 0600) with 256 random bits on first use."""
    path = data_dir / "secret_key"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    data_dir.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process won the race: use its secret
        return path.read_text().strip()
    with os.fdopen(fd, "w") as fh:
        fh.write(value + "\n")
    return value
