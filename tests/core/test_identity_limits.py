"""Limits keyed on who is asking: the login throttle on the email the lookup uses (issue 11 item 2)
and validates without an API key per client address (item 4), through the neutral handlers."""

from __future__ import annotations

import json
import uuid
from collections import Counter
from collections.abc import Callable

import pytest

from octotp_core import Octotp, Plan
from octotp_core.dashboard.throttle import login_identity
from octotp_core.http import ApiHandler, Request
from octotp_core.testing.dashboard import PASSWORD, DashboardBrowser

from .test_dashboard import BASE, HandlerClient


# -- the login throttle ----------------------------------------------------------------------
@pytest.mark.parametrize(
    "variant",
    [
        "owner-{n}@\uff25xample.com",  # fullwidth E in the domain
        "owner-{n}@\uff25\uff38\uff21\uff2d\uff30\uff2c\uff25.\uff43\uff4f\uff4d",  # all fullwidth
        "OWNER-{n}@example.COM",
    ],
)
def test_login_throttle_counts_every_spelling_of_one_address(make_octotp: Callable[..., Octotp], variant: str) -> None:
    octotp = make_octotp()
    n = uuid.uuid4().hex[:10]
    octotp.accounts.create_account(f"owner-{n}@example.com", PASSWORD)
    browser = DashboardBrowser(HandlerClient(octotp, client=f"192.0.2.{uuid.uuid4().int % 250}"), BASE)
    for _ in range(5):  # 5 per email per minute by default
        assert browser.login(f"owner-{n}@example.com", "wrong password").status == 200
    assert browser.login(f"owner-{n}@example.com", PASSWORD).status == 429
    other_spelling = browser.login(variant.format(n=n), PASSWORD)  # the right password, an equivalent address
    assert other_spelling.status == 429
    assert "octotp_session" not in browser.cookies


def test_login_throttle_is_shared_through_the_database_storage(make_octotp: Callable[..., Octotp]) -> None:
    """Two processes (two Octotp instances) on database://: one per-email budget between them."""
    first, second = (make_octotp(rate_limit_storage="database://") for _ in range(2))
    n = uuid.uuid4().hex[:10]
    first.accounts.create_account(f"shared-{n}@example.com", PASSWORD)
    address = f"192.0.2.{uuid.uuid4().int % 250}"
    browsers = [DashboardBrowser(HandlerClient(o, client=address), BASE) for o in (first, second)]
    statuses = [browsers[i % 2].login(f"shared-{n}@example.com", "wrong password").status for i in range(5)]
    assert statuses == [200] * 5
    assert [b.login(f"shared-{n}@example.com", PASSWORD).status for b in browsers] == [429, 429]


def test_login_identity_is_the_account_lookup_form() -> None:
    assert login_identity("owner@\uff25xample.com") == login_identity("Owner@example.com") == "owner@example.com"
    assert login_identity("  Not An Email ") == "not an email"


# -- anonymous validates per client address -------------------------------------------------------
def _validate(handler: ApiHandler, project_id: str, recipient: str, address: str, key: str | None = None) -> object:
    headers = {"content-type": "application/json"}
    if key is not None:
        headers["x-api-key"] = key
    body = json.dumps({"projectId": project_id, "recipientEmail": recipient, "code": "000000"}).encode()
    return handler.handle(Request("POST", "/api/tokens/validate", headers, body, "", address, "http"))


class CountingVerify:
    """Counts how often a code hash is checked."""

    def __init__(self, octotp: Octotp) -> None:
        self.calls = 0
        self._real = octotp.tokens.hasher.verify
        octotp.tokens.hasher.verify = self  # type: ignore[method-assign]

    def __call__(self, stored: str, code: str) -> bool:
        self.calls += 1
        return bool(self._real(stored, code))


def test_anonymous_validate_flood_from_one_address_is_refused_before_hashing(
    make_octotp: Callable[..., Octotp],
) -> None:
    """200 anonymous wrong validates from one address, each for a recipient with a live code: the
    first 60 (the default per-address limit) are checked, the other 140 get 429 with no hashing."""
    octotp = make_octotp(hasher="hmac", plans={"bulk": Plan(creates_per_minute=10_000)}, default_plan="bulk")
    project = octotp.accounts.create_project("flood", validate_requires_key=False).project
    recipients = [f"flood-{uuid.uuid4().hex[:10]}@example.com" for _ in range(200)]
    for recipient in recipients:
        octotp.create_token(project.id, email=recipient)
    handler, counter = ApiHandler(octotp), CountingVerify(octotp)
    responses = [_validate(handler, project.id, r, "198.51.100.23") for r in recipients]
    statuses = Counter(r.status for r in responses)  # type: ignore[attr-defined]
    assert statuses == {200: 60, 429: 140}
    assert counter.calls == 60
    refused = responses[-1]
    headers = dict(refused.headers)  # type: ignore[attr-defined]
    assert headers["Content-Type"] == "application/problem+json"
    assert 1 <= int(headers["Retry-After"]) <= 60
    assert (headers["RateLimit-Limit"], headers["RateLimit-Remaining"]) == ("60", "0")
    problem = json.loads(refused.body)  # type: ignore[attr-defined]
    assert (problem["status"], problem["code"], problem["scope"]) == (429, "rate_limited", "address")
    # Another address has its own limit.
    assert _validate(handler, project.id, recipients[0], "198.51.100.24").status == 200  # type: ignore[attr-defined]


def test_validates_with_an_api_key_are_not_limited_per_address(make_octotp: Callable[..., Octotp]) -> None:
    octotp = make_octotp(anonymous_validate_limit_per_address="2/minute")
    created = octotp.accounts.create_project("keyed", validate_requires_key=False)
    handler, recipient = ApiHandler(octotp), f"keyed-{uuid.uuid4().hex[:10]}@example.com"
    keyed = [
        _validate(handler, created.project.id, recipient, "198.51.100.30", created.api_key.secret) for _ in range(5)
    ]
    assert {r.status for r in keyed} == {200}  # type: ignore[attr-defined]
    anonymous = [_validate(handler, created.project.id, recipient, "198.51.100.30") for _ in range(3)]
    assert [r.status for r in anonymous] == [200, 200, 429]  # type: ignore[attr-defined]
