"""The generated server secret (issue 11.6) and the modes of the files octotp creates (issue 11.9).

The race runs in real processes: several processes start on a fresh data directory at once (as
``octotp serve --workers N``, gunicorn or a CLI next to a server would) and must all end up with the
same complete secret.
"""

from __future__ import annotations

import multiprocessing
import os
import shlex
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from octotp_core import Settings
from octotp_core.settings import MIN_SECRET_LENGTH, SecretTooShort, load_or_create_secret
from octotp_core.store import make_engine
from octotp_core.testing.servers import clean_environment

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


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_cli_creates_a_private_data_dir_and_database_under_umask_022(tmp_path: Path) -> None:
    """The embedded default, as a fresh install runs it: no database URL, no secret, umask 022."""
    data_dir = tmp_path / "home" / "octotp"
    env = clean_environment({"OCTOTP_DATA_DIR": str(data_dir)})
    command = f"umask 022 && exec {shlex.quote(sys.executable)} -m octotp_core.cli projects create first --json"
    result = subprocess.run(["/bin/sh", "-c", command], env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert _mode(data_dir) == 0o700
    assert _mode(data_dir / "secret_key") == 0o600
    assert _mode(data_dir / "octotp.db") == 0o600
    assert sorted(p.name for p in data_dir.iterdir() if p.name.startswith("octotp.db-")) == []  # closed cleanly
    # A second process reading while the first still writes makes SQLite create its -wal and -shm
    # files: they take the database file's mode, so stay private under the same umask.
    previous = os.umask(0o022)
    try:
        engine = make_engine(f"sqlite:///{data_dir / 'octotp.db'}")
        with engine.connect() as conn:
            conn.execute(text("SELECT count(*) FROM octotp_projects")).scalar_one()
            siblings = {p.name: _mode(p) for p in data_dir.iterdir() if p.name.startswith("octotp.db-")}
        engine.dispose()
    finally:
        os.umask(previous)
    assert siblings == {"octotp.db-wal": 0o600, "octotp.db-shm": 0o600}


def test_an_explicit_sqlite_path_is_created_private_too(tmp_path: Path) -> None:
    previous = os.umask(0o022)
    try:
        engine = make_engine(f"sqlite:///{tmp_path / 'new-dir' / 'app.db'}")
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE t (x INTEGER)"))
            siblings = {p.name: _mode(p) for p in (tmp_path / "new-dir").iterdir()}
        engine.dispose()
    finally:
        os.umask(previous)
    assert _mode(tmp_path / "new-dir") == 0o700
    assert siblings == {"app.db": 0o600, "app.db-wal": 0o600, "app.db-shm": 0o600}


def test_an_existing_database_file_and_directory_keep_their_modes(tmp_path: Path) -> None:
    """octotp never changes the mode of what the operator made (a shared directory may be on purpose)."""
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o750)
    shared.chmod(0o750)
    (shared / "app.db").touch()
    (shared / "app.db").chmod(0o640)
    make_engine(f"sqlite:///{shared / 'app.db'}").dispose()
    assert (_mode(shared), _mode(shared / "app.db")) == (0o750, 0o640)
