"""How to run this same ``octotp`` again from another terminal (what the server's hints print)."""

from __future__ import annotations

import os
import shlex
import shutil
import sys
from pathlib import Path


def console_script() -> Path:
    """The ``octotp`` console script installed next to the running interpreter (it may not exist)."""
    return Path(sys.executable).parent / ("octotp.exe" if os.name == "nt" else "octotp")


def octotp_command() -> str:
    """A shell command that runs this same ``octotp`` (same installation) from another terminal.

    Plain ``octotp`` only when that is what a new shell finds on its PATH: never under tox (which
    puts its env's ``bin`` first on the PATH of the command it runs, while the user's own shell does
    not have it) or in an activated virtualenv (a second terminal is not activated). Otherwise the
    console script's absolute path, e.g. ``/home/me/octotp/.tox/serve/bin/octotp``: it works from any
    directory, while the server runs (``tox -e serve -- ...`` would wait for the running tox's lock).
    """
    script = console_script()
    if not script.exists():
        return f"{shlex.quote(sys.executable)} -m octotp_core.cli"
    inherited_path = "TOX_ENV_DIR" in os.environ or "VIRTUAL_ENV" in os.environ
    found = shutil.which("octotp")
    if not inherited_path and found is not None and Path(found).resolve() == script.resolve():
        return "octotp"
    return shlex.quote(str(script.absolute()))
