"""The basic round trip on every database: create, validate once, then never again."""

from __future__ import annotations

from octotp_core import Octotp


def test_create_then_validate_once(octotp: Octotp) -> None:
    project = octotp.accounts.create_project("roundtrip").project
    token = octotp.create_token(project.id, email="Someone@Example.com")
    assert token.code is not None
    assert len(token.code) == 6
    first = octotp.validate_token(project.id, email="someone@example.com", code=token.code)
    again = octotp.validate_token(project.id, email="someone@example.com", code=token.code)
    assert (first.is_valid, first.status) == (True, "approved")
    assert (again.is_valid, again.status) == (False, "not_found")
