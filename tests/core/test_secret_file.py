"""The generated server secret (issue 11.6) and the modes of the files octotp creates (issue 11.9).

The race runs in real processes: several processes start on a fresh data directory at once (as
``octotp serve --workers N``, gunicorn or a CLI next to a server would) and must all end up with the
same complete secret.
"""

from __future__ import annotations

import multiprocessing
import os
import stat
from pathlib import Path
from typing import Any

import pytest

from octotp_core import Settings
from octotp_core.settings import MIN_SECRET_LENGTH, SecretTooShort, load_or_create_secret

PROCESSES = 8
TRIALS = 30


def _racer(base: str, trials: int, barrier: Any, results: Any) -> None:
    seen = []
    for trial in range(trials):
        barrier.wait()  # every process calls at the same moment, on a directory nobody made yet
        try:
            seen.append(load_or_create_secret(Path(base) / f"trial-{trial}"))
        except Exception as exc:  # an empty file refused is still a lost race: count it
            seen.append(f"error: {type(exc).__name__}")
    results.put(seen)


def race(base: Path, processes: int = PROCESSES, trials: int = TRIALS) -> list[set[str]]:
    """The secrets each trial's processes got, one set per trial."""
    # A fork server imports octotp once and forks each racer from it: fast, and no state (threads,
    # locks) inherited from the test process.
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["octotp_core.settings", __name__])
    barrier = context.Barrier(processes, timeout=120)
    results = context.Queue()
    workers = [context.Process(target=_racer, args=(str(base), trials, barrier, results)) for _ in range(processes)]
    for worker in workers:
        worker.start()
    per_process = [results.get(timeout=300) for _ in workers]
    for worker in workers:
        worker.join(timeout=60)
        assert worker.exitcode == 0
    return [{seen[trial] for seen in per_process} for trial in range(trials)]


def test_concurrent_first_starts_share_one_complete_secret(tmp_path: Path) -> None:
    trials = race(tmp_path)
    bad = [(i, sorted(len(s) for s in got)) for i, got in enumerate(trials) if len(got) != 1]
    short = [i for i, got in enumerate(trials) if any(len(s) < MIN_SECRET_LENGTH for s in got)]
    assert (bad, short) == ([], []), f"{len(set(i for i, _ in bad) | set(short))} of {len(trials)} trials failed"
    for i, (secret,) in enumerate(trials):
        assert (tmp_path / f"trial-{i}" / "secret_key").read_text().strip() == secret
    leftovers = [p.name for p in tmp_path.glob("trial-*/*") if p.name != "secret_key"]
    assert leftovers == []  # no temporary files left behind


def test_the_secret_file_is_private(tmp_path: Path) -> None:
    previous = os.umask(0o022)
    try:
        load_or_create_secret(tmp_path / "data")
    finally:
        os.umask(previous)
    assert stat.S_IMODE((tmp_path / "data").stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "data" / "secret_key").stat().st_mode) == 0o600


@pytest.mark.parametrize("content", ["", "\n", "   \n", "too-short\n"])
def test_an_empty_or_short_secret_file_is_refused_naming_the_file(tmp_path: Path, content: str) -> None:
    (tmp_path / "secret_key").write_text(content)
    with pytest.raises(SecretTooShort) as caught:
        load_or_create_secret(tmp_path)
    assert str(tmp_path / "secret_key") in str(caught.value)
    assert f"at least {MIN_SECRET_LENGTH}" in str(caught.value)
    assert (tmp_path / "secret_key").read_text() == content  # never silently replaced
    if content.strip():
        assert content.strip() not in str(caught.value)  # the message never shows the secret


def test_a_long_enough_secret_file_is_used_as_written(tmp_path: Path) -> None:
    (tmp_path / "secret_key").write_text("k" * MIN_SECRET_LENGTH + "\n")
    assert load_or_create_secret(tmp_path) == "k" * MIN_SECRET_LENGTH


@pytest.mark.parametrize(
    ("values", "named"),
    [
        ({"secret_key": ""}, "secret_key"),
        ({"secret_key": "short"}, "secret_key"),
        ({"secret_key": " " * 40}, "secret_key"),
        ({"secret_key": "s" * 32, "secret_key_fallbacks": ["f" * 32, "tiny"]}, "secret_key_fallbacks[1]"),
    ],
)
def test_an_empty_or_short_secret_setting_is_refused(tmp_path: Path, values: dict[str, Any], named: str) -> None:
    with pytest.raises(ValueError, match=f"at least {MIN_SECRET_LENGTH} characters") as caught:
        Settings(data_dir=tmp_path, **values)
    assert named in str(caught.value)
    assert "tiny" not in str(caught.value)
    assert "short" not in str(caught.value).replace("too short", "")


def test_an_empty_or_short_secret_from_the_environment_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OCTOTP_SECRET_KEY", "")
    with pytest.raises(ValueError, match="OCTOTP_SECRET_KEY"):
        Settings(data_dir=tmp_path)
    monkeypatch.setenv("OCTOTP_SECRET_KEY", "x" * (MIN_SECRET_LENGTH - 1))
    with pytest.raises(ValueError, match=f"at least {MIN_SECRET_LENGTH} characters"):
        Settings(data_dir=tmp_path)
    monkeypatch.setenv("OCTOTP_SECRET_KEY", "x" * MIN_SECRET_LENGTH)
    assert Settings(data_dir=tmp_path).secrets()[0] == b"x" * MIN_SECRET_LENGTH
