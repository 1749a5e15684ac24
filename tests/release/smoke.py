"""The smoke test of the released packages, run by the clean venv's own Python, isolated
(``python -I smoke.py VERSION WORKDIR``, from WORKDIR): only the wheels and their third-party
dependencies are importable, never this checkout. ``test_wheels.py`` runs it and reads its last line.

Each step proves a part of the packaging: the versions and where they were installed from, the
``octotp`` console script and its ``serve`` plugin (entry points), Alembic's migrations (core) and
Django's (octotp-django), the message templates of every locale, the dashboard's templates and CSS,
the FastAPI package's vendored Swagger UI, each adapter importing and answering, and the client
doing one create and validate over HTTP. Nothing printed holds a code, key or secret.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.resources
import json
import os
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

VERSION, WORKDIR = sys.argv[1], Path(sys.argv[2])
BIN = Path(sys.executable).parent
PACKAGES = {
    "octotp-core": "octotp_core",
    "octotp-fastapi": "octotp_fastapi",
    "octotp-flask": "octotp_flask",
    "octotp-django": "octotp_django",
    "octotp-client": "octotp_client",
}
SECRET = "release-smoke-" + "s" * 40  # a server secret for this throwaway database only
DATABASE = WORKDIR / "octotp.db"
ENV = {
    **os.environ,
    "OCTOTP_DATABASE_URL": f"sqlite:///{DATABASE}",
    "OCTOTP_SECRET_KEY": SECRET,
    "OCTOTP_DATA_DIR": str(WORKDIR / "data"),
    "OCTOTP_HASHER": "hmac",  # argon2's cost says nothing about packaging
}
os.environ.update(ENV)


STARTED = time.monotonic()


def step(name: str) -> None:
    """One line per step, so a failure's traceback follows the step it belongs to."""
    print(f"smoke: {time.monotonic() - STARTED:5.1f} s  {name}", flush=True)


def octotp(*arguments: str) -> str:
    """Run the venv's ``octotp`` console script; its stdout."""
    ran = subprocess.run([str(BIN / "octotp"), *arguments], capture_output=True, text=True, timeout=60, env=ENV)
    assert ran.returncode == 0, f"octotp {' '.join(arguments)} exited {ran.returncode}: {ran.stderr}"
    return ran.stdout


step("versions, and each package installed from its wheel")
site = Path(importlib.import_module("octotp_core").__file__ or "").parents[1]
assert site.is_relative_to(sys.prefix), f"octotp_core comes from {site}, not the venv at {sys.prefix}"
for distribution, module_name in PACKAGES.items():
    module = importlib.import_module(module_name)
    assert module.__version__ == VERSION, (distribution, module.__version__)
    assert importlib.metadata.version(distribution) == VERSION
    assert Path(module.__file__ or "").is_relative_to(site), module.__file__
    direct = json.loads(importlib.metadata.distribution(distribution).read_text("direct_url.json") or "{}")
    wheel = f"{module_name}-{VERSION}-py3-none-any.whl"
    assert direct.get("url", "").endswith("/" + wheel), f"{distribution} was not installed from {wheel}: {direct}"
    assert importlib.resources.files(module_name).joinpath("py.typed").is_file(), f"{module_name} lacks py.typed"

step("octotp --version")
assert octotp("--version").strip() == f"octotp, version {VERSION}"

step("octotp db upgrade on a new SQLite file: the Alembic migrations are packaged")
migrations = importlib.resources.files("octotp_core.migrations").joinpath("versions")
revisions = sorted(p.name.split("_")[0] for p in migrations.iterdir() if p.name.endswith(".py") and p.name[0].isdigit())
assert len(revisions) >= 10, revisions
assert "Database is at revision" in octotp("db", "upgrade")
with sqlite3.connect(DATABASE) as connection:
    tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert connection.execute("SELECT version_num FROM octotp_alembic_version").fetchall() == [(revisions[-1],)]
assert {"octotp_tokens", "octotp_projects", "octotp_jobs", "octotp_webhook_endpoints"} <= tables, tables

step("octotp serve (octotp-fastapi's plugin) starting, on the migrated database")
with socket.socket() as probe:
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
base = f"http://127.0.0.1:{port}"
log = (WORKDIR / "serve.log").open("w")
server = subprocess.Popen(  # it boots while the in-process steps below run
    [str(BIN / "octotp"), "serve", "--port", str(port), "--no-migrate"], stdout=log, stderr=subprocess.STDOUT, env=ENV
)

step("create and validate in process")
from octotp_core import Octotp, Settings  # noqa: E402

service = Octotp(Settings())  # the OCTOTP_* environment above
project = service.accounts.create_project("Release smoke").project
token = service.create_token(project.id, email="user@example.com")
assert token.code is not None
wrong = "0" * len(token.code) if token.code != "0" * len(token.code) else "1" * len(token.code)
assert not service.validate_token(project.id, email="user@example.com", code=wrong).is_valid
validation = service.validate_token(project.id, email="user@example.com", code=token.code)
assert (validation.is_valid, validation.status) == (True, "approved"), validation

step("message templates, every shipped locale")
from octotp_core.delivery import render  # noqa: E402

locales = sorted(p.name for p in importlib.resources.files("octotp_core.delivery").joinpath("templates").iterdir())
assert "en" in locales, locales
assert len(locales) >= 9, locales  # en, de, fr, es, pt, it, nl, pl, ja at least
subjects = set()
for locale in locales:
    email = render("email", "user@example.com", "042917", "Acme", 300, locale)
    sms = render("sms", "+15550100", "042917", "Acme", 300, locale)
    assert email.subject.startswith("042917")
    assert "042917" in (email.html or "")
    assert "042917" in email.body
    assert "042917" in sms.body
    subjects.add(email.subject)
assert len(subjects) == len(locales), "each locale's own words"

step("the dashboard's templates and stylesheet, through core's handler")
from octotp_core.dashboard import DashboardHandler  # noqa: E402
from octotp_core.http.messages import Request  # noqa: E402

dashboard = DashboardHandler(service)
page = dashboard.handle(Request("GET", "/login"), "/dashboard")
assert page.status == 200, page.status
assert b"<form" in page.body
assert b"/dashboard/static/dashboard.css" in page.body
css = dashboard.handle(Request("GET", "/static/dashboard.css"), "/dashboard")
assert css.status == 200
assert (css.header("content-type") or "").startswith("text/css")
assert len(css.body) > 1000

step("octotp-flask: an app answering, its dashboard rendered")
from flask import Flask  # noqa: E402

from octotp_flask import Octotp as FlaskOctotp  # noqa: E402

app = Flask(__name__)
app.config.update(OCTOTP_DATABASE_URL=ENV["OCTOTP_DATABASE_URL"], OCTOTP_SECRET_KEY=SECRET, OCTOTP_HASHER="hmac")
FlaskOctotp(app)
browser = app.test_client()
assert browser.get("/healthz").status_code == 200
login = browser.get("/dashboard/login")
assert login.status_code == 200
assert b"<form" in login.data

step("octotp-django: its migrations applied, a code created and validated on the ORM")
import django  # noqa: E402
from django.conf import settings  # noqa: E402

settings.configure(
    INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth", "octotp_django"],
    DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": str(WORKDIR / "django.db")}},
    SECRET_KEY="release-smoke-django-" + "d" * 40,
    USE_TZ=True,
    TEMPLATES=[{"BACKEND": "django.template.backends.django.DjangoTemplates", "APP_DIRS": True}],
    OCTOTP={"SECRET_KEY": SECRET, "HASHER": "hmac"},
)
django.setup()
from django.core.management import call_command  # noqa: E402
from django.db import connection as django_connection  # noqa: E402

call_command("migrate", verbosity=0)
assert "octotp_tokens" in django_connection.introspection.table_names()
from django.template.loader import get_template  # noqa: E402

from octotp_django import create_token, get_octotp, validate_token  # noqa: E402

assert get_template("octotp/admin/api_keys_created.html").origin.name.startswith(str(site))
django_project = get_octotp().accounts.create_project("Django smoke").project.id
django_token = create_token(django_project, email="user@example.com")
assert validate_token(django_project, email="user@example.com", code=django_token.code).is_valid

step("octotp serve answering: its Swagger UI files, and octotp-client over HTTP")
from octotp_client import OctotpClient  # noqa: E402
from octotp_fastapi.apidocs import assets_path  # noqa: E402

try:
    deadline = time.monotonic() + 60
    while True:
        assert server.poll() is None, f"octotp serve exited {server.returncode}: {(WORKDIR / 'serve.log').read_text()}"
        try:
            with urllib.request.urlopen(f"{base}/healthz", timeout=2) as answer:  # noqa: S310 (our own loopback server)
                if answer.status == 200:
                    break
        except OSError:
            assert time.monotonic() < deadline, "octotp serve did not answer /healthz within 60 s"
            time.sleep(0.2)
    for path, kind in (
        ("/docs", "text/html"),
        (assets_path() + "/swagger-ui.css", "text/css"),
        (assets_path() + "/swagger-ui-bundle.js", "text/javascript"),
        ("/dashboard/static/dashboard.css", "text/css"),
    ):
        with urllib.request.urlopen(base + path, timeout=10) as answer:  # noqa: S310
            assert answer.status == 200, path
            assert answer.headers["content-type"].startswith(kind), (path, answer.headers["content-type"])
    created = service.accounts.create_project("Client smoke")
    with OctotpClient(created.api_key.secret, base, project_id=created.project.id) as client:
        remote = client.create_token(email="user@example.com")
        assert remote.code is not None
        assert client.validate_token(email="user@example.com", code=remote.code).is_valid
finally:
    server.terminate()
    server.wait(timeout=30)
    log.close()

print(f"smoke: passed ({len(PACKAGES)} packages at {VERSION})")
