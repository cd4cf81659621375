"""What every dialect's DDL renderer shares: identifiers, column and constraint clauses,
CREATE TABLE, indexes, views, and the ALTER TABLE steps of the engines that can alter.

Constraint names are not in a snapshot, so the renderers name every constraint they create
(``users_email_key``, ``orders_user_id_fkey``, ``users_score_check``: PostgreSQL's own default
names) and assume those names when they drop one; a note says so.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from lamina.engines import spec_for_dialect
from lamina.schema.model import Column, ForeignKey, Index, SchemaObject, Table, View

__all__ = ["LITERAL", "AlterSteps", "Renderer", "mentions"]

_PLAIN = re.compile(r"^[a-z_][a-z0-9_]*$")
#: Words quoted when used as a name: the SQL keywords the four engines reserve alike.
RESERVED = frozenset(
    [
        "all",
        "alter",
        "analyse",
        "analyze",
        "and",
        "any",
        "array",
        "as",
        "asc",
        "between",
        "both",
        "by",
        "case",
        "cast",
        "check",
        "collate",
        "column",
        "constraint",
        "create",
        "cross",
        "current_date",
        "current_time",
        "current_timestamp",
        "current_user",
        "default",
        "delete",
        "desc",
        "distinct",
        "do",
        "drop",
        "else",
        "end",
        "except",
        "exists",
        "false",
        "fetch",
        "for",
        "foreign",
        "from",
        "full",
        "grant",
        "group",
        "having",
        "in",
        "index",
        "inner",
        "insert",
        "intersect",
        "into",
        "is",
        "join",
        "key",
        "keys",
        "leading",
        "left",
        "like",
        "limit",
        "localtime",
        "localtimestamp",
        "natural",
        "not",
        "null",
        "offset",
        "on",
        "only",
        "or",
        "order",
        "outer",
        "primary",
        "range",
        "references",
        "returning",
        "right",
        "rows",
        "select",
        "session_user",
        "set",
        "some",
        "table",
        "then",
        "to",
        "trailing",
        "true",
        "union",
        "unique",
        "update",
        "user",
        "using",
        "values",
        "when",
        "where",
        "window",
        "with",
    ]
)
LITERAL = re.compile(
    r"^(-?\d+(\.\d+)?([e][-+]?\d+)?|'([^']|'')*'|true|false|null|current_timestamp"
    r"|current_date|current_time|localtimestamp)$"
)
_WORD = re.compile(r"[a-z_][a-z0-9_$]*")


def mentions(definition: str | None, name: str) -> bool:
    """Whether ``definition`` names ``name`` as a word (a view reading a table, ...)."""
    if not definition:
        return False
    return (
        re.search(rf"(?<![\w$.]){re.escape(name.lower())}(?![\w$])", definition.lower()) is not None
    )


@dataclass
class AlterSteps:
    """A table's ALTER statements, by phase: ``early`` before any table is created or
    altered (dropping constraints and indexes), ``main`` the change itself, ``late`` once
    every table exists (foreign keys, indexes)."""

    early: list[str] = field(default_factory=list)
    main: list[str] = field(default_factory=list)
    late: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


class Renderer:
    """The DDL of one dialect. Subclasses override the clauses their engine spells its own way."""

    dialect = ""
    #: Whether ALTER TABLE can add a foreign key (a cycle of foreign keys needs it).
    alter_adds_foreign_keys = True
    #: Whether a table another table references must be rebuilt with it (DuckDB).
    rebuild_takes_children = False
    #: Whether ADD COLUMN can place a column between others (MySQL's AFTER).
    places_columns = False
    #: Names this dialect reserves besides :data:`RESERVED`.
    reserved: frozenset[str] = frozenset()

    def __init__(self) -> None:
        self._quote: Callable[[str], str] = spec_for_dialect(self.dialect).quote

    # -- names ------------------------------------------------------------------------------
    def ident(self, name: str) -> str:
        """``name`` bare when it can be, quoted otherwise (upper case, spaces, keywords)."""
        if _PLAIN.match(name) and name not in RESERVED and name not in self.reserved:
            return name
        return self._quote(name)

    def names(self, columns: tuple[str, ...]) -> str:
        return ", ".join(self.ident(c) for c in columns)

    def fk_name(self, table: str, fk: ForeignKey) -> str:
        return _limit(f"{table}_{'_'.join(fk.columns)}_fkey")

    def unique_name(self, table: str, columns: tuple[str, ...]) -> str:
        return _limit(f"{table}_{'_'.join(columns)}_key")

    def check_name(self, table: Table, check: str) -> str:
        """PostgreSQL's default: the table and the first column the expression names."""
        words = set(_WORD.findall(check))
        first = next((c.name for c in table.columns if c.name in words), None)
        return _limit(f"{table.name}_{first}_check" if first else f"{table.name}_check")

    # -- clauses ----------------------------------------------------------------------------
    def default_clause(self, column: Column) -> str:
        value = column.default
        if value is None:
            return ""
        if value.startswith("generated "):
            return " " + value.upper() if "identity" in value else " " + value
        return f" DEFAULT {self.default_value(value)}"

    def default_value(self, value: str) -> str:
        return value

    def column_def(self, table: str, column: Column) -> str:
        kind = f" {column.type}" if column.type else ""
        null = "" if column.nullable else " NOT NULL"
        return f"{self.ident(column.name)}{kind}{null}{self.default_clause(column)}"

    def fk_clause(self, table: str, fk: ForeignKey) -> str:
        text = (
            f"CONSTRAINT {self.ident(self.fk_name(table, fk))} "
            f"FOREIGN KEY ({self.names(fk.columns)})"
            f" REFERENCES {self.ident(fk.ref_table)} ({self.names(fk.ref_columns)})"
        )
        return text if fk.on_delete == "NO ACTION" else f"{text} ON DELETE {fk.on_delete}"

    def unique_clause(self, table: str, columns: tuple[str, ...]) -> str:
        name = self.ident(self.unique_name(table, columns))
        return f"CONSTRAINT {name} UNIQUE ({self.names(columns)})"

    def check_clause(self, table: Table, check: str) -> str:
        return f"CONSTRAINT {self.ident(self.check_name(table, check))} CHECK ({check})"

    # -- tables -----------------------------------------------------------------------------
    def create_table(
        self,
        table: Table,
        *,
        name: str | None = None,
        skip_fks: frozenset[ForeignKey] = frozenset(),
    ) -> list[str]:
        """CREATE TABLE with its keys and constraints; ``skip_fks`` are added later by ALTER."""
        called = name or table.name
        parts = [self.column_def(called, c) for c in table.columns]
        if table.primary_key:
            parts.append(f"PRIMARY KEY ({self.names(table.primary_key)})")
        parts += [self.unique_clause(table.name, u) for u in table.uniques]
        parts += [self.check_clause(table, c) for c in table.checks]
        parts += [self.fk_clause(table.name, fk) for fk in table.foreign_keys if fk not in skip_fks]
        body = ",\n  ".join(parts)
        return [f"CREATE TABLE {self.ident(called)} (\n  {body}\n)"]

    def drop_table(self, name: str) -> list[str]:
        return [f"DROP TABLE {self.ident(name)}"]

    def rename_table(self, old: str, new: str) -> list[str]:
        return [f"ALTER TABLE {self.ident(old)} RENAME TO {self.ident(new)}"]

    def rename_column(self, table: str, old: str, new: str) -> list[str]:
        return [
            f"ALTER TABLE {self.ident(table)} RENAME COLUMN {self.ident(old)} TO {self.ident(new)}"
        ]

    def index_key(self, key: str) -> str:
        bare, _, order = key.rpartition(" ") if key.endswith((" desc", " asc")) else (key, "", "")
        text = self.ident(bare) if _PLAIN.match(bare) else bare
        if not _PLAIN.match(bare) and not re.fullmatch(r"[\w.]+\(.*\)", bare):
            text = f"({bare})"
        return f"{text} {order}".rstrip()

    def create_index(self, table: str, index: Index) -> list[str]:
        unique = "UNIQUE " if index.unique else ""
        using = f" USING {index.method}" if index.method else ""
        keys = ", ".join(self.index_key(k) for k in index.columns)
        where = f" WHERE {index.where}" if index.where else ""
        head = f"CREATE {unique}INDEX {self.ident(index.name)} ON {self.ident(table)}"
        return [f"{head}{using} ({keys}){where}"]

    def drop_index(self, table: str, index: Index) -> list[str]:
        return [f"DROP INDEX {self.ident(index.name)}"]

    def add_foreign_key(self, table: str, fk: ForeignKey) -> list[str]:
        return [f"ALTER TABLE {self.ident(table)} ADD {self.fk_clause(table, fk)}"]

    def drop_foreign_key(self, table: Table, fk: ForeignKey) -> list[str]:
        return [self._drop_constraint(table.name, self.fk_name(table.name, fk))]

    def _drop_constraint(self, table: str, name: str) -> str:
        return f"ALTER TABLE {self.ident(table)} DROP CONSTRAINT {self.ident(name)}"

    def alter_table(self, old: Table, new: Table) -> AlterSteps | None:  # noqa: PLR0912 - one step each
        """The ALTER statements taking ``old`` to ``new`` (same name, renamed columns already
        renamed), or None when the table must be rebuilt. Foreign keys are the planner's."""
        steps = AlterSteps()
        t = self.ident(new.name)
        for index in old.indexes:
            if new.index(index.name) != index:
                steps.early += self.drop_index(old.name, index)
        for check in old.checks:
            if check not in new.checks:
                steps.main.append(self._drop_constraint(old.name, self.check_name(old, check)))
        for unique in _removed(old.uniques, new.uniques):
            steps.main += self.drop_unique(old, unique)
        if old.primary_key and old.primary_key != new.primary_key:
            steps.main += self.drop_primary_key(old)
        for column in old.columns:
            if new.column(column.name) is None:
                steps.main.append(f"ALTER TABLE {t} DROP COLUMN {self.ident(column.name)}")
        previous: str | None = None
        for column in new.columns:
            before = old.column(column.name)
            if before is None:
                steps.main += self.add_column(new, column, previous)
                if column != new.columns[-1] and not self.places_columns:
                    steps.notes.append(
                        f"column {new.name}.{column.name} is added after the last column: "
                        f"{self.dialect} cannot place it between existing ones"
                    )
            elif before != column:
                steps.main += self.change_column(new, before, column)
            previous = column.name
        if new.primary_key and old.primary_key != new.primary_key:
            steps.main.append(f"ALTER TABLE {t} ADD PRIMARY KEY ({self.names(new.primary_key)})")
        for unique in _removed(new.uniques, old.uniques):
            steps.main.append(f"ALTER TABLE {t} ADD {self.unique_clause(new.name, unique)}")
        for check in new.checks:
            if check not in old.checks:
                steps.main.append(f"ALTER TABLE {t} ADD {self.check_clause(new, check)}")
        for index in new.indexes:
            if old.index(index.name) != index:
                steps.late += self.create_index(new.name, index)
        return steps

    def add_column(self, table: Table, column: Column, previous: str | None) -> list[str]:
        return [
            f"ALTER TABLE {self.ident(table.name)} ADD COLUMN {self.column_def(table.name, column)}"
        ]

    def change_column(self, table: Table, old: Column, new: Column) -> list[str]:
        raise NotImplementedError

    def drop_unique(self, table: Table, columns: tuple[str, ...]) -> list[str]:
        return [self._drop_constraint(table.name, self.unique_name(table.name, columns))]

    def drop_primary_key(self, table: Table) -> list[str]:
        return [self._drop_constraint(table.name, _limit(f"{table.name}_pkey"))]

    # -- rebuilds (the engines whose ALTER TABLE cannot) --------------------------------------
    def rebuild_prologue(self) -> list[str]:
        return []

    def rebuild_epilogue(self) -> list[str]:
        return []

    # -- views and other objects -------------------------------------------------------------
    def create_view(self, view: View) -> list[str] | None:
        if view.definition is None:
            return None
        return [f"CREATE VIEW {self.ident(view.name)} AS {view.definition}"]

    def drop_view(self, view: View) -> list[str]:
        return [f"DROP VIEW {self.ident(view.name)}"]

    def create_object(self, obj: SchemaObject) -> list[str] | None:
        """The statements creating ``obj``, or None when its definition cannot be replayed."""
        return None

    def drop_object(self, obj: SchemaObject) -> list[str] | None:
        return None

    def change_object(
        self, old: SchemaObject, new: SchemaObject, tables: Mapping[str, Table]
    ) -> list[str] | None:
        """An in-place change (ALTER SEQUENCE, a new enum label), or None: drop and create."""
        return None


def _limit(name: str) -> str:
    """PostgreSQL's 63-byte identifier limit (what it would truncate the name to)."""
    return name[:63]


def _removed(
    old: tuple[tuple[str, ...], ...], new: tuple[tuple[str, ...], ...]
) -> list[tuple[str, ...]]:
    """Keys of ``old`` not in ``new``, counted with their multiplicity."""
    left = list(new)
    gone = []
    for key in old:
        if key in left:
            left.remove(key)
        else:
            gone.append(key)
    return gone
