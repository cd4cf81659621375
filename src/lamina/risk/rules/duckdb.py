"""DuckDB's own rules: the ALTER TABLE forms it refuses."""

from __future__ import annotations

from collections.abc import Iterator

from sqlglot import exp

from lamina.risk.grammar import ValidateConstraint
from lamina.risk.rules.base import Context, Hit, Rule, _alter_actions, _column_constraints, _name


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


#: DuckDB's statement rules, in the order their findings are listed.
STATEMENT_RULES: tuple[Rule, ...] = (duckdb_alter_indexed_table,)

#: Leading words of statements sqlglot reads only as a Command that are harmless here (see
#: :data:`lamina.risk.rules.UNDERSTOOD`).
UNDERSTOOD: tuple[tuple[str, ...], ...] = ()
