"""The state of one document while its examples run: a temp working directory and HOME, the
environment its blocks export, its live ``octotp serve``, its Django project and the apps it built.

The server is what the README's first command runs (``tox -e serve``: the ``[testenv:serve]``
command of tox.ini, read from there), on a free port, with a fresh HOME, so its data lives in
``~/.local/share/octotp`` of that HOME exactly as for a new user, and the ``octotp`` commands of the
document's blocks (the same environment's executables first on ``PATH``) find the same database.
"""

from __future__ import annotations

import configparser
import contextlib
import os
import shlex
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sybil import Example

from octotp_core.testing.servers import clean_environment, free_port, wait_until_healthy

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
STARTUP_SECONDS = 90.0
COMMAND_SECONDS = 120.0
#: what bash adds to every environment; not a document's export
SHELL_NOISE = frozenset({"_", "SHLVL", "PWD", "OLDPWD", "OCTOTP_DOCS_ENV_OUT", "BASH_FUNC"})

_RUNS: dict[str, DocumentRun] = {}


def run_for(example: Example) -> DocumentRun:
    """The running state of the example's document (``Runtime.begin`` made it)."""
    return _RUNS[example.path]


def serve_command(tox_ini: Path = ROOT / "tox.ini") -> list[str]:
    """What ``python -m tox -e serve`` runs, without posargs: ``[testenv:serve]``'s command."""
    config = configparser.ConfigParser(interpolation=None)
    config.read(tox_ini)
    command = config["testenv:serve"]["commands"].strip()
    # tox substitutes {posargs:DEFAULT} with DEFAULT when no positional arguments are given
    expanded = command.replace("{posargs:serve}", "serve")
    if "{" in expanded:
        raise ValueError(f"unexpected substitution in [testenv:serve] commands: {command!r}")
    return shlex.split(expanded)


class DocumentRun:
    """One document's working directory, HOME, exported variables, server and Django project."""

    def __init__(self, path: str, base: Path) -> None:
        self.path = path
        self.cwd = base / "work"
        self.home = base / "home"
        self.scratch = base / "scratch"
        for directory in (self.cwd, self.home, self.scratch):
            directory.mkdir(parents=True)
        # A checkout's serve environment, as the root README's second-terminal commands expect it.
        (self.cwd / ".tox").mkdir()
        (self.cwd / ".tox" / "serve").symlink_to(Path(sys.prefix), target_is_directory=True)
        self.env = clean_environment(
            {
                "HOME": str(self.home),
                "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}",
                "PYTHONDONTWRITEBYTECODE": "1",
            }
        )
        self.env.pop("VIRTUAL_ENV", None)
        self.env.pop("DJANGO_SETTINGS_MODULE", None)
        self.server: subprocess.Popen[bytes] | None = None
        self.url: str | None = None
        self.django_project = False
        self.apps: list[Any] = []

    # -- files and commands --------------------------------------------------------------------
    def save(self, name: str, text: str) -> Path:
        target = self.cwd / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text if text.endswith("\n") else text + "\n")
        return target

    def append(self, name: str, text: str) -> None:
        target = self.cwd / name
        with target.open("a") as handle:
            handle.write("\n" + text + "\n")

    def command(self, argv: list[str], extra_env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        """``argv`` in the document's directory and environment (no stdin, a time limit), in a process
        group of its own: whatever it left running (a ``&`` job, a server) is stopped when it returns."""
        env = {**self.env, **(extra_env or {})}
        process = subprocess.Popen(
            argv,
            cwd=self.cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        try:
            out, err = process.communicate(timeout=COMMAND_SECONDS)
        except subprocess.TimeoutExpired:
            stop_group(process.pid, signal.SIGKILL)
            out, err = process.communicate()
            err += f"\n(timed out after {COMMAND_SECONDS:.0f} s)"
        stop_group(process.pid, signal.SIGTERM)
        return subprocess.CompletedProcess(argv, process.returncode, out, err)

    def take_exports(self, env_dump: str) -> None:
        """The environment a shell block ended with becomes the document's (minus bash's own)."""
        exported = dict(item.split("=", 1) for item in env_dump.split("\0") if "=" in item)
        self.env = {k: v for k, v in exported.items() if k not in SHELL_NOISE and not k.startswith("BASH_FUNC_")}

    # -- the live server -----------------------------------------------------------------------
    def server_url(self) -> str:
        """The document's ``octotp serve``, started on first use."""
        if self.url is None:
            port = free_port()
            program, *arguments = serve_command()
            executable = shutil.which(program, path=str(BIN)) or program
            argv = [executable, *arguments, "--host", "127.0.0.1", "--port", str(port)]
            log = self.scratch / "serve.log"
            with log.open("wb") as out:
                self.server = subprocess.Popen(
                    argv,
                    cwd=self.cwd,
                    env=self.env,
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            self.url = f"http://127.0.0.1:{port}"
            wait_until_healthy(self.url, self.server, log, STARTUP_SECONDS)
        return self.url

    # -- Django ---------------------------------------------------------------------------------
    def ensure_django_project(self) -> None:
        """``django-admin startproject mysite .``, as a new Django user starts."""
        if not self.django_project:
            result = self.command([str(BIN / "django-admin"), "startproject", "mysite", "."])
            if result.returncode != 0:
                raise RuntimeError(f"django-admin startproject failed: {result.stderr}")
            self.django_project = True

    # -- apps the python blocks built ------------------------------------------------------------
    def note_apps(self, namespace: dict[str, Any]) -> None:
        """Remember every Flask or FastAPI app in the namespace; ``check_apps`` requests them."""
        for value in list(namespace.values()):
            if app_kind(value) and all(value is not seen for seen in self.apps):
                self.apps.append(value)

    def check_apps(self) -> list[str]:
        """Each app with octotp mounted answers its ``/healthz`` through the framework's test client."""
        problems = []
        for app in self.apps:
            check = APP_CHECKS[app_kind(app)]
            problem = check(app, self)
            if problem:
                problems.append(problem)
        return problems

    def close(self) -> None:
        if self.server is not None and self.server.poll() is None:
            self.server.terminate()
            try:
                self.server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                stop_group(self.server.pid, signal.SIGKILL)
                self.server.wait()
        self.server = None


def stop_group(pgid: int, sig: signal.Signals) -> None:
    """Signal what is left of a command's own process group (nothing else has that group)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def app_kind(value: Any) -> str | None:
    cls = type(value)
    names = {f"{klass.__module__}.{klass.__qualname__}" for klass in cls.__mro__}
    if "flask.app.Flask" in names:
        return "flask"
    if "fastapi.applications.FastAPI" in names:
        return "fastapi"
    return None


def check_flask(app: Any, run: DocumentRun) -> str | None:
    if "octotp" not in app.extensions or not app.config.get("OCTOTP_REGISTER_BLUEPRINT", True):
        return None
    path = "/" + str(app.config.get("OCTOTP_URL_PREFIX") or "").strip("/") + "/healthz"
    path = path.replace("//", "/")
    from .runners import inside

    with inside(run):
        response = app.test_client().get(path)
    if response.status_code != 200:
        return f"Flask app {app.import_name!r}: GET {path} answered {response.status_code}"
    return None


def check_fastapi(app: Any, run: DocumentRun) -> str | None:
    paths = [route.path for route in app.routes if getattr(route, "name", None) == "octotp_health"]
    if not paths:
        return None
    from fastapi.testclient import TestClient

    from .runners import inside

    with inside(run), TestClient(app) as client:
        response = client.get(paths[0])
    if response.status_code != 200:
        return f"FastAPI app: GET {paths[0]} answered {response.status_code}"
    return None


APP_CHECKS: dict[str | None, Callable[[Any, DocumentRun], str | None]] = {
    "flask": check_flask,
    "fastapi": check_fastapi,
}


class Runtime:
    """Every document run of a test session; ``begin`` one before evaluating its examples."""

    def __init__(self, base: Path) -> None:
        self.base = base

    def begin(self, path: str) -> DocumentRun:
        if path not in _RUNS:
            _RUNS[path] = DocumentRun(path, self.base / f"doc{len(_RUNS)}")
        return _RUNS[path]

    def end(self, path: str) -> None:
        run = _RUNS.get(path)
        if run is not None:
            run.close()

    def close(self) -> None:
        for path in list(_RUNS):
            self.end(path)
            del _RUNS[path]
