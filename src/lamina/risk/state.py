"""What the migration has done so far, as the analyzer walks its statements in order.

Many rules depend on context a single statement does not carry: an index built on a table the
same migration created locks nothing anyone uses; a down that drops a column the up added
destroys what was written since; DuckDB refuses to alter a table that has an index; and inside
one transaction, a lock an early statement took is held while every later statement runs. The
analyzer updates a :class:`SchemaSoFar` after checking each statement, so each rule sees
the schema (and the transaction) as it stands just before the statement runs.

Names are compared case-insensitively. A table is known by its name, qualified by its schema
unless that is the engine's default schema (PostgreSQL's ``public``, DuckDB's and SQLite's
``main``): ``public.orders`` and ``orders`` are one table, ``archive.orders`` another. MySQL's
default database is the connection's, unknown here, so a qualified name stays qualified.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlglot import exp

from lamina.risk.grammar import (
    AddCheck,
    AddEnumValue,
    AlterTable,
    Statement,
    ValidateConstraint,
    command_words,
    parse,
    renames_a_column,
)
from lamina.risk.model import LiveFacts

if TYPE_CHECKING:
    from lamina.risk import ParseCache
    from lamina.risk.rules.locks import LockMode

__all__ = [
    "DEFAULT_SCHEMAS",
    "Held",
    "SchemaSoFar",
    "column_key",
    "created_by",
    "rebuilt_tables",
    "table_key",
]

Column = tuple[str, str]

#: The schema an unqualified name resolves to, per dialect (PostgreSQL: the usual search_path).
DEFAULT_SCHEMAS = {"postgres": "public", "duckdb": "main", "sqlite": "main"}


def table_key(table: exp.Expr | None, dialect: str | None = None) -> str:
    """How the state names a table (or index): lower-cased, ``schema.name`` outside the
    default schema of ``dialect``."""
    if table is None:
        return ""
    name = table.name.lower()
    schema = table.text("db").lower() if isinstance(table, exp.Table) else ""
    if not schema or schema == DEFAULT_SCHEMAS.get(dialect or ""):
        return name
    return f"{schema}.{name}"


def column_key(
    table: exp.Expr | None, column: exp.Expr | None, dialect: str | None = None
) -> Column:
    return table_key(table, dialect), column.name.lower() if column is not None else ""


def _sibling(key: str, name: str) -> str:
    """``name`` in the schema of ``key``: an index lives in its table's schema, and a table
    renamed with ``RENAME TO`` stays in its own."""
    schema, dot, _ = key.rpartition(".")
    return f"{schema}{dot}{name.lower()}"


@dataclass(frozen=True, slots=True)
class Held:
    """A lock an earlier statement took, held until the migration's transaction ends."""

    mode: LockMode
    statement: str
    line: int | None = None


@dataclass
class SchemaSoFar:
    """The schema facts the rules consult, as of the statement being checked.

    Attributes:
        dialect: the sqlglot dialect, for the default schema of unqualified names.
        new_tables: tables this migration created (not ``IF NOT EXISTS``): nobody uses them yet.
        added_columns: ``(table, column)`` pairs this migration added.
        indexes: index name → table, for indexes known by name (live or created here).
        unnamed_indexed: tables with live indexes whose names the caller did not give.
        up_tables / up_columns: what the migration's up created, when checking its down.
        rebuilt: table -> its copy, for tables the migration rebuilds (:func:`rebuilt_tables`):
            their DROP TABLE is one step of a copy that then takes their name and rows.
        held: table -> the strongest lock an earlier statement took on it, when the migration
            runs in one transaction (the analyzer records them; PostgreSQL only).
        not_valid: ``(table, constraint)`` -> line, for constraints added ``NOT VALID`` here.
        validated: table -> ``(constraint, line)`` of CHECKs validated here (by ``VALIDATE
            CONSTRAINT`` or by being added without ``NOT VALID``).
        referencing: table -> the tables whose foreign keys, added here, point at it.
        new_types: types this migration created; enum_values: value -> (type, line) for
            ``ALTER TYPE ... ADD VALUE`` here.
        statements: every statement of the migration, in order (the analyzer sets it), for
            rules that judge a statement by what comes after it as well.
    """

    dialect: str = ""
    new_tables: set[str] = field(default_factory=set)
    added_columns: set[Column] = field(default_factory=set)
    indexes: dict[str, str] = field(default_factory=dict)
    unnamed_indexed: set[str] = field(default_factory=set)
    up_tables: set[str] = field(default_factory=set)
    up_columns: set[Column] = field(default_factory=set)
    created_indexes: set[str] = field(default_factory=set)
    rebuilt: dict[str, str] = field(default_factory=dict)
    held: dict[str, Held] = field(default_factory=dict)
    not_valid: dict[Column, int | None] = field(default_factory=dict)
    validated: dict[str, list[tuple[str, int | None]]] = field(default_factory=dict)
    referencing: dict[str, set[str]] = field(default_factory=dict)
    new_types: set[str] = field(default_factory=set)
    enum_values: dict[str, tuple[str, int | None]] = field(default_factory=dict)
    statements: tuple[Statement, ...] = ()
    _anonymous: itertools.count[int] = field(default_factory=itertools.count)

    @classmethod
    def start(
        cls,
        facts: LiveFacts,
        up_statements: Iterable[str],
        dialect: str,
        cache: ParseCache | None = None,
    ) -> SchemaSoFar:
        """The state before the first statement: live indexes, and what the up created (read
        from ``cache`` when the up was parsed already)."""
        state = cls(dialect)
        for table, known in facts.tables.items():
            state.indexes.update({_sibling(table, name): table for name in known.indexes})
            if known.indexed and not known.indexes:
                state.unnamed_indexed.add(table)
            for source in known.referenced_by:
                state.referencing.setdefault(table, set()).add(source.lower())
        state._learn_up(up_statements, cache)
        return state

    def key(self, table: exp.Expr | None) -> str:
        """The state's name for ``table``: see :func:`table_key`."""
        return table_key(table, self.dialect)

    def is_new(self, table: exp.Expr | None) -> bool:
        return self.key(table) in self.new_tables

    def is_added(self, table: exp.Expr | None, column: exp.Expr | None) -> bool:
        """True for columns of new tables too: neither has data or users yet."""
        return self.is_new(table) or column_key(table, column, self.dialect) in self.added_columns

    def index_names(self, table: exp.Expr | None) -> list[str] | None:
        """The table's indexes (names may be unknown, hence ``[]``), or None without any."""
        key = self.key(table)
        names = sorted(name for name, owner in self.indexes.items() if owner == key)
        if names:
            return [name.rpartition(".")[2] for name in names if not name.startswith("<")]
        return [] if key in self.unnamed_indexed else None

    def index_table(self, index: exp.Expr | None) -> str | None:
        """The table an index (known by name) belongs to, or None."""
        return self.indexes.get(self.key(index))

    def created_by_up(self, table: exp.Expr | None, column: exp.Expr | None = None) -> bool:
        if self.key(table) in self.up_tables:
            return True
        return column is not None and column_key(table, column, self.dialect) in self.up_columns

    def hold(self, table: str, held: Held) -> None:
        """Remember a lock taken on ``table``, unless a stronger one is held already."""
        current = self.held.get(table)
        if current is None or held.mode > current.mode:
            self.held[table] = held

    def apply(self, node: Statement, line: int | None = None) -> None:
        """Record what the statement does to the schema, after the rules have seen it."""
        if isinstance(node, AlterTable):
            self._apply_read_alter(node, line)
        elif isinstance(node, exp.Create):
            self._apply_create(node)
        elif isinstance(node, exp.Drop):
            self._apply_drop(node)
        elif isinstance(node, exp.Alter) and node.args.get("kind") == "TABLE":
            for action in node.args.get("actions") or []:
                self._apply_alter(node.this, action, node, line)
        elif isinstance(node, AddEnumValue):
            self.enum_values[node.value] = (self.key(node.enum), line)
        elif command_words(node, self.dialect)[:2] == ("CREATE", "DOMAIN"):
            name = command_words(node, self.dialect)[2:5]
            dotted = "".join(name) if name[1:2] == (".",) else name[0]
            self.new_types.add(self.key(exp.to_table(dotted.lower())))

    def _learn_up(self, up_statements: Iterable[str], cache: ParseCache | None) -> None:
        for sql in up_statements:
            for node in parse(sql, self.dialect, cache) or []:
                tables, columns = created_by(node, self.dialect)
                self.up_tables.update(tables)
                self.up_columns.update(columns)

    def _apply_create(self, node: exp.Create) -> None:
        kind = node.args.get("kind")
        if kind == "TABLE" and not node.args.get("exists"):
            table = self.key(_created_table(node))
            self.new_tables.add(table)
            for reference in node.find_all(exp.Reference):
                self._references(table, reference)
        elif kind == "TYPE":
            self.new_types.add(self.key(node.this))
        elif kind == "INDEX" and isinstance(node.this, exp.Index):
            index = node.this
            table = self.key(index.args.get("table"))
            name = _sibling(table, index.name) if index.name else f"<{next(self._anonymous)}>"
            self.indexes[name] = table
            self.created_indexes.add(name)

    def _apply_drop(self, node: exp.Drop) -> None:
        kind = node.args.get("kind")
        for target in node.args.get("tables") or []:
            key = self.key(target)
            if kind == "INDEX":
                self.indexes.pop(key, None)
            elif kind == "TABLE":
                self._forget_table(key)

    def _apply_alter(
        self, table: exp.Expr | None, action: exp.Expr, alter: exp.Alter, line: int | None
    ) -> None:
        key = self.key(table)
        if isinstance(action, exp.ColumnDef):
            self.added_columns.add(column_key(table, action.this, self.dialect))
            for reference in action.find_all(exp.Reference):  # ADD COLUMN c REFERENCES t
                self._references(key, reference)
        elif isinstance(action, exp.Drop) and action.args.get("kind") == "COLUMN":
            for column in action.args.get("tables") or []:
                self.added_columns.discard(column_key(table, column, self.dialect))
        elif isinstance(action, exp.AlterRename) and not renames_a_column(alter):
            self._rename_table(key, _sibling(key, action.this.name))
        elif isinstance(action, exp.RenameColumn):
            self._rename_column(key, action.this, action.args.get("to"))
        elif isinstance(action, exp.AddConstraint):
            self._add_constraints(key, action, bool(alter.args.get("not_valid")), line)

    def _apply_read_alter(self, node: AlterTable, line: int | None) -> None:
        """An ALTER TABLE lamina read from its tokens: validations and unnamed CHECKs."""
        key = self.key(node.table)
        for action in node.actions:
            if isinstance(action, ValidateConstraint):
                name = action.name.lower()
                self.validated.setdefault(key, []).append((name, line))
                self.not_valid.pop((key, name), None)
            elif isinstance(action, AddCheck) and not action.not_valid:
                self.validated.setdefault(key, []).append(("", line))

    def _add_constraints(
        self, table: str, action: exp.AddConstraint, not_valid: bool, line: int | None
    ) -> None:
        for constraint in action.expressions:
            name = constraint.name.lower() if isinstance(constraint, exp.Constraint) else ""
            for reference in constraint.find_all(exp.Reference):
                self._references(table, reference)
            if not_valid and name:
                self.not_valid[(table, name)] = line
            elif constraint.find(exp.CheckColumnConstraint) is not None:
                self.validated.setdefault(table, []).append((name, line))

    def _references(self, table: str, reference: exp.Reference) -> None:
        target = reference.find(exp.Table)
        if target is not None:
            self.referencing.setdefault(self.key(target), set()).add(table)

    def _forget_table(self, key: str) -> None:
        self.new_tables.discard(key)
        self.unnamed_indexed.discard(key)
        self.held.pop(key, None)
        self.indexes = {name: owner for name, owner in self.indexes.items() if owner != key}
        self.added_columns = {c for c in self.added_columns if c[0] != key}
        # Its foreign keys went with it, and nothing can point at a table that is gone.
        self.referencing.pop(key, None)
        for sources in self.referencing.values():
            sources.discard(key)

    def _rename_table(self, old: str, new: str) -> None:
        if old in self.new_tables:
            # The copy that replaces a rebuilt table holds its rows and its users: not new.
            self.new_tables = (self.new_tables - {old}) | ({new} - self.rebuilt.keys())
        if old in self.unnamed_indexed:
            self.unnamed_indexed = (self.unnamed_indexed - {old}) | {new}
        if old in self.held:
            self.held[new] = self.held.pop(old)
        self.indexes = {name: new if t == old else t for name, t in self.indexes.items()}
        self.added_columns = {(new if t == old else t, c) for t, c in self.added_columns}
        if old in self.referencing:
            self.referencing[new] = self.referencing.pop(old)
        for sources in self.referencing.values():
            if old in sources:
                sources.discard(old)
                sources.add(new)

    def _rename_column(self, table: str, old: exp.Expr | None, new: exp.Expr | None) -> None:
        before = (table, old.name.lower() if old is not None else "")
        if before in self.added_columns and new is not None:
            self.added_columns = (self.added_columns - {before}) | {(table, new.name.lower())}


def created_by(node: Statement, dialect: str | None = None) -> tuple[set[str], set[Column]]:
    """The tables and columns a statement creates (CREATE TABLE, ALTER TABLE ... ADD COLUMN)."""
    if isinstance(node, exp.Create) and node.args.get("kind") == "TABLE":
        return {table_key(_created_table(node), dialect)}, set()
    if isinstance(node, exp.Alter) and node.args.get("kind") == "TABLE":
        actions: Sequence[exp.Expr] = node.args.get("actions") or []
        columns = {
            column_key(node.this, a.this, dialect) for a in actions if isinstance(a, exp.ColumnDef)
        }
        return set(), columns
    return set(), set()


def rebuilt_tables(nodes: Iterable[Statement], dialect: str | None = None) -> dict[str, str]:
    """The tables a migration rebuilds, each with the copy that takes its place.

    The rebuild is SQLite's recipe for changes ``ALTER TABLE`` cannot make
    (https://sqlite.org/lang_altertable.html), used on every engine: in this order, ``CREATE
    TABLE new`` (or ``CREATE TABLE new AS SELECT ... FROM x``), ``INSERT INTO new ... SELECT
    ... FROM x`` with no ``WHERE``/``LIMIT`` (every row is copied), ``DROP TABLE x``, then
    ``ALTER TABLE new RENAME TO x``. Anything less (no copy, a filtered copy, no rename to
    the old name) is not a rebuild, and its DROP TABLE stays a ``drop-table``.
    """
    created: set[str] = set()
    filled: dict[str, set[str]] = {}  # new table -> tables copied into it in full
    dropped: dict[str, str] = {}  # dropped table -> the new table filled from it
    rebuilt: dict[str, str] = {}
    for node in nodes:
        if isinstance(node, exp.Create) and _creates_a_table(node):
            created.add(table_key(_created_table(node), dialect))
        copy = _copy(node, created, dialect)
        if copy is not None:
            filled.setdefault(copy[0], set()).add(copy[1])
        elif isinstance(node, exp.Drop) and str(node.args.get("kind") or "").upper() == "TABLE":
            for target in node.args.get("tables") or []:
                old = table_key(target, dialect)
                copies = [new for new, sources in filled.items() if old in sources]
                if copies:
                    dropped[old] = copies[-1]
        elif isinstance(node, exp.Alter) and node.args.get("kind") == "TABLE":
            copy_key = table_key(node.this, dialect)
            for action in node.args.get("actions") or []:
                if isinstance(action, exp.AlterRename) and not renames_a_column(node):
                    old = _sibling(copy_key, action.this.name)
                    if dropped.get(old) == copy_key:
                        rebuilt[old] = copy_key
    return rebuilt


def _creates_a_table(node: exp.Create) -> bool:
    """``CREATE TABLE`` without ``IF NOT EXISTS`` (with it, the table may hold rows)."""
    return node.args.get("kind") == "TABLE" and not node.args.get("exists")


def _copy(node: Statement, created: set[str], dialect: str | None) -> tuple[str, str] | None:
    """``(new, x)`` when ``node`` copies every row of ``x`` into ``new``, a table this
    migration created (``CREATE TABLE new AS SELECT``, ``INSERT INTO new SELECT``)."""
    if isinstance(node, exp.Create):
        target = _created_table(node)
    elif isinstance(node, exp.Insert):
        target = node.this.this if isinstance(node.this, exp.Schema) else node.this
    else:
        return None
    new, source = table_key(target, dialect), _full_copy_source(node.expression, dialect)
    return (new, source) if new in created and source is not None else None


def _full_copy_source(query: exp.Expr | None, dialect: str | None) -> str | None:
    """The table a ``SELECT ... FROM x`` copies every row of, or None (a filter, a limit, a
    join, a grouping, or anything but a plain SELECT from one table)."""
    if not isinstance(query, exp.Select):
        return None
    if any(query.args.get(part) for part in ("where", "limit", "having", "group", "joins")):
        return None
    source = query.args.get("from") or query.args.get("from_")
    table = source.this if isinstance(source, exp.From) else None
    return table_key(table, dialect) if isinstance(table, exp.Table) else None


def _created_table(node: exp.Create) -> exp.Expr | None:
    """``CREATE TABLE t (...)`` wraps the table in a Schema; ``CREATE TABLE t AS`` does not."""
    target: exp.Expr | None = node.this
    return target.this if isinstance(target, exp.Schema) else target
