"""Dashboard pages: sign-up, email verification, password reset and change, sessions.

No page tells whether an address has an account. Sign-up answers every address with the same
redirect to the code page after the same argon2 work, and sends exactly one email: a verification
code to a new (or still unverified) account, or "someone tried to sign up with your address" to an
existing owner. A reset request answers the same for every address and spends the same code budget
(``ConsoleCodes``). Signed-out forms that check a password share the login throttle; the others (sign-up,
codes) count in a throttle of their own; both are keyed on the normalised email and the client address,
and counted before any hashing.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import logging
from typing import TYPE_CHECKING

from ..console.codes import ACCOUNT_VERIFY, PASSWORD_RESET, ConsoleCodes
from ..console.mail import ConsoleMail
from ..errors import Conflict, DeliveryFailed, InvalidInput, NotFound, RateLimited
from ..http.messages import Response
from ..passwords import hash_password, verify_password
from ..recipients import normalise_email
from ..store import Account
from .cookies import SESSION_COOKIE
from .flash import seal, unseal
from .routing import Route, ViewArea, route
from .throttle import LoginThrottle

if TYPE_CHECKING:
    from ..core import Octotp
    from .views import DashboardRequest, DashboardViews

log = logging.getLogger("octotp.dashboard")

WRONG_CREDENTIALS = "The email, password or code is not correct."
PENDING_EMAIL_COOKIE = "octotp_pending_email"
"""The address a sign-up or reset request was for, sealed (Fernet, like the flash), so the code page
can fill it in: never in a URL, where access logs and browser history would keep it."""
_PENDING = "octotp-pending-email"
_HANDLE_LENGTH = 20


def field_messages(exc: InvalidInput) -> list[str]:
    """A refused form's errors as the page says them: ``Password must be at least 10 characters.``,
    ``Email: The email address is not valid...``."""
    messages = []
    for error in exc.errors:
        if error.field == "password":
            messages.append(f"Password {error.reason}.")
        else:
            messages.append(f"{error.field.replace('_', ' ').capitalize()}: {error.reason}")
    return messages


def session_handle(id_digest: str) -> str:
    """How the sessions list names a session in a form: derived from the stored digest (which is
    itself a digest of the cookie), so a page never shows anything a session could be taken with."""
    return hashlib.sha256(f"octotp-session-handle:{id_digest}".encode()).hexdigest()[:_HANDLE_LENGTH]


def create_signed_up_account(
    octotp: Octotp, email: str, password: str, *, verified: bool, address: str | None = None
) -> Account:
    """A new self-service account (the open sign-up form, or an invitation's acceptance, which passes
    ``verified=True``: its link reached the address), with its ``account.signed_up`` audit event;
    an unverified one is sent its verification code.

    Raises ``InvalidInput`` (the email, or every password rule broken) and ``Conflict`` (the address
    has an account: a caller that must not tell so answers as ``AccountViews.signup`` does).
    ``RateLimited`` when the address's code budget is spent (the account exists by then; a resend
    later sends its code).
    """
    account = octotp.accounts.create_account(email, password, verified=verified)
    octotp.audit.record("account.signed_up", actor=account, address=address)
    log.info("dashboard sign-up account=%s verified=%s", account.id, verified)
    if not verified:
        ConsoleCodes(octotp).send(account.email, ACCOUNT_VERIFY)
    return account


class AccountViews(ViewArea):
    """Sign-up, verification by code, password reset, and the account page (password, sessions)."""

    def __init__(self, views: DashboardViews) -> None:
        super().__init__(views)
        settings = self.octotp.settings
        # Forms that send a code or check one count here; forms that check a password use the login
        # throttle (``views.throttle``), so no second door doubles the guesses a password gets.
        self.throttle = LoginThrottle(
            self.octotp.limits.storage,
            settings.dashboard_login_limit_per_email,
            settings.dashboard_login_limit_per_address,
            scope="dashboard-account",
        )
        self.codes = ConsoleCodes(self.octotp)
        self.mail = ConsoleMail(self.octotp)

    def routes(self) -> list[Route]:
        return [
            route("/signup", own_accounts=True, signed_in=False, GET=self.signup_form, POST=self.signup),
            route("/verify", own_accounts=True, signed_in=False, GET=self.verify_form, POST=self.verify),
            route("/verify/resend", own_accounts=True, signed_in=False, POST=self.resend_verification),
            route("/account/verify", own_accounts=True, POST=self.verify_signed_in),
            route("/account/verify/resend", own_accounts=True, POST=self.resend_verification),
            route("/reset", own_accounts=True, signed_in=False, GET=self.reset_form, POST=self.reset_request),
            route("/reset/code", own_accounts=True, signed_in=False, GET=self.reset_code_form, POST=self.reset_confirm),
            route("/reset/done", own_accounts=True, signed_in=False, GET=self.reset_done),
            route("/account", own_accounts=True, GET=self.account_page),
            route("/account/password", own_accounts=True, POST=self.change_password),
            route("/account/sessions/others/end", own_accounts=True, POST=self.end_other_sessions),
            route(
                f"/account/sessions/(?P<handle>[0-9a-f]{{{_HANDLE_LENGTH}}})/end",
                own_accounts=True,
                POST=self.end_session,
            ),
        ]

    # -- helpers -----------------------------------------------------------------------------
    def _form_page(self, call: DashboardRequest, status: int, template: str, **context: object) -> Response:
        """A signed-out form: its pre-session CSRF token and the password rules' minimum length."""
        return self.views.page(
            call,
            status,
            template,
            form_token=self.views._login_form_token(call),
            password_min_length=self.octotp.settings.dashboard_password_min_length,
            **context,
        )

    def _query(self, call: DashboardRequest, name: str) -> str:
        return (call.request.query.get(name) or [""])[0]

    def _remember_email(self, call: DashboardRequest, address: str) -> None:
        call.set_cookie(PENDING_EMAIL_COOKIE, seal(self.views._secret, _PENDING, {"email": address}))

    def _remembered_email(self, call: DashboardRequest) -> str:
        sealed = call.request.cookies.get(PENDING_EMAIL_COOKIE, "")
        message = unseal(self.views._secret, _PENDING, sealed) if sealed else None
        return (message or {}).get("email", "")

    def _sign_in_link(self, call: DashboardRequest) -> str | None:
        """The login page's address for an email, only from ``public_url``: a link built from the
        request's ``Host`` could be made to point anywhere by whoever sends the request."""
        public = self.octotp.settings.public_url
        return f"{public.rstrip('/')}{call.base}/login" if public else None

    # -- sign-up -----------------------------------------------------------------------------
    def signup_form(
        self, call: DashboardRequest, *, status: int = 200, errors: list[str] | None = None, email: str = ""
    ) -> Response:
        mode = self.octotp.settings.dashboard_signup
        if mode == "closed":
            raise NotFound("sign-up is closed")
        if call.active is not None and call.request.method.upper() == "GET":
            return call.redirect("/")
        return self._form_page(call, status, "signup.html", mode=mode, errors=errors or [], email=email)

    def signup(self, call: DashboardRequest) -> Response:
        if self.octotp.settings.dashboard_signup != "open":
            raise NotFound("sign-up needs an invitation")
        email, password = call.form("email"), call.form("password")
        retry_after = self.throttle.hit(email, call.request.client)
        if retry_after is not None:
            return self.views.too_many_attempts(call, retry_after)
        if password != call.form("password_confirm"):
            return self.signup_form(call, status=400, errors=["The passwords do not match."], email=email)
        try:
            address = normalise_email(email, field="email").value
            self.octotp.accounts.check_password(password, address)
        except InvalidInput as exc:
            return self.signup_form(call, status=400, errors=field_messages(exc), email=email)
        try:
            existing = self.octotp.store.get_account_by_email(address)
            if existing is None:
                try:
                    create_signed_up_account(
                        self.octotp, address, password, verified=False, address=call.request.client
                    )
                except Conflict:  # created meanwhile by a concurrent sign-up: answer as for any existing one
                    existing = self.octotp.store.get_account_by_email(address)
            else:
                hash_password(password)  # the argon2 work a new account costs, so both answers take as long
            if existing is not None:
                self._signup_for_existing(call, existing)
        except RateLimited as exc:
            return self.views.too_many_attempts(call, exc.retry_after)
        self._remember_email(call, address)
        return call.redirect("/verify")

    def _signup_for_existing(self, call: DashboardRequest, existing: Account) -> None:
        """The address has an account: the same code work and budget as a new one, and one email to
        its owner (a fresh code while it is unverified, else a note that someone tried to sign up)."""
        self.codes.send(existing.email, ACCOUNT_VERIFY)  # mails only an account still waiting for one
        if existing.verified_at is not None and existing.is_active:
            # A failure is logged by ConsoleMail; the page must answer as for any address.
            with contextlib.suppress(DeliveryFailed):
                self.mail.signup_attempt(existing.email, sign_in_link=self._sign_in_link(call))

    # -- verification ------------------------------------------------------------------------
    def verify_form(
        self,
        call: DashboardRequest,
        *,
        status: int = 200,
        error: str | None = None,
        email: str | None = None,
    ) -> Response:
        active = call.active
        if active is not None and active.account.verified_at is not None:
            return call.redirect("/")
        sent = self._query(call, "sent") == "1"
        if active is not None:  # its forms post to /account/verify with the session's CSRF token
            return self.views.page(
                call, status, "verify.html", error=error, email=active.account.email, signed_in=True, sent=sent
            )
        return self._form_page(
            call,
            status,
            "verify.html",
            error=error,
            email=email if email is not None else self._remembered_email(call),
            signed_in=False,
            sent=sent,
        )

    def verify_signed_in(self, call: DashboardRequest) -> Response:
        """The signed-in account's code (its session proved the password)."""
        assert call.active is not None
        account = call.active.account
        if account.verified_at is not None:
            return call.redirect("/")
        retry_after = self.throttle.hit(account.email, call.request.client)
        if retry_after is not None:
            return self.views.too_many_attempts(call, retry_after)
        result = self.codes.check(account.email, ACCOUNT_VERIFY, call.form("code"))
        if not result:
            return self.verify_form(call, status=400, error=result.reason)
        self._mark_verified(call, account)
        return call.redirect("/")

    def verify(self, call: DashboardRequest) -> Response:
        code = call.form("code")
        # Signed out: the code proves the address, the password proves the account's owner; both are
        # needed, so whoever signed up with someone else's address cannot complete it.
        email, password = call.form("email"), call.form("password")
        retry_after = self.views.throttle.hit(email, call.request.client)
        if retry_after is not None:
            return self.views.too_many_attempts(call, retry_after)
        found = self.octotp.accounts.authenticate_account(email, password)  # same argon2 work either way
        if found is None:
            return self.verify_form(call, status=400, error=WRONG_CREDENTIALS, email=email)
        account = found
        if account.verified_at is None:
            result = self.codes.check(account.email, ACCOUNT_VERIFY, code)
            if not result:
                return self.verify_form(call, status=400, error=result.reason, email=email)
            account = self._mark_verified(call, account)
        self.octotp.audit.record("account.sign_in", actor=account, address=call.request.client)
        return self.views._sign_in(call, account)

    def _mark_verified(self, call: DashboardRequest, account: Account) -> Account:
        call.clear_cookie(PENDING_EMAIL_COOKIE)
        verified = dataclasses.replace(account, verified_at=self.octotp.clock.now())
        self.octotp.store.update_account(verified)
        self.octotp.audit.record("account.verified", actor=verified, address=call.request.client)
        log.info("dashboard account verified account=%s", account.id)
        return verified

    def resend_verification(self, call: DashboardRequest) -> Response:
        """A new code: for the signed-in account (``/account/verify/resend``), or the address in the
        form (``/verify/resend``, signed out)."""
        active = call.active
        signed_in = active is not None and call.request.path.startswith("/account/")
        email = active.account.email if active is not None and signed_in else call.form("email")
        retry_after = self.throttle.hit(email, call.request.client)
        if retry_after is not None:
            return self.views.too_many_attempts(call, retry_after)
        try:
            self.codes.send(email, ACCOUNT_VERIFY)
        except InvalidInput as exc:
            return self.verify_form(call, status=400, error=field_messages(exc)[0], email=email)
        except RateLimited as exc:
            return self.views.too_many_attempts(call, exc.retry_after)
        self._remember_email(call, normalise_email(email, field="email").value)
        return call.redirect("/verify?sent=1")

    # -- password reset ----------------------------------------------------------------------
    def reset_form(
        self, call: DashboardRequest, *, status: int = 200, errors: list[str] | None = None, email: str = ""
    ) -> Response:
        return self._form_page(call, status, "reset.html", errors=errors or [], email=email)

    def reset_request(self, call: DashboardRequest) -> Response:
        email = call.form("email")
        retry_after = self.throttle.hit(email, call.request.client)
        if retry_after is not None:
            return self.views.too_many_attempts(call, retry_after)
        try:
            self.codes.send(email, PASSWORD_RESET)  # the same for every address (see ConsoleCodes)
        except InvalidInput as exc:
            return self.reset_form(call, status=400, errors=field_messages(exc), email=email)
        except RateLimited as exc:
            return self.views.too_many_attempts(call, exc.retry_after)
        self._remember_email(call, normalise_email(email, field="email").value)
        return call.redirect("/reset/code")

    def reset_code_form(
        self,
        call: DashboardRequest,
        *,
        status: int = 200,
        errors: list[str] | None = None,
        email: str | None = None,
    ) -> Response:
        return self._form_page(
            call,
            status,
            "reset_code.html",
            errors=errors or [],
            email=email if email is not None else self._remembered_email(call),
        )

    def reset_confirm(self, call: DashboardRequest) -> Response:
        email, code, password = call.form("email"), call.form("code"), call.form("password")
        retry_after = self.throttle.hit(email, call.request.client)
        if retry_after is not None:
            return self.views.too_many_attempts(call, retry_after)
        if password != call.form("password_confirm"):
            return self.reset_code_form(call, status=400, errors=["The passwords do not match."], email=email)
        try:
            address = normalise_email(email, field="email").value
            # The rules first: a refused password does not use up the code.
            self.octotp.accounts.check_password(password, address)
        except InvalidInput as exc:
            return self.reset_code_form(call, status=400, errors=field_messages(exc), email=email)
        result = self.codes.check(address, PASSWORD_RESET, code)
        if not result:
            return self.reset_code_form(call, status=400, errors=[result.reason], email=email)
        new_hash = hash_password(password)
        account = self.octotp.store.get_account_by_email(address)
        if account is not None and account.is_active:
            # The code reached the address, so the address is verified too.
            changed = dataclasses.replace(
                account, password_hash=new_hash, verified_at=account.verified_at or self.octotp.clock.now()
            )
            self.octotp.store.update_account(changed)
            ended = self.octotp.store.delete_account_sessions(account.id)
            self.octotp.audit.record(
                "account.password_reset",
                actor=changed,
                detail=f"{ended} session{'' if ended == 1 else 's'} ended",
                address=call.request.client,
            )
            log.info("dashboard password reset account=%s sessions_ended=%s", account.id, ended)
            if call.active is not None and call.active.account.id == account.id:
                call.active = None
                call.clear_cookie(SESSION_COOKIE)
        call.clear_cookie(PENDING_EMAIL_COOKIE)
        return call.redirect("/reset/done")

    def reset_done(self, call: DashboardRequest) -> Response:
        return self.views.page(call, 200, "reset_done.html")

    # -- the account page --------------------------------------------------------------------
    def account_page(self, call: DashboardRequest, *, status: int = 200, errors: list[str] | None = None) -> Response:
        assert call.active is not None
        account, current = call.active.account, call.active.session.id_digest
        sessions = [
            (session, session_handle(session.id_digest), session.id_digest == current)
            for session in self.octotp.store.list_account_sessions(account.id, self.octotp.clock.now())
        ]
        return self.views.page(
            call,
            status,
            "account.html",
            sessions=sessions,
            errors=errors or [],
            done=self._query(call, "done"),
            password_min_length=self.octotp.settings.dashboard_password_min_length,
        )

    def change_password(self, call: DashboardRequest) -> Response:
        assert call.active is not None
        account = call.active.account
        # Guessing the current password here is guessing a login: the login throttle counts it.
        retry_after = self.views.throttle.hit(account.email, call.request.client)
        if retry_after is not None:
            return self.views.too_many_attempts(call, retry_after)
        new = call.form("password")
        if not verify_password(account.password_hash, call.form("current_password")):
            return self.account_page(call, status=400, errors=["The current password is not correct."])
        if new != call.form("password_confirm"):
            return self.account_page(call, status=400, errors=["The new passwords do not match."])
        try:
            self.octotp.accounts.check_password(new, account.email)
        except InvalidInput as exc:
            return self.account_page(call, status=400, errors=field_messages(exc))
        self.octotp.store.update_account(dataclasses.replace(account, password_hash=hash_password(new)))
        self.views.audit(call, "account.password_changed")
        if call.form("sign_out_others") == "on":
            self._end_others(call)
        return call.redirect("/account?done=password")

    def _end_others(self, call: DashboardRequest) -> int:
        assert call.active is not None
        ended = self.octotp.store.delete_other_sessions(call.active.account.id, call.active.session.id_digest)
        self.views.audit(call, "account.sessions_ended", detail=f"{ended} other session{'' if ended == 1 else 's'}")
        return ended

    def end_other_sessions(self, call: DashboardRequest) -> Response:
        self._end_others(call)
        return call.redirect("/account?done=sessions")

    def end_session(self, call: DashboardRequest, handle: str) -> Response:
        assert call.active is not None
        account, current = call.active.account, call.active.session.id_digest
        sessions = self.octotp.store.list_account_sessions(account.id, self.octotp.clock.now())
        target = next((s for s in sessions if session_handle(s.id_digest) == handle), None)
        if target is None or target.id_digest == current:  # the current one ends by logging out
            raise NotFound("no such session")
        self.octotp.store.delete_session(target.id_digest)
        started = target.created_at.strftime("%Y-%m-%d %H:%M UTC")
        self.views.audit(call, "account.sessions_ended", detail=f"the session started {started}")
        return call.redirect("/account?done=session")
