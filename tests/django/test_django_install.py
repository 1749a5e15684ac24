"""The README's install line works as written, in a fresh virtual environment (issue 13, trap 3):
the packages are not on an index yet, so octotp-django's pin on octotp-core must be met by the
octotp-core on the same command line."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "packages" / "octotp-django" / "README.md"


def _readme_install_line() -> list[str]:
    match = re.search(r"^\$ (pip install [^#\n]+)", README.read_text(), re.MULTILINE)
    assert match is not None, "the README has no `$ pip install ...` line"
    return shlex.split(match.group(1))


def _version(package: str, module: str) -> str:
    text = (ROOT / "packages" / package / "src" / module / "version.py").read_text()
    found = re.search(r'__version__ = "([^"]+)"', text)
    assert found is not None
    return found.group(1)


def test_the_install_line_names_core_at_the_pinned_version() -> None:
    words = _readme_install_line()
    assert words[:2] == ["pip", "install"]
    assert set(words[2:]) == {"./packages/octotp-core", "./packages/octotp-django"}
    pin = re.search(r'"octotp-core==([^"]+)"', (ROOT / "packages" / "octotp-django" / "pyproject.toml").read_text())
    assert pin is not None
    assert pin.group(1) == _version("octotp-core", "octotp_core") == _version("octotp-django", "octotp_django")


@pytest.mark.slow
@pytest.mark.skipif(
    os.environ.get("OCTOTP_TEST_FRESH_VENV") != "1",
    reason="a fresh venv and a full pip install take minutes: set OCTOTP_TEST_FRESH_VENV=1",
)
def test_the_install_line_works_in_a_fresh_venv(tmp_path: Path) -> None:
    """Run the README's line as written, from the repository root, in a new venv; then import."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    python = str(venv / "bin" / "python")
    _pip, *arguments = _readme_install_line()
    installed = subprocess.run(
        [python, "-m", "pip", "--quiet", *arguments], cwd=ROOT, capture_output=True, text=True, timeout=600
    )
    assert installed.returncode == 0, installed.stderr[-4000:]
    imported = subprocess.run(
        [python, "-c", "import django, octotp_core, octotp_django; print(octotp_django.__version__)"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert imported.returncode == 0, imported.stderr
    assert imported.stdout.strip() == _version("octotp-django", "octotp_django")
