"""Nothing escapes the runner: every fenced block of every tested document is run or explicitly
skipped, and the two README commands that cannot run inside the tests (they start the server and
the test suite) are pinned to what does run them."""

from __future__ import annotations

import itertools
import re
import shlex
from pathlib import Path

import pytest
from sybil import Document

from . import documents
from .run import serve_command

README = documents.ROOT / "README.md"
TEST_COMMAND = 'python -m pip install -q "tox>=4.20" && python -m tox -e ci,lowest,release'
SERVE_COMMAND = 'python -m pip install -q "tox>=4.20" && python -m tox -e serve'


def unrun_blocks(document: Document) -> list[str]:
    """``path:line: ```info``` `` for each fence that neither a runner nor a skip directive covers."""
    examples = list(document.examples())
    run = {example.start for example in examples if example.region.evaluator in documents.RUNNERS.values()}
    covered = run | documents.skipped(examples)
    return [
        f"{documents.document_id(Path(document.path))}:{fence.line}: ```{fence.info}```"
        for fence in documents.fence_census(document)
        if fence.start not in covered
    ]


@pytest.mark.parametrize("path", documents.documents(), ids=documents.document_id)
def test_every_block_has_a_runner(path: Path) -> None:
    unrun = unrun_blocks(documents.parse(path))
    assert not unrun, (
        "blocks no runner picks up (languages: " + ", ".join(documents.RUNNERS) + "; or mark the block "
        '`<!-- skip: next "why" -->`):\n' + "\n".join(unrun)
    )


def test_the_guard_finds_unknown_and_missing_languages() -> None:
    unrun = unrun_blocks(documents.parse(documents.SAMPLES / "unguarded.md"))
    assert [entry.split(": ", 1)[1] for entry in unrun] == ["```rust```", "``````", "```pyhton```"]


def test_the_tested_documents_include_every_readme_and_docs_page() -> None:
    found = {documents.document_id(path) for path in documents.documents()}
    assert "README.md" in found
    for package in sorted((documents.ROOT / "packages").iterdir()):
        if (package / "README.md").is_file():
            assert f"packages/{package.name}/README.md" in found
    for page in (documents.ROOT / "docs").rglob("*.md"):
        assert documents.document_id(page) in found


def skipped_block(text: str) -> tuple[str, str]:
    """(reason, source) of the README block whose source is ``text``; fails unless it is skipped."""
    examples = list(documents.parse(README).examples())
    for previous, example in itertools.pairwise(examples):
        if not documents.is_skip(example) and str(example.parsed).strip() == text:
            assert documents.is_skip(previous), f"the README block `{text}` must be marked <!-- skip: next ... -->"
            return previous.region.parsed[1], str(example.parsed).strip()
    raise AssertionError(f"no README block is exactly `{text}`")


def test_ci_runs_exactly_the_readme_test_command() -> None:
    reason, _ = skipped_block(TEST_COMMAND)
    assert ".ci/run" in reason
    lines = [line.strip() for line in (documents.ROOT / ".ci" / "run").read_text().splitlines()]
    commands = [line for line in lines if line and not line.startswith("#")]
    assert commands[-1] == TEST_COMMAND, ".ci/run's last command must be the README's test command, verbatim"


def test_the_docs_server_is_what_the_readme_serve_command_runs() -> None:
    skipped_block(SERVE_COMMAND)
    # `tox -e serve` without arguments runs [testenv:serve]'s command with its posargs default,
    # and the documents' live server (run.DocumentRun.server_url) runs that same command.
    assert serve_command() == ["octotp", "serve"]
    tox_ini = (documents.ROOT / "tox.ini").read_text()
    section = re.search(r"^\[testenv:serve\]\n(?P<body>(?:(?!^\[).*\n?)*)", tox_ini, re.MULTILINE)
    assert section is not None
    assert "-e packages/octotp-fastapi" in section.group("body"), "the serve env must install the standalone service"
    assert shlex.split(SERVE_COMMAND)[-2:] == ["-e", "serve"]


def test_a_skip_covers_the_unknown_block_it_precedes() -> None:
    sequence = list(documents.parse(documents.SAMPLES / "unguarded.md").examples())
    covered = documents.skipped(sequence)
    nginx = next(e for e in sequence if str(e.region.lexemes.get("arguments", "")).startswith("nginx"))
    after = sequence[sequence.index(nginx) + 1]
    assert nginx.start in covered
    assert after.start not in covered


@pytest.mark.xdist_group("docs:grouping")
def test_xdist_keeps_a_group_on_one_worker(request: pytest.FixtureRequest) -> None:
    """A document's blocks run in order on one worker only if xdist honours ``xdist_group``
    (pytest 9.2 with pytest-xdist 3.8 silently does not: requirements/test.txt pins pytest below it)."""
    if not getattr(request.config.option, "loadgroup", False):
        pytest.skip("run without xdist's --dist loadgroup (ci and lowest use it): one process, no group to split")
    assert request.node.nodeid.endswith("@docs:grouping"), "xdist ignored the test's xdist_group mark"


RELATIVE_LINK = re.compile(r"\]\((?![a-z][a-z0-9+.-]*:|#)([^)]+)\)")


@pytest.mark.parametrize("path", sorted(documents.ROOT.glob("packages/*/README.md")), ids=documents.document_id)
def test_package_readmes_link_nothing_relative(path: Path) -> None:
    """A package README is its PyPI description, where a link relative to the repository leads
    nowhere: it names the docs page in words instead (links to anchors and absolute URLs are fine)."""
    assert RELATIVE_LINK.findall(path.read_text()) == []


def test_the_relative_link_rule_sees_relative_links() -> None:
    text = "[a](../../docs/x.md) [b](https://example.com) [c](#section) [d](mailto:x@example.com)"
    assert RELATIVE_LINK.findall(text) == ["../../docs/x.md"]
