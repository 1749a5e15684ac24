"""Which Markdown files are tested, and how Sybil parses them.

Every fenced block in the root README, ``packages/*/README.md`` and ``docs/**/*.md`` is an example:
its language picks the runner (``RUNNERS``), ``<!-- skip: next "why" -->`` (Sybil's skip syntax)
skips the next one, and ``<!-- invisible-code-block: LANG ... -->`` runs code the reader does not
see. ``fence_census`` lists every fence independently of the parsers, so a block that no parser
picks up (an unknown language, no language at all) is found by the guard test.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from sybil import Document, Example, Region, Sybil
from sybil.parsers.markdown import CodeBlockParser, SkipParser
from sybil.parsers.markdown.lexers import RawFencedCodeBlockLexer
from sybil.typing import Parser

from . import runners

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = Path(__file__).resolve().parent / "samples"

#: fence language -> runner. ``text`` is an explicit "not code" (a synopsis, an output sample):
#: collected and reported as a skip, like ``<!-- skip: next -->``.
RUNNERS = {
    "python": runners.run_python,
    "sh": runners.run_shell,
    "bash": runners.run_shell,
    "console": runners.run_console,
    "js": runners.run_node,
    "javascript": runners.run_node,
    "json": runners.check_config,
    "toml": runners.check_config,
    "ini": runners.check_config,
    "yaml": runners.check_config,
    "yml": runners.check_config,
    "text": runners.show_only,
}

#: A ``<!-- skip: next -->`` without a reason still skips, and says that it has none.
NO_REASON = 'no reason given: write <!-- skip: next "why" -->'


def documents(root: Path = ROOT) -> list[Path]:
    """The documents whose examples run: the root README, each package's README, the docs site."""
    found = [root / "README.md", *sorted(root.glob("packages/*/README.md")), *sorted(root.glob("docs/**/*.md"))]
    return [path for path in found if path.is_file()]


def document_id(path: Path) -> str:
    """``README.md``, ``packages/octotp-flask/README.md``, ``docs/guide.md``; samples by their path too."""
    try:
        return path.relative_to(ROOT).as_posix()
    except ValueError:
        return path.as_posix()


class ReasonedSkipParser(SkipParser):
    """Sybil's skip parser; a skip without a reason gets one saying so, so every skip is reported."""

    def __call__(self, document: Document) -> Iterator[Region]:
        for region in super().__call__(document):
            action, reason = region.parsed
            if action in ("next", "start") and not reason:
                region.parsed = (action, repr(NO_REASON))
            yield region


class FenceParser(CodeBlockParser):
    """Sybil's Markdown code-block parser, matching the first word of the info string, so that
    attributes (MkDocs Material's ```` ```python title="app.py" ````) do not hide a block."""

    def __call__(self, document: Document) -> Iterator[Region]:
        for region in self.lexers(document):
            words = str(region.lexemes["arguments"]).split()
            if words and words[0] == self.language:
                region.parsed = region.lexemes["source"]
                region.evaluator = self._evaluator
                yield region


class UnknownFenceParser:
    """Every other fence (an unknown language, or none) is an example too, one that fails unless
    it is skipped: so ``<!-- skip: next -->`` before it skips that block and not the next one."""

    def __init__(self) -> None:
        self.lexer = RawFencedCodeBlockLexer(info_pattern=re.compile(r"(?P<arguments>[^\n]*)$\n", re.MULTILINE))

    def __call__(self, document: Document) -> Iterator[Region]:
        for region in self.lexer(document):
            words = str(region.lexemes["arguments"]).split()
            if not words or words[0] not in RUNNERS:
                region.parsed = region.lexemes["source"]
                region.evaluator = runners.no_runner
                yield region


def make_sybil() -> Sybil:
    """One Sybil for every document: the skip parser, one code-block parser per language, and one
    for every other fence."""
    parsers: list[Parser] = [ReasonedSkipParser()]
    parsers += [FenceParser(language, runner) for language, runner in RUNNERS.items()]
    parsers.append(UnknownFenceParser())
    return Sybil(parsers=parsers)


SYBIL = make_sybil()


def parse(path: Path) -> Document:
    """The document's examples, in order (one namespace per document)."""
    return SYBIL.parse(path)


def example_id(example: Example) -> str:
    """``README.md:13``: the document and the line the example starts on."""
    return f"{document_id(Path(example.path))}:{example.line}"


def is_skip(example: Example) -> bool:
    return isinstance(example.region.parsed, tuple)


def skipped(examples: list[Example]) -> set[int]:
    """Start offsets of the code examples a skip directive covers (``next``, or ``start``..``end``)."""
    covered: set[int] = set()
    mode = None
    for example in examples:
        if is_skip(example):
            mode = {"next": "next", "start": "block"}.get(example.region.parsed[0])
        elif mode:
            covered.add(example.start)
            if mode == "next":
                mode = None
    return covered


@dataclass(frozen=True)
class Fence:
    """A fenced block as Markdown sees it, whatever its language."""

    line: int
    start: int
    info: str


def fence_census(document: Document) -> list[Fence]:
    """Every fenced block of the document (including those inside lists and block quotes)."""
    lexer = RawFencedCodeBlockLexer(info_pattern=re.compile(r"(?P<info>[^\n]*)$\n", re.MULTILINE))
    return [
        Fence(document.text.count("\n", 0, region.start) + 1, region.start, region.lexemes["info"].strip())
        for region in lexer(document)
    ]
