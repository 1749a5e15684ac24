"""``manage.py octotp`` in a fresh ``startproject``, run as a user runs it (a subprocess): Django's
standard options work on octotp's command and its subcommands, wherever they stand (issue 13, trap 4)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

ZERO_ID = "00000000-0000-0000-0000-000000000000"

Manage = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture(scope="module")
def project_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``django-admin startproject mysite`` plus octotp's integration lines, migrated."""
    root = tmp_path_factory.mktemp("startproject")
    env = _env()
    subprocess.run([sys.executable, "-m", "django", "startproject", "mysite"], cwd=root, env=env, check=True)
    site = root / "mysite"
    with (site / "mysite" / "settings.py").open("a") as settings:
        settings.write(
            '\nINSTALLED_APPS += ["octotp_django"]\n'
            'OCTOTP = {"HASHER": "hmac"}\n'
            'EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"\n'
        )
    with (site / "mysite" / "urls.py").open("a") as urls:
        urls.write('\nfrom django.urls import include\nurlpatterns += [path("", include("octotp_django.urls"))]\n')
    # Another settings module, to tell --settings apart from manage.py's default.
    (site / "mysite" / "gold_settings.py").write_text(
        'from .settings import *  # noqa: F403\nOCTOTP = {"PLANS": {"gold": {"CREATES_PER_MINUTE": 5}}, '
        '"DEFAULT_PLAN": "gold"}\n'
    )
    # Production-like settings: DEBUG off makes the per-process rate-limit storage a warning (octotp.W001).
    (site / "mysite" / "production_settings.py").write_text("from .settings import *  # noqa: F403\nDEBUG = False\n")
    (site / "mysite" / "typo_settings.py").write_text(
        'from .settings import *  # noqa: F403\nOCTOTP = {"CODE_LENGHT": 8, "DATABASE_UR": "x"}\n'
    )
    subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], cwd=site, env=env, check=True)
    return site


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE" and not k.startswith("OCTOTP_")}
    env["PYTHONPATH"] = ""  # only what manage.py (and --pythonpath) put on the path
    return env


@pytest.fixture
def manage(project_dir: Path) -> Manage:
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=project_dir,
            env=_env(),
            capture_output=True,
            text=True,
            timeout=120,
        )

    return run


def _created_plan(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stderr
    return str(json.loads(result.stdout)["plan"])


def test_settings_after_the_subcommand_and_before_it(manage: Manage) -> None:
    after = manage("octotp", "projects", "create", "Gold", "--json", "--settings", "mysite.gold_settings")
    assert _created_plan(after) == "gold"
    before = manage("octotp", "--settings=mysite.gold_settings", "projects", "create", "Gold 2", "--json")
    assert _created_plan(before) == "gold"


def test_pythonpath_finds_a_settings_module_elsewhere(manage: Manage, tmp_path: Path) -> None:
    (tmp_path / "elsewhere_settings.py").write_text("from mysite.gold_settings import *  # noqa: F403\n")
    result = manage(
        "octotp",
        "projects",
        "create",
        "Elsewhere",
        "--pythonpath",
        str(tmp_path),
        "--settings",
        "elsewhere_settings",
        "--json",
    )
    assert _created_plan(result) == "gold"


def test_verbosity_reaches_migrate(manage: Manage) -> None:
    quiet = manage("octotp", "db", "upgrade", "-v", "0")
    verbose = manage("octotp", "db", "upgrade", "--verbosity", "2")
    assert quiet.returncode == verbose.returncode == 0, quiet.stderr + verbose.stderr
    assert quiet.stdout.splitlines() == [quiet.stdout.splitlines()[-1]]  # only octotp's own line
    assert "Database 'default' is at migration" in quiet.stdout
    assert "Running post-migrate handlers" in verbose.stdout


def test_traceback_shows_the_stack_of_an_error(manage: Manage) -> None:
    plain = manage("octotp", "keys", "list", ZERO_ID)
    assert plain.returncode == 1
    assert f"Error: no project {ZERO_ID}" in plain.stderr
    assert "Traceback" not in plain.stderr
    traced = manage("octotp", "keys", "list", ZERO_ID, "--traceback")
    assert traced.returncode == 1
    assert "Traceback (most recent call last)" in traced.stderr
    assert f"no project {ZERO_ID}" in traced.stderr


def test_skip_checks_and_colour_options(manage: Manage) -> None:
    checked = manage("octotp", "plans", "list", "--no-color", "--settings", "mysite.production_settings")
    assert checked.returncode == 0, checked.stderr
    assert "octotp.W001" in checked.stderr
    assert "free" in checked.stdout
    skipped = manage(
        "octotp", "--force-color", "plans", "list", "--skip-checks", "--settings", "mysite.production_settings"
    )
    assert skipped.returncode == 0, skipped.stderr
    assert "octotp.W001" not in skipped.stderr
    assert "free" in skipped.stdout


def test_after_a_double_dash_nothing_is_taken(manage: Manage) -> None:
    result = manage("octotp", "projects", "create", "--json", "--", "--settings")
    assert _created_plan(result) == "free"  # manage.py's own settings
    assert json.loads(result.stdout)["name"] == "--settings"


def test_help_lists_the_standard_options(manage: Manage) -> None:
    result = manage("octotp", "--help")
    assert result.returncode == 0
    assert "projects" in result.stdout
    assert "--settings" in result.stdout


def test_check_suggests_one_key(manage: Manage) -> None:
    result = manage("check", "--settings", "mysite.typo_settings")
    assert result.returncode == 1
    assert "HINT: did you mean OCTOTP['CODE_LENGTH']?" in result.stderr
    assert "known keys" not in result.stderr
    # DATABASE_URL is not octotp-django's: never suggested, the documentation is named instead
    assert "OCTOTP['DATABASE_UR']: unknown octotp setting" in result.stderr
    assert "DATABASE_URL" not in result.stderr
    assert "README" in result.stderr
