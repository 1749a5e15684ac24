"""How each kind of block runs. Every runner is a Sybil evaluator: it gets the example and returns
``None`` (passed) or a message (failed); the document's state (``DocumentRun``) is found by path.

- ``python``: executed in the document's namespace, in its working directory and environment
  (top-level ``await`` allowed, as in ``python -m asyncio``). A block whose first line is a comment
  naming a file (``# app.py``, or ``title="app.py"`` on the fence) is also saved there, so ``flask``
  and other commands of later blocks find it. Lines ending in ``# settings.py`` / ``# urls.py`` go
  into a Django project (``django-admin startproject mysite .``, made on first use) and are loaded by
  ``manage.py check``; in such a document every other python block runs inside that project
  (``manage.py shell -c``).
- ``sh``/``bash``: ``bash`` with ``set -euo pipefail``; ``console``: its ``$ `` lines, the same way.
  Variables a block exports are seen by the document's later blocks of every language.
- ``js``: ``node`` (an ES module: top-level ``await``, ``fetch``), the document's variables in ``process.env``.
- ``json``/``toml``/``ini``/``yaml``: parsed (and saved when the first line names a file).
- ``text``: not code; reported as a skip.

``http://127.0.0.1:8000`` in any block is replaced by the URL of the document's own ``octotp serve``,
started when the first block mentions it.
"""

from __future__ import annotations

import ast
import asyncio
import configparser
import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sybil import Example

from ..conftest import unavailable
from .run import DocumentRun, run_for

STANDARD_URL = "http://127.0.0.1:8000"
BLOCK_TIMEOUT = 120.0
FILE_TAG = re.compile(r"\A\s*#\s*(?P<name>[\w.-]+(?:/[\w.-]+)*\.\w+)\s*\n")
TITLE_TAG = re.compile(r"""title=["']?(?P<name>[\w./-]+\.\w+)""")
DJANGO_LINE = re.compile(r"#\s*(?P<file>settings|urls)\.py\b[^#\n]*$")


def source_of(example: Example, run: DocumentRun) -> str:
    """The block's code with the standard URL replaced by the document's live server."""
    source = str(example.parsed)
    if STANDARD_URL in source:
        source = source.replace(STANDARD_URL, run.server_url())
    return source


def file_tag(example: Example) -> str | None:
    """The file a block says it is: ``# app.py`` on its first line, or ``title="app.py"`` on its fence."""
    match = FILE_TAG.match(str(example.parsed))
    if match:
        return match.group("name")
    title = TITLE_TAG.search(str(example.region.lexemes.get("arguments", "")))
    return title.group("name") if title else None


def redact(output: str) -> str:
    """Output for a failure message, without API keys or codes (the doc's server is throwaway, still)."""
    output = re.sub(r"octotp_[A-Za-z0-9]{16,}", "octotp_<redacted>", output)
    output = re.sub(r'("code"\s*:\s*)"\d+"', r'\1"<redacted>"', output)
    output = re.sub(r"(token=)[\w-]+", r"\1<redacted>", output)
    return output[-4000:]


def failed(what: str, result: subprocess.CompletedProcess[str]) -> str | None:
    if result.returncode == 0:
        return None
    output = f"--- stdout\n{redact(result.stdout)}\n--- stderr\n{redact(result.stderr)}"
    return f"{what} exited with {result.returncode}\n{output}"


# -- python ---------------------------------------------------------------------------------------
@contextlib.contextmanager
def inside(run: DocumentRun) -> Iterator[None]:
    """The document's working directory and environment, for code run in this process."""
    saved_env, saved_cwd = dict(os.environ), os.getcwd()
    os.environ.clear()
    os.environ.update(run.env)
    os.chdir(run.cwd)
    try:
        yield
    finally:
        os.chdir(saved_cwd)
        os.environ.clear()
        os.environ.update(saved_env)


def run_python(example: Example) -> str | None:
    run = run_for(example)
    source = source_of(example, run)
    name = file_tag(example)
    if name in ("settings.py", "urls.py") or any(DJANGO_LINE.search(line) for line in source.splitlines()):
        lines = [line for line in source.splitlines() if line.strip() and not line.lstrip().startswith("#")]
        return run_django_config(run, source if name else "\n".join(lines), name)
    if name:
        run.save(name, source)
    if run.django_project:
        module = name[:-3].replace("/", ".") if name and name.endswith(".py") else None
        code = f"import {module}" if module else source
        return failed("manage.py shell", run.command([sys.executable, "manage.py", "shell", "-c", code]))
    flags = ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
    code = compile("\n" * example.line + source, example.path, "exec", flags=flags, dont_inherit=True)
    namespace = example.namespace
    namespace.setdefault("__name__", "docs_example")
    with inside(run):
        result = eval(code, namespace)  # noqa: S307 - the documentation's own example
        if asyncio.iscoroutine(result):  # top-level await, as `python -m asyncio` runs it
            asyncio.run(result)
    namespace.pop("__builtins__", None)
    run.note_apps(namespace)
    return None


def run_django_config(run: DocumentRun, source: str, name: str | None) -> str | None:
    """Add settings/urls lines to the document's Django project, then let Django load them."""
    run.ensure_django_project()
    if name in ("settings.py", "urls.py"):
        run.append(f"mysite/{name}", source)
    else:
        for line in source.splitlines():
            target = DJANGO_LINE.search(line)
            if target is None:
                return f"no `# settings.py` or `# urls.py` at the end of this line of a Django block: {line!r}"
            run.append(f"mysite/{target.group('file')}.py", line)
    return failed("manage.py check", run.command([sys.executable, "manage.py", "check"]))


# -- shells ---------------------------------------------------------------------------------------
TOOLS = ("curl", "jq")
"""Commands the shell examples may use beside bash and the packages' own (``.ci/run`` installs them)."""


def require_tools(script: str, tools: tuple[str, ...] = TOOLS) -> None:
    """Fail in CI, skip on a developer machine, when ``script`` uses a tool this machine lacks."""
    for tool in tools:
        if re.search(rf"(?<![\w.-]){tool}(?![\w.-])", script) and shutil.which(tool) is None:
            unavailable(f"`{tool}` is not installed (apt-get install -y {tool}); a docs example uses it")


def run_script(run: DocumentRun, script: str, what: str) -> str | None:
    """``script`` in bash (``set -euo pipefail``); what it exported becomes the document's environment."""
    require_tools(script)
    with tempfile.NamedTemporaryFile(dir=run.scratch, suffix=".env", delete=False) as handle:
        env_file = Path(handle.name)
    wrapped = f"set -euo pipefail\ntrap 'env -0 > \"$OCTOTP_DOCS_ENV_OUT\"' EXIT\n{script}\n"
    result = run.command(["bash", "-c", wrapped], extra_env={"OCTOTP_DOCS_ENV_OUT": str(env_file)})
    if result.returncode == 0:
        run.take_exports(env_file.read_text())
    env_file.unlink(missing_ok=True)
    return failed(what, result)


def run_shell(example: Example) -> str | None:
    run = run_for(example)
    return run_script(run, source_of(example, run), "bash")


def console_commands(source: str) -> str:
    """The commands of a console transcript: each ``$ `` line and its ``\\`` continuations."""
    commands: list[str] = []
    continuing = False
    for line in source.splitlines():
        if continuing:
            commands.append(line)
        elif line.startswith("$ "):
            commands.append(line[2:])
        else:
            continue  # output
        continuing = line.rstrip().endswith("\\")
    return "\n".join(commands)


def run_console(example: Example) -> str | None:
    run = run_for(example)
    script = console_commands(source_of(example, run))
    if not script.strip():
        return "a console block without a `$ ` command line"
    return run_script(run, script, "bash")


# -- node -----------------------------------------------------------------------------------------
def run_node(example: Example) -> str | None:
    run = run_for(example)
    if shutil.which("node") is None:
        unavailable("`node` is not installed (apt-get install -y nodejs); a docs example is JavaScript")
    script = run.save(f".docs/example-{example.line}.mjs", source_of(example, run))
    return failed("node", run.command(["node", str(script)]))


# -- configuration ----------------------------------------------------------------------------------
def parse_config(language: str, source: str) -> Any:
    if language == "json":
        return json.loads(source)
    if language == "toml":
        if sys.version_info >= (3, 11):
            import tomllib
        else:
            import tomli as tomllib  # type: ignore[import-not-found,no-redef,unused-ignore]
        return tomllib.loads(source)
    if language == "ini":
        parser = configparser.ConfigParser(interpolation=None)
        parser.read_string(source)
        return parser
    import yaml

    return yaml.safe_load(source)


def check_config(example: Example) -> str | None:
    run = run_for(example)
    language = str(example.region.lexemes["arguments"]).split()[0]
    source = source_of(example, run)
    try:
        parsed = parse_config(language, source)
    except Exception as exc:
        return f"invalid {language}: {exc}"
    problem = check_octotp_settings(parsed, run)
    if problem:
        return problem
    name = file_tag(example)
    if name:
        run.save(name, source)
    return None


def check_octotp_settings(parsed: Any, run: DocumentRun) -> str | None:
    """A mapping of octotp settings (every key a ``Settings`` field) must be valid ``Settings``."""
    from octotp_core import Settings

    if not isinstance(parsed, dict) or not parsed or not set(parsed) <= set(Settings.model_fields):
        return None
    try:
        with inside(run):
            Settings(**{"data_dir": run.scratch / "settings", **parsed})
    except Exception as exc:
        return f"invalid octotp settings: {exc}"
    return None


def no_runner(example: Example) -> str | None:
    info = str(example.region.lexemes.get("arguments", "")).strip()
    return f'no runner for ```{info}``` blocks: use a known language, or mark it <!-- skip: next "why" -->'


def show_only(example: Example) -> str | None:
    raise unittest.SkipTest("```text: shown, not run (a synopsis or output)")
