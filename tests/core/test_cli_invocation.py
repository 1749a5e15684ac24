"""``octotp_command()``: what the server's hints tell a user to run in a second terminal."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from octotp_core.cli import octotp_command
from octotp_core.cli.invocation import console_script


@pytest.fixture
def bare_shell(monkeypatch: pytest.MonkeyPatch) -> None:
    """The environment of a new terminal: no activated virtualenv, not inside tox."""
    for name in ("VIRTUAL_ENV", "TOX_ENV_DIR"):
        monkeypatch.delenv(name, raising=False)


def test_the_env_s_own_executable_when_octotp_is_not_on_the_path(
    bare_shell: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    command = octotp_command()
    assert shlex.split(command) == [str(console_script().absolute())]
    assert Path(shlex.split(command)[0]).is_absolute()


def test_plain_octotp_only_when_a_new_shell_finds_this_one(bare_shell: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", f"{console_script().parent}{os.pathsep}/usr/bin")
    assert octotp_command() == "octotp"


@pytest.mark.parametrize("marker", ["VIRTUAL_ENV", "TOX_ENV_DIR"])
def test_never_plain_octotp_under_tox_or_an_activated_virtualenv(
    bare_shell: None, monkeypatch: pytest.MonkeyPatch, marker: str
) -> None:
    # tox (and `source .venv/bin/activate`) put the env's bin first on the PATH of this process only:
    # a second terminal has no such PATH, so the hint names the executable itself.
    monkeypatch.setenv("PATH", f"{console_script().parent}{os.pathsep}/usr/bin")
    monkeypatch.setenv(marker, str(console_script().parent.parent))
    assert octotp_command() == shlex.quote(str(console_script().absolute()))


def test_the_printed_command_runs_from_a_bare_shell(
    bare_shell: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", "/usr/bin:/bin")  # what a new terminal has (no env's bin on it)
    command = octotp_command()
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "OCTOTP_DATA_DIR": str(tmp_path / "data")}
    done = subprocess.run(
        ["bash", "-c", f"{command} plans list"], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "free" in done.stdout
    assert f"octotp: database sqlite:///{tmp_path / 'data' / 'octotp.db'}" in done.stderr


def test_without_a_console_script_it_is_python_dash_m(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(sys, "executable", str(tmp_path / "bin" / "python"))
    assert octotp_command() == f"{shlex.quote(str(tmp_path / 'bin' / 'python'))} -m octotp_core.cli"
