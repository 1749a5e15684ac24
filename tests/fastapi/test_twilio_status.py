"""Twilio's status callbacks over real HTTP to the standalone FastAPI app (uvicorn), signed by the
test Twilio as Twilio signs them for the public URL, forwarded as a proxy forwards them."""

from __future__ import annotations

from pathlib import Path

from octotp_core import Octotp, Settings
from octotp_core.testing.servers import ThreadedUvicorn
from octotp_core.testing.twilio_callbacks import STATUS_PATH, check_status_callbacks
from octotp_core.testing.twilio_server import TwilioServer
from octotp_fastapi import create_app


def test_status_callbacks_reach_the_standalone_app(tmp_path: Path, test_secret: str) -> None:
    twilio = TwilioServer().start()
    settings = Settings(
        data_dir=tmp_path,
        secret_key=test_secret,
        delivery_mode="queue",
        **twilio.delivery_settings(status_callback_url="https://verify.example.com" + STATUS_PATH),
    )
    core = Octotp(settings)
    core.migrate()
    try:
        with ThreadedUvicorn(create_app(octotp=core)) as server:
            check_status_callbacks(server.url, core, twilio, "+14155550120")
    finally:
        core.close()
        twilio.stop()
