"""The account pages of the console, as every adapter must serve them (part of ``ConsoleSuite``).

Sign-up in each ``dashboard_signup`` mode, verification by an emailed code, password reset (every
session ends), password change with "sign out my other sessions", the sessions list; no answer that
tells whether an address has an account; unverified accounts cannot create projects or keys. Mail
is read from a real SMTP server (the ``mailbox`` fixture); the app comes from the ``console``
fixture (``console(**settings)`` mounts one whose email goes to the mailbox).
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Callable

import pytest

from ..console.codes import ACCOUNT_VERIFY, CONSOLE_PROJECT_ID
from ..core import Octotp
from ..recipients import normalise_email
from ..states import token_state
from .dashboard import PASSWORD, DashboardBrowser, MountedDashboard, RawResult, hidden_field
from .mailbox import Mailbox, text_of

Console = Callable[..., MountedDashboard]
NEW_PASSWORD = "violet harbour lantern 42"  # noqa: S105 - a test account's new password
_HANDLE = re.compile(r'action="[^"]*/account/sessions/([0-9a-f]{20})/end"')


def _address(kind: str = "signup") -> str:
    return f"{kind}-{uuid.uuid4().hex[:10]}@example.com"


def app_octotp(mounted: MountedDashboard) -> Octotp:
    """The ``Octotp`` of the app the suite talks to."""
    assert isinstance(mounted.octotp, Octotp), "MountedDashboard needs its app's Octotp"
    return mounted.octotp


def submit(browser: DashboardBrowser, page: str, action: str, fields: dict[str, str]) -> RawResult:
    """Open ``page`` and post ``fields`` to ``action`` with the page's CSRF token, as a browser would."""
    token = hidden_field(browser.get(page), "csrf_token")
    return browser.post(action, {"csrf_token": token, **fields})


def sign_up(browser: DashboardBrowser, email: str, password: str = PASSWORD, confirm: str | None = None) -> RawResult:
    return submit(
        browser,
        "/signup",
        "/signup",
        {"email": email, "password": password, "password_confirm": password if confirm is None else confirm},
    )


def verify(browser: DashboardBrowser, email: str, code: str, password: str = PASSWORD) -> RawResult:
    return submit(browser, "/verify", "/verify", {"email": email, "code": code, "password": password})


def request_reset(browser: DashboardBrowser, email: str) -> RawResult:
    return submit(browser, "/reset", "/reset", {"email": email})


def confirm_reset(browser: DashboardBrowser, email: str, code: str, password: str = NEW_PASSWORD) -> RawResult:
    fields = {"email": email, "code": code, "password": password, "password_confirm": password}
    return submit(browser, "/reset/code", "/reset/code", fields)


def signed_in(browser: DashboardBrowser) -> bool:
    """The browser's session still works (its projects page answers instead of sending it to log in)."""
    return browser.get("/").status == 200


def _wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10 ** len(code):0{len(code)}d}"


def _normalised(result: RawResult, *emails: str) -> tuple[int, str | None, list[str], str]:
    """What a page tells a visitor, with the addresses typed into it blanked out."""
    text = result.text
    for email in emails:
        text = text.replace(email, "EMAIL")
    text = re.sub(r'name="csrf_token" value="[^"]*"', "TOKEN", text)
    cookies = sorted(c.split("=", 1)[0] for c in result.all("set-cookie"))
    return result.status, result.header("location"), cookies, text


class AccountsSuite:
    """Sign-up, verification, reset, password change and sessions, on every adapter."""

    # -- sign-up modes -----------------------------------------------------------------------
    def test_signup_is_closed_by_default(self, dashboard: MountedDashboard) -> None:
        browser = dashboard.browser()
        assert browser.get("/signup").status == 404
        login = browser.get("/login")
        assert "/signup" not in login.text
        assert 'href="' + dashboard.base + '/reset"' in login.text
        token = hidden_field(login, "csrf_token")
        fields = {"csrf_token": token, "email": _address(), "password": PASSWORD, "password_confirm": PASSWORD}
        assert browser.post("/signup", fields).status == 404

    def test_invite_mode_says_an_invitation_is_needed(self, console: Console, mailbox: Mailbox) -> None:
        mounted = console(dashboard_signup="invite")
        browser = mounted.browser()
        page = browser.get("/signup")
        assert page.status == 200
        assert "come with an invitation" in page.text
        assert 'action="' + mounted.base + '/signup"' not in page.text
        email = _address()
        fields = {"email": email, "password": PASSWORD, "password_confirm": PASSWORD}
        assert submit(browser, "/login", "/signup", fields).status == 404
        assert app_octotp(mounted).store.get_account_by_email(email) is None
        assert mailbox.to(email) == []

    # -- open sign-up ------------------------------------------------------------------------
    def test_open_signup_then_verify_by_code_signs_in(self, console: Console, mailbox: Mailbox) -> None:
        mounted = console(dashboard_signup="open")
        octotp = app_octotp(mounted)
        browser = mounted.browser()
        assert "/signup" in browser.get("/login").text
        email = _address()
        answer = sign_up(browser, email.upper())
        assert answer.status == 303
        assert answer.header("location") == mounted.base + "/verify"
        assert email not in (answer.header("location") or "")  # never in a URL (access logs, history)
        account = octotp.store.get_account_by_email(email)
        assert account is not None
        assert account.verified_at is None
        mail = mailbox.wait_for(email, contains="verification code")
        assert mail["Subject"] == "Your octotp verification code"
        page = browser.follow(answer)
        assert page.status == 200
        assert f'value="{email}"' in page.text  # the address is filled in
        assert "octotp_session" not in browser.cookies  # signing up does not sign in (no enumeration)
        done = verify(browser, email, mailbox.code_for(email))
        assert done.status == 303
        assert done.header("location") == mounted.base + "/"
        assert "octotp_session" in browser.cookies
        home = browser.follow(done)
        assert "not verified" not in home.text
        stored = octotp.store.get_account_by_email(email)
        assert stored is not None
        assert stored.verified_at is not None
        actions = [event.action for event in octotp.audit.for_account(account.id)]
        assert {"account.signed_up", "account.verified", "account.sign_in"} <= set(actions)

    def test_signup_with_a_taken_address_answers_the_same_and_tells_its_owner(
        self, console: Console, mailbox: Mailbox
    ) -> None:
        mounted = console(dashboard_signup="open", public_url="https://console.example.com")
        taken, fresh = _address("taken"), _address("fresh")
        mounted.create_account(taken, PASSWORD)
        for_taken = sign_up(mounted.browser(), taken, NEW_PASSWORD)
        for_fresh = sign_up(mounted.browser(), fresh, NEW_PASSWORD)
        assert _normalised(for_taken, taken) == _normalised(for_fresh, fresh)
        notice = mailbox.wait_for(taken)
        assert notice["Subject"] == "Someone tried to sign up to octotp with your address"
        assert f"https://console.example.com{mounted.base}/login" in text_of(notice)
        assert len(mailbox.to(taken)) == 1  # the notice, no code
        assert "verification code" in text_of(mailbox.wait_for(fresh))
        # The taken account is unchanged: its password is still the old one.
        assert mounted.browser().login(taken, PASSWORD).status == 303
        assert mounted.browser().login(taken, NEW_PASSWORD).status == 200
        # The code pages that follow say the same too.
        browser_taken, browser_fresh = mounted.browser(), mounted.browser()
        sign_up(browser_taken, taken, NEW_PASSWORD)
        sign_up(browser_fresh, fresh, NEW_PASSWORD)
        assert _normalised(browser_taken.get("/verify"), taken) == _normalised(browser_fresh.get("/verify"), fresh)

    def test_signup_refuses_bad_input_with_reasons_and_writes_nothing(self, console: Console, mailbox: Mailbox) -> None:
        mounted = console(dashboard_signup="open")
        octotp = app_octotp(mounted)
        browser = mounted.browser()
        email = _address("lee.ann")
        cases = [
            (sign_up(browser, email, PASSWORD, confirm=PASSWORD + "!"), "The passwords do not match."),
            (sign_up(browser, email, "short"), "Password must be at least 10 characters."),
            (sign_up(browser, email, "password1234"), "Password is too common: this is a very common password."),
            (
                sign_up(browser, email, f"{email.split('@')[0]} violet harbour"),
                "Password must not contain your email address&#39;s name (the part before the @).",
            ),
            (sign_up(browser, "not an address", PASSWORD), "Email: "),
        ]
        for result, message in cases:
            assert result.status == 400
            assert message in result.text
            assert "octotp_session" not in browser.cookies
        assert f'value="{email}"' in cases[0][0].text  # the form keeps what was typed (not the password)
        assert PASSWORD not in cases[0][0].text
        assert octotp.store.get_account_by_email(email) is None
        assert mailbox.to(email) == []

    def test_signup_is_throttled_per_normalised_email(self, console: Console, mailbox: Mailbox) -> None:
        mounted = console(dashboard_signup="open", dashboard_login_limit_per_email="2/minute")
        email = _address()
        spellings = [email, email.upper(), f"  {email.capitalize()}  "]
        results = [sign_up(mounted.browser(), spelling, NEW_PASSWORD) for spelling in spellings]
        assert [r.status for r in results] == [303, 303, 429]
        assert results[2].header("retry-after") is not None

    # -- unverified accounts -----------------------------------------------------------------
    def test_an_unverified_account_cannot_create_projects_or_keys(self, console: Console, mailbox: Mailbox) -> None:
        mounted = console(dashboard_signup="open")
        octotp = app_octotp(mounted)
        email = _address()
        sign_up(mounted.browser(), email)
        browser = mounted.browser()
        assert browser.login(email, PASSWORD).status == 303  # an unverified account may sign in
        home = browser.get("/")
        assert "not verified yet" in home.text
        assert f'href="{mounted.base}/verify"' in home.text
        token = browser.csrf_token()
        assert browser.post("/projects", {"csrf_token": token, "name": "not yet"}).status == 403
        # Even a project it owns (given by an operator) gets no key from it: core checks, not the page.
        account = octotp.store.get_account_by_email(email)
        assert account is not None
        project = octotp.accounts.create_project("given", account).project
        assert browser.post(f"/projects/{project.id}/keys", {"csrf_token": token, "name": "k"}).status == 403
        assert len(octotp.store.list_api_keys(project.id)) == 1  # only the one it was created with

        # Signed in, the code alone verifies (the session proved the password); a resend needs no address.
        assert browser.post("/account/verify/resend", {"csrf_token": token}).status == 303
        assert len(mailbox.to(email)) == 2
        page = browser.get("/verify")
        assert 'name="password"' not in page.text
        assert f'action="{mounted.base}/account/verify"' in page.text
        wrong = browser.post("/account/verify", {"csrf_token": token, "code": "12"})
        assert wrong.status == 400
        assert "Enter the 6-digit code from the email." in wrong.text
        code = mailbox.code_for(email)
        ok = browser.post("/account/verify", {"csrf_token": token, "code": code})
        assert ok.status == 303
        assert browser.get("/verify").status == 303  # nothing left to verify
        assert browser.post("/account/verify/resend", {"csrf_token": token}).status == 303  # verified: no code
        assert len(mailbox.to(email)) == 2
        created = browser.post(f"/projects/{project.id}/keys", {"csrf_token": token, "name": "now"})
        assert created.status == 303
        assert len(octotp.store.list_api_keys(project.id)) == 2

    def test_resend_replaces_the_code(self, console: Console, mailbox: Mailbox) -> None:
        mounted = console(dashboard_signup="open")
        octotp = app_octotp(mounted)
        email = _address()
        browser = mounted.browser()
        sign_up(browser, email)
        digest = normalise_email(email).digest(octotp.settings.secrets()[0])
        first = octotp.store.latest_token(CONSOLE_PROJECT_ID, digest, ACCOUNT_VERIFY)
        resent = submit(browser, "/verify", "/verify/resend", {"email": email})
        assert resent.status == 303
        assert "A new code is on its way" in browser.follow(resent).text
        assert len(mailbox.to(email)) == 2
        assert first is not None
        assert token_state(octotp.tokens.get(CONSOLE_PROJECT_ID, first.id), octotp.clock.now()) == "superseded"
        assert verify(browser, email, mailbox.code_for(email)).status == 303

    def test_verifying_signed_out_needs_the_password_too(self, console: Console, mailbox: Mailbox) -> None:
        mounted = console(dashboard_signup="open")
        email = _address()
        browser = mounted.browser()
        sign_up(browser, email)
        code = mailbox.code_for(email)
        refused = verify(browser, email, code, password=NEW_PASSWORD)
        assert refused.status == 400
        assert "The email, password or code is not correct." in refused.text
        assert "octotp_session" not in browser.cookies
        nobody = verify(mounted.browser(), _address("nobody"), code)
        assert (nobody.status, "The email, password or code is not correct." in nobody.text) == (400, True)
        wrong_code = verify(browser, email, _wrong(code))
        assert wrong_code.status == 400
        assert "That code is not correct." in wrong_code.text
        assert verify(browser, email, code).status == 303  # neither refusal used the code up

    # -- password reset ----------------------------------------------------------------------
    def test_password_reset_by_code_ends_every_session(self, console: Console, mailbox: Mailbox) -> None:
        mounted = console()
        octotp = app_octotp(mounted)
        email = _address("owner")
        account = mounted.create_account(email, PASSWORD)
        first, second = mounted.browser(), mounted.browser()
        assert first.login(email, PASSWORD).status == 303
        assert second.login(email, PASSWORD).status == 303
        browser = mounted.browser()
        asked = request_reset(browser, email.upper())
        assert asked.status == 303
        assert asked.header("location") == mounted.base + "/reset/code"
        page = browser.follow(asked)
        assert f'value="{email}"' in page.text
        mail = mailbox.wait_for(email, contains="password reset code")
        assert mail["Subject"] == "Your octotp password reset code"
        done = confirm_reset(browser, email, mailbox.code_for(email))
        assert done.status == 303
        assert done.header("location") == mounted.base + "/reset/done"
        assert "every session of the account has ended" in browser.follow(done).text
        assert not signed_in(first)
        assert not signed_in(second)
        assert mounted.browser().login(email, PASSWORD).status == 200
        assert mounted.browser().login(email, NEW_PASSWORD).status == 303
        actions = [event.action for event in octotp.audit.for_account(account.id)]
        assert "account.password_reset" in actions

    def test_reset_answers_the_same_for_an_unknown_address(self, console: Console, mailbox: Mailbox) -> None:
        mounted = console()
        known, unknown = _address("known"), _address("unknown")
        mounted.create_account(known, PASSWORD)
        for_known, for_unknown = mounted.browser(), mounted.browser()
        asked_known, asked_unknown = request_reset(for_known, known), request_reset(for_unknown, unknown)
        assert _normalised(asked_known, known) == _normalised(asked_unknown, unknown)
        assert _normalised(for_known.follow(asked_known), known) == _normalised(
            for_unknown.follow(asked_unknown), unknown
        )
        assert len(mailbox.to(known)) == 1
        assert mailbox.to(unknown) == []
        # A wrong code is "not correct" for both: a code was issued for either address.
        wrong = _wrong(mailbox.code_for(known))
        assert _normalised(confirm_reset(for_known, known, wrong), known) == _normalised(
            confirm_reset(for_unknown, unknown, wrong), unknown
        )
        # Every later request is answered the same for both as well, up to the limits.
        statuses = [
            (request_reset(mounted.browser(), known).status, request_reset(mounted.browser(), unknown).status)
            for _ in range(5)
        ]
        assert all(a == b for a, b in statuses), statuses
        assert statuses[-1] == (429, 429)

    def test_reset_refuses_a_weak_password_without_using_the_code(self, console: Console, mailbox: Mailbox) -> None:
        mounted = console()
        email = _address("owner")
        mounted.create_account(email, PASSWORD)
        browser = mounted.browser()
        request_reset(browser, email)
        code = mailbox.code_for(email)
        weak = confirm_reset(browser, email, code, password="password1234")  # noqa: S106 - a refused one
        assert weak.status == 400
        assert "Password is too common" in weak.text
        assert confirm_reset(browser, email, code).status == 303
        assert mounted.browser().login(email, NEW_PASSWORD).status == 303

    def test_reset_verifies_an_unverified_address(self, console: Console, mailbox: Mailbox) -> None:
        mounted = console(dashboard_signup="open")
        octotp = app_octotp(mounted)
        email = _address()
        sign_up(mounted.browser(), email)
        browser = mounted.browser()
        request_reset(browser, email)
        assert confirm_reset(browser, email, mailbox.code_for(email)).status == 303
        account = octotp.store.get_account_by_email(email)
        assert account is not None
        assert account.verified_at is not None

    # -- the account page --------------------------------------------------------------------
    def test_change_password_needs_the_current_one_and_may_sign_out_the_others(
        self, console: Console, mailbox: Mailbox
    ) -> None:
        # A password change counts as a login attempt (it checks the current password): room for six.
        mounted = console(dashboard_login_limit_per_email="20/minute")
        email = _address("owner")
        account = mounted.create_account(email, PASSWORD)
        here, other = mounted.browser(), mounted.browser()
        here.login(email, PASSWORD)
        other.login(email, PASSWORD)

        def change(current: str, new: str, **extra: str) -> RawResult:
            fields = {"current_password": current, "password": new, "password_confirm": new, **extra}
            return submit(here, "/account", "/account/password", fields)

        wrong = change(NEW_PASSWORD, NEW_PASSWORD)
        assert wrong.status == 400
        assert "The current password is not correct." in wrong.text
        weak = change(PASSWORD, "qwertyuiop123")
        assert weak.status == 400
        assert "Password is too common" in weak.text
        kept = change(PASSWORD, NEW_PASSWORD)
        assert kept.status == 303
        assert "Your password is changed." in here.follow(kept).text
        assert signed_in(other)  # not asked to sign out the others
        moved = change(NEW_PASSWORD, PASSWORD, sign_out_others="on")
        assert moved.status == 303
        assert signed_in(here)
        assert not signed_in(other)
        assert mounted.browser().login(email, NEW_PASSWORD).status == 200
        actions = [e.action for e in app_octotp(mounted).audit.for_account(account.id)]
        assert actions.count("account.password_changed") == 2
        assert "account.sessions_ended" in actions

    def test_the_sessions_list_marks_this_one_and_signs_out_another(self, console: Console, mailbox: Mailbox) -> None:
        mounted = console()
        email = _address("owner")
        mounted.create_account(email, PASSWORD)
        here, other, third = mounted.browser(), mounted.browser(), mounted.browser()
        for browser in (here, other, third):
            browser.login(email, PASSWORD)
        page = here.get("/account")
        assert page.status == 200
        assert page.text.count("This session") == 1
        assert '<th scope="col">Last seen</th>' in page.text
        handles = _HANDLE.findall(page.text)
        assert len(handles) == 2  # the other two; this one ends by logging out
        token = hidden_field(page, "csrf_token")
        ended = here.post(f"/account/sessions/{handles[0]}/end", {"csrf_token": token})
        assert ended.status == 303
        assert "That session has ended." in here.follow(ended).text
        assert [signed_in(other), signed_in(third)].count(False) == 1
        assert here.post(f"/account/sessions/{handles[0]}/end", {"csrf_token": token}).status == 404
        assert here.post(f"/account/sessions/{'0' * 20}/end", {"csrf_token": token}).status == 404
        assert here.post("/account/sessions/others/end", {"csrf_token": token}).status == 303
        assert not signed_in(other)
        assert not signed_in(third)
        assert signed_in(here)
        # Another account's session is not this account's to end.
        stranger_email = _address("stranger")
        mounted.create_account(stranger_email, PASSWORD)
        stranger = mounted.browser()
        stranger.login(stranger_email, PASSWORD)
        fourth = mounted.browser()
        fourth.login(email, PASSWORD)
        [handle] = _HANDLE.findall(here.get("/account").text)
        assert stranger.post(f"/account/sessions/{handle}/end", {"csrf_token": stranger.csrf_token()}).status == 404
        assert signed_in(fourth)

    def test_signed_out_account_forms_need_their_csrf_token(self, console: Console, mailbox: Mailbox) -> None:
        mounted = console(dashboard_signup="open")
        browser = mounted.browser()
        browser.get("/login")  # a pre-session cookie, but no token sent
        email = _address()
        fields = {"email": email, "password": PASSWORD, "password_confirm": PASSWORD, "code": "123456"}
        for path in ("/signup", "/verify", "/verify/resend", "/reset", "/reset/code"):
            assert browser.post(path, fields).status == 403, path
        assert mailbox.to(email) == []
        assert app_octotp(mounted).store.get_account_by_email(email) is None

    def test_no_code_password_or_address_reaches_a_log(
        self, console: Console, mailbox: Mailbox, caplog: pytest.LogCaptureFixture
    ) -> None:
        mounted = console(dashboard_signup="open")
        caplog.set_level(logging.DEBUG, logger="octotp")
        email = _address("leak.check")
        browser = mounted.browser()
        sign_up(browser, email)
        signup_code = mailbox.code_for(email)
        verify(browser, email, signup_code)
        other = mounted.browser()
        request_reset(other, email)
        reset_code = mailbox.code_for(email)
        confirm_reset(other, email, reset_code)
        records = [r for r in caplog.records if r.name.startswith("octotp")]
        logged = "\n".join(f"{r.getMessage()} {r.args!r}" for r in records)
        assert "dashboard sign-up account=" in logged  # the flow was logged, just not its secrets
        for secret in (signup_code, reset_code, PASSWORD, NEW_PASSWORD, email, email.split("@")[0]):
            assert secret not in logged, secret
