"""The rule catalogue: each rule inspects one parsed statement or the migration as a whole.

Statement rules take a sqlglot expression and return findings; they never see raw SQL text,
so no regular expression ever decides what a statement does.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from lamina.risk.model import RiskFinding, RiskLevel

if TYPE_CHECKING:
    from sqlglot import exp

__all__ = ["STATEMENT_RULES", "data_migration", "missing_down"]


def drop_table(node: exp.Expr) -> list[RiskFinding]:
    from sqlglot import exp

    if isinstance(node, exp.Drop) and str(node.args.get("kind", "")).upper() == "TABLE":
        return [
            RiskFinding(
                "drop-table",
                RiskLevel.DANGER,
                f"drops table {_target_name(node)} and every row in it",
                "rename the table aside first, and drop it in a later release",
            )
        ]
    return []


def drop_column(node: exp.Expr) -> list[RiskFinding]:
    from sqlglot import exp

    if not isinstance(node, exp.Alter):
        return []
    table = node.this.sql() if node.this else "?"
    return [
        RiskFinding(
            "drop-column",
            RiskLevel.DANGER,
            f"drops column {table}.{_target_name(action)} and its data",
            "stop using the column first, and drop it in a later release",
        )
        for action in node.args.get("actions") or []
        if isinstance(action, exp.Drop) and str(action.args.get("kind", "")).upper() == "COLUMN"
    ]


def _target_name(node: exp.Expr) -> str:
    """The object a DROP names; sqlglot keeps it in ``this`` or, for columns, in ``tables``."""
    target = node.this or next(iter(node.args.get("tables") or []), None)
    return target.sql() if target is not None else "?"


STATEMENT_RULES: tuple[Callable[[exp.Expr], list[RiskFinding]], ...] = (
    drop_table,
    drop_column,
)


def data_migration(category: str, direction: str) -> list[RiskFinding]:
    if category != "data":
        return []
    if direction == "down":
        return [
            RiskFinding(
                "data-migration",
                RiskLevel.DANGER,
                "reverts a data migration: rows it wrote, or changed since, may be lost",
                "take a backup first, or write a forward migration that corrects the data",
            )
        ]
    return [
        RiskFinding(
            "data-migration",
            RiskLevel.WARNING,
            "changes data: test it on a copy of production-sized data",
            "batch large updates so locks stay short",
        )
    ]


def missing_down() -> list[RiskFinding]:
    return [
        RiskFinding(
            "missing-down",
            RiskLevel.DANGER,
            "has no down migration: it cannot be rolled back",
            "add a down() / `-- migrate:down` section that reverts the up",
        )
    ]
