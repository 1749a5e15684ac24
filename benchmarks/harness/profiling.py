"""Optional sampling profiles of the server while a case runs (py-spy, ``--profile``).

py-spy writes collapsed stacks; ``summarise`` turns them into the top functions by self and by
inclusive time, which is what the closing note of a run needs.
"""

from __future__ import annotations

import collections
import shutil
import subprocess
from pathlib import Path


class PySpy:
    """``py-spy record`` on a server's whole process tree for the duration of a case."""

    def __init__(self, pid: int, output: Path, seconds: float) -> None:
        exe = shutil.which("py-spy")
        if exe is None:
            raise SystemExit("--profile needs py-spy (pip install py-spy)")
        self.output = output
        self.proc = subprocess.Popen(
            [
                exe, "record", "--pid", str(pid), "--subprocesses", "--nonblocking", "--idle",
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


def _frame_name(frame: str) -> str:
    # "function (path/to/module.py:123)" -> "function (module.py)"
    name, _, where = frame.partition(" (")
    file = where.rsplit("/", 1)[-1].split(":", 1)[0]
    return f"{name} ({file})" if file else name


def summarise(path: Path, top: int = 25) -> str:
    """Top functions by self samples and by inclusive samples, from py-spy's collapsed output."""
    own: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    total = 0
    idle_names = ("wait (threading.py)", "select (selectors.py)", "_worker (thread.py)", "accept (socket.py)")
    for line in path.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack:
            continue
        count = int(count_text)
        frames = [_frame_name(f) for f in stack.split(";")[1:]]  # drop the process/thread label
        if not frames or any(frames[-1].startswith(n) for n in idle_names):
            continue
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
