"""Every package built as a release is: ``python -m build`` (an sdist, then the wheel built from that
sdist), ``twine check --strict``, every file of the package's source tree inside both, and the five
wheels alone installed into a clean venv (their third-party dependencies from the package index)
where ``smoke.py`` runs. docs/operations/releases.md runs the same steps by hand."""

from __future__ import annotations

import email.parser
import subprocess
import sys
import tarfile
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

from .bump import ROOT, bump_version

VERSION = bump_version.read_version("octotp-core")
PACKAGES = bump_version.PACKAGES
SMOKE = Path(__file__).with_name("smoke.py")


def wheel_name(package: str) -> str:
    return f"{PACKAGES[package]}-{VERSION}-py3-none-any.whl"


def sdist_name(package: str) -> str:
    return f"{PACKAGES[package]}-{VERSION}.tar.gz"


def build(package: str, outdir: Path) -> None:
    """``python -m build`` of one package: its sdist, and its wheel built from the unpacked sdist
    (so a file missing from the sdist is missing from the wheel too)."""
    built = subprocess.run(
        [sys.executable, "-m", "build", "--installer", "uv", "--outdir", str(outdir), str(ROOT / "packages" / package)],
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert built.returncode == 0, f"building {package} failed:\n{built.stdout}\n{built.stderr}"


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every package's sdist and wheel, in one directory (as ``twine upload dist/*`` takes them)."""
    outdir = tmp_path_factory.mktemp("dist")
    with ThreadPoolExecutor(max_workers=3) as pool:  # each build is mostly waiting on its own isolated env
        list(pool.map(lambda package: build(package, outdir), PACKAGES))
    return outdir


def tracked_files(package: str) -> list[str]:
    """The package's files in git, relative to ``packages/<package>``: what a release must ship."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", f"packages/{package}"], cwd=ROOT, capture_output=True, text=True, check=True
    )
    prefix = f"packages/{package}/"
    files = [name.removeprefix(prefix) for name in listed.stdout.split("\0") if name]
    assert files, f"git lists no files under packages/{package}"
    return files


def test_each_package_builds_one_sdist_and_one_wheel_at_the_version(dist: Path) -> None:
    expected = {wheel_name(package) for package in PACKAGES} | {sdist_name(package) for package in PACKAGES}
    assert {path.name for path in dist.iterdir()} == expected


def test_twine_check_strict_passes(dist: Path) -> None:
    files = sorted(str(path) for path in dist.iterdir())
    checked = subprocess.run(
        [sys.executable, "-m", "twine", "check", "--strict", *files], capture_output=True, text=True, timeout=120
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout.count("PASSED") == len(files), checked.stdout
    assert "WARNING" not in checked.stdout + checked.stderr


@pytest.mark.parametrize("package", PACKAGES)
def test_the_wheel_holds_exactly_the_package_source(dist: Path, package: str) -> None:
    """Templates, static files, migrations, locale templates, py.typed: every tracked file under
    ``src/`` is in the wheel, and nothing else but its metadata (no stray cache or database file)."""
    with zipfile.ZipFile(dist / wheel_name(package)) as wheel:
        names = wheel.namelist()
    info = f"{PACKAGES[package]}-{VERSION}.dist-info/"
    shipped = sorted(name for name in names if not name.startswith(info))
    source = sorted(name.removeprefix("src/") for name in tracked_files(package) if name.startswith("src/"))
    assert shipped == source
    assert f"{PACKAGES[package]}/py.typed" in shipped
    assert {name.removeprefix(info) for name in names if name.startswith(info)} >= {
        "METADATA",
        "WHEEL",
        "RECORD",
        "licenses/LICENSE",
    }


@pytest.mark.parametrize("package", PACKAGES)
def test_the_sdist_holds_the_package_tree(dist: Path, package: str) -> None:
    """The sdist is the package's tracked tree (README, pyproject, sources), plus the PKG-INFO and the
    ignore file hatchling adds, under one top directory."""
    with tarfile.open(dist / sdist_name(package)) as sdist:
        names = [member.name for member in sdist.getmembers() if member.isfile()]
    top = f"{PACKAGES[package]}-{VERSION}/"
    assert all(name.startswith(top) for name in names), names
    inside = sorted(name.removeprefix(top) for name in names)
    assert sorted(set(inside) - {"PKG-INFO", ".gitignore"}) == sorted(tracked_files(package))
    assert "PKG-INFO" in inside


@pytest.mark.parametrize("package", PACKAGES)
def test_the_wheel_metadata_has_the_version_the_readme_and_the_core_pin(dist: Path, package: str) -> None:
    with zipfile.ZipFile(dist / wheel_name(package)) as wheel:
        metadata = email.parser.Parser().parsestr(
            wheel.read(f"{PACKAGES[package]}-{VERSION}.dist-info/METADATA").decode()
        )
    assert metadata["Name"] == package
    assert metadata["Version"] == VERSION
    assert metadata["License-Expression"] == "MIT"
    assert metadata.get_all("License-File") == ["LICENSE"]
    assert metadata["Description-Content-Type"] == "text/markdown"
    assert metadata.get_payload().startswith(f"# {package}\n"), "the package README as the long description"
    core = [Requirement(line) for line in metadata.get_all("Requires-Dist", []) if line.startswith("octotp-core")]
    if package in bump_version.FRAMEWORK_PACKAGES:
        assert core, f"{package}'s wheel does not require octotp-core"
        assert {str(requirement.specifier) for requirement in core} == {
            str(SpecifierSet(bump_version.core_range(VERSION)))
        }
    else:
        assert core == []


@pytest.mark.timeout(300)
def test_the_wheels_alone_install_into_a_clean_venv_and_pass_the_smoke_test(dist: Path, tmp_path: Path) -> None:
    """Only the five wheels are given to the installer (no checkout, no index holds octotp): their
    third-party dependencies come from the package index. ``smoke.py`` then runs isolated (``-I``:
    not even its own directory on ``sys.path``) from an empty directory."""
    import uv

    uv_bin = uv.find_uv_bin()
    venv = tmp_path / "venv"
    subprocess.run([uv_bin, "venv", "--quiet", "--python", sys.executable, str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    wheels = [str(dist / wheel_name(package)) for package in PACKAGES]
    installed = subprocess.run(
        [uv_bin, "pip", "install", "--quiet", "--python", str(python), *wheels],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert installed.returncode == 0, installed.stderr
    work = tmp_path / "work"
    work.mkdir()
    smoke = subprocess.run(
        [str(python), "-I", str(SMOKE), VERSION, str(work)], cwd=work, capture_output=True, text=True, timeout=240
    )
    assert smoke.returncode == 0, smoke.stdout + smoke.stderr
    assert smoke.stdout.splitlines()[-1] == f"smoke: passed ({len(PACKAGES)} packages at {VERSION})", smoke.stdout
