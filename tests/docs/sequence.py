"""Running a document's examples in order, one pytest test each.

A test asks for example N; any earlier example of the same document that has not run yet runs
first (so ``-k 'README.md:25'`` still sees the namespace and variables the earlier blocks made), and
the document's closing test (``:end``) requests the apps its blocks built, then stops its server.
"""

from __future__ import annotations

import unittest
from dataclasses import dataclass, field
from pathlib import Path

from sybil import Document, Example

from . import documents
from .run import Runtime


@dataclass
class Sequence:
    """One parsed document and how far its examples have run."""

    document: Document
    examples: list[Example]
    done: int = 0
    failures: list[str] = field(default_factory=list)

    @classmethod
    def parse(cls, path: Path) -> Sequence:
        document = documents.parse(path)
        return cls(document, list(document.examples()))

    @property
    def id(self) -> str:
        return documents.document_id(Path(self.document.path))


def evaluate(example: Example) -> None:
    __tracebackhide__ = True
    example.evaluate()


def run_example(runtime: Runtime, sequence: Sequence, index: int) -> None:
    """Run the document's examples up to ``index`` (earlier ones quietly), raising for ``index``'s."""
    __tracebackhide__ = True
    runtime.begin(sequence.document.path)
    while sequence.done < index:
        earlier = sequence.examples[sequence.done]
        sequence.done += 1
        try:
            evaluate(earlier)
        except unittest.SkipTest:
            pass
        except Exception as exc:
            sequence.failures.append(f"{documents.example_id(earlier)}: {exc}")
    sequence.done = max(sequence.done, index + 1)
    evaluate(sequence.examples[index])


def finish(runtime: Runtime, sequence: Sequence) -> list[str]:
    """After the last example: what the document's apps answer; then its server stops."""
    if sequence.done < len(sequence.examples):
        try:
            run_example(runtime, sequence, len(sequence.examples) - 1)
        except unittest.SkipTest:
            pass
        except Exception as exc:
            sequence.failures.append(str(exc))
    run = runtime.begin(sequence.document.path)
    try:
        return run.check_apps()
    finally:
        runtime.end(sequence.document.path)
