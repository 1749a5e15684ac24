"""The console conformance suite: every page and permission rule of the dashboard, written once and
run by every adapter (core's handler, FastAPI host and standalone, Flask, Django).

An adapter's test class subclasses ``ConsoleSuite`` and provides one fixture, ``make_dashboard``: a
factory that builds the host app with octotp mounted, given ``Settings`` overrides as keyword
arguments (snake_case names), and returns its ``MountedDashboard`` (with ``octotp`` set). The suite
derives the rest: ``dashboard`` (default settings), ``mailbox`` (a real SMTP server) and ``console``
(a factory whose apps send their email to the mailbox).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from .console_accounts import AccountsSuite
from .console_operators import OperatorsSuite
from .console_projects import ProjectPagesSuite
from .console_teams import TeamsSuite
from .console_webhooks import WebhooksSuite
from .dashboard import HOST, DashboardSuite, MountedDashboard
from .mailbox import Mailbox

MakeDashboard = Callable[..., MountedDashboard]


class ConsoleFixtures:
    """The fixtures every console suite shares."""

    @pytest.fixture
    def make_dashboard(self) -> MakeDashboard:
        raise NotImplementedError("provide a `make_dashboard(**settings)` fixture returning MountedDashboard")

    @pytest.fixture
    def dashboard(self, make_dashboard: MakeDashboard) -> MountedDashboard:
        return make_dashboard()

    @pytest.fixture
    def mailbox(self) -> Iterator[Mailbox]:
        """A real SMTP server on 127.0.0.1 for this test."""
        box = Mailbox().start()
        yield box
        box.stop()

    @pytest.fixture
    def console(self, make_dashboard: MakeDashboard, mailbox: Mailbox) -> MakeDashboard:
        """``console(**settings)``: the app with these settings, its email going to ``mailbox``."""

        def build(**settings: Any) -> MountedDashboard:
            return make_dashboard(**{**mailbox.delivery_settings, **settings})

        return build


class ConsoleSuite(
    ConsoleFixtures, DashboardSuite, AccountsSuite, TeamsSuite, OperatorsSuite, ProjectPagesSuite, WebhooksSuite
):
    """What every adapter's dashboard must answer, identically: the base dashboard suite and each area's."""

    def test_console_apps_take_their_settings_and_mail_the_mailbox(
        self, console: MakeDashboard, mailbox: Mailbox
    ) -> None:
        mounted = console(dashboard_signup="open", audit_retention_days=7)
        assert mounted.octotp is not None
        assert (mounted.octotp.settings.dashboard_signup, mounted.octotp.settings.audit_retention_days) == ("open", 7)
        created = mounted.octotp.accounts.create_project("mail check")
        body = json.dumps({"projectId": created.project.id, "recipientEmail": "inbox@example.com", "send": True})
        headers = {"Host": HOST, "Content-Type": "application/json", "X-Api-Key": created.api_key.secret}
        r = mounted.client.request("POST", mounted.api_prefix + "/api/tokens", headers=headers, body=body.encode())
        assert r.status == 201, r.text
        assert len(mailbox.code_for("inbox@example.com")) == 6
