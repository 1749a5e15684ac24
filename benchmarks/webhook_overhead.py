"""What event webhooks cost a create: in-process ``Octotp.tokens.create`` on one SQLite file for
(a) a project with no webhook endpoint, (b) a project with one endpoint taking ``token.created``
(each create also writes one webhook job; nothing is sent: no worker runs) and (c) a project
whose one endpoint takes other types only. Rounds alternate a, b, c in one process; prints the
median per-create time of each and the ratios b/a and c/a. A benchmark, not a test.

    python benchmarks/webhook_overhead.py              # 300 creates per case, 5 rounds
    python benchmarks/webhook_overhead.py --n 1000 --rounds 7
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import uuid
from pathlib import Path

from pydantic import SecretStr

from octotp_core import Octotp, Settings


def _timed(octotp: Octotp, project: str, n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        octotp.tokens.create(project, email=f"u-{uuid.uuid4().hex[:12]}@example.com")
    return (time.perf_counter() - start) / n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        settings = Settings(
            database_url=f"sqlite:///{Path(directory) / 'bench.db'}",
            secret_key=SecretStr("b" * 43),
            plans={"bench": {"creates_per_minute": 10_000_000}},
            default_plan="bench",
            recipient_send_budget="1000000/10 minutes",
        )
        octotp = Octotp(settings)
        octotp.migrate()
        cases = {}
        for name, events in (("none", None), ("subscribed", ["token.created"]), ("other", ["token.locked"])):
            project = octotp.accounts.create_project(f"bench {name}").project.id
            if events is not None:
                octotp.webhooks.create(project, "https://hooks.example.com/octotp", events=events)
            cases[name] = project
        _timed(octotp, cases["none"], 20)  # warm-up
        results: dict[str, list[float]] = {name: [] for name in cases}
        for _ in range(args.rounds):
            for name, project in cases.items():
                results[name].append(_timed(octotp, project, args.n))
        octotp.close()
    medians = {name: statistics.median(values) for name, values in results.items()}
    for name, value in medians.items():
        print(f"{name:>10}: {value * 1e6:8.0f} µs per create")
    print(f"ratio subscribed/none: {medians['subscribed'] / medians['none']:.3f}")
    print(f"ratio other/none:      {medians['other'] / medians['none']:.3f}")


if __name__ == "__main__":
    main()
