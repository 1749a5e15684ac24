"""Optional sampling profiles of the server while a case runs (py-spy, ``--profile``).

py-spy writes collapsed stacks; ``summarise`` turns them into the top functions by self and by
inclusive time, which is what the closing note of a run needs.
"""

from __future__ import annotations

import collections
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path


class PySpy:
    """``py-spy record`` on a server's whole process tree for the duration of a case."""

    def __init__(self, pid: int, output: Path, seconds: float) -> None:
        exe = shutil.which("py-spy", path=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
        if exe is None:
            raise SystemExit("--profile needs py-spy (pip install py-spy)")
        self.output = output
        self.proc = subprocess.Popen(
            [
                exe, "record", "--pid", str(pid), "--subprocesses", "--nonblocking", "--gil",
                "--rate", "250", "--format", "raw", "--duration", str(max(1, round(seconds))),
                "--output", str(output),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip

    def wait(self) -> None:
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.terminate()
            self.proc.wait()


_FRAME = re.compile(r"^(?P<name>.+) \((?P<file>[^()]+?)(?::\d+)?\)$")


def _frames(stack: str) -> list[str]:
    """``function (module.py)`` for each Python frame; process labels (which may contain ``;``) dropped."""
    frames = []
    for part in stack.split(";"):
        match = _FRAME.match(part)
        if match and not part.startswith("process "):
            frames.append(f"{match['name']} ({match['file'].rsplit('/', 1)[-1]})")
    return frames


def summarise(path: Path, top: int = 30) -> str:
    """Top functions by self samples and by inclusive samples, from py-spy's collapsed output
    (samples of the thread holding the GIL: where Python spends CPU; C code that releases the GIL,
    such as argon2 or a database driver waiting, is not in them)."""
    own: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        frames = _frames(stack)
        if not frames or not count_text.isdigit():
            continue
        count = int(count_text)
        total += count
        own[frames[-1]] += count
        for name in set(frames):
            inclusive[name] += count
    if not total:
        return "(no busy samples)"
    lines = [f"busy samples: {total}", "", "self time:"]
    lines += [f"  {100 * c / total:5.1f}%  {name}" for name, c in own.most_common(top)]
    lines += ["", "inclusive time:"]
    lines += [f"  {100 * c / total:5.1f}%  {name}" for name, c in inclusive.most_common(top)]
    return "\n".join(lines)
