"""The runner itself: a sample where every kind of block runs, and one where every block must fail."""

from __future__ import annotations

import shutil
import sys
import unittest
from pathlib import Path

import pytest
from sybil.example import SybilFailure

from . import documents
from .run import Runtime, serve_command
from .sequence import Sequence, finish, run_example


@pytest.fixture
def runtime(tmp_path: Path) -> Runtime:
    return Runtime(tmp_path)


def outcomes(runtime: Runtime, sequence: Sequence) -> dict[int, str]:
    """line -> "passed", "skipped: reason" or "failed: message", for every example of the document."""
    seen = {}
    for index, example in enumerate(sequence.examples):
        try:
            run_example(runtime, sequence, index)
        except unittest.SkipTest as skip:
            seen[example.line] = f"skipped: {skip}"
        except Exception as exc:
            seen[example.line] = f"failed: {exc}"
        else:
            seen[example.line] = "passed"
    return seen


def test_every_kind_of_block_runs(runtime: Runtime) -> None:
    sequence = Sequence.parse(documents.SAMPLES / "runs.md")
    try:
        seen = outcomes(runtime, sequence)
        run = runtime.begin(sequence.document.path)
        assert run.server is not None, "the sample's sh block should have started the document's server"
        # the server is what `tox -e serve` runs, from this environment
        argv = list(run.server.args)  # type: ignore[arg-type]
        assert argv[0] == shutil.which(serve_command()[0], path=str(Path(sys.executable).parent))
        assert argv[1:2] == serve_command()[1:]
        apps = list(run.apps)
        problems = finish(runtime, sequence)
    finally:
        runtime.close()
    code = {line: outcome for line, outcome in seen.items() if not outcome.startswith("skipped")}
    assert all(outcome == "passed" for outcome in code.values()), code
    skips = sorted(outcome for outcome in seen.values() if outcome.startswith("skipped"))
    assert skips == [
        "skipped: ```text: shown, not run (a synopsis or output)",
        f"skipped: {documents.NO_REASON}",
        "skipped: shows a failure on purpose",
    ]
    assert len(apps) == 1, "the Flask app should be remembered for the closing check"
    assert problems == []


def test_every_broken_block_fails(runtime: Runtime) -> None:
    sequence = Sequence.parse(documents.SAMPLES / "broken.md")
    try:
        seen = outcomes(runtime, sequence)
        problems = finish(runtime, sequence)
    finally:
        runtime.close()
    messages = list(seen.values())
    assert len(messages) == 9
    assert messages.pop(7) == "passed"  # it builds the app; the closing check requests it
    not_failed = [outcome for outcome in messages if not outcome.startswith("failed")]
    assert not not_failed, f"these examples should have failed: {not_failed}"
    assert "arithmetic" in messages[0]
    assert "bash exited with 1" in messages[1]
    assert "never reached" not in messages[1]
    assert "bash exited with 3" in messages[2]
    assert "broken on purpose" in messages[3]
    assert "invalid json" in messages[4]
    assert "invalid yaml" in messages[5]
    assert "invalid octotp settings" in messages[6]
    assert "code_length" in messages[6]
    assert "manage.py check exited" in messages[7]
    assert "include" in messages[7]
    assert problems == ["Flask app 'docs_example': GET /healthz answered 503"]


def test_a_failure_names_the_document_and_line(runtime: Runtime) -> None:
    sequence = Sequence.parse(documents.SAMPLES / "broken.md")
    try:
        with pytest.raises(SybilFailure, match=r"broken\.md, line 7, column 1"):
            run_example(runtime, sequence, 1)
    finally:
        runtime.close()
