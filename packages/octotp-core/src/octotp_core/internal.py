"""Ids octotp reserves for itself."""

from __future__ import annotations

from typing import Final

CONSOLE_PROJECT_ID: Final = "0c7e0000-c0de-4000-8000-000000000001"
"""The console's internal project: its own verification and reset codes are tokens of it. No owner,
no API key; no project list shows it and nobody configures, suspends or deletes it."""
