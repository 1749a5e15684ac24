"""One version for every octotp package, and each package's pin on the matching octotp-core range.

``python scripts/bump_version.py`` prints the current version and the core range it implies;
``python scripts/bump_version.py 0.2.0`` writes 0.2.0 into every package's ``version.py`` and
``octotp-core>=0.2.0,<0.3`` into every requirement on octotp-core in the packages' pyprojects
(dependencies and extras alike). ``tests/release/test_versions.py`` fails when they drift apart;
docs/operations/releases.md is the whole release procedure.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.version import InvalidVersion, Version

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - the release env runs on 3.11+
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]

PACKAGES = {
    "octotp-core": "octotp_core",
    "octotp-fastapi": "octotp_fastapi",
    "octotp-flask": "octotp_flask",
    "octotp-django": "octotp_django",
    "octotp-client": "octotp_client",
}
"""Distribution name -> import package: all released together, at one version."""

FRAMEWORK_PACKAGES = ("octotp-fastapi", "octotp-flask", "octotp-django")
"""The packages built on octotp-core. octotp-client talks HTTP to any octotp server and needs no core."""

VERSION_LINE = re.compile(r'^__version__ = "(?P<version>[^"]+)"$', re.MULTILINE)
CORE_REQUIREMENT = re.compile(r'"octotp-core(?P<extras>\[[a-z0-9,]+\])?(?P<specifier>[<>=!~][^";]*)"')
"""A requirement on octotp-core with a version specifier in a pyproject's TOML
(``"octotp-core[postgres]>=0.1.0,<0.2"``; core's own ``name = "octotp-core"`` has none)."""


def version_file(package: str, root: Path = ROOT) -> Path:
    """The ``version.py`` hatchling reads the package's version from."""
    return root / "packages" / package / "src" / PACKAGES[package] / "version.py"


def pyproject(package: str, root: Path = ROOT) -> Path:
    """The package's ``pyproject.toml``."""
    return root / "packages" / package / "pyproject.toml"


def read_version(package: str, root: Path = ROOT) -> str:
    """The version ``version.py`` gives ``package``."""
    found = VERSION_LINE.search(version_file(package, root).read_text())
    if found is None:
        raise ValueError(f"{version_file(package, root)} has no __version__ line")
    return found.group("version")


def core_range(version: str) -> str:
    """The octotp-core specifier a package of ``version`` pins: that release up to the next minor
    (``0.1.0`` -> ``>=0.1.0,<0.2``): a fix release of core alone still satisfies it."""
    parsed = Version(version)
    major, minor = parsed.release[0], parsed.release[1] if len(parsed.release) > 1 else 0
    return f">={version},<{major}.{minor + 1}"


def problems(root: Path = ROOT) -> list[str]:
    """Every way the packages' versions and core pins disagree (none: in step). One version for all
    (read from each ``version.py``, which each pyproject names as its dynamic version's source), and
    every requirement on octotp-core, in dependencies and extras, is exactly ``core_range`` of it;
    each framework package requires core."""
    found = []
    versions = {package: read_version(package, root) for package in PACKAGES}
    version = versions["octotp-core"]
    for package, own in versions.items():
        if own != version:
            found.append(f"{package} is at {own}, octotp-core at {version}")
    expected = SpecifierSet(core_range(version))
    for package in PACKAGES:
        project = tomllib.loads(pyproject(package, root).read_text())
        source = project.get("tool", {}).get("hatch", {}).get("version", {}).get("path")
        if project["project"].get("dynamic") != ["version"] or source != f"src/{PACKAGES[package]}/version.py":
            found.append(f"{package}'s pyproject does not take its version from src/{PACKAGES[package]}/version.py")
        lists = {"dependencies": project["project"].get("dependencies", [])}
        for extra, requirements in project["project"].get("optional-dependencies", {}).items():
            lists[f"extra {extra!r}"] = requirements
        pins = 0
        for where, requirements in lists.items():
            for line in requirements:
                requirement = Requirement(line)
                if requirement.name == "octotp-core":
                    pins += 1
                    if requirement.specifier != expected:
                        found.append(f"{package} ({where}) requires {line!r}, not octotp-core{expected}")
                elif requirement.name in PACKAGES:
                    found.append(f"{package} ({where}) requires {line!r}: only octotp-core is a dependency")
        if package in FRAMEWORK_PACKAGES and not any(
            Requirement(line).name == "octotp-core" for line in lists["dependencies"]
        ):
            found.append(f"{package} does not require octotp-core")
        elif package not in FRAMEWORK_PACKAGES and pins:
            found.append(f"{package} requires octotp-core, which it should not need")
    return found


def bump(version: str, root: Path = ROOT) -> list[Path]:
    """Write ``version`` everywhere it belongs; the files changed."""
    specifier = core_range(version)
    changed = []
    for package in PACKAGES:
        path = version_file(package, root)
        text = path.read_text()
        new = VERSION_LINE.sub(f'__version__ = "{version}"', text)
        if new != text:
            path.write_text(new)
            changed.append(path)
        path = pyproject(package, root)
        text = path.read_text()
        new = CORE_REQUIREMENT.sub(lambda m: f'"octotp-core{m.group("extras") or ""}{specifier}"', text)
        if new != text:
            path.write_text(new)
            changed.append(path)
    return changed


def main(argv: list[str]) -> int:
    """``bump_version.py [VERSION]``: show the version, or set it."""
    if not argv:
        version = read_version("octotp-core")
        print(f"{version} (packages pin octotp-core{core_range(version)})")
        for problem in problems():
            print(f"out of step: {problem}", file=sys.stderr)
        return 1 if problems() else 0
    if len(argv) != 1:
        print("usage: python scripts/bump_version.py [VERSION]", file=sys.stderr)
        return 2
    try:
        version = str(Version(argv[0]))
    except InvalidVersion:
        print(f"not a version: {argv[0]!r}", file=sys.stderr)
        return 2
    if version != argv[0]:
        print(f"write the version in its normal form: {version}", file=sys.stderr)
        return 2
    for path in bump(version):
        print(f"updated {path.relative_to(ROOT)}")
    for problem in problems():  # e.g. a requirement on core without a specifier, which bump leaves
        print(f"out of step: {problem}", file=sys.stderr)
    return 1 if problems() else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
