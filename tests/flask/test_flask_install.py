"""The README's install line works as written, in a fresh virtual environment: the packages are not
on an index, so it must name octotp-core beside octotp-flask (which requires the octotp-core of its own
minor release).

``uv pip install`` (not pip) keeps this to a few seconds; it resolves the third-party dependencies
from the package index, as a new user's install does."""

from __future__ import annotations

import re
import shlex
import subprocess
from pathlib import Path

import pytest

from ..fresh_venv import fresh_venv

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "packages" / "octotp-flask" / "README.md"


def install_line() -> list[str]:
    """The README's ``pip install ./packages/...`` line, as arguments after ``pip install``."""
    lines = re.findall(r"^pip install (\./packages/.*)$", README.read_text(), re.MULTILINE)
    assert len(lines) == 1, f"expected one `pip install ./packages/...` line in {README}, found {lines}"
    return shlex.split(lines[0].split("#")[0])


def test_the_readme_names_every_package_it_needs() -> None:
    assert install_line() == ["./packages/octotp-core", "./packages/octotp-flask"]


@pytest.mark.timeout(300)
def test_the_readme_install_line_works_in_a_fresh_venv(tmp_path: Path) -> None:
    python = fresh_venv(tmp_path, install_line())
    # The README's five lines, in the new environment: only what the install brought is there.
    app = (
        "from flask import Flask\n"
        "from octotp_flask import Octotp\n"
        "app = Flask(__name__)\n"
        f"app.config['OCTOTP_DATABASE_URL'] = 'sqlite:///{tmp_path / 'octotp.db'}'\n"
        "app.config['OCTOTP_AUTO_MIGRATE'] = True\n"
        "octotp = Octotp(app)\n"
        "print(app.test_client().get('/healthz').status_code)\n"
    )
    ran = subprocess.run([str(python), "-c", app], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.strip() == "200"
