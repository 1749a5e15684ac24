"""``closest_setting``: the did-you-mean every adapter gives for an unknown configuration key."""

from __future__ import annotations

import pytest

from octotp_core.settings import closest_setting


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        ("CODE_LENGHT", "code_length"),
        ("code_lenght", "code_length"),
        ("RATE_LIMIT_STORGE", "rate_limit_storage"),
        ("max_attempt", "max_attempts"),
        ("Secret_Key", "secret_key"),
    ],
)
def test_a_misspelt_key_names_the_setting_meant(typed: str, meant: str) -> None:
    assert closest_setting(typed) == meant


@pytest.mark.parametrize("typed", ["COLOUR", "x", "DATABASE_ENGINE_OPTIONS_FOR_REPLICAS"])
def test_nothing_close_gives_no_suggestion(typed: str) -> None:
    assert closest_setting(typed) is None


def test_known_names_can_be_given() -> None:
    assert closest_setting("URL_PREFX", ["url_prefix", "engine"]) == "url_prefix"
