"""``scripts/bump_version.py`` (a script, not a package) loaded as a module for the tests."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "bump_version.py"

_spec = importlib.util.spec_from_file_location("bump_version", SCRIPT)
assert _spec is not None
assert _spec.loader is not None
bump_version = importlib.util.module_from_spec(_spec)
sys.modules["bump_version"] = bump_version
_spec.loader.exec_module(bump_version)
