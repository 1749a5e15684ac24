"""Server-side dashboard sessions: created (and rotated) at login, checked on every request, ended at
logout or after the idle timeout or the absolute lifetime from ``Settings``. A session also carries
at most one sealed one-shot message (``flash``) from a POST to the page it redirects to."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from ..clock import Clock
from ..console.host import HostIdentity
from ..console.permissions import Action
from ..settings import Settings
from ..store import Account, DashboardSession, Store
from .flash import seal, unseal


def session_digest(session_id: str) -> str:
    """What the store keeps instead of the session id."""
    return hashlib.sha256(session_id.encode()).hexdigest()


@dataclass(frozen=True)
class ActiveSession:
    """A live session and the (active) account it belongs to."""

    session: DashboardSession
    account: Account
    session_id: str
    """The id from the browser's cookie (kept in memory for this request only: it keys the flash)."""
    identity: HostIdentity | None = None
    """The host app's user, when the host signs the dashboard in (``console.host``)."""
    granted: frozenset[Action] = frozenset()
    """What the host's permissions allow in every project (``HostIdentity.granted``)."""


class SessionManager:
    """Starts, resumes and ends dashboard sessions in the store."""

    # last_seen_at is written at most this often per session, so page views do not each pay a write.
    TOUCH_INTERVAL = dt.timedelta(seconds=60)

    def __init__(self, store: Store, settings: Settings, clock: Clock) -> None:
        self.store, self.clock = store, clock
        self._secret = settings.secrets()[0]
        self.idle = dt.timedelta(seconds=settings.dashboard_session_idle_timeout)
        self.lifetime = dt.timedelta(seconds=settings.dashboard_session_lifetime)
        self.touch_every = min(self.TOUCH_INTERVAL, self.idle / 4)

    def _end_of(self, created_at: dt.datetime, last_seen_at: dt.datetime) -> dt.datetime:
        return min(created_at + self.lifetime, last_seen_at + self.idle)

    def start(self, account: Account, replacing: str | None = None) -> tuple[str, ActiveSession]:
        """A new session for ``account``: returns the session id (for the cookie, never stored) and the session.

        ``replacing`` is the session id the browser held before, which is destroyed (rotation at login).
        """
        if replacing:
            self.store.delete_session(session_digest(replacing))
        now = self.clock.now()
        self.store.purge_sessions(now)  # keeps the table bounded; one indexed delete per login
        session_id = secrets.token_urlsafe(32)
        session = DashboardSession(
            id_digest=session_digest(session_id),
            account_id=account.id,
            csrf_token=secrets.token_urlsafe(32),
            created_at=now,
            last_seen_at=now,
            expires_at=self._end_of(now, now),
        )
        self.store.create_session(session)
        return session_id, ActiveSession(session, account, session_id)

    def resume(self, session_id: str | None, account: Account | None = None) -> ActiveSession | None:
        """The live session for this id, or None (unknown, ended, or its account disabled). With
        ``account`` (already read: a host user's), only a session of that account is resumed."""
        if not session_id:
            return None
        digest = session_digest(session_id)
        session = self.store.get_session(digest)
        if session is None:
            return None
        now = self.clock.now()
        # Settings may have shortened the timeouts since the session was stored: apply both.
        if now >= session.expires_at or now >= self._end_of(session.created_at, session.last_seen_at):
            self.store.delete_session(digest)
            return None
        if account is not None and session.account_id != account.id:
            return None
        account = account or self.store.get_account(session.account_id)
        if account is None or not account.is_active:
            self.store.delete_session(digest)
            return None
        if now - session.last_seen_at >= self.touch_every:
            expires_at = self._end_of(session.created_at, now)
            self.store.touch_session(digest, now, expires_at)
            session = dataclasses.replace(session, last_seen_at=now, expires_at=expires_at)
        return ActiveSession(session, account, session_id)

    def set_flash(self, active: ActiveSession, message: dict[str, str]) -> bool:
        """Keep ``message`` (sealed) for this session's next page; False when the session is gone."""
        return self.store.set_session_flash(active.session.id_digest, seal(self._secret, active.session_id, message))

    def peek_flash(self, active: ActiveSession) -> dict[str, str] | None:
        """The session's pending message as read at ``resume``, without taking it (None if none or unreadable)."""
        sealed = active.session.flash
        return None if sealed is None else unseal(self._secret, active.session_id, sealed)

    def take_flash(self, active: ActiveSession) -> bool:
        """Clear the message read at ``resume`` in one conditional update; True only for the one request
        that cleared it (which alone may show it)."""
        sealed = active.session.flash
        return sealed is not None and self.store.take_session_flash(active.session.id_digest, sealed)

    def end(self, session_id: str) -> None:
        """Destroy the session server-side (its cookie stops working everywhere)."""
        self.store.delete_session(session_digest(session_id))
