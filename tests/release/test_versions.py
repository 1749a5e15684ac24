"""One version for every package, each framework package pinning the matching octotp-core range, and
a CHANGELOG that does not run ahead of it: this fails when they drift apart."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from packaging.version import Version

from .bump import ROOT, SCRIPT, bump_version


def test_every_package_is_at_one_version_and_pins_the_matching_core_range() -> None:
    assert bump_version.problems() == []


def test_the_core_range_runs_from_the_release_to_the_next_minor() -> None:
    assert bump_version.core_range("0.1.0") == ">=0.1.0,<0.2"
    assert bump_version.core_range("0.9.3") == ">=0.9.3,<0.10"
    assert bump_version.core_range("2.0.0rc1") == ">=2.0.0rc1,<2.1"


def packages_copy(tmp_path: Path) -> Path:
    """The packages' pyprojects and version files, alone, in a tree of their own."""
    for package, module in bump_version.PACKAGES.items():
        for relative in (f"packages/{package}/pyproject.toml", f"packages/{package}/src/{module}/version.py"):
            (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(ROOT / relative, tmp_path / relative)
    return tmp_path


def test_a_bump_moves_every_version_and_pin_together(tmp_path: Path) -> None:
    root = packages_copy(tmp_path)
    changed = bump_version.bump("0.2.0", root)
    assert len(changed) == 5 + len(bump_version.FRAMEWORK_PACKAGES)  # every version.py, every pinning pyproject
    assert bump_version.problems(root) == []
    assert {bump_version.read_version(package, root) for package in bump_version.PACKAGES} == {"0.2.0"}
    flask = (root / "packages/octotp-flask/pyproject.toml").read_text()
    assert '"octotp-core>=0.2.0,<0.3"' in flask
    assert '"octotp-core[postgres]>=0.2.0,<0.3"' in flask
    assert 'name = "octotp-core"' in (root / "packages/octotp-core/pyproject.toml").read_text()


@pytest.mark.parametrize(
    ("package", "before", "after", "problem"),
    [
        ("octotp-flask", '__version__ = "0.1.0"', '__version__ = "0.1.1"', "octotp-flask is at 0.1.1"),
        ("octotp-django", '"octotp-core>=0.1.0,<0.2"', '"octotp-core==0.1.0"', "octotp-django (dependencies)"),
        ("octotp-flask", '"octotp-core[redis]>=0.1.0,<0.2"', '"octotp-core[redis]"', "octotp-flask (extra 'redis')"),
        ("octotp-fastapi", '    "octotp-core>=0.1.0,<0.2",\n', "", "octotp-fastapi does not require octotp-core"),
        ("octotp-client", '    "requests>=2.31",\n', '    "octotp-flask>=0.1.0",\n', "only octotp-core"),
    ],
)
def test_drift_is_found(tmp_path: Path, package: str, before: str, after: str, problem: str) -> None:
    root = packages_copy(tmp_path)
    module = bump_version.PACKAGES[package]
    for path in (root / f"packages/{package}/pyproject.toml", root / f"packages/{package}/src/{module}/version.py"):
        text = path.read_text()
        path.write_text(text.replace(before, after))
    found = bump_version.problems(root)
    assert len(found) == 1, found
    assert problem in found[0]


def test_the_script_shows_the_version_and_refuses_a_bad_one() -> None:
    shown = subprocess.run([sys.executable, str(SCRIPT)], capture_output=True, text=True, timeout=60)
    version = bump_version.read_version("octotp-core")
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.strip() == f"{version} (packages pin octotp-core{bump_version.core_range(version)})"
    refused = subprocess.run([sys.executable, str(SCRIPT), "v0.2"], capture_output=True, text=True, timeout=60)
    assert refused.returncode == 2
    assert "normal form: 0.2" in refused.stderr


CHANGELOG = ROOT / "CHANGELOG.md"


def test_the_changelog_has_an_unreleased_section_and_no_release_ahead_of_the_version() -> None:
    text = CHANGELOG.read_text()
    headings = re.findall(r"^## \[([^\]]+)\]", text, re.MULTILINE)
    assert headings, "no `## [...]` section"
    assert headings[0] == "Unreleased", "Keep a Changelog: the newest section first, Unreleased on top"
    released = [Version(heading) for heading in headings[1:]]
    assert released == sorted(released, reverse=True), "releases newest first"
    if released:
        assert released[0] <= Version(bump_version.read_version("octotp-core"))


@pytest.mark.parametrize("package", bump_version.PACKAGES)
def test_each_package_ships_the_repository_license(package: str) -> None:
    """Each sdist and wheel carries ``packages/<package>/LICENSE`` (hatchling picks it up as the
    License-File); it must be the root LICENSE, word for word."""
    assert (ROOT / "packages" / package / "LICENSE").read_text() == (ROOT / "LICENSE").read_text()
