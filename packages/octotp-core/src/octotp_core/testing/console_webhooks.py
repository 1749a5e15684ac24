"""Console conformance: a project's event webhooks pages, for every adapter (part of
``console.ConsoleSuite`` and ``host_console.HostConsoleSuite``, which give the fixtures).

An endpoint is added on the list page and its secret shown once; its page changes, disables,
rotates and deletes it; its delivery log shows what the outbox sent to a real receiver on
127.0.0.1 (``webhook_receiver``, verifying each request with the ``standardwebhooks`` package and
the secret the page showed) and re-sends a message with the same ``webhook-id``. Only owners and
admins change anything; developers see; viewers get 403.
"""

from __future__ import annotations

import datetime as dt
import html
import re
import time
import uuid
from collections.abc import Mapping
from typing import Any

from standardwebhooks import Webhook

from ..core import Octotp
from ..store import Job
from ..webhooks import EVENT_TYPES
from .console_projects import ProjectWithKey, create, make_project, octotp_of, other_account, rows, signed_in
from .dashboard import DashboardBrowser, MountedDashboard, RawResult
from .webhook_receiver import Verify, running

HOOK_URL = "https://hooks.example.com/octotp"
"""A public endpoint URL for the tests that send nothing (names are not resolved when saved)."""
_ERROR = re.compile(r'<p class="error" role="alert">(.*?)</p>', re.S)
_SECRET = re.compile(r'<code id="webhook-secret">(whsec_[A-Za-z0-9+/=]+)</code>')


def errors(page: RawResult) -> list[str]:
    """The page's error messages, unescaped."""
    return [html.unescape(e) for e in _ERROR.findall(page.text)]


def shown_secret(page: RawResult) -> str | None:
    """The signing secret an endpoint's page shows (only the page a create or rotation leads to)."""
    found = _SECRET.search(page.text)
    return found.group(1) if found else None


def webhooks_path(project: ProjectWithKey) -> str:
    return f"{project.path}/webhooks"


def add_endpoint(
    browser: DashboardBrowser, project: ProjectWithKey, url: str = HOOK_URL, *events: str, description: str = ""
) -> RawResult:
    """Submit the add form (``events``: the boxes to check; none: every event)."""
    form: dict[str, Any] = {"csrf_token": browser.csrf_token(), "url": url, "description": description}
    if events:
        form["events"] = list(events)
    return browser.post(webhooks_path(project), form)


def added(browser: DashboardBrowser, project: ProjectWithKey, url: str = HOOK_URL, *events: str) -> tuple[str, str]:
    """Add an endpoint; its page's path (below the dashboard) and the secret it showed."""
    answer = add_endpoint(browser, project, url, *events)
    assert answer.status == 303, (answer.status, errors(answer), answer.text[:500])
    page = browser.follow(answer)
    secret = shown_secret(page)
    assert secret is not None, page.text
    return _below_base(browser, answer), secret


def edit(
    browser: DashboardBrowser, path: str, url: str, *events: str, description: str = "", enabled: bool = True
) -> RawResult:
    """Submit the endpoint's form as given (every field: the form sends them all)."""
    form: dict[str, Any] = {"csrf_token": browser.csrf_token(), "url": url, "description": description}
    if events:
        form["events"] = list(events)
    if enabled:
        form["enabled"] = "on"
    return browser.post(path, form)


def verified_by(secret: str) -> Verify:
    """What a receiver does with the secret it was shown: verify with ``standardwebhooks``."""

    def verify(body: bytes, headers: Mapping[str, str]) -> Any:
        return Webhook(secret).verify(body, dict(headers))

    return verify


def endpoint_id_of(path: str) -> str:
    return path.rstrip("/").rsplit("/", 1)[1]


def _below_base(browser: DashboardBrowser, answer: RawResult) -> str:
    location = answer.header("location") or ""
    base = browser.base
    assert location.startswith(base), location
    return location[len(base) :].split("?", 1)[0]


def sent_all(
    octotp: Octotp, endpoint_id: str, states: tuple[str, ...] = ("sent", "failed"), count: int = 1
) -> list[Job]:
    """Run the outbox (as a worker would; an app's own worker may beat it to a job) until the
    endpoint's log has ``count`` messages, each tried at least once and in one of ``states``; the log."""
    deadline = time.monotonic() + 15
    while True:
        log = octotp.store.list_endpoint_jobs(endpoint_id, 50)
        if len(log) >= count and all(j.state in states and j.attempts > 0 for j in log):
            return log
        assert time.monotonic() < deadline, [(j.state, j.attempts, j.reason) for j in log]
        if not octotp.outbox.run_once("console-suite", 100):
            time.sleep(0.02)


def log_rows(page: RawResult) -> list[list[str]]:
    """The delivery log's rows: time, event, state, attempts, reason, sent, webhook id, action."""
    return rows(page, "webhook-log")


def page_time(value: dt.datetime | None) -> str:
    """How a page writes a time."""
    assert value is not None
    return value.astimezone(dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def audited(browser: DashboardBrowser, project: ProjectWithKey) -> list[str]:
    """What the project's audit log says happened, newest first."""
    return [cells[2] for cells in rows(browser.get(f"{project.path}/audit"), "audit")]


class WebhooksSuite:
    """The webhooks pages: the same from every adapter."""

    def test_an_added_endpoint_shows_its_secret_once_and_is_listed(
        self, dashboard: MountedDashboard, owner: tuple[str, DashboardBrowser]
    ) -> None:
        _, browser = owner
        project = make_project(browser)
        home = browser.get(project.path)
        assert f'href="{dashboard.base}{webhooks_path(project)}"' in home.text
        empty = browser.get(webhooks_path(project))
        assert empty.status == 200
        assert 'id="no-webhooks"' in empty.text
        for event in EVENT_TYPES:  # a box for each event type, none checked
            assert f'name="events" value="{event}">' in empty.text

        answer = add_endpoint(browser, project, HOOK_URL, "token.created", "delivery.failed", description="Billing")
        assert answer.status == 303, errors(answer)
        path = _below_base(browser, answer)
        page = browser.follow(answer)
        assert page.status == 200
        secret = shown_secret(page)
        assert secret is not None
        assert secret.startswith("whsec_")
        assert "shown this once" in page.text
        assert shown_secret(browser.get(path)) is None  # once: a reload shows it no more
        assert secret not in browser.get(path).text + browser.get(webhooks_path(project)).text
        assert shown_secret(browser.get(project.path)) is None

        listing = browser.get(webhooks_path(project))
        (row,) = rows(listing, "webhooks")
        assert row[:4] == [HOOK_URL, "Billing", "token.created, delivery.failed", "enabled"]
        assert f'href="{dashboard.base}{path}"' in listing.text
        (stored,) = octotp_of(dashboard).webhooks.for_project(project.id)
        assert (stored.id, stored.url, stored.events, stored.enabled) == (
            endpoint_id_of(path),
            HOOK_URL,
            "token.created delivery.failed",
            True,
        )
        assert secret not in stored.secret_sealed
        assert "added a webhook endpoint: https://hooks.example.com (Billing)" in audited(browser, project)

        every = add_endpoint(browser, project, "https://other.example.com/hook")  # nothing checked: every event
        assert every.status == 303
        listed = {cells[0]: cells[2] for cells in rows(browser.get(webhooks_path(project)), "webhooks")}
        assert listed["https://other.example.com/hook"] == "every event"

    def test_bad_input_is_refused_naming_the_field_and_kept_in_the_form(
        self, dashboard: MountedDashboard, owner: tuple[str, DashboardBrowser]
    ) -> None:
        _, browser = owner
        project = make_project(browser)
        octotp = octotp_of(dashboard)
        for url, events, description, said in (
            ("ftp://hooks.example.com/x", (), "", "URL: must be an http:// or https:// URL"),
            ("not a url", (), "", "URL: "),
            ("http://127.0.0.1:8000/hook", (), "", "URL: must be a public address"),
            ("https://user:pw@hooks.example.com/x", (), "", "URL: must not carry a user name or password"),
            (HOOK_URL, ("token.created", "token.exploded"), "", "Events: unknown event type 'token.exploded'"),
            (HOOK_URL, (), "d" * 201, "Description: must be at most 200 characters"),
        ):
            refused = add_endpoint(browser, project, url, *events, description=description)
            assert refused.status == 400, (url, refused.status)
            assert any(e.startswith(said) for e in errors(refused)), (said, errors(refused))
            assert f'value="{html.escape(url)}"' in refused.text  # the form keeps what was typed
        assert octotp.webhooks.for_project(project.id) == []
        kept = add_endpoint(browser, project, "ftp://x.example", "token.locked")
        assert re.search(r'value="token.locked" checked', kept.text)

        path, _ = added(browser, project)
        wrong = edit(browser, path, "http://localhost/hook", "token.created")
        assert wrong.status == 400
        assert any(e.startswith("URL: must be a public address") for e in errors(wrong))
        assert 'value="http://localhost/hook"' in wrong.text
        assert octotp.webhooks.get(project.id, endpoint_id_of(path)).url == HOOK_URL
        assert browser.get(f"{webhooks_path(project)}/not-an-id").status == 404
        assert browser.get(f"{webhooks_path(project)}/{uuid.uuid4()}").status == 404

    def test_an_endpoint_is_changed_disabled_and_enabled_again(
        self, dashboard: MountedDashboard, owner: tuple[str, DashboardBrowser]
    ) -> None:
        _, browser = owner
        project = make_project(browser)
        octotp = octotp_of(dashboard)
        path, _ = added(browser, project)
        endpoint_id = endpoint_id_of(path)
        changed = edit(browser, path, "https://new.example.com/in", "token.approved", description="Moved")
        assert (changed.status, changed.header("location")) == (303, f"{dashboard.base}{path}?saved=1")
        page = browser.follow(changed)
        assert 'id="webhook-saved"' in page.text
        assert 'value="https://new.example.com/in"' in page.text
        assert re.search(r'value="token.approved" checked', page.text)
        stored = octotp.webhooks.get(project.id, endpoint_id)
        assert (stored.url, stored.events, stored.description, stored.enabled) == (
            "https://new.example.com/in",
            "token.approved",
            "Moved",
            True,
        )

        disabled = edit(browser, path, "https://new.example.com/in", description="Moved", enabled=False)
        assert disabled.status == 303
        assert octotp.webhooks.get(project.id, endpoint_id).enabled is False
        assert octotp.webhooks.get(project.id, endpoint_id).events == ""  # nothing checked: every event
        assert 'id="endpoint-disabled"' in browser.get(path).text
        assert rows(browser.get(webhooks_path(project)), "webhooks")[0][3] == "disabled"
        # A disabled endpoint is sent nothing.
        create(dashboard, project, recipientEmail="jane@example.com")
        assert octotp.store.list_endpoint_jobs(endpoint_id, 50) == []

        assert edit(browser, path, "https://new.example.com/in").status == 303
        assert octotp.webhooks.get(project.id, endpoint_id).enabled is True
        said = audited(browser, project)
        assert "changed a webhook endpoint: https://new.example.com (Moved); disabled" in said
        assert "changed a webhook endpoint: https://new.example.com; enabled" in said

    def test_rotating_the_secret_shows_the_new_one_once(
        self, dashboard: MountedDashboard, owner: tuple[str, DashboardBrowser]
    ) -> None:
        _, browser = owner
        project = make_project(browser)
        path, first = added(browser, project)
        rotated = browser.post(f"{path}/secret", {"csrf_token": browser.csrf_token()})
        assert (rotated.status, rotated.header("location")) == (303, f"{dashboard.base}{path}")
        second = shown_secret(browser.follow(rotated))
        assert second is not None
        assert second != first
        assert shown_secret(browser.get(path)) is None
        assert "rotated a webhook endpoint's secret: https://hooks.example.com" in audited(browser, project)
        # The secret was meant for this endpoint's page: another endpoint's page never shows it.
        other, _ = added(browser, project, "https://b.example.com/x")
        browser.post(f"{path}/secret", {"csrf_token": browser.csrf_token()})
        assert shown_secret(browser.get(other)) is None
        assert shown_secret(browser.get(path)) is not None

    def test_deleting_an_endpoint_asks_first(
        self, dashboard: MountedDashboard, owner: tuple[str, DashboardBrowser]
    ) -> None:
        _, browser = owner
        project = make_project(browser)
        path, _ = added(browser, project)
        page = browser.get(path)
        assert f'href="{dashboard.base}{path}/delete"' in page.text
        question = browser.get(f"{path}/delete")
        assert question.status == 200
        assert "Delete this webhook endpoint?" in question.text
        assert f'action="{dashboard.base}{path}/delete"' in question.text
        assert len(octotp_of(dashboard).webhooks.for_project(project.id)) == 1  # asking deletes nothing
        deleted = browser.post(f"{path}/delete", {"csrf_token": browser.csrf_token()})
        assert (deleted.status, deleted.header("location")) == (303, f"{dashboard.base}{webhooks_path(project)}")
        assert octotp_of(dashboard).webhooks.for_project(project.id) == []
        assert browser.get(path).status == 404
        assert browser.post(f"{path}/delete", {"csrf_token": browser.csrf_token()}).status == 404
        assert "deleted a webhook endpoint: https://hooks.example.com" in audited(browser, project)

    def test_the_log_shows_what_was_sent_and_a_message_is_sent_again(self, make_dashboard: Any) -> None:
        mounted = make_dashboard(webhook_private_addresses=True)
        octotp = octotp_of(mounted)
        _, browser = signed_in(mounted)
        project = make_project(browser)
        path, secret = added(browser, project, "http://127.0.0.1:9/not-yet", "token.created")
        endpoint_id = endpoint_id_of(path)
        assert 'id="no-messages"' in browser.get(path).text
        # The receiver verifies with the secret the page showed, and first answers 410 Gone.
        with running(verified_by(secret), answers=[410]) as receiver:
            assert edit(browser, path, receiver.url, "token.created").status == 303
            token = create(mounted, project, recipientEmail="jane@example.com")
            (failed,) = sent_all(octotp, endpoint_id)
            page = browser.get(path)
            (row,) = log_rows(page)
            assert row[1:5] == ["token.created", "failed", "1", "endpoint_gone"]
            assert (row[5], row[6]) == ("—", failed.id)
            assert row[7].startswith("Re-send")

            again = browser.post(f"{path}/messages/{failed.id}/resend", {"csrf_token": browser.csrf_token()})
            assert (again.status, again.header("location")) == (303, f"{mounted.base}{path}?resent={failed.id}")
            assert 'id="webhook-resent"' in browser.follow(again).text
            (sent,) = sent_all(octotp, endpoint_id, ("sent",))
            (row,) = log_rows(browser.get(path))
            assert row[1:5] == ["token.created", "sent", "1", "—"], row
            assert (row[5], row[6]) == (page_time(sent.sent_at), failed.id)
            assert row[7].startswith("Re-send")  # a sent one may be sent again too

            twice = browser.post(f"{path}/messages/{sent.id}/resend", {"csrf_token": browser.csrf_token()})
            assert twice.status == 303
            sent_all(octotp, endpoint_id, ("sent",))
        assert [r.status for r in receiver.received] == [410, 204, 204]
        assert {r.headers["webhook-id"] for r in receiver.received} == {failed.id}  # one message, sent three times
        assert all(r.error is None for r in receiver.received)
        event = receiver.received[-1].result
        assert (event["type"], event["data"]["tokenId"]) == ("token.created", token["id"])
        resent = f"re-sent a webhook message: token.created {failed.id} to http://127.0.0.1:"
        assert sum(s.startswith(resent) for s in audited(browser, project)) == 2, audited(browser, project)

        # A message still being tried (its endpoint down: queued for its next try) is not re-sent.
        assert edit(browser, path, "http://127.0.0.1:9/down", "token.created").status == 303
        create(mounted, project, recipientEmail="joe@example.com")
        queued = next(j for j in sent_all(octotp, endpoint_id, ("sent", "queued"), count=2) if j.state == "queued")
        assert queued.reason is not None
        page = browser.get(path)
        assert f"/messages/{queued.id}/resend" not in page.text
        refused = browser.post(f"{path}/messages/{queued.id}/resend", {"csrf_token": browser.csrf_token()})
        assert refused.status == 409
        assert any(e.startswith("Re-send: ") for e in errors(refused))
        assert (
            browser.post(f"{path}/messages/{uuid.uuid4()}/resend", {"csrf_token": browser.csrf_token()}).status == 404
        )

    def test_developers_see_webhooks_viewers_and_strangers_do_not_and_only_admins_change(
        self, dashboard: MountedDashboard, owner: tuple[str, DashboardBrowser]
    ) -> None:
        _, browser = owner
        project = make_project(browser)
        octotp = octotp_of(dashboard)
        path, _ = added(browser, project)
        endpoint_id = endpoint_id_of(path)
        job = octotp.webhooks.log(project.id, endpoint_id)  # none yet: the actions need no real one
        assert job == []
        fake_job = str(uuid.uuid4())

        def changes(who: DashboardBrowser) -> list[int]:
            token = who.csrf_token()
            return [
                who.post(webhooks_path(project), {"csrf_token": token, "url": "https://x.example.com/"}).status,
                who.post(path, {"csrf_token": token, "url": "https://x.example.com/", "enabled": "on"}).status,
                who.post(f"{path}/secret", {"csrf_token": token}).status,
                who.get(f"{path}/delete").status,
                who.post(f"{path}/delete", {"csrf_token": token}).status,
                who.post(f"{path}/messages/{fake_job}/resend", {"csrf_token": token}).status,
            ]

        developer = other_account(dashboard, "developer", project)
        assert f'href="{dashboard.base}{webhooks_path(project)}"' in developer.get(project.path).text
        listing = developer.get(webhooks_path(project))
        assert listing.status == 200
        assert 'id="webhooks-read-only"' in listing.text
        assert 'name="url"' not in listing.text
        page = developer.get(path)
        assert page.status == 200
        assert 'id="webhook-read-only"' in page.text
        assert "Rotate secret" not in page.text
        assert changes(developer) == [403] * 6

        viewer = other_account(dashboard, "viewer", project)
        assert 'id="webhooks-link"' not in viewer.get(project.path).text
        assert viewer.get(webhooks_path(project)).status == 403
        assert viewer.get(path).status == 403
        assert changes(viewer) == [403] * 6

        stranger = other_account(dashboard, None, project)
        assert stranger.get(webhooks_path(project)).status == 404
        assert changes(stranger) == [404] * 6

        assert octotp.webhooks.get(project.id, endpoint_id).url == HOOK_URL  # nothing changed
        assert len(octotp.webhooks.for_project(project.id)) == 1
        admin = other_account(dashboard, "admin", project)
        assert add_endpoint(admin, project, "https://admin.example.com/x").status == 303
        assert edit(admin, path, "https://admin.example.com/y").status == 303
        assert len(octotp.webhooks.for_project(project.id)) == 2
