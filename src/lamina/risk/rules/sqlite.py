"""SQLite's own rules: what its ALTER TABLE and transactions refuse.

SQLite's ALTER TABLE has four forms (https://sqlite.org/lang_altertable.html): RENAME TO,
RENAME COLUMN (3.25+), ADD COLUMN, DROP COLUMN (3.35+), one per statement. Every other change
needs the table rebuild, which lamina recognises (``table-rebuild``) and runs with foreign keys
off. Each claim here is checked against the real engine by tests/risk/test_sqlite_refusals.py.
"""

from __future__ import annotations

from collections.abc import Iterator

from sqlglot import exp

from lamina.risk.catalogue.sqlite import OUTSIDE_A_TRANSACTION, REBUILD_ADVICE
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
from lamina.risk.rules.refused import adds_a_table_constraint, alter_column_change, opaque_alter

_RULE = "sqlite-unsupported"

#: The first SQLite with ``ALTER TABLE ... RENAME COLUMN`` and with ``DROP COLUMN``.
RENAME_COLUMN_SINCE = (3, 25, 0)
DROP_COLUMN_SINCE = (3, 35, 0)

#: PRAGMAs SQLite ignores or refuses inside a transaction when they set a value, by name, with
#: why; lamina's SQLite backend refuses a transactional migration that runs one.
REFUSED_PRAGMAS: dict[str, str] = {
    "journal_mode": "SQLite keeps the current journal mode inside a transaction, silently",
    "synchronous": "SQLite refuses to change synchronous inside a transaction",
    "page_size": "a new page size takes effect only at a VACUUM, which cannot run in a transaction",
    "auto_vacuum": "auto_vacuum changes an existing database only at a VACUUM, which cannot run "
    "in a transaction",
    "encoding": "SQLite ignores a new encoding once the database has content",
    "wal_checkpoint": "SQLite cannot checkpoint its log inside a transaction",
}
#: PRAGMAs refused inside a transaction even without a value (running them acts).
_REFUSED_EVEN_READING = frozenset({"wal_checkpoint"})

_UNIQUE_ADVICE = (
    "CREATE UNIQUE INDEX on the column instead: SQLite builds it on an existing table, and it "
    "enforces the same uniqueness"
)
_CONSTANT_DEFAULT_ADVICE = (
    "add the column without the default and fill it with an UPDATE (new rows then need the "
    "value from the application), or " + REBUILD_ADVICE
)
_NOT_NULL_ADVICE = (
    "give the column a constant DEFAULT (ADD COLUMN c INTEGER NOT NULL DEFAULT 0), or "
    + REBUILD_ADVICE
)


def sqlite_unsupported(node: exp.Expr, ctx: Context) -> Iterator[Hit]:
    """ALTER TABLE forms and statements SQLite's grammar or its ALTER TABLE refuse."""
    if ctx.dialect != "sqlite":
        return
    if isinstance(node, exp.TruncateTable):
        for table in node.expressions:
            yield Hit(
                _RULE,
                f"truncates {_name(table)}: SQLite has no TRUNCATE",
                suggestion="DELETE FROM the table (SQLite empties a table fast when the DELETE "
                "has no WHERE; lamina reports it as delete-without-where, since every row goes)",
            )
        return
    opaque = opaque_alter(node, ctx.dialect)
    if opaque is not None and adds_a_table_constraint(opaque[1]):
        yield Hit(
            _RULE,
            f"adds a constraint to {opaque[0]}: SQLite cannot add a constraint to an existing "
            "table",
        )
        return
    table, actions = _alter_actions(node)
    if len(actions) > 1:
        yield Hit(
            _RULE,
            f"makes {len(actions)} changes to {_name(table)} in one ALTER TABLE: SQLite makes "
            "one per statement",
            suggestion="write one ALTER TABLE statement per change",
        )
    for action in actions:
        hit = _refused_action(table, action, ctx)
        if hit is not None:
            yield hit


def _refused_action(table: exp.Expr | None, action: exp.Expr, ctx: Context) -> Hit | None:
    if isinstance(action, exp.AlterColumn):
        return Hit(_RULE, f"{alter_column_change(table, action)}: SQLite has no ALTER COLUMN")
    if isinstance(action, exp.AddConstraint):
        return _added_constraint(table, action)
    if isinstance(action, exp.DropPrimaryKey) or _drop_kind(action) == "CONSTRAINT":
        return Hit(_RULE, f"drops a constraint of {_name(table)}: SQLite cannot drop a constraint")
    if isinstance(action, exp.ColumnDef):
        return _added_column(table, action, ctx)
    return _too_new(table, action, ctx)


def _too_new(table: exp.Expr | None, action: exp.Expr, ctx: Context) -> Hit | None:
    """DROP COLUMN and RENAME COLUMN on a SQLite known to be older than the form."""
    if _drop_kind(action) == "COLUMN" and _older_than(ctx, DROP_COLUMN_SINCE):
        columns = ", ".join(_name(c) for c in action.args.get("tables") or [])
        return Hit(
            _RULE,
            f"drops column {_name(table)}.{columns}: SQLite {_version(ctx)} has no DROP COLUMN "
            "(3.35 added it)",
        )
    if isinstance(action, exp.RenameColumn) and _older_than(ctx, RENAME_COLUMN_SINCE):
        return Hit(
            _RULE,
            f"renames column {_name(table)}.{_name(action.this)}: SQLite {_version(ctx)} has "
            "no RENAME COLUMN (3.25 added it)",
        )
    return None


def _added_constraint(table: exp.Expr | None, action: exp.AddConstraint) -> Hit:
    """Any ADD [CONSTRAINT]: SQLite adds constraints only by rebuilding the table."""
    unique = action.find(exp.UniqueColumnConstraint) is not None
    return Hit(
        _RULE,
        f"adds a {_constraint_kind(action)} to {_name(table)}: SQLite cannot add a constraint "
        "to an existing table",
        suggestion=_UNIQUE_ADVICE if unique else None,
    )


def _constraint_kind(action: exp.AddConstraint) -> str:
    kinds = (
        (exp.ForeignKey, "foreign key"),
        (exp.CheckColumnConstraint, "CHECK constraint"),
        (exp.UniqueColumnConstraint, "UNIQUE constraint"),
        (exp.PrimaryKey, "primary key"),
    )
    return next((name for kind, name in kinds if action.find(kind) is not None), "constraint")


def _added_column(table: exp.Expr | None, column: exp.ColumnDef, ctx: Context) -> Hit | None:
    """The ADD COLUMN forms SQLite refuses, with the way around each."""
    where = f"{_name(table)}.{_name(column.this)}"
    constraints = _column_constraints(column)
    kinds = {type(c) for c in constraints}
    if exp.PrimaryKeyColumnConstraint in kinds:
        return Hit(_RULE, f"adds PRIMARY KEY column {where}: SQLite cannot add one")
    if exp.UniqueColumnConstraint in kinds:
        return Hit(
            _RULE,
            f"adds UNIQUE column {where}: SQLite cannot add one",
            suggestion="add the column without UNIQUE, then " + _UNIQUE_ADVICE,
        )
    refused = _refused_with_rows(where, constraints)
    if refused is None:
        return None
    return _on_rows(table, ctx, *refused)


def _refused_with_rows(where: str, constraints: list[exp.Expr]) -> tuple[str, str] | None:
    """``(what, advice)`` for the ADD COLUMN forms SQLite refuses on a table with rows: a
    STORED generated column, a non-constant default, NOT NULL without a non-NULL default."""
    if any(isinstance(c, exp.ComputedColumnConstraint) for c in constraints):
        if not any(c.args.get("persisted") for c in constraints):
            return None
        advice = "add it as a VIRTUAL generated column, or " + REBUILD_ADVICE
        return f"adds STORED generated column {where} (SQLite adds only VIRTUAL ones)", advice
    default = _default(constraints)
    if default is not None and not _constant(default):
        what = f"adds {where} with a non-constant default ({default.sql('sqlite')})"
        return what, _CONSTANT_DEFAULT_ADVICE
    if _not_null(constraints) and (default is None or isinstance(_unwrapped(default), exp.Null)):
        return f"adds NOT NULL column {where} without a non-NULL default", _NOT_NULL_ADVICE
    return None


def _on_rows(table: exp.Expr | None, ctx: Context, what: str, advice: str) -> Hit | None:
    """SQLite checks these against the rows: none on a new or known-empty table; danger when
    the live database says the table has rows, a warning when nothing is known."""
    if ctx.state.is_new(table):
        return None
    facts = ctx.facts.table(ctx.state.key(table))
    rows = facts.rows if facts is not None else None
    if rows == 0:
        return None
    if rows is None:
        message = f"{what}: SQLite refuses it once the table has a row"
        return Hit(_RULE, message, level=RiskLevel.WARNING, suggestion=advice)
    return Hit(_RULE, f"{what}: {_name(table)} has rows, so SQLite refuses it", suggestion=advice)


def _default(constraints: list[exp.Expr]) -> exp.Expr | None:
    for constraint in constraints:
        if isinstance(constraint, exp.DefaultColumnConstraint):
            value: exp.Expr | None = constraint.this
            return value
    return None


def _not_null(constraints: list[exp.Expr]) -> bool:
    return any(
        isinstance(c, exp.NotNullColumnConstraint) and not c.args.get("allow_null")
        for c in constraints
    )


def _unwrapped(value: exp.Expr) -> exp.Expr:
    """The value inside any parentheses: ``((1))`` is ``1``."""
    while isinstance(value, exp.Paren):
        value = value.this
    return value


def _constant(value: exp.Expr) -> bool:
    """A value SQLite accepts as an added column's default: a literal, NULL, TRUE/FALSE, a
    blob, a signed number, a name (SQLite reads it as a string), in any parentheses."""
    value = _unwrapped(value)
    if isinstance(value, exp.Neg):
        return _constant(value.this)
    return isinstance(
        value, exp.Literal | exp.Null | exp.Boolean | exp.HexString | exp.Column | exp.Identifier
    )


def _older_than(ctx: Context, version: tuple[int, ...]) -> bool:
    """Only a known version is older: offline, lamina assumes a SQLite that has the form."""
    known = ctx.facts.server_version
    return known is not None and known < version


def _version(ctx: Context) -> str:
    return ".".join(str(part) for part in ctx.facts.server_version or ())


def sqlite_not_in_transaction(node: exp.Expr, ctx: Context) -> Iterator[Hit]:
    """VACUUM and the PRAGMAs lamina refuses in a transactional SQLite migration."""
    if ctx.dialect != "sqlite" or not ctx.transactional:
        return
    words = command_words(node, ctx.dialect)
    if words[:1] == ("VACUUM",):
        yield Hit(
            "sqlite-not-in-transaction",
            "VACUUM cannot run inside the migration's transaction: SQLite refuses it",
            suggestion=OUTSIDE_A_TRANSACTION,
        )
    name = _pragma_refused(node)
    if name is not None:
        yield Hit(
            "sqlite-not-in-transaction",
            f"PRAGMA {name} inside the migration's transaction: {REFUSED_PRAGMAS[name]}",
            suggestion=OUTSIDE_A_TRANSACTION,
        )


def _pragma_refused(node: exp.Expr) -> str | None:
    """The name of a PRAGMA in :data:`REFUSED_PRAGMAS` that this statement would run."""
    if not isinstance(node, exp.Pragma):
        return None
    target = node.this
    sets = isinstance(target, exp.EQ)
    if sets:
        target = target.this
    if isinstance(target, exp.Dot):  # PRAGMA main.journal_mode
        target = target.expression
    name = target.name.lower() if isinstance(target, exp.Expr) else ""
    if name in REFUSED_PRAGMAS and (sets or name in _REFUSED_EVEN_READING):
        return name
    return None


#: sqlite's statement rules, in the order their findings are listed.
STATEMENT_RULES: tuple[Rule, ...] = (sqlite_unsupported, sqlite_not_in_transaction)

#: Leading words of statements sqlglot reads only as a Command that are harmless here (see
#: :data:`lamina.risk.rules.UNDERSTOOD`). VACUUM inside a transaction is
#: ``sqlite-not-in-transaction``; outside one it rewrites the file and loses nothing.
UNDERSTOOD: tuple[tuple[str, ...], ...] = (
    ("REINDEX",),
    ("VACUUM",),
    # A trigger is created with its body (one statement: see grammar.parse); the body runs
    # later, on the rows its event touches, and creating it locks only the schema.
    ("CREATE", "TRIGGER"),
    ("CREATE", "TEMP", "TRIGGER"),
    ("CREATE", "TEMPORARY", "TRIGGER"),
)
