"""A fresh virtual environment with only what a README's install line brings (``uv``: seconds, not
the minutes pip takes), for the tests that run a package README's install line as a new user would."""

from __future__ import annotations

import subprocess
from pathlib import Path

from .conftest import unavailable

ROOT = Path(__file__).resolve().parents[1]


def fresh_venv(tmp_path: Path, install_arguments: list[str]) -> Path:
    """A new venv under ``tmp_path`` after ``pip install *install_arguments`` run from the repository
    root (third-party dependencies resolved from the package index); its Python executable."""
    try:
        import uv  # requirements/test-flask.txt installs it
    except ImportError as exc:
        unavailable(exc)
    uv_bin = uv.find_uv_bin()
    venv = tmp_path / "venv"
    subprocess.run([uv_bin, "venv", "--quiet", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    installed = subprocess.run(
        [uv_bin, "pip", "install", "--quiet", "--python", str(python), *install_arguments],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert installed.returncode == 0, installed.stderr
    return python
