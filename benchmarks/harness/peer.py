"""The peer row: django-otp's email device (``django_otp.plugins.otp_email``) in the benchmark's Django
host, behind ``POST /peer/create`` and ``POST /peer/validate`` (``benchapps.django_host.views``)."""

from __future__ import annotations

import subprocess
import sys

from .servers import BENCH_DIR, server_environ

SERVER = "django-otp"
HASHER = "plain"  # django-otp stores the token itself, not a hash of it
# The peer's cases, by the name its rows carry: the wrk script (harness.wrk.PEER_CASES) for each.
CASES = {"create": "peer-create", "validate-ok": "peer-validate-ok"}


def seed_devices(env: dict[str, str], pool: str, threads: int, per_thread: int, token: str | None = None) -> None:
    """Users ``<pool><thread>-<n>@bench.example``, each with a confirmed email device (holding ``token``,
    valid for two hours, when given), bulk-inserted through Django's ORM in a subprocess."""
    cmd = [sys.executable, "-m", "benchapps.django_host.peer_seed", pool, str(threads), str(per_thread)]
    if token:
        cmd += ["--token", token]
    result = subprocess.run(cmd, env=server_environ(env), cwd=BENCH_DIR, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"peer seeding failed:\n{result.stdout}\n{result.stderr}")
