"""Rules for statements that rewrite or lock a table, rename what code depends on, or add
constraints that existing rows or writers may break: types, renames, NOT NULL, foreign keys,
checks, unique constraints, the primary key."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from sqlglot import exp

from lamina.risk.grammar import AddCheck, AlterTable, Statement, renames_a_column
from lamina.risk.model import RiskLevel
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
    _size,
)
from lamina.risk.rules.locks import LOCKS


def column_type_change(node: exp.Expr, ctx: Context) -> Iterator[Hit]:
    table, actions = _alter_actions(node)
    for action in actions:
        if isinstance(action, exp.AlterColumn) and action.args.get("dtype") is not None:
            if not ctx.state.is_added(table, action.this):
                yield Hit(
                    "column-type-change",
                    f"changes the type of {_name(table)}.{_name(action.this)} to "
                    f"{action.args['dtype'].sql(ctx.dialect)}{_size(ctx, table)}",
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


def fills_existing_rows(column: exp.ColumnDef) -> bool:
    """Whether an added column gives existing rows a value clause of its own (a DEFAULT, even
    NULL, an identity, a serial, a generated expression): PostgreSQL then checks a foreign key
    it declares against every row; without one it checks none."""
    if any(isinstance(c, _FILLS_ITSELF) for c in _column_constraints(column)):
        return True
    kind = column.args.get("kind")
    serial_name = str(kind.args.get("kind") or "").upper() if isinstance(kind, exp.DataType) else ""
    return isinstance(kind, exp.DataType) and (
        kind.this in _SERIAL or serial_name in {"SERIAL", "BIGSERIAL", "SMALLSERIAL"}
    )


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
            yield _set_not_null(table, action.this, ctx)


def _set_not_null(table: exp.Expr | None, column: exp.Expr, ctx: Context) -> Hit:
    """On PostgreSQL 12+, a CHECK validated earlier in the migration may spare the scan."""
    where = f"{_name(table)}.{_name(column)}"
    if ctx.dialect != "postgres":
        return Hit("set-not-null", f"sets {where} NOT NULL: every row is checked")
    lock = LOCKS["set-not-null"].mode
    scan = (
        f"every row of {_name(table)}{_size(ctx, table)} is scanned under an {lock.title} lock, "
        f"so {lock.blocked} wait, and it fails on any NULL"
    )
    checks = ctx.state.validated.get(ctx.state.key(table))
    if not checks or ctx.version_below(12):
        return Hit("set-not-null", f"sets {where} NOT NULL: {scan}")
    name, line = checks[-1]
    proof = f"CHECK {name or 'constraint'}" + (f" (line {line})" if line is not None else "")
    if ctx.version_at_least(12):
        return Hit(
            "set-not-null",
            f"sets {where} NOT NULL after validating {proof}: if it proves {_name(column)} IS "
            f"NOT NULL, PostgreSQL skips the scan and holds its {lock.title} lock only briefly",
            level=RiskLevel.INFO,
        )
    return Hit(
        "set-not-null",
        f"sets {where} NOT NULL after validating {proof}: PostgreSQL 12+ skips the scan if it "
        f"proves {_name(column)} IS NOT NULL; older servers (the version is unknown): {scan}",
    )


def add_foreign_key(node: exp.Expr, ctx: Context) -> Iterator[Hit]:
    from lamina.risk.rules.mysql_session import foreign_key_checks_off

    table = _alter_actions(node)[0]
    if node.args.get("not_valid") or ctx.state.is_new(table):
        return
    if ctx.dialect == "mysql" and foreign_key_checks_off(node, ctx):
        return  # InnoDB adds it in place, checking no row (mysql-foreign-key-checks-off)
    for constraint in _constraints_added(node):
        if isinstance(constraint, exp.ForeignKey):
            columns = ", ".join(_name(c) for c in constraint.expressions)
            reference = constraint.args.get("reference")
            target = reference.find(exp.Table) if reference is not None else None
            yield Hit(
                "add-foreign-key",
                f"adds foreign key{_constraint_name(constraint)} {_name(table)}({columns}) → "
                f"{_name(target)}, checking every existing row{_size(ctx, table)}",
            )
    if ctx.dialect == "postgres":
        yield from _column_foreign_keys(node, ctx)


def _column_foreign_keys(node: exp.Expr, ctx: Context) -> Iterator[Hit]:
    """``ADD COLUMN c ... DEFAULT x REFERENCES t``: PostgreSQL checks the new key against every
    existing row. Without a DEFAULT (or a generated value) the column is NULL in every row and
    PostgreSQL checks none, taking only the locks of ``ADD CONSTRAINT ... NOT VALID``. (MySQL
    ignores an inline REFERENCES; MariaDB adds a key.)"""
    table, actions = _alter_actions(node)
    for action in actions:
        if not isinstance(action, exp.ColumnDef) or not fills_existing_rows(action):
            continue
        reference = action.find(exp.Reference)
        target = reference.find(exp.Table) if reference is not None else None
        if target is None:
            continue
        yield Hit(
            "add-foreign-key",
            f"adds column {_name(table)}.{_name(action.this)} with a value for every existing "
            f"row and a foreign key to {_name(target)}: PostgreSQL checks every row"
            f"{_size(ctx, table)} against {_name(target)} under an ACCESS EXCLUSIVE lock on "
            f"{_name(table)} and SHARE ROW EXCLUSIVE on {_name(target)} (its writes wait)",
            suggestion=(
                "add the column without the DEFAULT (it then checks no row) or without "
                "REFERENCES; then ADD CONSTRAINT ... FOREIGN KEY ... NOT VALID (instant), and "
                "VALIDATE CONSTRAINT in a separate migration (each migration commits when it "
                "ends): it does not block writes"
            ),
        )


def add_check(node: Statement, ctx: Context) -> Iterator[Hit]:
    if isinstance(node, AlterTable):
        yield from _unnamed_checks(node, ctx)
        return
    if not isinstance(node, exp.Expr):
        return
    table = _alter_actions(node)[0]
    if node.args.get("not_valid") or ctx.state.is_new(table):
        return
    for constraint in _constraints_added(node):
        if isinstance(constraint, exp.CheckColumnConstraint):
            if _check_is_ignored(ctx):
                yield Hit(
                    "add-check",
                    f"adds CHECK constraint{_constraint_name(constraint)} on {_name(table)}, "
                    "which this server parses and ignores",
                    level=RiskLevel.INFO,
                    reason="MySQL before 8.0.16 accepts CHECK and never enforces it: no row "
                    "is checked now, and rows that break it are accepted later",
                    suggestion="enforce the rule in the application or a trigger, or upgrade "
                    "to MySQL 8.0.16 or later",
                )
                continue
            yield Hit(
                "add-check",
                f"adds CHECK constraint{_constraint_name(constraint)} on {_name(table)}, "
                f"checking every existing row{_size(ctx, table)}",
            )


def _check_is_ignored(ctx: Context) -> bool:
    """MySQL enforces CHECK from 8.0.16; MariaDB has since 10.2.1, older than lamina's floor."""
    version = ctx.facts.server_version
    return (
        ctx.dialect == "mysql"
        and ctx.facts.flavor == "mysql"
        and version is not None
        and version < (8, 0, 16)
    )


def _unnamed_checks(node: AlterTable, ctx: Context) -> Iterator[Hit]:
    """PostgreSQL's ``ADD CHECK (...)`` without a name (lamina reads it from its tokens)."""
    if ctx.state.is_new(node.table):
        return
    for action in node.actions:
        if isinstance(action, AddCheck) and not action.not_valid:
            yield Hit(
                "add-check",
                f"adds a CHECK constraint on {_name(node.table)}, checking every existing "
                f"row{_size(ctx, node.table)}",
            )


def add_unique_constraint(node: exp.Expr, ctx: Context) -> Iterator[Hit]:
    """ADD UNIQUE and CREATE UNIQUE INDEX both fail on the first duplicate."""
    table = _alter_actions(node)[0]
    if table is not None and not ctx.state.is_new(table):
        for constraint in _constraints_added(node):
            if isinstance(constraint, exp.UniqueColumnConstraint):
                yield Hit(
                    "add-unique-constraint",
                    f"adds UNIQUE constraint{_constraint_name(constraint)} on {_name(table)}"
                    f"{_size(ctx, table)}: it fails on any duplicate",
                )
    index = _created_index(node)
    if index is not None and node.args.get("unique"):
        indexed = index.args.get("table")
        if ctx.state.is_new(indexed):
            return
        if node.args.get("concurrently"):
            yield _concurrent_unique(index, indexed, ctx)
            return
        yield Hit(
            "add-unique-constraint",
            f"creates unique index {_name(index)} on {_name(indexed)}{_size(ctx, indexed)}: "
            "it fails on any duplicate",
        )


def _concurrent_unique(index: exp.Index, table: exp.Expr | None, ctx: Context) -> Hit:
    """A concurrent build blocks no write, so only the duplicate check is left: a note."""
    return Hit(
        "add-unique-constraint",
        f"creates unique index {_name(index)} on {_name(table)}{_size(ctx, table)} "
        "CONCURRENTLY: reads and writes go on during the build, but it fails on any duplicate "
        "(and leaves an INVALID index behind)",
        level=RiskLevel.INFO,
        suggestion=(
            "look for duplicates first (SELECT ... GROUP BY the indexed columns HAVING count(*) "
            "> 1), and drop the INVALID index (DROP INDEX CONCURRENTLY) if the build fails"
        ),
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
    return table is not None and f"{table.name.lower()}_pkey" in names
