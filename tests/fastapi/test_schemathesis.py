"""schemathesis against a running ``octotp serve`` (``octotp_core.testing.fuzz``): every check, the
stateful links, at least 1,000 generated requests, no server error, nothing in the server's log."""

from __future__ import annotations

import json
from pathlib import Path

from octotp_core import Octotp, Settings
from octotp_core.testing.fuzz import FUZZ_SETTINGS, FuzzTarget, run_schemathesis
from octotp_core.testing.servers import ServeProcess


def test_octotp_serve_passes_schemathesis(tmp_path: Path, test_secret: str) -> None:
    env = {"OCTOTP_DATA_DIR": str(tmp_path), "OCTOTP_SECRET_KEY": test_secret}
    env.update({f"OCTOTP_{k.upper()}": v if isinstance(v, str) else json.dumps(v) for k, v in FUZZ_SETTINGS.items()})
    with ServeProcess(env) as server:
        octotp = Octotp(Settings(data_dir=tmp_path, secret_key=test_secret, **FUZZ_SETTINGS))  # migrated by serve
        try:
            created = octotp.accounts.create_project("fuzz")
            report = run_schemathesis(FuzzTarget(server.url, created.project.id, created.api_key.secret))
        finally:
            octotp.close()
    print(f"\nschemathesis (octotp serve): {report.cases} requests, {dict(report.statuses)}")
    assert report.cases >= 1_000
    assert report.server_errors == 0
    assert "Traceback" not in server.output()
    assert "Application shutdown complete" in server.output()
