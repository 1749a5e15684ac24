"""Rotating the data directory's server secret (``octotp secret rotate`` / ``retire``).

When no ``secret_key`` is configured the secret lives in ``<data dir>/secret_key``. A rotation
writes a fresh one there and puts the old one first in ``<data dir>/secret_key_fallbacks`` (a JSON
list of ``{"secret": ..., "rotatedAt": ...}``, mode 0600), which ``Settings.secrets()`` reads after
the environment's fallbacks: what was issued under the old secret keeps verifying until it
expires. ``retire`` empties that list once nothing can still need it.

What is keyed or sealed by the server secret, and what happens to each:

- code hashes (pepper), recipient digests, idempotency fingerprints: verified under any fallback
  until they expire (codes: at most ``project_expiry_max_ceiling``; idempotency records: 24 h);
- dashboard sessions: not keyed by it (a session's digest is SHA-256 of its 256-bit random id), so
  they survive rotation and retirement; only a session's one-shot flash message is sealed, under
  the current secret alone, and a message pending across the restart is not shown;
- queued jobs' payloads (deliveries, event webhooks): sealed per job, opened under any fallback;
  a webhook job lives up to ``webhook_retry_seconds`` (24 h), a delivery until its code expires;
- event webhook endpoints' signing secrets: long-lived, so they are re-sealed under the new secret
  (``rotate`` does it, and ``retire`` again, for endpoints a not-yet-restarted process created);
- API keys, dashboard passwords and Twilio settings: not derived from or sealed with it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import secrets
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .files import make_private_dir
from .settings import Settings, check_secret, load_or_create_secret

FALLBACKS_FILE = "secret_key_fallbacks"
SECRET_FILE = "secret_key"  # noqa: S105 - a file name, not a secret


@dataclass(frozen=True)
class Fallback:
    """A retired-from-signing secret still accepted, and when it stopped being the current one."""

    secret: str
    rotated_at: dt.datetime


def read_fallbacks(data_dir: Path) -> list[Fallback]:
    """The data directory's fallback secrets, newest first ([] without the file)."""
    path = data_dir / FALLBACKS_FILE
    try:
        raw = json.loads(path.read_text())
    except FileNotFoundError:
        return []
    if not isinstance(raw, list):
        raise ValueError(f"{path} must hold a JSON list")
    return [
        Fallback(check_secret(str(item["secret"]), str(path)), dt.datetime.fromisoformat(str(item["rotatedAt"])))
        for item in raw
    ]


def _write_private(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` atomically (a complete file or the old one), mode 0600."""
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)  # 0600
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(temporary, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)


def write_fallbacks(data_dir: Path, fallbacks: list[Fallback]) -> None:
    """Store the fallbacks (an empty list removes the file)."""
    path = data_dir / FALLBACKS_FILE
    if not fallbacks:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        return
    data = [{"secret": f.secret, "rotatedAt": f.rotated_at.isoformat()} for f in fallbacks]
    _write_private(path, json.dumps(data, indent=2) + "\n")


def rotate_data_dir_secret(data_dir: Path, now: dt.datetime) -> None:
    """A new ``secret_key``, the old one first among the fallbacks. The fallbacks are written first,
    so a process starting meanwhile never lacks the secret that is still current."""
    make_private_dir(data_dir)
    old = load_or_create_secret(data_dir)
    write_fallbacks(data_dir, [Fallback(old, now), *read_fallbacks(data_dir)])
    _write_private(data_dir / SECRET_FILE, secrets.token_urlsafe(32) + "\n")


def needed_until(settings: Settings, fallback: Fallback) -> dt.datetime:
    """When nothing issued under ``fallback`` can still be in use: the longest of a code's expiry
    ceiling, the idempotency window (24 h) and a webhook job's retries, after the rotation (and the
    processes' restart, which the operator does at once). Dashboard sessions do not depend on it."""
    longest = max(settings.project_expiry_max_ceiling, 24 * 3600, settings.webhook_retry_seconds)
    return fallback.rotated_at + dt.timedelta(seconds=longest)
