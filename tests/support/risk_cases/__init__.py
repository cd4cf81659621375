"""The risk rules' test cases: a positive and a negative case per rule and dialect.

Cases for the rules of every engine live in ``general``; each engine's own rules have theirs in
the module named after it. ``tests/unit/test_risk.py`` runs them all and checks that every
rule of the catalogue has both kinds of case on every dialect it covers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from lamina.engines.base import Backend, RefusedInTransaction
from lamina.errors import StatementError
from lamina.models import StatementRecord
from lamina.risk import ALL_DIALECTS, RiskReport, analyze

__all__ = ["Case", "fired", "first_refused", "report"]


def report(
    sql: tuple[str, ...] | list[str],
    dialect: str,
    *,
    direction: str = "up",
    category: str = "schema",
    up: tuple[str, ...] = (),
    **kwargs: Any,
) -> RiskReport:
    statements = [StatementRecord(s, line) for line, s in enumerate(sql, start=1)]
    return analyze(
        "001_test",
        statements,
        dialect=dialect,
        category=category,
        direction=direction,
        up_statements=[StatementRecord(s) for s in up],
        **kwargs,
    )


def fired(sql: tuple[str, ...] | list[str], dialect: str, **kwargs: Any) -> list[str]:
    """The rule ids of every finding, in order."""
    return [f.rule for f in report(sql, dialect, **kwargs).findings]


@dataclass(frozen=True)
class Case:
    """Statements of one migration, and the exact rule ids they fire (positive cases)."""

    rule: str
    sql: tuple[str, ...]
    fires: tuple[str, ...] = ()
    dialects: tuple[str, ...] = ALL_DIALECTS
    kwargs: dict[str, Any] = field(default_factory=dict)

    def label(self, dialect: str) -> str:
        return f"{self.rule}-{dialect}-{' '.join(self.sql)[:40]}"


def first_refused(
    backend: Backend, statements: Sequence[str], *, transactional: bool
) -> str | None:
    """Run ``statements`` on ``backend`` as lamina runs a migration (its session, in one
    transaction or not): the statement the engine or lamina refused, or None when all ran."""
    try:
        with backend.migration_session(lambda: statements, in_transaction=transactional):
            if transactional:
                with backend.transaction():
                    _execute_all(backend, statements)
            else:
                _execute_all(backend, statements)
    except StatementError as exc:
        return exc.sql
    except RefusedInTransaction as exc:
        return exc.statement
    return None


def _execute_all(backend: Backend, statements: Sequence[str]) -> None:
    for sql in statements:
        backend.execute(sql)
