"""The octotp account that stands for a host app's user (``AccountService.host_account``) and what a
``HostIdentity``'s permissions allow (``console.host``)."""

from __future__ import annotations

import uuid

import pytest

from octotp_core import HOST_PERMISSIONS, HostIdentity, Octotp
from octotp_core.accounts import NO_PASSWORD
from octotp_core.console.permissions import ACTIONS
from octotp_core.recipients import normalise_email

from .conftest import MakeOctotp

pytestmark = pytest.mark.one_database


def _email() -> str:
    return f"host-{uuid.uuid4().hex[:10]}@Example.com"


@pytest.fixture
def octotp(make_octotp: MakeOctotp) -> Octotp:
    return make_octotp()


def test_the_first_visit_makes_a_verified_account_without_a_password(octotp: Octotp) -> None:
    identity = HostIdentity(uuid.uuid4().hex, _email(), name="ada")
    account = octotp.accounts.host_account(identity)
    assert (account.email, account.external_id) == (normalise_email(identity.email).value, identity.id)
    assert account.verified_at is not None
    assert account.password_hash == NO_PASSWORD
    assert octotp.accounts.authenticate_account(account.email, NO_PASSWORD) is None  # no password signs it in
    assert octotp.accounts.host_account(identity) == account  # the same account on every visit


def test_the_account_follows_the_hosts_email_address(octotp: Octotp) -> None:
    identity = HostIdentity(uuid.uuid4().hex, _email())
    first = octotp.accounts.host_account(identity)
    moved = octotp.accounts.host_account(HostIdentity(identity.id, new := _email()))
    assert moved.id == first.id
    assert moved.email == normalise_email(new).value
    assert octotp.store.get_account(first.id).email == moved.email


def test_an_address_that_is_taken_or_missing_gets_a_placeholder_nobody_receives(octotp: Octotp) -> None:
    own = octotp.accounts.create_account(_email(), "correct horse battery staple")
    twin = octotp.accounts.host_account(HostIdentity(uuid.uuid4().hex, own.email))
    assert twin.id != own.id
    assert twin.email.endswith("@host.invalid")
    assert octotp.store.get_account(own.id) == own  # the own account is untouched
    blank = octotp.accounts.host_account(HostIdentity(uuid.uuid4().hex, ""))
    assert blank.email.endswith("@host.invalid")
    assert blank.email != twin.email


def test_every_permission_name_and_what_it_grants() -> None:
    assert set(HOST_PERMISSIONS) >= {"add_project", "view_project", "change_project", "operate"}
    none = HostIdentity("1", "a@example.com")
    assert (none.granted(), none.is_operator, none.may_create_projects) == (frozenset(), False, False)
    creator = HostIdentity("1", "a@example.com", permissions=["add_project"])
    assert (creator.granted(), creator.may_create_projects) == (frozenset(), True)
    viewer = HostIdentity(1, "a@example.com", permissions={"view_project", "not_ours"})  # type: ignore[arg-type]
    assert viewer.id == "1"
    assert viewer.granted() == {"project.view", "tokens.view", "keys.view", "members.view"}
    changer = HostIdentity("1", "a@example.com", permissions={"change_project"})
    assert changer.granted() == {"project.view", "project.configure"}  # seeing comes with changing
    assert HostIdentity("1", "a@example.com", permissions={"operate"}).is_operator
    everything = HostIdentity("1", "a@example.com", permissions=HOST_PERMISSIONS).granted()
    assert everything == set(ACTIONS) - {"project.plan", "project.suspend"}  # the operators' own
