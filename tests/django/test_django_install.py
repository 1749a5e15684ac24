"""The README's install line works as written, in a fresh virtual environment (issue 13, trap 3):
the packages are not on an index yet, so octotp-django's pin on octotp-core must be met by the
octotp-core on the same command line."""

from __future__ import annotations

import re
import shlex
import subprocess
from pathlib import Path

import pytest
from packaging.specifiers import SpecifierSet

from ..fresh_venv import fresh_venv

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


def test_the_install_line_names_core_at_a_version_the_pin_accepts() -> None:
    words = _readme_install_line()
    assert words[:2] == ["pip", "install"]
    assert set(words[2:]) == {"./packages/octotp-core", "./packages/octotp-django"}
    pin = re.search(
        r'"octotp-core([<>=!~][^"]+)"', (ROOT / "packages" / "octotp-django" / "pyproject.toml").read_text()
    )
    assert pin is not None
    core = _version("octotp-core", "octotp_core")
    assert core == _version("octotp-django", "octotp_django")
    assert SpecifierSet(pin.group(1)).contains(core)


@pytest.mark.timeout(300)
def test_the_install_line_works_in_a_fresh_venv(tmp_path: Path) -> None:
    """Run the README's line, from the repository root, in a new venv; then import."""
    python = fresh_venv(tmp_path, _readme_install_line()[2:])  # after `pip install`
    imported = subprocess.run(
        [str(python), "-c", "import django, octotp_core, octotp_django; print(octotp_django.__version__)"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert imported.returncode == 0, imported.stderr
    assert imported.stdout.strip() == _version("octotp-django", "octotp_django")
