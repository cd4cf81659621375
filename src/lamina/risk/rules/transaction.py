"""PostgreSQL rules about the migration's transaction as a whole, not one statement.

A migration runs in one transaction unless it is marked ``-- transactional: false``, so a lock
an early statement takes is held until the last one ends, and what an early statement changed
is not committed while the later ones run:

- a long statement after one that locked the same table keeps the table locked for its whole
  run (``ALTER TABLE t ADD COLUMN c int; UPDATE t SET c = 0`` blocks every read of ``t``
  during the UPDATE);
- ``VALIDATE CONSTRAINT`` in the transaction that added the constraint ``NOT VALID`` runs
  under the lock ``ADD CONSTRAINT`` took, so ``NOT VALID`` buys nothing;
- an enum value added with ``ALTER TYPE ... ADD VALUE`` cannot be used before it commits.

The analyzer records the locks (``SchemaSoFar.held``) only for PostgreSQL migrations that run
in one transaction; MySQL commits every DDL statement at once, and SQLite already holds its
one database-wide write lock from the first write to the commit, whatever the statement.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from sqlglot import exp

from lamina.risk.grammar import AlterTable, Statement, ValidateConstraint
from lamina.risk.model import RiskLevel
from lamina.risk.rules.base import (
    Context,
    Hit,
    _alter_actions,
    _created_index,
    _has_where,
    _name,
    _size,
)
from lamina.risk.rules.locks import LockMode
from lamina.risk.rules.rewrites import fills_existing_rows
from lamina.risk.state import SchemaSoFar

__all__ = [
    "KEY_COLUMN",
    "Scan",
    "bounded",
    "lock_held_during_long_statement",
    "new_enum_value_used",
    "scans",
    "validate_in_same_transaction",
]

_SEPARATE = (
    "end the migration after the statement that takes the lock and run this one in a "
    "separate migration (each migration commits when it ends)"
)


@dataclass(frozen=True, slots=True)
class Scan:
    """A table a statement reads or writes row by row, under ``mode`` of its own."""

    table: str
    statement: str
    mode: LockMode


def lock_held_during_long_statement(node: Statement, ctx: Context) -> Iterator[Hit]:
    """A long statement on a table an earlier statement of the transaction locked harder."""
    if not ctx.transactional:
        return
    reported: set[str] = set(_validated_in_same_transaction(node, ctx))
    for scan in scans(node, ctx.state):
        held = ctx.state.held.get(scan.table)
        if held is None or scan.table in ctx.state.new_tables or scan.table in reported:
            continue
        if not _blocks_more(held.mode, scan.mode):
            continue
        reported.add(scan.table)
        where = f" (line {held.line})" if held.line is not None else ""
        yield Hit(
            "lock-held-during-long-statement",
            f"runs {scan.statement} through {scan.table}{_size(ctx, scan.table)} while this "
            f"migration holds the {held.mode.title} lock that {held.statement}{where} took on "
            f"it: {held.mode.blocked} of {scan.table} wait until the migration commits",
            suggestion=_suggestion(scan),
        )


def _suggestion(scan: Scan) -> str:
    if scan.statement == "CREATE INDEX":
        return (
            "build the index with CREATE INDEX CONCURRENTLY in a separate migration marked "
            "`-- transactional: false`, after the one that takes the lock"
        )
    if scan.statement in {"UPDATE", "DELETE"}:
        return (
            f"{_SEPARATE}; for a large table, batch it in a migration marked "
            "`-- transactional: false`, so each batch commits"
        )
    return _SEPARATE


def _blocks_more(held: LockMode, own: LockMode) -> bool:
    """Whether the held lock blocks reads or writes the statement's own lock would not."""
    return (held.blocks_reads and not own.blocks_reads) or (
        held.blocks_writes and not own.blocks_writes
    )


def validate_in_same_transaction(node: Statement, ctx: Context) -> Iterator[Hit]:
    """``VALIDATE CONSTRAINT`` of a constraint this transaction added ``NOT VALID``."""
    if not ctx.transactional or not isinstance(node, AlterTable):
        return
    table = node.table
    for key, name, line in _validated_in_same_transaction(node, ctx).values():
        held = ctx.state.held.get(key)
        lock = (
            f"the {held.mode.title} lock that ADD CONSTRAINT took on {key} is held while every "
            f"row is checked, so {held.mode.blocked} wait"
            if held is not None
            else "the lock ADD CONSTRAINT took is held while every row is checked"
        )
        where = f" (line {line})" if line is not None else ""
        yield Hit(
            "validate-in-same-transaction",
            f"validates {name} on {_name(table)}{_size(ctx, key)} in the transaction that added "
            f"it NOT VALID{where}: {lock}, as if NOT VALID had not been used",
        )


def _validated_in_same_transaction(
    node: Statement, ctx: Context
) -> dict[str, tuple[str, str, int | None]]:
    """Table -> (table, constraint, line of its ADD) for each constraint ``node`` validates
    that this transaction added NOT VALID (tables it created are left out: they are empty)."""
    if not isinstance(node, AlterTable):
        return {}
    key = ctx.state.key(node.table)
    found = {}
    for action in node.actions:
        if isinstance(action, ValidateConstraint) and not ctx.state.is_new(node.table):
            name = action.name.lower()
            if (key, name) in ctx.state.not_valid:
                found[key] = (key, action.name, ctx.state.not_valid[(key, name)])
    return found


def new_enum_value_used(node: exp.Expr, ctx: Context) -> Iterator[Hit]:
    """A string equal to an enum value ``ALTER TYPE ... ADD VALUE`` added in this transaction."""
    if not ctx.transactional:
        return
    for literal in node.find_all(exp.Literal):
        added = ctx.state.enum_values.get(literal.name) if literal.is_string else None
        if added is None:
            continue  # even a type created in this transaction cannot use a value added here
        enum_type, line = added
        cast = literal.parent if isinstance(literal.parent, exp.Cast) else None
        certain = cast is not None and cast.to.sql("postgres").lower() == enum_type
        read_as = "" if certain else f"if it is read as a {enum_type}, "
        where = f" (line {line})" if line is not None else ""
        yield Hit(
            "new-enum-value-used",
            f"uses '{literal.name}', which ALTER TYPE {enum_type} ADD VALUE{where} added in "
            f"this transaction: {read_as}PostgreSQL refuses it ('unsafe use of new value') "
            "until that transaction commits, and the migration fails",
            level=None if certain else RiskLevel.WARNING,
        )
        return


def scans(node: Statement, state: SchemaSoFar) -> list[Scan]:
    """The tables ``node`` goes through row by row: an UPDATE or DELETE that is not a
    bounded batch, INSERT or CREATE ... AS from a SELECT, an index build, a validation.

    Statements that rewrite or check a table under ACCESS EXCLUSIVE are left out: no lock an
    earlier statement holds can make them block more than they do themselves.
    """
    if isinstance(node, AlterTable):
        found = [
            Scan(state.key(node.table), "VALIDATE CONSTRAINT", LockMode.SHARE_UPDATE_EXCLUSIVE)
            for action in node.actions
            if isinstance(action, ValidateConstraint)
        ]
    elif isinstance(node, exp.Expr):
        found = [Scan(state.key(table), what, mode) for table, what, mode in _scans(node)]
    else:
        found = []
    return [scan for scan in found if scan.table]


def _scans(node: exp.Expr) -> Iterator[tuple[exp.Expr | None, str, LockMode]]:
    if isinstance(node, exp.Update | exp.Delete) and not bounded(node):
        what = "UPDATE" if isinstance(node, exp.Update) else "DELETE"
        yield node.this, what, LockMode.ROW_EXCLUSIVE
    if isinstance(node, exp.Insert) and isinstance(node.expression, exp.Query):
        target = node.this.this if isinstance(node.this, exp.Schema) else node.this
        yield target, "INSERT ... SELECT", LockMode.ROW_EXCLUSIVE
        for source in node.expression.find_all(exp.Table):
            yield source, "INSERT ... SELECT", LockMode.ACCESS_SHARE
    if _copies_rows(node):
        for source in node.expression.find_all(exp.Table):
            yield source, "CREATE ... AS SELECT", LockMode.ACCESS_SHARE
    index = _created_index(node)
    if index is not None and not node.args.get("concurrently"):
        yield index.args.get("table"), "CREATE INDEX", LockMode.SHARE
    table, actions = _alter_actions(node)
    for action in actions:
        if _adds_checked_foreign_key(action, node):
            reference = action.find(exp.Reference)
            what, mode = "ADD FOREIGN KEY (which checks every row)", LockMode.SHARE_ROW_EXCLUSIVE
            yield table, what, mode
            yield reference.find(exp.Table) if reference else None, what, mode


def _copies_rows(node: exp.Expr) -> bool:
    """CREATE TABLE or MATERIALIZED VIEW ... AS SELECT (a plain view reads nothing yet)."""
    if not isinstance(node, exp.Create) or not isinstance(node.expression, exp.Query):
        return False
    return node.args.get("kind") == "TABLE" or node.find(exp.MaterializedProperty) is not None


def _adds_checked_foreign_key(action: exp.Expr, alter: exp.Expr) -> bool:
    """ADD CONSTRAINT ... FOREIGN KEY without NOT VALID, or ADD COLUMN c ... REFERENCES t with
    a value for the existing rows (without one, PostgreSQL checks none)."""
    if isinstance(action, exp.ColumnDef):
        return action.find(exp.Reference) is not None and fills_existing_rows(action)
    return (
        isinstance(action, exp.AddConstraint)
        and not alter.args.get("not_valid")
        and action.find(exp.ForeignKey) is not None
    )


_CONSTANT = (exp.Literal, exp.Placeholder, exp.Parameter, exp.Neg, exp.Cast, exp.Null)

#: The column lamina takes for a table's key: offline it cannot see the primary key, and
#: ``id`` is the name the frameworks and most hand-written schemas give it.
KEY_COLUMN = "id"


def bounded(node: exp.Expr) -> bool:
    """Whether an UPDATE or DELETE names a batch by key: its WHERE pins the key column
    (:data:`KEY_COLUMN`) to constants (``=``, ``IN (...)``) or to a closed range
    (``BETWEEN``, or a lower and an upper bound), so it touches at most that many rows.

    A WHERE on any other column (``depot_id IN (1, 2, 3)``, ``status IS NULL``) may match
    every row of the table, so it is no batch.
    """
    where = node.args.get("where")
    if where is None or not _has_where(node):
        return False
    conditions = list(where.this.flatten()) if isinstance(where.this, exp.And) else [where.this]
    keyed = [c for c in conditions if _is_key(c.this)]
    if any(_pins(condition) for condition in keyed):
        return True
    constant = [c for c in keyed if isinstance(c.expression, _CONSTANT)]
    lower = any(isinstance(c, exp.GT | exp.GTE) for c in constant)
    upper = any(isinstance(c, exp.LT | exp.LTE) for c in constant)
    return lower and upper


def _is_key(column: exp.Expr | None) -> bool:
    return isinstance(column, exp.Column) and column.name.lower() == KEY_COLUMN


def _pins(condition: exp.Expr) -> bool:
    """``col = constant``, ``col IN (constants)`` or ``col BETWEEN a AND b``."""
    if isinstance(condition, exp.EQ):
        return isinstance(condition.expression, _CONSTANT)
    if isinstance(condition, exp.In):
        values = condition.expressions
        return bool(values) and all(isinstance(value, _CONSTANT) for value in values)
    return isinstance(condition, exp.Between)
