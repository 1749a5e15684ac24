"""A host FastAPI app with octotp's router under ``/octotp``, its settings from ``OCTOTP_*``: what
``test_host_schemathesis`` serves with uvicorn in a process of its own (``ServeProcess(app=...)``)."""

from __future__ import annotations

from fastapi import FastAPI

from octotp_core import Octotp, Settings
from octotp_fastapi import install


def app() -> FastAPI:
    """The host app (``uvicorn --factory tests.fastapi.fuzz_host:app``)."""
    host = FastAPI(title="host")
    install(host, Octotp(Settings()), prefix="/octotp")
    return host
