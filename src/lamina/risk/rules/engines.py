"""Engine-specific rules: PostgreSQL's index builds and drops that block writes (or run
concurrently), and DuckDB's ALTER TABLE of an indexed table."""

from __future__ import annotations

from collections.abc import Iterator

from sqlglot import exp

from lamina.risk.grammar import ValidateConstraint
from lamina.risk.rules.base import (
    Context,
    Hit,
    _alter_actions,
    _column_constraints,
    _created_index,
    _drop_kind,
    _name,
)
from lamina.risk.state import table_key


def create_index_not_concurrently(node: exp.Expr, ctx: Context) -> Iterator[Hit]:
    index = _created_index(node)
    if index is None or node.args.get("concurrently"):
        return
    table = index.args.get("table")
    if not ctx.state.is_new(table):
        yield Hit(
            "create-index-not-concurrently",
            f"builds index {_name(index)} on {_name(table)} without CONCURRENTLY: writes to "
            f"{_name(table)} wait until it is built",
        )


def drop_index_not_concurrently(node: exp.Expr, ctx: Context) -> Iterator[Hit]:
    if _drop_kind(node) != "INDEX" or node.args.get("concurrently"):
        return
    for index in node.args.get("tables") or []:
        if table_key(index) not in ctx.state.created_indexes:
            yield Hit(
                "drop-index-not-concurrently",
                f"drops index {_name(index)} without CONCURRENTLY: its table is locked against "
                "reads and writes meanwhile",
            )


def concurrent_index(node: exp.Expr, _ctx: Context) -> Iterator[Hit]:
    index = _created_index(node)
    if index is not None and node.args.get("concurrently"):
        yield Hit(
            "concurrent-index",
            f"builds index {_name(index)} CONCURRENTLY: it cannot run inside a transaction",
        )
    elif _drop_kind(node) == "INDEX" and node.args.get("concurrently"):
        names = ", ".join(_name(t) for t in node.args.get("tables") or [])
        yield Hit(
            "concurrent-index",
            f"drops index {names} CONCURRENTLY: it cannot run inside a transaction",
        )


def duckdb_alter_indexed_table(node: exp.Expr, ctx: Context) -> Iterator[Hit]:
    """DuckDB refuses most ALTERs of a table an index depends on (duckdb#6737, #14664)."""
    table, actions = _alter_actions(node)
    indexes = ctx.state.index_names(table)
    if indexes is None:
        return
    refused = [action for action in actions if not _duckdb_allows_with_index(action)]
    if not refused:
        return
    named = f" ({', '.join(indexes)})" if indexes else ""
    yield Hit(
        "duckdb-alter-indexed-table",
        f"alters {_name(table)}, which has an index{named}: DuckDB refuses this ALTER with "
        "'Cannot alter entry ... because there are entries that depend on it'",
    )


def _duckdb_allows_with_index(action: exp.Expr) -> bool:
    """Verified on DuckDB 2.0: a nullable ADD COLUMN and SET/DROP DEFAULT still work."""
    if isinstance(action, exp.ColumnDef):
        return all(
            isinstance(c, exp.DefaultColumnConstraint)
            or (isinstance(c, exp.NotNullColumnConstraint) and c.args.get("allow_null"))
            for c in _column_constraints(action)
        )
    if isinstance(action, exp.AlterColumn):
        changes = {k for k, v in action.args.items() if v not in (None, False) and k != "this"}
        return changes in ({"default"}, {"drop"})
    return isinstance(action, ValidateConstraint)
