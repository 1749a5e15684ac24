"""Every code block of the READMEs and the docs site, run: one test per block (``README.md:25``),
in document order, plus one closing test per document (``README.md:end``) that requests the apps
its blocks built. See ``runners`` for how each language runs, ``documents`` for what is collected.
"""

from __future__ import annotations

import unittest

import pytest

from . import documents
from .run import Runtime
from .sequence import Sequence, finish, run_example

SEQUENCES = [Sequence.parse(path) for path in documents.documents()]
END = -1


def cases(sequences: list[Sequence]) -> list[object]:
    """Each document's examples in order, then its closing test (which stops its server). One xdist
    group per document: its tests run in order on one worker, documents spread over the workers."""
    params: list[object] = []
    for sequence in sequences:
        group = pytest.mark.xdist_group(f"docs:{sequence.id}")
        for index, example in enumerate(sequence.examples):
            params.append(pytest.param(sequence, index, id=documents.example_id(example), marks=group))
        params.append(pytest.param(sequence, END, id=f"{sequence.id}:end", marks=group))
    return params


@pytest.mark.parametrize(("sequence", "index"), cases(SEQUENCES))
def test_example(sequence: Sequence, index: int, docs_runtime: Runtime) -> None:
    if index == END:
        problems = finish(docs_runtime, sequence)
        assert not problems, "\n".join(problems)
    else:
        try:
            run_example(docs_runtime, sequence, index)
        except unittest.SkipTest as skip:  # reported by `pytest -ra` with the block it skipped
            pytest.skip(f"{documents.example_id(sequence.examples[index])}: {skip}")
