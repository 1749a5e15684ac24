"""The four primitives each store provides for the statements written once in core (run one
statement, read rows, insert or ``Conflict``, run several statements in one transaction), and a
fifth for claiming rows (read candidates, then claim each with a conditional update, in one
transaction). ``ConsoleStoreMixin`` and ``JobStoreMixin`` write their methods on them."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

Step = tuple[Any, Mapping[str, Any]]


class StatementRunner:
    """The primitives a store class defines (SQLAlchemy connections, Django's cursors)."""

    # -- primitives (each store) -------------------------------------------------------------
    def _run_write(self, statement: Any, params: Mapping[str, Any]) -> int:
        """Run one writing statement; its row count."""
        raise NotImplementedError

    def _run_rows(self, statement: Any, params: Mapping[str, Any]) -> list[Sequence[Any]]:
        """Every row a select returns, converted as the store reads values."""
        raise NotImplementedError

    def _run_insert(self, statement: Any, params: Mapping[str, Any], conflict: str) -> None:
        """Run an insert; ``Conflict(conflict)`` when it breaks a unique constraint."""
        raise NotImplementedError

    def _run_transaction(self, steps: Sequence[Step], *, first_must_change: bool = False) -> list[int] | None:
        """Run the steps in one transaction; their row counts. With ``first_must_change``, roll back and
        return None when the first step changes no row."""
        raise NotImplementedError

    def _run_claim(
        self,
        candidates: Any,
        params: Mapping[str, Any],
        claim: Any,
        claim_params: Callable[[Sequence[Any]], Mapping[str, Any]],
    ) -> list[Sequence[Any]]:
        """In one transaction: read ``candidates`` (locking them where the statement says so), then
        run ``claim`` with ``claim_params(row)`` for each; the rows whose claim changed one row."""
        raise NotImplementedError
