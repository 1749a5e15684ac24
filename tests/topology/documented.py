"""The configurations ``docs/operations/deployment.md`` shows, read from the page itself, so what a
reader copies is exactly what these tests run (a fence titled ``title="NAME"``)."""

from __future__ import annotations

import re
from pathlib import Path

DEPLOYMENT = Path(__file__).resolve().parents[2] / "docs" / "operations" / "deployment.md"


def documented_block(title: str) -> str:
    """The body of the one fenced block titled ``title`` in the deployment page."""
    fence = re.compile(r'^```\w+ title="' + re.escape(title) + r'"\n(?P<body>.*?)^```$', re.M | re.S)
    found = fence.findall(DEPLOYMENT.read_text())
    assert len(found) == 1, f"{DEPLOYMENT} should hold exactly one block titled {title!r}, found {len(found)}"
    return str(found[0])
