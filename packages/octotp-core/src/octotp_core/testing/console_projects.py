"""Console conformance: the project pages, for every adapter (part of ``console.ConsoleSuite``, which
gives the fixtures): the token list (search by exact recipient, filters by state, purpose and
channel, pages), the confirmation before a key is revoked, deleting a project, and the audit logs
(a project's and an account's).

Tokens are made through the app's own API (approved, replaced, locked by wrong codes, cancelled,
expired by moving the app's ``FrozenClock``) or, where the API cannot make one (a failed delivery,
fifty-odd tokens for the pages), written with ``Octotp.store.insert_token``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import html
import json
import logging
import re
import time
import uuid
from dataclasses import dataclass
from typing import Any

import pytest

from ..clock import FrozenClock
from ..core import Octotp
from ..store import Job, Member, NewToken
from .dashboard import (
    HOST,
    PASSWORD,
    DashboardBrowser,
    MountedDashboard,
    RawResult,
    _email,
    hidden_field,
    new_key,
    project_id,
)
from .mailbox import Mailbox, text_of

_ROW = re.compile(r"<tr(?:\s[^>]*)?>\s*(.*?)</tr>", re.S)
_CELL = re.compile(r"<td[^>]*>(.*?)</td>", re.S)
_TAG = re.compile(r"<[^>]+>")


@dataclass(frozen=True)
class ProjectWithKey:
    """A project made through the console by a signed-in owner, and its first API key."""

    id: str
    name: str
    key: str

    @property
    def path(self) -> str:
        return f"/projects/{self.id}"


def make_project(browser: DashboardBrowser, name: str | None = None) -> ProjectWithKey:
    """Create a project on the projects page, as its owner would; the key the page shows once."""
    name = name or f"Project {uuid.uuid4().hex[:8]}"
    created = browser.follow(browser.post("/projects", {"csrf_token": browser.csrf_token(), "name": name}))
    key = new_key(created)
    assert key is not None, created.text
    return ProjectWithKey(project_id(created), name, key)


def octotp_of(dashboard: MountedDashboard) -> Octotp:
    """The app's ``Octotp`` (the console fixtures put it on ``MountedDashboard.octotp``)."""
    octotp = dashboard.octotp
    assert isinstance(octotp, Octotp), "the console suite needs the app's Octotp (MountedDashboard.octotp)"
    return octotp


def clock_of(dashboard: MountedDashboard) -> FrozenClock:
    clock = octotp_of(dashboard).clock
    assert isinstance(clock, FrozenClock), "the console suite runs the app on a FrozenClock"
    return clock


def api(dashboard: MountedDashboard, method: str, path: str, key: str, body: dict[str, Any] | None = None) -> RawResult:
    """One API request with the project's key."""
    headers = {"Host": HOST, "Content-Type": "application/json", "X-Api-Key": key}
    data = json.dumps(body).encode() if body is not None else None
    return dashboard.client.request(method, dashboard.api_prefix + path, headers=headers, body=data)


def create(dashboard: MountedDashboard, project: ProjectWithKey, **fields: Any) -> dict[str, Any]:
    """Create a token through the API (``recipientEmail``/``recipientPhone``... as keyword arguments)."""
    result = api(dashboard, "POST", "/api/tokens", project.key, {"projectId": project.id, **fields})
    assert result.status == 201, result.text
    answer: dict[str, Any] = json.loads(result.body)
    return answer


def validate(dashboard: MountedDashboard, project: ProjectWithKey, code: str, **fields: Any) -> str:
    """Validate through the API; the status it answers."""
    result = api(
        dashboard, "POST", "/api/tokens/validate", project.key, {"projectId": project.id, "code": code, **fields}
    )
    assert result.status == 200, result.text
    status: str = json.loads(result.body)["status"]
    return status


def rows(page: RawResult, table: str) -> list[list[str]]:
    """The text of each body row's cells in the table with this id (tags stripped)."""
    found = re.search(rf'<table id="{table}">(.*?)</table>', page.text, re.S)
    if found is None:
        return []
    body = found.group(1).split("</thead>", 1)[-1]
    return [[html.unescape(_TAG.sub("", cell)).strip() for cell in _CELL.findall(row)] for row in _ROW.findall(body)]


def token_hints(page: RawResult) -> list[str]:
    """The recipient hints of the token list's rows, in order (the second column)."""
    return [cells[1] for cells in rows(page, "tokens")]


def link(page: RawResult, rel: str) -> str | None:
    """Where the page's "Newer" (``prev``) or "Older" (``next``) link points, from the dashboard's root."""
    found = re.search(rf'<a href="([^"]*)" rel="{rel}">', page.text)
    return found.group(1).replace("&amp;", "&") if found else None


def search(browser: DashboardBrowser, project: ProjectWithKey, **fields: str) -> RawResult:
    """Post the token search form."""
    return browser.post(f"{project.path}/tokens", {"csrf_token": browser.csrf_token(), **fields})


def seed_tokens(
    octotp: Octotp, project_id: str, count: int, *, purpose: str = "", hint: str = "s***@seeded.example"
) -> list[str]:
    """Write ``count`` open tokens straight to the store, one second apart (oldest first); their ids."""
    now = octotp.clock.now()
    ids = []
    for i in range(count):
        token = NewToken(
            id=str(uuid.uuid4()),
            project_id=project_id,
            recipient_digest=hashlib.sha256(uuid.uuid4().bytes).hexdigest(),
            recipient_hint=hint,
            channel="email",
            purpose=purpose,
            code_hash="hmac-sha256$" + hashlib.sha256(uuid.uuid4().bytes).hexdigest(),
            created_at=now - dt.timedelta(seconds=count - i),
            expires_at=now + dt.timedelta(seconds=300),
            max_attempts=5,
        )
        octotp.store.insert_token(token)
        ids.append(token.id)
    return ids


def other_account(dashboard: MountedDashboard, role: str | None, project: ProjectWithKey) -> DashboardBrowser:
    """A second account signed in, with ``role`` in the project (None: a stranger to it)."""
    email = _email()
    account = dashboard.create_account(email, PASSWORD)
    if role is not None:
        octotp = octotp_of(dashboard)
        octotp.store.add_member(Member(str(uuid.uuid4()), project.id, account.id, role, octotp.clock.now()))
    browser = dashboard.browser()
    assert browser.login(email, PASSWORD).status == 303
    return browser


def signed_in(dashboard: MountedDashboard) -> tuple[str, DashboardBrowser]:
    """A fresh account signed in to ``dashboard`` (as the ``owner`` fixture, for an app a test made)."""
    email = _email()
    dashboard.create_account(email, PASSWORD)
    browser = dashboard.browser()
    assert browser.login(email, PASSWORD).status == 303
    return email, browser


def settle(octotp: Octotp, token_id: str, states: tuple[str, ...] = ("sent", "failed")) -> Job:
    """Run the outbox (as a worker would; an app's own worker may beat it to a job) until the token's
    delivery is in one of ``states``; the job."""
    deadline = time.monotonic() + 10
    while True:
        job = octotp.store.get_token_job(token_id)
        assert job is not None, "the code was not queued"
        if job.state in states:
            return job
        assert time.monotonic() < deadline, f"delivery still {job.state}"
        if not octotp.outbox.run_once("console-suite"):
            time.sleep(0.02)


def deliveries(page: RawResult, column: int) -> dict[str, str]:
    """The token list's delivery column, by recipient hint (``column``: where the hint is, 0 or 1;
    the delivery is four columns on)."""
    return {cells[column]: cells[column + 4] for cells in rows(page, "tokens")}


MESSAGE_FORM = {
    "sender_name": "",
    "reply_to": "",
    "subject": "",
    "text": "",
    "html": "",
    "sms": "",
    "webotp_domain": "",
}


def post_messages(browser: DashboardBrowser, project: ProjectWithKey, action: str, **fields: str) -> RawResult:
    """Submit the messages form (every field, blank unless given) with this action."""
    form = {"csrf_token": browser.csrf_token(), **MESSAGE_FORM, **fields, "action": action}
    return browser.post(f"{project.path}/messages", form)


class ProjectPagesSuite:
    """Tokens, key revocation, project deletion and audit logs: the same pages from every adapter."""

    # -- tokens: search ----------------------------------------------------------------------
    def test_search_finds_the_exact_recipient_only_and_never_logs_it(
        self, dashboard: MountedDashboard, owner: tuple[str, DashboardBrowser], caplog: pytest.LogCaptureFixture
    ) -> None:
        _, browser = owner
        project = make_project(browser)
        caplog.set_level(logging.DEBUG)
        jane, other, phone = "jane.doe@example.com", "mary.major@example.com", "+447911123456"
        create(dashboard, project, recipientEmail=jane)
        create(dashboard, project, recipientEmail=jane, purpose="login")
        create(dashboard, project, recipientEmail=other)
        create(dashboard, project, recipientPhone=phone)

        posted = search(browser, project, recipient="  Jane.Doe@EXAMPLE.com ")  # matched as the API matches
        assert posted.status == 303, posted.text
        location = posted.header("location") or ""
        assert location.startswith(f"{dashboard.base}{project.path}/tokens?match="), location
        assert "jane" not in location.lower()
        assert "example.com" not in location
        found = browser.follow(posted)
        assert found.status == 200
        assert token_hints(found) == ["j***@example.com", "j***@example.com"]
        assert "j***@example.com</strong>" in found.text  # "Showing the tokens of j***@example.com"
        assert jane not in found.text

        by_phone = browser.follow(search(browser, project, recipient="+44 7911 123456"))
        assert token_hints(by_phone) == ["+44*******456"]
        nobody = browser.follow(search(browser, project, recipient="nobody@example.com"))
        assert (token_hints(nobody), "No token matches." in nobody.text) == ([], True)

        # Filters narrow a recipient's search too, and the link keeps them.
        narrowed = search(browser, project, recipient=jane, purpose="login")
        assert "purpose=login" in (narrowed.header("location") or "")
        assert len(token_hints(browser.follow(narrowed))) == 1

        everything = browser.get(f"{project.path}/tokens")
        assert sorted(token_hints(everything)) == sorted(
            ["j***@example.com", "j***@example.com", "m***@example.com", "+44*******456"]
        )
        assert any(r.name == "octotp.dashboard" for r in caplog.records)  # the log was captured
        for secret in (jane, other, phone, "Jane.Doe@EXAMPLE.com", "7911123456", "7911 123456"):
            assert secret.lower() not in caplog.text.lower(), secret

    def test_search_refuses_what_it_cannot_read_naming_the_field(
        self, dashboard: MountedDashboard, owner: tuple[str, DashboardBrowser]
    ) -> None:
        _, browser = owner
        project = make_project(browser)
        create(dashboard, project, recipientEmail="jane@example.com")
        for typed in ("not an address@", "12", "jane@"):
            refused = search(browser, project, recipient=typed)
            assert refused.status == 400, (typed, refused.status)
            assert re.search(r'<p class="error" role="alert">Recipient: .+</p>', refused.text), refused.text
            assert rows(refused, "tokens") == []
        for query, field in (
            ("state=bogus", "State: must be one of pending, expired, locked, approved"),
            ("channel=fax", "Channel: must be one of email, sms"),
            ("purpose=a%20b", "Purpose: must be"),
            ("page=0", "Page: must be a whole number"),
            ("page=x", "Page: must be a whole number"),
            ("match=jane%40example.com", "Recipient: this search link is not valid"),
        ):
            page = browser.get(f"{project.path}/tokens?{query}")
            assert page.status == 400, query
            assert field in page.text, (query, page.text)
        assert search(browser, project, state="bogus").status == 400

    # -- tokens: every state -----------------------------------------------------------------
    def test_each_state_filter_lists_the_tokens_in_that_state(
        self, dashboard: MountedDashboard, owner: tuple[str, DashboardBrowser]
    ) -> None:
        _, browser = owner
        project = make_project(browser)
        octotp, clock = octotp_of(dashboard), clock_of(dashboard)

        def email(state: str) -> str:
            return f"{state[0]}-{uuid.uuid4().hex[:6]}@{state}.example"

        expired = email("expired")
        create(dashboard, project, recipientEmail=expired, expiresInSeconds=30)
        clock.advance(31)
        pending = email("pending")
        create(dashboard, project, recipientEmail=pending)
        approved = email("approved")
        assert validate(dashboard, project, create(dashboard, project, recipientEmail=approved)["code"],
                        recipientEmail=approved) == "approved"  # fmt: skip
        superseded = email("superseded")
        create(dashboard, project, recipientEmail=superseded, purpose="resend")
        create(dashboard, project, recipientEmail=superseded)  # another binding: stays pending
        create(dashboard, project, recipientEmail=superseded, purpose="resend")  # replaces the first
        locked = email("locked")
        code = create(dashboard, project, recipientEmail=locked)["code"]
        wrong = str((int(code) + 1) % 10 ** len(code)).zfill(len(code))
        statuses = [validate(dashboard, project, wrong, recipientEmail=locked) for _ in range(5)]
        assert statuses[-1] in ("incorrect", "locked"), statuses
        cancelled = email("cancelled")
        token_id = create(dashboard, project, recipientEmail=cancelled)["id"]
        assert api(dashboard, "DELETE", f"/api/tokens/{token_id}", project.key).status == 204
        (failed_id,) = seed_tokens(octotp, project.id, 1, hint="d***@delivery_failed.example")
        assert octotp.store.close_token(failed_id, clock.now(), "delivery_failed")

        def hint(address: str) -> str:
            return f"{address[0]}***@{address.partition('@')[2]}"

        expected = {
            "pending": sorted([hint(pending), hint(superseded), hint(superseded)]),
            "expired": [hint(expired)],
            "locked": [hint(locked)],
            "approved": [hint(approved)],
            "superseded": [hint(superseded)],
            "cancelled": [hint(cancelled)],
            "delivery_failed": ["d***@delivery_failed.example"],
        }
        # "pending" above: the superseding token of "resend" and the other binding's.
        for state, hints in expected.items():
            page = browser.get(f"{project.path}/tokens?state={state}")
            assert page.status == 200, state
            assert sorted(token_hints(page)) == hints, (state, token_hints(page))
            assert all(cells[4] == state for cells in rows(page, "tokens")), state
            assert f'<option value="{state}" selected>' in page.text
        by_form = browser.follow(search(browser, project, state="locked"))
        assert token_hints(by_form) == [hint(locked)]
        sms = browser.get(f"{project.path}/tokens?channel=sms")
        assert (token_hints(sms), "No token matches." in sms.text) == ([], True)
        assert len(token_hints(browser.get(f"{project.path}/tokens?channel=email"))) == 9
        assert token_hints(browser.get(f"{project.path}/tokens?purpose=resend&state=superseded")) == [hint(superseded)]

    def test_token_list_columns_are_labelled(
        self, dashboard: MountedDashboard, owner: tuple[str, DashboardBrowser]
    ) -> None:
        _, browser = owner
        project = make_project(browser)
        create(dashboard, project, recipientEmail="jane@example.com", purpose="signup")
        page = browser.get(f"{project.path}/tokens")
        headers = re.findall(r'<th scope="col">([^<]+)</th>', page.text)
        assert headers == ["Created", "Recipient", "Channel", "Purpose", "State", "Delivery", "Attempts", "Expires"]
        ((created, hint, channel, purpose, state, delivery, attempts, expires),) = rows(page, "tokens")
        assert (hint, channel, purpose, state, attempts) == ("j***@example.com", "email", "signup", "pending", "0 / 5")
        assert delivery == "—"  # the code was returned, not sent
        assert created.endswith(" UTC")
        assert expires.endswith(" UTC")
        assert re.search(r'<time datetime="\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ">', page.text)
        project_page = browser.get(project.path)
        assert f'href="{dashboard.base}{project.path}/tokens"' in project_page.text  # the recent list links here

    # -- tokens: delivery --------------------------------------------------------------------
    def test_token_lists_show_each_delivery_state_and_its_reason(self, console: Any, mailbox: Mailbox) -> None:
        mounted = console(delivery_mode="queue")
        octotp = octotp_of(mounted)
        _, browser = signed_in(mounted)
        project = make_project(browser)
        # Sent with the project's words as they are when the job is sent.
        octotp.accounts.set_message_overrides(project.id, {"subject": "{{ code }} opens {{ project }}"})

        create(mounted, project, recipientEmail="ann@example.com")  # returned by the API: no delivery
        (waiting_id,) = seed_tokens(octotp, project.id, 1, hint="q***@queued.example")
        now = octotp.clock.now()
        waiting = Job(str(uuid.uuid4()), "code", project.id, waiting_id, "queued", 0, now + dt.timedelta(hours=1),
                      now + dt.timedelta(hours=2), "sealed-stand-in", now)  # fmt: skip
        octotp.store.insert_job(waiting)  # not due for an hour: no worker takes it
        sent_id = create(mounted, project, recipientEmail="bob@example.com", send=True)["id"]
        assert settle(octotp, sent_id).state == "sent"
        message = mailbox.wait_for("bob@example.com")
        assert re.fullmatch(rf"\d{{6}} opens {re.escape(project.name)}", str(message["Subject"])), message["Subject"]
        assert message["Subject"].split()[0] in text_of(message)

        mailbox.refusals.append("550 5.7.1 Message rejected")
        failed_id = create(mounted, project, recipientEmail="cat@example.com", send=True)["id"]
        assert (settle(octotp, failed_id).state, settle(octotp, failed_id).reason) == ("failed", "rejected")

        page = browser.get(f"{project.path}/tokens")
        assert page.status == 200
        assert deliveries(page, 1) == {
            "a***@example.com": "—",
            "q***@queued.example": "queued",
            "b***@example.com": "sent",
            "c***@example.com": "failed (rejected)",
        }
        states = {cells[1]: cells[4] for cells in rows(page, "tokens")}
        assert states["c***@example.com"] == "delivery_failed"  # no usable code behind a failed delivery
        failed_only = browser.get(f"{project.path}/tokens?state=delivery_failed")
        assert deliveries(failed_only, 1) == {"c***@example.com": "failed (rejected)"}
        recent = browser.get(project.path)  # the project page's recent tokens say the same
        assert deliveries(recent, 0) == deliveries(page, 1)
        assert "sealed-stand-in" not in page.text + recent.text

    # -- messages ----------------------------------------------------------------------------
    def test_messages_are_previewed_saved_tested_and_sent(self, console: Any, mailbox: Mailbox) -> None:
        mounted = console()
        octotp = octotp_of(mounted)
        email, browser = signed_in(mounted)
        project = make_project(browser)
        home = browser.get(project.path)
        assert f'href="{mounted.base}{project.path}/messages"' in home.text

        default = browser.get(f"{project.path}/messages")
        assert default.status == 200
        assert project.name in html.unescape(default.text)  # octotp's own message, previewed
        assert "Preview (with the sample code 123456)" in default.text

        mine = {
            "sender_name": "Acme Login",
            "reply_to": "help@acme.example",
            "subject": "{{ code }} is your Acme code",
            "text": "Your code: {{ code }}. It works for {{ minutes }} minutes.",
            "html": '<p>Your code: <b>{{ code }}</b></p><script>alert("x")</script><img src=x onerror=alert(1)>',
            "sms": "Acme code {{ code }}",
            "webotp_domain": "login.acme.example",
        }
        preview = post_messages(browser, project, "preview", **mine)
        assert preview.status == 200, preview.text
        assert octotp.accounts.get_project(project.id).message_overrides is None  # a preview stores nothing
        assert '<dd id="preview-subject">123456 is your Acme code</dd>' in preview.text
        assert '<dd id="preview-sender">Acme Login</dd>' in preview.text
        # The project's HTML is shown as its source, never as markup of the dashboard page.
        assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in preview.text
        assert "<script>" not in preview.text
        assert "<img src=x" not in preview.text
        assert "<b>123456</b>" not in preview.text
        sms = re.search(r'<pre id="preview-sms">(.*?)</pre>', preview.text, re.S)
        assert sms is not None
        assert html.unescape(sms.group(1)) == "Acme code 123456\n\n@login.acme.example #123456"
        assert 'value="Acme Login"' in preview.text  # the form keeps the draft

        tested = post_messages(browser, project, "test", **mine)
        assert tested.status == 200, tested.text
        assert f"A test email was sent to <strong>{email[0]}***@example.com</strong>" in tested.text
        test_mail = mailbox.wait_for(email)
        assert str(test_mail["Subject"]) == "123456 is your Acme code"
        assert test_mail["From"].addresses[0].display_name == "Acme Login"
        assert str(test_mail["Reply-To"]) == "help@acme.example"
        html_part = test_mail.get_body(preferencelist=("html",))
        assert html_part is not None
        assert "<b>123456</b>" in html_part.get_content()
        assert octotp.accounts.get_project(project.id).message_overrides is None  # a test stores nothing

        saved = post_messages(browser, project, "save", **mine)
        assert (saved.status, saved.header("location")) == (303, f"{mounted.base}{project.path}/messages?saved=1")
        page = browser.follow(saved)
        assert "Messages saved." in page.text
        assert 'value="help@acme.example"' in page.text
        assert json.loads(octotp.accounts.get_project(project.id).message_overrides or "{}") == mine
        assert any(
            cells[2] == "changed the project's messages"
            for cells in rows(browser.get(f"{project.path}/audit"), "audit")
        )

        # The project's codes now go out in its words (sent at once: delivery_mode "sync").
        create(mounted, project, recipientEmail="jane@example.com", send=True)
        sent = mailbox.wait_for("jane@example.com")
        assert re.fullmatch(r"\d{6} is your Acme code", str(sent["Subject"])), sent["Subject"]
        assert sent["From"].addresses[0].display_name == "Acme Login"

        cleared = post_messages(browser, project, "save")  # every field blank: octotp's messages again
        assert cleared.status == 303
        assert octotp.accounts.get_project(project.id).message_overrides is None

    def test_templates_that_reach_beyond_their_variables_are_refused_naming_the_field(
        self, console: Any, mailbox: Mailbox
    ) -> None:
        mounted = console()
        octotp = octotp_of(mounted)
        email, browser = signed_in(mounted)
        project = make_project(browser)
        for field, template, said in (
            ("html", "{{ code }}{{ ''.__class__.__mro__[1].__subclasses__() }}", "HTML: cannot "),
            ("subject", "{{ code }}{{ cycler.__init__.__globals__.os }}", "Subject: "),
            ("sms", "{{ code }}{% for c in range(99999999) %}{{ c }}{% endfor %}", "SMS: cannot use {% for %}"),
            ("text", "{{ code }}{% include '/etc/passwd' %}", "Text: cannot use {% include %}"),
            ("text", "{{ code }} {{ self }}", "Text: may only use the variables code, minutes and project"),
            ("text", "Hello", "Text: must show the code"),
            ("reply_to", "not an address", "Reply-to: must be an email address"),
            ("webotp_domain", "https://login.example.com/", "WebOTP domain: must be a host name"),
        ):
            fields = {"text": "Code {{ code }}", field: template}
            for action in ("save", "preview", "test"):
                refused = post_messages(browser, project, action, **fields)
                assert refused.status == 400, (field, action, refused.status)
                errors = [
                    html.unescape(e) for e in re.findall(r'<p class="error" role="alert">(.*?)</p>', refused.text)
                ]
                assert any(e.startswith(said) for e in errors), (field, action, errors)
                assert 'id="preview"' not in refused.text
        assert octotp.accounts.get_project(project.id).message_overrides is None
        assert mailbox.to(email) == []
        # An HTML body alone is refused too: it needs the same email's plain-text part.
        alone = post_messages(browser, project, "save", html="<p>{{ code }}</p>")
        assert alone.status == 400
        assert "Text: is needed when html is set" in html.unescape(alone.text)

    def test_viewers_see_the_messages_but_cannot_change_preview_or_test_them(
        self, dashboard: MountedDashboard, owner: tuple[str, DashboardBrowser]
    ) -> None:
        _, browser = owner
        project = make_project(browser)
        octotp = octotp_of(dashboard)
        octotp.accounts.set_message_overrides(project.id, {"subject": "{{ code }} for Acme"})
        viewer = other_account(dashboard, "viewer", project)
        page = viewer.get(f"{project.path}/messages")
        assert page.status == 200
        assert 'id="messages-read-only"' in page.text
        assert 'name="action"' not in page.text
        assert '<dd id="preview-subject">123456 for Acme</dd>' in page.text
        assert f'href="{dashboard.base}{project.path}/messages"' in viewer.get(project.path).text
        for action in ("save", "preview", "test"):
            refused = post_messages(viewer, project, action, subject="{{ code }} hijacked")
            assert refused.status == 403, (action, refused.status)
        assert octotp.accounts.get_project(project.id).message_overrides == '{"subject": "{{ code }} for Acme"}'
        developer = other_account(dashboard, "developer", project)
        assert post_messages(developer, project, "save", subject="{{ code }} x").status == 403
        admin = other_account(dashboard, "admin", project)
        assert post_messages(admin, project, "save", subject="{{ code }} by the admin").status == 303
        stranger = other_account(dashboard, None, project)
        assert stranger.get(f"{project.path}/messages").status == 404
        assert post_messages(stranger, project, "save").status == 404
        assert post_messages(browser, project, "publish").status == 400

    # -- tokens: pages -----------------------------------------------------------------------
    def test_pages_of_fifty_newest_first_with_links_that_keep_the_filters(
        self, dashboard: MountedDashboard, owner: tuple[str, DashboardBrowser]
    ) -> None:
        _, browser = owner
        project = make_project(browser)
        octotp = octotp_of(dashboard)
        ids = seed_tokens(octotp, project.id, 53, purpose="bulk")
        seed_tokens(octotp, project.id, 2, purpose="other", hint="o***@other.example")

        first = browser.get(f"{project.path}/tokens?purpose=bulk")
        assert len(rows(first, "tokens")) == 50
        assert link(first, "prev") is None
        older = link(first, "next")
        assert older == f"{dashboard.base}{project.path}/tokens?purpose=bulk&page=2", older
        second = browser.get(older[len(dashboard.base) :])
        assert second.status == 200
        assert len(rows(second, "tokens")) == 3
        assert link(second, "next") is None
        assert link(second, "prev") == f"{dashboard.base}{project.path}/tokens?purpose=bulk"
        assert "o***@other.example" not in first.text + second.text
        # Newest first across the pages: every token once.
        listed = [t.id for t in octotp.store.list_tokens(project.id, 100)]
        assert [i for i in listed if i in ids] == list(reversed(ids))
        everything = browser.get(f"{project.path}/tokens")
        assert len(rows(everything, "tokens")) == 50
        assert link(everything, "next") == f"{dashboard.base}{project.path}/tokens?page=2"
        assert len(rows(browser.get(f"{project.path}/tokens?page=2"), "tokens")) == 5
        beyond = browser.get(f"{project.path}/tokens?page=9")
        assert (beyond.status, rows(beyond, "tokens")) == (200, [])
        assert link(beyond, "prev") == f"{dashboard.base}{project.path}/tokens?page=8"

    # -- keys --------------------------------------------------------------------------------
    def test_revoking_a_key_asks_first_and_says_when_it_was_last_used(
        self, dashboard: MountedDashboard, owner: tuple[str, DashboardBrowser]
    ) -> None:
        _, browser = owner
        project = make_project(browser)
        added = browser.post(f"{project.path}/keys", {"csrf_token": browser.csrf_token(), "name": "spare"})
        spare = new_key(browser.follow(added))
        assert spare is not None
        create(dashboard, project, recipientEmail="jane@example.com")  # the first key is used now
        page = browser.get(project.path)
        assert re.search(r"<td>spare</td>\s*<td><code>[^<]+</code></td>\s*<td>[^<]+</td>\s*<td>never</td>", page.text)
        links = dict(
            (name, key_id)
            for key_id, name in re.findall(
                rf'href="{re.escape(dashboard.base + project.path)}/keys/([0-9a-f-]{{36}})/revoke" '
                r'aria-label="Revoke key ([^"]+)"',
                page.text,
            )
        )
        assert set(links) == {"default", "spare"}, links

        unused = browser.get(f"{project.path}/keys/{links['spare']}/revoke")
        assert unused.status == 200
        assert "Revoke key spare (<code>" in unused.text
        assert spare[:12] in unused.text
        assert spare not in unused.text
        assert '<strong id="last-used">never</strong>' in unused.text
        used = browser.get(f"{project.path}/keys/{links['default']}/revoke")
        now = clock_of(dashboard).now().strftime("%Y-%m-%d %H:%M")
        assert re.search(rf'<strong id="last-used"><time datetime="[^"]+">{now}:\d\d UTC</time></strong>', used.text)
        body = {"projectId": project.id, "recipientEmail": "a@b.example"}
        assert api(dashboard, "POST", "/api/tokens", spare, body).status == 201

        revoked = browser.post(
            f"{project.path}/keys/{links['default']}/revoke", {"csrf_token": hidden_field(used, "csrf_token")}
        )
        assert (revoked.status, revoked.header("location")) == (303, dashboard.base + project.path)
        assert api(dashboard, "POST", "/api/tokens", project.key, body).status == 401
        assert browser.get(f"{project.path}/keys/{links['default']}/revoke").status == 404  # nothing left to confirm
        assert browser.get(f"{project.path}/keys/{uuid.uuid4()}/revoke").status == 404

    # -- deleting a project ------------------------------------------------------------------
    def test_delete_needs_the_exact_name_then_everything_goes(
        self, dashboard: MountedDashboard, owner: tuple[str, DashboardBrowser]
    ) -> None:
        _, browser = owner
        project = make_project(browser, name=f"Doomed {uuid.uuid4().hex[:6]}")
        token_id = create(dashboard, project, recipientEmail="jane@example.com")["id"]
        confirm = browser.get(f"{project.path}/delete")
        assert confirm.status == 200
        assert f"Delete project {project.name}?" in confirm.text
        assert f'href="{dashboard.base}{project.path}/delete"' in browser.get(project.path).text

        for wrong in ("", project.name.lower(), project.name + " ", "Doomed"):
            refused = browser.post(f"{project.path}/delete", {"csrf_token": browser.csrf_token(), "name": wrong})
            assert refused.status == 400, wrong
            assert "Name: type the project&#39;s name exactly" in refused.text
        assert browser.get(project.path).status == 200  # nothing deleted
        assert api(dashboard, "GET", f"/api/tokens/{token_id}", project.key).status == 200

        deleted = browser.post(f"{project.path}/delete", {"csrf_token": browser.csrf_token(), "name": project.name})
        assert (deleted.status, deleted.header("location")) == (303, dashboard.base + "/")
        assert api(dashboard, "GET", f"/api/tokens/{token_id}", project.key).status == 401  # at once
        body = {"projectId": project.id, "recipientEmail": "jane@example.com"}
        assert api(dashboard, "POST", "/api/tokens", project.key, body).status == 401
        assert browser.get(project.path).status == 404
        assert browser.get(f"{project.path}/tokens").status == 404
        assert project.name not in browser.get("/").text
        octotp = octotp_of(dashboard)
        assert octotp.store.get_token(token_id) is None
        activity = browser.get("/account/activity")
        assert f"deleted the project: {project.name}" in activity.text
        (event,) = [e for e in octotp.audit.for_project(project.id) if e.action == "project.deleted"]
        assert event.project_id == project.id

    # -- audit logs --------------------------------------------------------------------------
    def test_audit_logs_of_the_project_and_the_account(
        self, dashboard: MountedDashboard, owner: tuple[str, DashboardBrowser]
    ) -> None:
        email, browser = owner
        clock = clock_of(dashboard)  # moved between steps: the log is newest first, to the microsecond
        clock.advance(1)
        assert dashboard.browser().login(email, "not the password").status == 200  # a failed sign-in
        clock.advance(1)
        project = make_project(browser)
        clock.advance(1)
        settings = browser.post(f"{project.path}/settings", {"csrf_token": browser.csrf_token(), "name": project.name})
        assert settings.status == 303
        clock.advance(1)
        key_id = re.search(rf"{re.escape(project.path)}/keys/([0-9a-f-]{{36}})/revoke", browser.get(project.path).text)
        assert key_id is not None
        browser.post(f"{project.path}/keys/{key_id.group(1)}/revoke", {"csrf_token": browser.csrf_token()})

        log = browser.get(f"{project.path}/audit")
        assert log.status == 200
        assert [th for th in re.findall(r'<th scope="col">([^<]+)</th>', log.text)] == ["When", "Who", "What", "From"]
        what = [cells[2] for cells in rows(log, "audit")]
        assert len(what) == 4, what
        assert what[0].startswith("revoked an API key: default (octotp_")
        assert what[1] == "changed the project's settings"
        created = sorted(what[2:])  # the project and its first key: created at the same moment
        assert created[0].startswith("created an API key: default (octotp_"), created
        assert created[1] == f"created the project: {project.name}"
        assert all(cells[1] == email for cells in rows(log, "audit"))
        assert re.search(
            r'<time datetime="\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ">\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC</time>', log.text
        )
        assert project.key not in log.text

        activity = browser.get("/account/activity")
        assert activity.status == 200
        said = [cells[2] for cells in rows(activity, "audit")]
        for expected in ("signed in", "failed to sign in", f"created the project: {project.name}"):
            assert expected in said, (expected, said)
        assert any(s.startswith("revoked an API key") for s in said)
        failed = next(cells for cells in rows(activity, "audit") if cells[2] == "failed to sign in")
        assert failed[1] == "someone"
        assert "not the password" not in activity.text

    def test_audit_log_pages(self, dashboard: MountedDashboard, owner: tuple[str, DashboardBrowser]) -> None:
        _, browser = owner
        project = make_project(browser)
        octotp = octotp_of(dashboard)
        clock = clock_of(dashboard)
        for _ in range(55):
            clock.advance(1)
            octotp.audit.record("project.settings_changed", actor=None, project_id=project.id)
        first = browser.get(f"{project.path}/audit")
        assert len(rows(first, "audit")) == 50
        older = link(first, "next")
        assert older == f"{dashboard.base}{project.path}/audit?page=2"
        second = browser.get(older[len(dashboard.base) :])
        assert len(rows(second, "audit")) == 7  # 5 more, and the project and its key being created
        assert {cells[2].split(":")[0] for cells in rows(second, "audit")[-2:]} == {
            "created an API key",
            "created the project",
        }
        assert browser.get(f"{project.path}/audit?page=-1").status == 400

    # -- who may see what --------------------------------------------------------------------
    def test_viewer_sees_tokens_but_not_the_audit_log_and_strangers_see_nothing(
        self, dashboard: MountedDashboard, owner: tuple[str, DashboardBrowser]
    ) -> None:
        _, browser = owner
        project = make_project(browser)
        create(dashboard, project, recipientEmail="jane@example.com")
        key_id = re.search(rf"{re.escape(project.path)}/keys/([0-9a-f-]{{36}})/revoke", browser.get(project.path).text)
        assert key_id is not None
        revoke = f"{project.path}/keys/{key_id.group(1)}/revoke"

        viewer = other_account(dashboard, "viewer", project)
        assert token_hints(viewer.get(f"{project.path}/tokens")) == ["j***@example.com"]
        assert viewer.follow(search(viewer, project, recipient="jane@example.com")).status == 200
        home = viewer.get(project.path)
        assert home.status == 200
        assert f"{project.path}/audit" not in home.text
        assert f"{project.path}/delete" not in home.text
        assert "/revoke" not in home.text
        for path in (f"{project.path}/audit", f"{project.path}/delete", revoke):
            assert viewer.get(path).status == 403, path
        token = viewer.csrf_token()
        assert viewer.post(f"{project.path}/delete", {"csrf_token": token, "name": project.name}).status == 403
        assert viewer.post(revoke, {"csrf_token": token}).status == 403

        developer = other_account(dashboard, "developer", project)
        assert developer.get(f"{project.path}/audit").status == 200
        assert developer.get(revoke).status == 200
        assert developer.get(f"{project.path}/delete").status == 403
        admin = other_account(dashboard, "admin", project)
        assert (
            admin.post(f"{project.path}/delete", {"csrf_token": admin.csrf_token(), "name": project.name}).status == 403
        )

        stranger = other_account(dashboard, None, project)
        for path in (f"{project.path}/tokens", f"{project.path}/audit", f"{project.path}/delete", revoke):
            assert stranger.get(path).status == 404, path
        token = stranger.csrf_token()
        assert (
            stranger.post(f"{project.path}/tokens", {"csrf_token": token, "recipient": "jane@example.com"}).status
            == 404
        )
        assert stranger.post(f"{project.path}/delete", {"csrf_token": token, "name": project.name}).status == 404
        assert project.name not in stranger.get("/account/activity").text
        assert browser.get(project.path).status == 200  # still there
        assert dashboard.browser().get("/account/activity").status == 303  # signed out: to the login page
