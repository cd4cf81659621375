"""The statement rules: each inspects one parsed statement, in the context of the migration.

A rule takes a sqlglot expression and the :class:`~lamina.risk.state.MigrationState` as it
stands before the statement, and yields hits. Rules never see raw SQL text, so no
regular expression ever decides what a statement does. Levels, explanations and alternatives
live in :mod:`lamina.risk.catalogue`; a hit carries only what is specific to the statement.

This module imports sqlglot at the top: only ``lamina.risk.analyze`` imports it, lazily.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from sqlglot import exp

from lamina.risk.grammar import ValidateConstraint, renames_a_column
from lamina.risk.state import MigrationState, table_key

__all__ = ["STATEMENT_RULES", "Context", "Hit"]


@dataclass(frozen=True, slots=True)
class Hit:
    """A rule that fired on a statement, with the message naming what it touches."""

    rule: str
    message: str


@dataclass(frozen=True, slots=True)
class Context:
    """What a rule may consult besides the statement: engine, direction, schema so far."""

    dialect: str
    direction: str
    state: MigrationState

    @property
    def down(self) -> bool:
        return self.direction == "down"


Rule = Callable[[exp.Expr, Context], Iterator[Hit]]


# --------------------------------------------------------------------------------------------
# Reading the tree
# --------------------------------------------------------------------------------------------


def _name(node: exp.Expr | None) -> str:
    """A table or column as people write it: qualified, unquoted."""
    if node is None:
        return "?"
    if isinstance(node, exp.Table):
        return ".".join(part.name for part in node.parts) or "?"
    return node.name or "?"


def _alter_actions(node: exp.Expr) -> tuple[exp.Expr | None, Sequence[exp.Expr]]:
    """The table and actions of an ``ALTER TABLE``; no actions for anything else."""
    if isinstance(node, exp.Alter) and node.args.get("kind") == "TABLE":
        return node.this, node.args.get("actions") or []
    return None, ()


def _drop_kind(node: exp.Expr) -> str:
    return str(node.args.get("kind") or "").upper() if isinstance(node, exp.Drop) else ""


def _column_constraints(column: exp.ColumnDef) -> list[exp.Expr]:
    return [c.args["kind"] for c in column.args.get("constraints") or [] if c.args.get("kind")]


def _has_where(node: exp.Expr) -> bool:
    """A WHERE clause or a join restricts the rows; ``WHERE TRUE`` does not."""
    where = node.args.get("where")
    if where is not None:
        return not (isinstance(where.this, exp.Boolean) and where.this.this is True)
    target = node.this
    return isinstance(target, exp.Table) and bool(target.args.get("joins"))


def _constraints_added(node: exp.Expr) -> Iterator[exp.Expr]:
    """Every constraint an ``ALTER TABLE ... ADD [CONSTRAINT]`` adds, named or not."""
    for action in _alter_actions(node)[1]:
        if isinstance(action, exp.AddConstraint):
            for item in action.expressions:
                if isinstance(item, exp.Constraint):
                    yield from item.expressions
                else:
                    yield item


def _constraint_name(node: exp.Expr) -> str:
    """The name given with ``ADD CONSTRAINT name``, for messages."""
    parent = node.parent
    return f" {parent.name}" if isinstance(parent, exp.Constraint) and parent.name else ""


# --------------------------------------------------------------------------------------------
# Data loss
# --------------------------------------------------------------------------------------------


def drop_table(node: exp.Expr, ctx: Context) -> Iterator[Hit]:
    """Dropping a table loses its rows, unless this migration created it as scratch."""
    if _drop_kind(node) != "TABLE":
        return
    for table in node.args.get("tables") or []:
        if ctx.state.is_new(table):
            continue
        copy = ctx.state.rebuilt.get(table_key(table))
        if copy is not None:
            yield Hit(
                "table-rebuild",
                f"rebuilds table {_name(table)}: its rows were copied into {copy}, which "
                f"takes its name; columns the copy leaves out are lost",
            )
        elif ctx.down and ctx.state.created_by_up(table):
            yield Hit(
                "down-loses-data",
                f"drops table {_name(table)}, which this migration's up created: every row "
                "written to it since is lost on rollback",
            )
        else:
            yield Hit("drop-table", f"drops table {_name(table)} and every row in it")


def drop_column(node: exp.Expr, ctx: Context) -> Iterator[Hit]:
    """Dropping a column loses its values, unless this migration added it."""
    table, actions = _alter_actions(node)
    for action in actions:
        if _drop_kind(action) != "COLUMN":
            continue
        for column in action.args.get("tables") or []:
            if ctx.state.is_added(table, column):
                continue
            where = f"{_name(table)}.{_name(column)}"
            if ctx.down and ctx.state.created_by_up(table, column):
                yield Hit(
                    "down-loses-data",
                    f"drops column {where}, which this migration's up added: every value "
                    "written to it since is lost on rollback",
                )
            else:
                yield Hit("drop-column", f"drops column {where} and its data")


def drop_schema(node: exp.Expr, _ctx: Context) -> Iterator[Hit]:
    kind = _drop_kind(node)
    if kind in {"SCHEMA", "DATABASE"}:
        for target in node.args.get("tables") or []:
            yield Hit("drop-schema", f"drops {kind.lower()} {_name(target)} and everything in it")


def truncate(node: exp.Expr, ctx: Context) -> Iterator[Hit]:
    if isinstance(node, exp.TruncateTable):
        for table in node.expressions:
            if not ctx.state.is_new(table):
                yield Hit("truncate", f"removes every row of {_name(table)}")


def delete_without_where(node: exp.Expr, ctx: Context) -> Iterator[Hit]:
    if isinstance(node, exp.Delete) and not _has_where(node) and not ctx.state.is_new(node.this):
        yield Hit("delete-without-where", f"deletes every row of {_name(node.this)}")


def update_without_where(node: exp.Expr, ctx: Context) -> Iterator[Hit]:
    """Overwriting every row loses the old values, except when backfilling a new column."""
    if not isinstance(node, exp.Update) or _has_where(node):
        return
    table = node.this
    targets = [col for eq in node.expressions for col in eq.this.find_all(exp.Column)]
    overwritten = [col for col in targets if not ctx.state.is_added(table, col)]
    if overwritten or not targets:
        names = ", ".join(dict.fromkeys(_name(col) for col in overwritten)) or "?"
        yield Hit(
            "update-without-where",
            f"overwrites {names} in every row of {_name(table)}: the old values are lost",
        )


# --------------------------------------------------------------------------------------------
# Rewrites, locks and renames
# --------------------------------------------------------------------------------------------


def column_type_change(node: exp.Expr, ctx: Context) -> Iterator[Hit]:
    table, actions = _alter_actions(node)
    for action in actions:
        if isinstance(action, exp.AlterColumn) and action.args.get("dtype") is not None:
            if not ctx.state.is_added(table, action.this):
                yield Hit(
                    "column-type-change",
                    f"changes the type of {_name(table)}.{_name(action.this)} to "
                    f"{action.args['dtype'].sql(ctx.dialect)}",
                )
        elif isinstance(action, exp.ModifyColumn):
            column = action.this
            old = action.args.get("rename_from") or column.this
            if not ctx.state.is_added(table, old):
                kind = column.args.get("kind")
                kind_sql = kind.sql(ctx.dialect) if kind is not None else "?"
                yield Hit(
                    "column-type-change",
                    f"redefines {_name(table)}.{_name(old)} as {kind_sql}: a changed type "
                    "copies the table",
                )


def rename_table(node: exp.Expr, ctx: Context) -> Iterator[Hit]:
    table, actions = _alter_actions(node)
    if renames_a_column(node) or ctx.state.is_new(table):
        return
    for action in actions:
        if isinstance(action, exp.AlterRename):
            yield Hit(
                "rename-table",
                f"renames table {_name(table)} to {_name(action.this)}: code using the old "
                "name breaks",
            )


def rename_column(node: exp.Expr, ctx: Context) -> Iterator[Hit]:
    table, actions = _alter_actions(node)
    for old, new in _column_renames(node, actions):
        if not ctx.state.is_added(table, old):
            yield Hit(
                "rename-column",
                f"renames column {_name(table)}.{_name(old)} to {_name(new)}: code using the "
                "old name breaks",
            )


def _column_renames(
    node: exp.Expr, actions: Sequence[exp.Expr]
) -> Iterator[tuple[exp.Expr, exp.Expr]]:
    """``(old, new)`` for RENAME COLUMN, MySQL's CHANGE, and PostgreSQL's ``RENAME a TO b``."""
    for action in actions:
        if isinstance(action, exp.RenameColumn):
            yield action.this, action.args["to"]
        elif isinstance(action, exp.ModifyColumn) and action.args.get("rename_from"):
            old, new = action.args["rename_from"], action.this.this
            if old.name.lower() != new.name.lower():
                yield old, new
        elif isinstance(action, exp.AlterRename) and renames_a_column(node):
            for option in node.args.get("options") or []:
                if isinstance(option, exp.ToTableProperty):
                    yield action.this, option.this


def add_not_null_column_without_default(node: exp.Expr, ctx: Context) -> Iterator[Hit]:
    table, actions = _alter_actions(node)
    if ctx.state.is_new(table):
        return
    for action in actions:
        if isinstance(action, exp.ColumnDef) and _needs_a_value(action):
            yield Hit(
                "add-not-null-column-without-default",
                f"adds NOT NULL column {_name(table)}.{_name(action.this)} without a DEFAULT",
            )


_FILLS_ITSELF = (
    exp.DefaultColumnConstraint,
    exp.GeneratedAsIdentityColumnConstraint,
    exp.AutoIncrementColumnConstraint,
    exp.ComputedColumnConstraint,
)
_SERIAL = {exp.DataType.Type.SERIAL, exp.DataType.Type.BIGSERIAL, exp.DataType.Type.SMALLSERIAL}


def _needs_a_value(column: exp.ColumnDef) -> bool:
    """NOT NULL with nothing that fills existing rows (a default, identity, serial, generated)."""
    constraints = _column_constraints(column)
    not_null = any(
        isinstance(c, exp.NotNullColumnConstraint) and not c.args.get("allow_null")
        for c in constraints
    )
    if not not_null or any(isinstance(c, _FILLS_ITSELF) for c in constraints):
        return False
    kind = column.args.get("kind")
    if not isinstance(kind, exp.DataType):
        return True
    serial_name = str(kind.args.get("kind") or "").upper()  # DuckDB/SQLite read SERIAL as UDT
    return kind.this not in _SERIAL and serial_name not in {"SERIAL", "BIGSERIAL", "SMALLSERIAL"}


def set_not_null(node: exp.Expr, ctx: Context) -> Iterator[Hit]:
    table, actions = _alter_actions(node)
    for action in actions:
        if (
            isinstance(action, exp.AlterColumn)
            and action.args.get("allow_null") is False
            and not action.args.get("drop")
            and not ctx.state.is_added(table, action.this)
        ):
            yield Hit(
                "set-not-null",
                f"sets {_name(table)}.{_name(action.this)} NOT NULL: every row is checked "
                "under an exclusive lock",
            )


def add_foreign_key(node: exp.Expr, ctx: Context) -> Iterator[Hit]:
    table = _alter_actions(node)[0]
    if node.args.get("not_valid") or ctx.state.is_new(table):
        return
    for constraint in _constraints_added(node):
        if isinstance(constraint, exp.ForeignKey):
            columns = ", ".join(_name(c) for c in constraint.expressions)
            reference = constraint.args.get("reference")
            target = reference.find(exp.Table) if reference is not None else None
            yield Hit(
                "add-foreign-key",
                f"adds foreign key{_constraint_name(constraint)} {_name(table)}({columns}) → "
                f"{_name(target)}, checking every existing row",
            )


def add_check(node: exp.Expr, ctx: Context) -> Iterator[Hit]:
    table = _alter_actions(node)[0]
    if node.args.get("not_valid") or ctx.state.is_new(table):
        return
    for constraint in _constraints_added(node):
        if isinstance(constraint, exp.CheckColumnConstraint):
            yield Hit(
                "add-check",
                f"adds CHECK constraint{_constraint_name(constraint)} on {_name(table)}, "
                "checking every existing row",
            )


def add_unique_constraint(node: exp.Expr, ctx: Context) -> Iterator[Hit]:
    """ADD UNIQUE and CREATE UNIQUE INDEX both fail on the first duplicate."""
    table = _alter_actions(node)[0]
    if table is not None and not ctx.state.is_new(table):
        for constraint in _constraints_added(node):
            if isinstance(constraint, exp.UniqueColumnConstraint):
                yield Hit(
                    "add-unique-constraint",
                    f"adds UNIQUE constraint{_constraint_name(constraint)} on {_name(table)}: "
                    "it fails on any duplicate",
                )
    index = _created_index(node)
    if index is not None and node.args.get("unique"):
        indexed = index.args.get("table")
        if not ctx.state.is_new(indexed):
            yield Hit(
                "add-unique-constraint",
                f"creates unique index {_name(index)} on {_name(indexed)}: it fails on any "
                "duplicate",
            )


def change_primary_key(node: exp.Expr, ctx: Context) -> Iterator[Hit]:
    table, actions = _alter_actions(node)
    if ctx.state.is_new(table):
        return
    if any(isinstance(c, exp.PrimaryKey) for c in _constraints_added(node)):
        yield Hit("change-primary-key", f"adds a primary key to {_name(table)}")
    for action in actions:
        if isinstance(action, exp.DropPrimaryKey) or _drops_pkey(table, action, ctx.dialect):
            yield Hit("change-primary-key", f"drops the primary key of {_name(table)}")


def _drops_pkey(table: exp.Expr | None, action: exp.Expr, dialect: str) -> bool:
    """PostgreSQL names a table's primary key ``<table>_pkey`` unless told otherwise."""
    if dialect != "postgres" or _drop_kind(action) != "CONSTRAINT":
        return False
    names = [target.name.lower() for target in action.args.get("tables") or []]
    return f"{table_key(table)}_pkey" in names


def _created_index(node: exp.Expr) -> exp.Index | None:
    if isinstance(node, exp.Create) and node.args.get("kind") == "INDEX":
        index = node.this
        return index if isinstance(index, exp.Index) else None
    return None


# --------------------------------------------------------------------------------------------
# Engine-specific
# --------------------------------------------------------------------------------------------


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


#: Every statement rule, in the order their findings are listed.
STATEMENT_RULES: tuple[Rule, ...] = (
    drop_schema,
    drop_table,
    drop_column,
    truncate,
    delete_without_where,
    update_without_where,
    duckdb_alter_indexed_table,
    column_type_change,
    rename_table,
    rename_column,
    add_not_null_column_without_default,
    set_not_null,
    add_foreign_key,
    add_check,
    add_unique_constraint,
    change_primary_key,
    create_index_not_concurrently,
    drop_index_not_concurrently,
    concurrent_index,
)
