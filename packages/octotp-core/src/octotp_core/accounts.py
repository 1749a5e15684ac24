"""Accounts, projects, API keys and plans: everything around tokens that an operator manages."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass

from . import apikeys
from .clock import Clock
from .console.host import HostIdentity
from .errors import AuthenticationFailed, Conflict, InvalidInput, NotFound, ProjectSuspended
from .ids import is_uuid
from .internal import CONSOLE_PROJECT_ID
from .passwords import hash_password, password_errors, verify_password
from .projects import validate_project
from .recipients import normalise_email
from .settings import Settings
from .store import Account, ApiKey, Project, Store

NO_PASSWORD = "!host-login"  # noqa: S105 - not a hash: no password verifies against it
"""The password hash of an account that signs in only through its host app."""


def _placeholder_email(external_id: str) -> str:
    digest = hashlib.sha256(external_id.encode()).hexdigest()[:16]
    return f"host-user-{digest}@host.invalid"


@dataclass(frozen=True)
class IssuedKey:
    """A freshly created API key: ``secret`` is shown this once and never again."""

    key: ApiKey
    secret: str


@dataclass(frozen=True)
class CreatedProject:
    """A new project with its first API key."""

    project: Project
    api_key: IssuedKey


class AccountService:
    """Creates and looks up accounts, projects and keys; authenticates API keys (with a short cache)."""

    # last_used_at is written at most this often per key, so requests do not each pay a write.
    TOUCH_INTERVAL = 60.0

    def __init__(self, store: Store, settings: Settings, clock: Clock) -> None:
        self.store, self.settings, self.clock = store, settings, clock
        self._cache: dict[str, tuple[float, ApiKey, Project]] = {}
        self._touched: dict[str, float] = {}
        self._lock = threading.Lock()

    # -- accounts ----------------------------------------------------------------------------
    def create_account(
        self,
        email: str,
        password: str,
        *,
        account_id: str | None = None,
        verified: bool = True,
        operator: bool = False,
    ) -> Account:
        """A dashboard account; the email is normalised, the password stored as argon2id.

        ``Conflict`` when the email, or the ``account_id`` given instead of a fresh one, is taken: the
        first-run setup passes the one id its link may create, so concurrent submissions make one account.
        Accounts an operator makes (CLI, setup link) are ``verified``; a self-service sign-up is not,
        until its owner enters the emailed code. ``operator`` makes an operator account.
        """
        normalised = normalise_email(email, field="email").value
        self.check_password(password, normalised)
        now = self.clock.now()
        account = Account(
            account_id or str(uuid.uuid4()),
            normalised,
            hash_password(password),
            now,
            is_operator=operator,
            verified_at=now if verified else None,
        )
        self.store.create_account(account)
        return account

    def host_account(self, identity: HostIdentity) -> Account:
        """The account that stands for a host app's user (``Account.external_id``), made on its first
        visit and kept at the host's email address. It has no password (it signs in only through the
        host) and is verified (the host vouches for it). Where the host's address is missing, not an
        address, or already another account's, the account gets a placeholder address that no mail
        reaches (``…@host.invalid``)."""
        account = self.store.get_account_by_external_id(identity.id)
        email = self._free_host_email(identity, account)
        if account is None:
            now = self.clock.now()
            account = Account(str(uuid.uuid4()), email, NO_PASSWORD, now, verified_at=now, external_id=identity.id)
            try:
                self.store.create_account(account)
            except Conflict:  # the same user's first visit in another request, or the address just taken
                made = self.store.get_account_by_external_id(identity.id)
                if made is not None:
                    return made
                account = dataclasses.replace(account, email=_placeholder_email(identity.id))
                self.store.create_account(account)
        elif account.email != email:
            account = dataclasses.replace(account, email=email)
            self.store.update_account(account)
        return account

    def _free_host_email(self, identity: HostIdentity, account: Account | None) -> str:
        try:
            email = normalise_email(identity.email, field="email").value
        except InvalidInput:
            return _placeholder_email(identity.id)
        if account is not None and account.email == email:
            return email  # unchanged since the last visit: no lookup (this runs on every page)
        holder = self.store.get_account_by_email(email)
        if holder is not None and (account is None or holder.id != account.id):
            return account.email if account is not None else _placeholder_email(identity.id)
        return email

    def check_password(self, password: str, email: str | None) -> None:
        """``InvalidInput`` listing every rule ``password`` breaks for the account ``email``
        (``octotp_core.passwords.password_errors``); what every way of setting a password calls."""
        errors = password_errors(password, email=email, min_length=self.settings.dashboard_password_min_length)
        if errors:
            raise InvalidInput(errors)

    def authenticate_account(self, email: str, password: str) -> Account | None:
        """The account for these credentials, or None (same work whether or not the email exists)."""
        try:
            normalised = normalise_email(email, field="email").value
        except InvalidInput:
            normalised = ""
        account = self.store.get_account_by_email(normalised) if normalised else None
        ok = verify_password(account.password_hash if account else None, password)
        return account if ok and account and account.is_active else None

    def account_by_email(self, email: str) -> Account:
        """The account with this email, or ``NotFound``."""
        account = self.store.get_account_by_email(normalise_email(email, field="email").value)
        if account is None:
            raise NotFound(f"no account with email {email!r}")
        return account

    # -- projects ----------------------------------------------------------------------------
    def create_project(
        self,
        name: str,
        owner: Account | None = None,
        plan: str | None = None,
        *,
        validate_requires_key: bool = True,
    ) -> CreatedProject:
        """A project on the default plan (or ``plan``: the caller is the operator), with its first API key.

        ``validate_requires_key`` is on for every new project: its validates must send a key. Pass
        False for an integration that validates without one, as the Octotp API allowed.
        """
        project = Project(
            str(uuid.uuid4()),
            name,
            owner.id if owner else None,
            plan or self.settings.default_plan,
            self.clock.now(),
            validate_requires_key=validate_requires_key,
        )
        project = validate_project(project, self.settings)
        self.store.create_project(project)
        return CreatedProject(project, self.create_api_key(project.id, "default"))

    def get_project(self, project_id: str) -> Project:
        """The project, or ``NotFound`` (also for the console's own internal project, which nobody
        configures, suspends or deletes)."""
        project = self.store.get_project(project_id) if is_uuid(project_id) else None
        if project is None or project.id == CONSOLE_PROJECT_ID:
            raise NotFound(f"no project {project_id}")
        return project

    def list_projects(self, owner_id: str | None = None) -> list[Project]:
        """Every project (or ``owner_id``'s), oldest first, without the console's internal project."""
        return [p for p in self.store.list_projects(owner_id) if p.id != CONSOLE_PROJECT_ID]

    def set_plan(self, project_id: str, plan: str) -> None:
        """Move a project to another plan (an operator's decision; takes effect on its next request)."""
        self.configure_project(project_id, plan=plan)

    def configure_project(
        self,
        project_id: str,
        *,
        owner: Account | None = None,
        name: str | None = None,
        plan: str | None = None,
        code_length: int | None = None,
        expiry_default: int | None = None,
        expiry_min: int | None = None,
        expiry_max: int | None = None,
        default_phone_region: str | None = None,
        deliver_only: bool | None = None,
        validate_requires_key: bool | None = None,
    ) -> Project:
        """Change a project's settings or its owner (None leaves a field as it is); returns the project
        as stored.

        This is the operator's call: it may change the plan. What an owner may change is the rest, and
        only within the operator's bounds, which ``octotp_core.projects.validate_project`` enforces
        here for every caller (``InvalidInput`` names each refused field).
        """
        project = self.get_project(project_id)
        changes: dict[str, object] = {
            field: value
            for field, value in (
                ("name", name),
                ("plan", plan),
                ("code_length", code_length),
                ("expiry_default", expiry_default),
                ("expiry_min", expiry_min),
                ("expiry_max", expiry_max),
                ("default_phone_region", default_phone_region),
                ("deliver_only", deliver_only),
                ("validate_requires_key", validate_requires_key),
            )
            if value is not None
        }
        if owner is not None:
            changes["owner_id"] = owner.id
        return self.save_project(dataclasses.replace(project, **changes))  # type: ignore[arg-type]

    def set_message_overrides(self, project_id: str, overrides: Mapping[str, object]) -> Project:
        """Store the project's own words for its messages (``octotp_core.delivery.overrides``: every
        key optional, blank meaning octotp's default; an empty mapping clears them all). They are held
        to ``validate_overrides`` first: ``InvalidInput`` names each refused field."""
        project = self.get_project(project_id)
        stored = json.dumps(dict(overrides)) if overrides else None
        return self.save_project(dataclasses.replace(project, message_overrides=stored))

    def save_project(self, project: Project) -> Project:
        """Validate and store every settable field of ``project`` (an existing one); returns it as stored.

        For writers that hold a whole record, such as the Django admin form: they pass through the same
        validation as ``configure_project``.
        """
        project = validate_project(project, self.settings)
        if not self.store.update_project(project):
            raise NotFound(f"no project {project.id}")
        self._forget_project(project.id)
        return project

    def delete_project(self, project_id: str) -> None:
        """Delete the project with everything it owns; its keys stop working in this process at once
        (and in every other within ``api_key_cache_seconds``, as a revocation). ``NotFound`` if none."""
        self.get_project(project_id)
        self._forget_project(project_id)
        if not self.store.delete_project(project_id):
            raise NotFound(f"no project {project_id}")
        self._forget_project(project_id)

    def suspend_project(self, project_id: str, suspended: bool = True) -> Project:
        """Suspend (or resume) a project: an operator's decision. Its keys are refused with problem code
        ``project_suspended`` (in other processes within ``api_key_cache_seconds``)."""
        project = self.get_project(project_id)
        when = (project.suspended_at or self.clock.now()) if suspended else None
        return self.save_project(dataclasses.replace(project, suspended_at=when))

    # -- API keys ----------------------------------------------------------------------------
    def create_api_key(self, project_id: str, name: str = "") -> IssuedKey:
        """A new key for the project; the returned ``secret`` is the only copy there will ever be."""
        secret = apikeys.generate_api_key()
        key = ApiKey(str(uuid.uuid4()), project_id, name or "key", apikeys.display_prefix(secret), self.clock.now())
        self.store.create_api_key(key, apikeys.key_digest(secret))
        return IssuedKey(key, secret)

    def revoke_api_key(self, key_id: str) -> None:
        """Revoke; every process refuses the key within ``api_key_cache_seconds``."""
        if not self.store.revoke_api_key(key_id, self.clock.now()):
            raise NotFound(f"no active API key {key_id}")
        with self._lock:
            for digest, (_, key, _) in list(self._cache.items()):
                if key.id == key_id:
                    del self._cache[digest]

    def authenticate(self, api_key: str | None) -> tuple[ApiKey, Project]:
        """The key and its project, or ``AuthenticationFailed`` (missing, malformed, unknown, revoked)."""
        if not api_key:
            raise AuthenticationFailed("missing API key: send it in the X-Api-Key header")
        if not apikeys.is_well_formed(api_key):
            raise AuthenticationFailed("invalid API key")
        digest = apikeys.key_digest(api_key)
        now = time.monotonic()
        cached = self._cache.get(digest)
        if cached and now - cached[0] < self.settings.api_key_cache_seconds:
            key, project = cached[1], cached[2]
        else:
            found = self.store.find_api_key(digest)
            if found is None:
                raise AuthenticationFailed("invalid API key")
            key, project = found
            with self._lock:
                self._cache[digest] = (now, key, project)
        if key.revoked_at is not None:
            raise AuthenticationFailed("this API key has been revoked")
        if project.suspended_at is not None:
            raise ProjectSuspended("this API key's project is suspended by the operator of this service")
        if now - self._touched.get(key.id, -self.TOUCH_INTERVAL) >= self.TOUCH_INTERVAL:
            self._touched[key.id] = now
            self.store.touch_api_key(key.id, self.clock.now())
        return key, project

    def _forget_project(self, project_id: str) -> None:
        with self._lock:
            for digest, (_, _, project) in list(self._cache.items()):
                if project.id == project_id:
                    del self._cache[digest]
