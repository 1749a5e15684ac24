"""The project page's snippets (``octotp_core.dashboard.snippets``): the URL they are given and what
they hold. ``tests/client/test_snippets_run.py`` runs them against live servers."""

from __future__ import annotations

import ast
import shlex

import pytest

from octotp_core.dashboard.snippets import FALLBACK_BASE_URL, api_base_url, snippets
from octotp_core.http import Request

PROJECT = "5d0c1f0e-8a4e-4f43-9a57-1c2b3d4e5f60"


def request(host: str | None, scheme: str = "http") -> Request:
    headers = {} if host is None else {"Host": host}
    return Request("GET", f"/projects/{PROJECT}", headers, scheme=scheme)


@pytest.mark.parametrize(
    ("host", "scheme", "base", "expected"),
    [
        ("127.0.0.1:8000", "http", "/dashboard", "http://127.0.0.1:8000"),
        ("otp.example.com", "https", "/dashboard", "https://otp.example.com"),
        ("shop.example:8443", "https", "/octotp/dashboard", "https://shop.example:8443/octotp"),
        ("localhost:5000", "http", "/app/octotp/dashboard/", "http://localhost:5000/app/octotp"),
        ("[::1]:8000", "http", "/dashboard", "http://[::1]:8000"),
    ],
)
def test_api_base_url_is_where_the_browser_reached_the_dashboard(
    host: str, scheme: str, base: str, expected: str
) -> None:
    assert api_base_url(request(host, scheme), base) == expected


@pytest.mark.parametrize(
    "host", [None, "", "evil.example'; rm -rf ~ #", "a b", "x.example/path", "x.example:80:80", '"q"', "$(id)"]
)
def test_a_host_that_is_not_one_gives_the_default_url(host: str | None) -> None:
    assert api_base_url(request(host), "/dashboard") == FALLBACK_BASE_URL


def test_an_unusual_prefix_is_left_out() -> None:
    assert api_base_url(request("h.example"), "/it's/dashboard") == "http://h.example"


def test_every_snippet_has_the_project_and_url_and_reads_the_key_from_the_environment() -> None:
    found = snippets("https://otp.example.com/octotp", PROJECT)
    assert [s.key for s in found] == ["curl", "python", "javascript"]
    curl, python, javascript = (s.code for s in found)
    for code in (curl, python, javascript):
        assert PROJECT in code
        assert "https://otp.example.com/octotp" in code
        assert "octotp_" in code  # says what the key looks like ...
        assert "OCTOTP_API_KEY" in code  # ... and where it is read from
    assert "/api/tokens/validate" in curl
    assert "/api/tokens/validate" in javascript
    assert '"X-Api-Key: $OCTOTP_API_KEY"' in curl
    assert "process.env.OCTOTP_API_KEY" in javascript
    assert "OctotpClient(base_url=" in python
    ast.parse(python)  # valid Python
    shlex.split(curl, comments=True)  # balanced shell quoting


@pytest.mark.parametrize(
    ("base_url", "project_id"),
    [
        ("https://otp.example.com", "not-a-uuid"),
        ("https://otp.example.com", PROJECT + "'"),
        ("ftp://otp.example.com", PROJECT),
        ("https://evil.example';x", PROJECT),
        ("https://otp.example.com/a b", PROJECT),
    ],
)
def test_values_that_could_break_out_of_a_snippet_are_refused(base_url: str, project_id: str) -> None:
    with pytest.raises(ValueError, match="must be"):
        snippets(base_url, project_id)
