"""Files octotp creates on disk (the data directory, the generated secret, the SQLite database) are
private to the user running it: they hold the pepper, password hashes and dashboard sessions."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path


def make_private_dir(path: Path) -> None:
    """Create ``path`` (and missing parents) if it does not exist, the directory itself mode 0700.

    An existing directory keeps its mode: it is the operator's, and may be shared on purpose.
    """
    path.mkdir(mode=0o700, parents=True, exist_ok=True)


def create_private_file(path: Path) -> None:
    """Create ``path`` empty with mode 0600 unless it exists (an existing file is left as it is).

    SQLite creates a database file 0644 (less the umask) on first connect, and gives its ``-wal``,
    ``-shm`` and ``-journal`` siblings the mode of the database file; so creating the empty file
    first, 0600, makes all of them private whatever the umask. An empty file is a valid empty
    SQLite database.
    """
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
