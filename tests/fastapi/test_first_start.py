"""The root README's first start, as a new user follows it: ``python -m tox -e serve`` in one
terminal; in another, while it serves, the command its hints print (``.tox/serve/bin/octotp ...``),
whose ``export`` line makes the README's curl block work.

``python -m tox -e serve -- projects create NAME`` in the second terminal used to wait forever for
the running tox's lock, and the hint's plain ``octotp`` is not on a tox user's PATH.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shlex
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from octotp_core.testing.servers import clean_environment, free_port, wait_until_healthy

from ..conftest import unavailable

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow

README_EXECUTABLE = ".tox/serve/bin/octotp"
"""The serve env's console script under tox's default work dir, as the root README spells it."""


def readme_first_start_blocks() -> tuple[str, str]:
    """The root README's second-terminal block (``projects create``) and the curl block after it."""
    blocks = re.findall(r"^```sh\n(.*?)^```", (REPO / "README.md").read_text(), flags=re.MULTILINE | re.DOTALL)
    [index] = [i for i, block in enumerate(blocks) if f"{README_EXECUTABLE} projects create" in block]
    return blocks[index], blocks[index + 1]


def tox_command() -> list[str]:
    """A tox that runs this repository's tox.ini without provisioning (it has tox-uv, which the
    ini requires): the one running this test when there is one, else one on this machine."""
    candidates: list[list[str]] = []
    for work_dir in filter(None, (os.environ.get("TOX_WORK_DIR"), str(REPO / ".tox"))):
        candidates.append([str(Path(work_dir) / ".tox" / "bin" / "python"), "-m", "tox"])
    candidates += [[sys.executable, "-m", "tox"], ["python3", "-m", "tox"], ["tox"]]
    for command in candidates:
        try:
            version = subprocess.run([*command, "--version"], capture_output=True, text=True, timeout=60, check=False)
        except OSError:
            continue
        if version.returncode == 0 and "tox-uv" in version.stdout:
            return command
    unavailable("no tox with tox-uv on this machine (tox -e ci provisions one in .tox/.tox)")
    raise AssertionError("unreachable")


def user_environment(**extra: str) -> dict[str, str]:
    """A user's shell: no OCTOTP_* settings, not inside tox or a virtualenv (this test may be)."""
    env = clean_environment(extra)
    for name in list(env):
        if name.startswith("TOX_") or name in ("VIRTUAL_ENV", "PYTHONPATH"):
            del env[name]
    env["PATH"] = os.pathsep.join(
        part for part in env.get("PATH", "/usr/bin:/bin").split(os.pathsep) if not (Path(part) / "octotp").exists()
    )
    return env


class ToxServe:
    """``python -m tox -e serve -- serve --port N`` from the repository root, in its own work dir."""

    def __init__(self, work_dir: Path, data_dir: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = data_dir.parent / "tox-serve.log"
        data_dir.mkdir(parents=True)
        command = [*tox_command(), "-c", str(REPO / "tox.ini"), "-e", "serve", "--workdir", str(work_dir)]
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(
                [*command, "--", "serve", "--port", str(self.port)],
                cwd=REPO,
                env=user_environment(OCTOTP_DATA_DIR=str(data_dir)),
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            wait_until_healthy(self.url, self.proc, self.log, timeout=300)
        except BaseException:
            self.stop()
            raise

    def output(self) -> str:
        return self.log.read_text()

    def stop(self) -> None:
        """SIGTERM the server (uvicorn's own pid, which tox may not forward a signal to), then tox."""
        found = re.search(r"Started server process \[(\d+)\]", self.output())
        if found:
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(found.group(1)), signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)  # the session this test started for tox
            self.proc.wait()


@pytest.fixture
def tox_serve(tmp_path: Path) -> Iterator[tuple[ToxServe, Path]]:
    data_dir = tmp_path / "data"
    server = ToxServe(tmp_path / "tox", data_dir)
    yield server, data_dir
    server.stop()


def test_the_second_terminal_command_works_while_tox_serve_runs(
    tox_serve: tuple[ToxServe, Path], tmp_path: Path
) -> None:
    server, data_dir = tox_serve
    log = server.output()
    # The server's hints name the env's own executable (README: `.tox/serve/bin/octotp` under the
    # default work dir), absolute so it works from any directory.
    executable = tmp_path / "tox" / "serve" / "bin" / "octotp"
    hints = re.findall(r"in another terminal: (.+?) (accounts create EMAIL|projects create NAME)", log)
    assert {hint for hint, _ in hints} == {shlex.quote(str(executable))}, log
    assert {what for _, what in hints} == {"accounts create EMAIL", "projects create NAME"}
    assert "octotp: (or run: octotp " not in log

    # A second terminal: the user's PATH (no octotp on it), the same OCTOTP_* settings. It runs the
    # README's own blocks: `eval "$(.tox/serve/bin/octotp projects create ...)"`, then the curl calls.
    [command] = {hint for hint, _ in hints}
    create, calls = readme_first_start_blocks()
    script = "set -euo pipefail\n" + create.replace(README_EXECUTABLE, command) + calls
    script = script.replace("http://127.0.0.1:8000", server.url)
    env = user_environment(OCTOTP_DATA_DIR=str(data_dir), HOME=str(tmp_path))
    # The old advice (`tox -e serve -- projects create`) hung here forever; this must finish.
    second = subprocess.run(["bash", "-c", script], env=env, capture_output=True, text=True, timeout=120, check=False)
    assert second.returncode == 0, second.stderr
    assert json.loads(second.stdout.splitlines()[-1]) == {"isValid": True, "status": "approved"}
    assert f"octotp: database sqlite:///{data_dir / 'octotp.db'}" in second.stderr
    assert server.proc.poll() is None  # still serving


def test_the_readme_gives_the_same_second_terminal_command() -> None:
    create, calls = readme_first_start_blocks()
    assert f'{README_EXECUTABLE} projects create "My app"' in create
    assert "$OCTOTP_API_KEY" in calls
    assert "$OCTOTP_PROJECT_ID" in calls
    assert "tox -e serve -- projects create" not in (REPO / "README.md").read_text()


def test_serve_names_its_database_with_the_password_masked(
    database_url: str, tmp_path: Path, test_secret: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """``octotp serve`` says which database it serves from, as every CLI command does; a password in
    the URL never reaches the console (PostgreSQL here trusts local connections, so it still works)."""
    from sqlalchemy.engine import make_url

    from octotp_core import Settings
    from octotp_fastapi.serve import announce

    url = make_url(database_url)
    if url.get_backend_name() == "postgresql":
        url = url.set(password="pw-never-shown")
    settings = Settings(
        data_dir=tmp_path, database_url=url.render_as_string(hide_password=False), secret_key=test_secret
    )
    announce(settings, "127.0.0.1", 8000, 1)
    err = capsys.readouterr().err
    assert f"octotp: database {url.render_as_string(hide_password=True)};" in err
    assert "pw-never-shown" not in err
    assert "(the default" not in err
