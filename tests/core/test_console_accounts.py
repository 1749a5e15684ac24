"""The account pages' suite (``octotp_core.testing.console_accounts``) on core's own handler.

Until ``ConsoleSuite`` runs it on every adapter, this module supplies its fixtures: ``console``
mounts a fresh ``Octotp`` (settings overrides, email to the ``mailbox``) on the neutral handler.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from octotp_core.testing.console_accounts import AccountsSuite
from octotp_core.testing.dashboard import MountedDashboard
from octotp_core.testing.mailbox import Mailbox

from .conftest import MakeOctotp
from .test_dashboard import BASE, HandlerClient


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    with Mailbox() as box:
        yield box


@pytest.fixture
def console(make_octotp: MakeOctotp, mailbox: Mailbox) -> Callable[..., MountedDashboard]:
    def mount(**settings: Any) -> MountedDashboard:
        octotp = make_octotp(**mailbox.settings(), **settings)
        return MountedDashboard(HandlerClient(octotp), BASE, "", octotp.accounts.create_account, {"octotp": octotp})

    return mount


@pytest.fixture
def dashboard(console: Callable[..., MountedDashboard]) -> MountedDashboard:
    return console()


class TestAccountPagesOnCoreHandler(AccountsSuite):
    pass
