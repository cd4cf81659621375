"""What the migration has done so far, as the analyzer walks its statements in order.

Many rules depend on context a single statement does not carry: an index built on a table the
same migration created locks nothing anyone uses; a down that drops a column the up added
destroys what was written since; DuckDB refuses to alter a table that has an index. The
analyzer updates a :class:`SchemaSoFar` after checking each statement, so each rule sees
the schema as it stands just before the statement runs.

Table and column names are compared case-insensitively, by their unqualified name.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from sqlglot import exp

from lamina.risk.grammar import parse, renames_a_column
from lamina.risk.model import LiveFacts

__all__ = ["SchemaSoFar", "column_key", "created_by", "rebuilt_tables", "table_key"]

Column = tuple[str, str]


def table_key(table: exp.Expr | None) -> str:
    """How the state names a table (or index): its unqualified name, lower-cased."""
    return table.name.lower() if table is not None else ""


def column_key(table: exp.Expr | None, column: exp.Expr | None) -> Column:
    return table_key(table), column.name.lower() if column is not None else ""


@dataclass
class SchemaSoFar:
    """The schema facts the rules consult, as of the statement being checked.

    Attributes:
        new_tables: tables this migration created (not ``IF NOT EXISTS``): nobody uses them yet.
        added_columns: ``(table, column)`` pairs this migration added.
        indexes: index name → table, for indexes known by name (live or created here).
        unnamed_indexed: tables with live indexes whose names the caller did not give.
        up_tables / up_columns: what the migration's up created, when checking its down.
        rebuilt: table -> its copy, for tables the migration rebuilds (:func:`rebuilt_tables`):
            their DROP TABLE is one step of a copy that then takes their name and rows.
    """

    new_tables: set[str] = field(default_factory=set)
    added_columns: set[Column] = field(default_factory=set)
    indexes: dict[str, str] = field(default_factory=dict)
    unnamed_indexed: set[str] = field(default_factory=set)
    up_tables: set[str] = field(default_factory=set)
    up_columns: set[Column] = field(default_factory=set)
    created_indexes: set[str] = field(default_factory=set)
    rebuilt: dict[str, str] = field(default_factory=dict)
    _anonymous: itertools.count[int] = field(default_factory=itertools.count)

    @classmethod
    def start(cls, facts: LiveFacts, up_statements: Iterable[str], dialect: str) -> SchemaSoFar:
        """The state before the first statement: live indexes, and what the up created."""
        state = cls()
        for table, known in facts.tables.items():
            state.indexes.update({name.lower(): table for name in known.indexes})
            if known.indexed and not known.indexes:
                state.unnamed_indexed.add(table)
        state._learn_up(up_statements, dialect)
        return state

    def is_new(self, table: exp.Expr | None) -> bool:
        return table_key(table) in self.new_tables

    def is_added(self, table: exp.Expr | None, column: exp.Expr | None) -> bool:
        """True for columns of new tables too: neither has data or users yet."""
        return self.is_new(table) or column_key(table, column) in self.added_columns

    def index_names(self, table: exp.Expr | None) -> list[str] | None:
        """The table's indexes (names may be unknown, hence ``[]``), or None without any."""
        key = table_key(table)
        names = sorted(name for name, owner in self.indexes.items() if owner == key)
        if names:
            return [name for name in names if not name.startswith("<")]
        return [] if key in self.unnamed_indexed else None

    def created_by_up(self, table: exp.Expr | None, column: exp.Expr | None = None) -> bool:
        if table_key(table) in self.up_tables:
            return True
        return column is not None and column_key(table, column) in self.up_columns

    def apply(self, node: exp.Expr) -> None:
        """Record what the statement does to the schema, after the rules have seen it."""
        if isinstance(node, exp.Create):
            self._apply_create(node)
        elif isinstance(node, exp.Drop):
            self._apply_drop(node)
        elif isinstance(node, exp.Alter) and node.args.get("kind") == "TABLE":
            for action in node.args.get("actions") or []:
                self._apply_alter(node.this, action, node)

    def _learn_up(self, up_statements: Iterable[str], dialect: str) -> None:
        for sql in up_statements:
            for node in parse(sql, dialect) or []:
                tables, columns = created_by(node)
                self.up_tables.update(tables)
                self.up_columns.update(columns)

    def _apply_create(self, node: exp.Create) -> None:
        kind = node.args.get("kind")
        if kind == "TABLE" and not node.args.get("exists"):
            self.new_tables.add(table_key(_created_table(node)))
        elif kind == "INDEX" and isinstance(node.this, exp.Index):
            index = node.this
            name = index.name.lower() or f"<unnamed {next(self._anonymous)}>"
            self.indexes[name] = table_key(index.args.get("table"))
            self.created_indexes.add(name)

    def _apply_drop(self, node: exp.Drop) -> None:
        kind = node.args.get("kind")
        for target in node.args.get("tables") or []:
            key = table_key(target)
            if kind == "INDEX":
                self.indexes.pop(key, None)
            elif kind == "TABLE":
                self._forget_table(key)

    def _apply_alter(self, table: exp.Expr | None, action: exp.Expr, alter: exp.Alter) -> None:
        key = table_key(table)
        if isinstance(action, exp.ColumnDef):
            self.added_columns.add(column_key(table, action.this))
        elif isinstance(action, exp.Drop) and action.args.get("kind") == "COLUMN":
            for column in action.args.get("tables") or []:
                self.added_columns.discard(column_key(table, column))
        elif isinstance(action, exp.AlterRename) and not renames_a_column(alter):
            self._rename_table(key, table_key(action.this))
        elif isinstance(action, exp.RenameColumn):
            self._rename_column(key, action.this, action.args.get("to"))

    def _forget_table(self, key: str) -> None:
        self.new_tables.discard(key)
        self.unnamed_indexed.discard(key)
        self.indexes = {name: owner for name, owner in self.indexes.items() if owner != key}
        self.added_columns = {c for c in self.added_columns if c[0] != key}

    def _rename_table(self, old: str, new: str) -> None:
        if old in self.new_tables:
            # The copy that replaces a rebuilt table holds its rows and its users: not new.
            self.new_tables = (self.new_tables - {old}) | ({new} - self.rebuilt.keys())
        if old in self.unnamed_indexed:
            self.unnamed_indexed = (self.unnamed_indexed - {old}) | {new}
        self.indexes = {name: new if t == old else t for name, t in self.indexes.items()}
        self.added_columns = {(new if t == old else t, c) for t, c in self.added_columns}

    def _rename_column(self, table: str, old: exp.Expr | None, new: exp.Expr | None) -> None:
        before = (table, old.name.lower() if old is not None else "")
        if before in self.added_columns and new is not None:
            self.added_columns = (self.added_columns - {before}) | {(table, new.name.lower())}


def created_by(node: exp.Expr) -> tuple[set[str], set[Column]]:
    """The tables and columns a statement creates (CREATE TABLE, ALTER TABLE ... ADD COLUMN)."""
    if isinstance(node, exp.Create) and node.args.get("kind") == "TABLE":
        return {table_key(_created_table(node))}, set()
    if isinstance(node, exp.Alter) and node.args.get("kind") == "TABLE":
        actions: Sequence[exp.Expr] = node.args.get("actions") or []
        columns = {column_key(node.this, a.this) for a in actions if isinstance(a, exp.ColumnDef)}
        return set(), columns
    return set(), set()


def rebuilt_tables(nodes: Iterable[exp.Expr]) -> dict[str, str]:
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
            created.add(table_key(_created_table(node)))
        copy = _copy(node, created)
        if copy is not None:
            filled.setdefault(copy[0], set()).add(copy[1])
        elif isinstance(node, exp.Drop) and str(node.args.get("kind") or "").upper() == "TABLE":
            for target in node.args.get("tables") or []:
                old = table_key(target)
                copies = [new for new, sources in filled.items() if old in sources]
                if copies:
                    dropped[old] = copies[-1]
        elif isinstance(node, exp.Alter) and node.args.get("kind") == "TABLE":
            for action in node.args.get("actions") or []:
                if isinstance(action, exp.AlterRename) and not renames_a_column(node):
                    old = table_key(action.this)
                    if dropped.get(old) == table_key(node.this):
                        rebuilt[old] = table_key(node.this)
    return rebuilt


def _creates_a_table(node: exp.Create) -> bool:
    """``CREATE TABLE`` without ``IF NOT EXISTS`` (with it, the table may hold rows)."""
    return node.args.get("kind") == "TABLE" and not node.args.get("exists")


def _copy(node: exp.Expr, created: set[str]) -> tuple[str, str] | None:
    """``(new, x)`` when ``node`` copies every row of ``x`` into ``new``, a table this
    migration created (``CREATE TABLE new AS SELECT``, ``INSERT INTO new SELECT``)."""
    if isinstance(node, exp.Create):
        target = _created_table(node)
    elif isinstance(node, exp.Insert):
        target = node.this.this if isinstance(node.this, exp.Schema) else node.this
    else:
        return None
    new, source = table_key(target), _full_copy_source(node.expression)
    return (new, source) if new in created and source is not None else None


def _full_copy_source(query: exp.Expr | None) -> str | None:
    """The table a ``SELECT ... FROM x`` copies every row of, or None (a filter, a limit, a
    join, a grouping, or anything but a plain SELECT from one table)."""
    if not isinstance(query, exp.Select):
        return None
    if any(query.args.get(part) for part in ("where", "limit", "having", "group", "joins")):
        return None
    source = query.args.get("from") or query.args.get("from_")
    table = source.this if isinstance(source, exp.From) else None
    return table_key(table) if isinstance(table, exp.Table) else None


def _created_table(node: exp.Create) -> exp.Expr | None:
    """``CREATE TABLE t (...)`` wraps the table in a Schema; ``CREATE TABLE t AS`` does not."""
    target: exp.Expr | None = node.this
    return target.this if isinstance(target, exp.Schema) else target
