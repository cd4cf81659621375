"""DuckDB's own rules: the ALTER TABLE forms it refuses, on every table or on a table that an
index or a foreign key depends on, and what it cannot run inside a transaction.

Verified on DuckDB 2.0.1; each claim is checked against the real engine by
tests/risk/test_duckdb_refusals.py.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from sqlglot import exp

from lamina.risk.catalogue.duckdb import REBUILD_ADVICE
from lamina.risk.grammar import command_words
from lamina.risk.model import RiskLevel
from lamina.risk.rules.base import (
    Context,
    Hit,
    Rule,
    _alter_actions,
    _column_constraints,
    _drop_kind,
    _name,
)
from lamina.risk.rules.refused import opaque_alter

_DEPENDENCY_ERROR = "'Cannot alter entry ... because there are entries that depend on it'"

#: ADD COLUMN constraints DuckDB does not support, with how it names them.
_COLUMN_CONSTRAINTS_REFUSED: tuple[tuple[type[exp.Expr], str], ...] = (
    (exp.PrimaryKeyColumnConstraint, "PRIMARY KEY"),
    (exp.CheckColumnConstraint, "CHECK"),
    (exp.Reference, "REFERENCES"),
    (exp.ComputedColumnConstraint, "a generated column"),
    (exp.GeneratedAsIdentityColumnConstraint, "a generated column"),
)

#: The words after the table of the ADD forms sqlglot leaves opaque that DuckDB refuses
#: (``ADD CHECK (...)`` without a constraint name), with what they add.
_OPAQUE_REFUSED: dict[tuple[str, ...], str] = {
    ("ADD", "CHECK"): "a CHECK constraint",
    ("ADD", "FOREIGN"): "a foreign key",
}


def duckdb_unsupported(node: exp.Expr, ctx: Context) -> Iterator[Hit]:
    """ALTER TABLE forms DuckDB refuses on any table."""
    if ctx.dialect != "duckdb":
        return
    opaque = opaque_alter(node, ctx.dialect)
    added = _OPAQUE_REFUSED.get(opaque[1][:2]) if opaque is not None else None
    if opaque is not None and added is not None:
        yield _unsupported(f"adds {added} to {opaque[0]}")
        return
    table, actions = _alter_actions(node)
    if len(actions) > 1:
        yield Hit(
            "duckdb-unsupported",
            f"makes {len(actions)} changes to {_name(table)} in one ALTER TABLE: DuckDB "
            "refuses it ('Only one ALTER command per statement is supported')",
            suggestion="write one ALTER TABLE statement per change",
        )
    for action in actions:
        what = _unsupported_action(table, action)
        if what is not None:
            yield _unsupported(what)


def _unsupported(what: str) -> Hit:
    return Hit("duckdb-unsupported", f"{what}: DuckDB does not support it with ALTER TABLE")


def _unsupported_action(table: exp.Expr | None, action: exp.Expr) -> str | None:
    """What the action does, for the message, when DuckDB does not support it."""
    if isinstance(action, exp.AddConstraint):
        if action.find(exp.ForeignKey) is not None:
            return f"adds a foreign key to {_name(table)}"
        if action.find(exp.CheckColumnConstraint) is not None:
            return f"adds a CHECK constraint to {_name(table)}"
        return None
    if _drop_kind(action) == "CONSTRAINT":
        return f"drops a constraint of {_name(table)}"
    if isinstance(action, exp.ColumnDef):
        constraints = _column_constraints(action)
        for kind, name in _COLUMN_CONSTRAINTS_REFUSED:
            if any(isinstance(c, kind) for c in constraints):
                return f"adds column {_name(table)}.{_name(action.this)} with {name}"
    return None


def duckdb_alter_indexed_table(node: exp.Expr, ctx: Context) -> Iterator[Hit]:
    """DuckDB refuses most ALTERs of a table an index depends on (duckdb#6737, #14664), and
    to drop or retype a column an index dropped in the same transaction covered (#17015)."""
    if ctx.dialect != "duckdb":
        return
    table, actions = _alter_actions(node)
    indexes = ctx.state.index_names(table)
    if indexes is None:
        yield from _after_dropped_index(table, actions, ctx)
        return
    if any(not allowed_with_dependents(action) for action in actions):
        named = f" ({', '.join(indexes)})" if indexes else ""
        yield Hit(
            "duckdb-alter-indexed-table",
            f"alters {_name(table)}, which has an index{named}: DuckDB refuses this ALTER with "
            f"{_DEPENDENCY_ERROR}",
        )


def _after_dropped_index(
    table: exp.Expr | None, actions: Sequence[exp.Expr], ctx: Context
) -> Iterator[Hit]:
    """A column dropped or retyped in the transaction that dropped a live index of its table.

    Until the commit, DuckDB still refuses to retype a column the dropped index covered, and to
    drop it or any column before one it covered. Which columns a live index covers is not
    known, so this is a warning.
    """
    dropped = _dropped_live_indexes(table, ctx)
    if not dropped or not ctx.transactional:
        return
    for action in actions:
        column = _dropped_or_retyped(action)
        if column is None:
            continue
        retypes = isinstance(action, exp.AlterColumn)
        what = "retypes" if retypes else "drops"
        blocked = "that index covered it" if retypes else "that index covered it or a later column"
        yield Hit(
            "duckdb-alter-indexed-table",
            f"{what} {_name(table)}.{_name(column)} in the transaction that dropped index "
            f"{', '.join(dropped)}: DuckDB refuses it if {blocked} ('an index depends on ...')",
            level=RiskLevel.WARNING,
            suggestion=REBUILD_ADVICE + "; or drop and create the index around it in a "
            "migration marked `-- transactional: false`",
        )


def _dropped_live_indexes(table: exp.Expr | None, ctx: Context) -> list[str]:
    """The live indexes of ``table`` that the migration has dropped so far."""
    key = ctx.state.key(table)
    facts = ctx.facts.table(key)
    if facts is None or table is None or ctx.state.is_new(table):
        return []
    schema, dot, _ = key.rpartition(".")  # an index lives in its table's schema
    still = ctx.state.indexes
    return [name for name in facts.indexes if f"{schema}{dot}{name.lower()}" not in still]


def _dropped_or_retyped(action: exp.Expr) -> exp.Expr | None:
    if isinstance(action, exp.AlterColumn) and action.args.get("dtype") is not None:
        column: exp.Expr = action.this
        return column
    if _drop_kind(action) == "COLUMN":
        targets = action.args.get("tables") or []
        return targets[0] if targets else None
    return None


def allowed_with_dependents(action: exp.Expr) -> bool:
    """Whether DuckDB runs this ALTER action on a table an index or a foreign key depends on.

    Verified on DuckDB 2.0.1: a nullable ADD COLUMN (with or without DEFAULT) and SET/DROP
    DEFAULT still work; everything else is refused.
    """
    if isinstance(action, exp.ColumnDef):
        return all(
            isinstance(c, exp.DefaultColumnConstraint)
            or (isinstance(c, exp.NotNullColumnConstraint) and c.args.get("allow_null"))
            for c in _column_constraints(action)
        )
    if isinstance(action, exp.AlterColumn):
        changes = {k for k, v in action.args.items() if v not in (None, False) and k != "this"}
        return changes in ({"default"}, {"drop"})
    return False


def duckdb_alter_referenced_table(node: exp.Expr, ctx: Context) -> Iterator[Hit]:
    """DuckDB refuses most ALTERs of a table a foreign key points at, and its DROP."""
    if ctx.dialect != "duckdb":
        return
    if _drop_kind(node) == "TABLE":
        for target in node.args.get("tables") or []:
            referencing = _referencing(target, ctx)
            if referencing:
                yield Hit(
                    "duckdb-alter-referenced-table",
                    f"drops {_name(target)}, which the foreign keys of {referencing} reference: "
                    "DuckDB refuses it ('this table is main key table')",
                )
        return
    table, actions = _alter_actions(node)
    referencing = _referencing(table, ctx)
    if referencing and any(not allowed_with_dependents(action) for action in actions):
        yield Hit(
            "duckdb-alter-referenced-table",
            f"alters {_name(table)}, which the foreign keys of {referencing} reference: DuckDB "
            f"refuses this ALTER with {_DEPENDENCY_ERROR}",
        )


def _referencing(table: exp.Expr | None, ctx: Context) -> str:
    """The other tables whose foreign keys point at ``table`` (live, or added by the migration
    so far), for messages; '' when there is none."""
    if table is None:
        return ""
    key = ctx.state.key(table)
    return ", ".join(sorted(ctx.state.referencing.get(key, set()) - {key}))


def duckdb_not_in_transaction(node: exp.Expr, ctx: Context) -> Iterator[Hit]:
    """CHECKPOINT, which lamina refuses in a transactional DuckDB migration."""
    if ctx.dialect == "duckdb" and ctx.transactional and is_checkpoint(node, ctx.dialect):
        yield Hit(
            "duckdb-not-in-transaction",
            "CHECKPOINT inside the migration's transaction: DuckDB refuses it once the "
            "transaction has changes, so lamina refuses the migration",
        )


def is_checkpoint(node: exp.Expr, dialect: str) -> bool:
    """``CHECKPOINT [db]`` (sqlglot reads it as a bare name) or ``FORCE CHECKPOINT``."""
    if isinstance(node, exp.Alias):
        node = node.this
    if isinstance(node, exp.Column) and not node.table:
        return node.name.upper() == "CHECKPOINT"
    return command_words(node, dialect)[:2] == ("FORCE", "CHECKPOINT")


#: DuckDB's statement rules, in the order their findings are listed.
STATEMENT_RULES: tuple[Rule, ...] = (
    duckdb_unsupported,
    duckdb_alter_indexed_table,
    duckdb_alter_referenced_table,
    duckdb_not_in_transaction,
)

#: Leading words of statements sqlglot reads only as a Command that are harmless here (see
#: :data:`lamina.risk.rules.UNDERSTOOD`). FORCE CHECKPOINT inside a transaction is
#: ``duckdb-not-in-transaction``.
UNDERSTOOD: tuple[tuple[str, ...], ...] = (
    ("CHECKPOINT",),
    ("FORCE", "CHECKPOINT"),
    ("LOAD",),
    ("RESET",),
    ("VACUUM",),
    ("CREATE", "TYPE"),
)
