"""Rules for statements that rewrite or lock a table, rename what code depends on, or add
constraints that existing rows or writers may break: types, renames, NOT NULL, foreign keys,
checks, unique constraints, the primary key."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from sqlglot import exp

from lamina.risk.grammar import renames_a_column
from lamina.risk.rules.base import (
    Context,
    Hit,
    _alter_actions,
    _column_constraints,
    _constraint_name,
    _constraints_added,
    _created_index,
    _drop_kind,
    _name,
)
from lamina.risk.state import table_key


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
