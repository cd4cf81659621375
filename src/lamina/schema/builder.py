"""Mutable accumulators the engine readers fill row by row, then freeze into a Snapshot.

The readers issue a handful of catalog queries that each cover every table at once; rows
arrive grouped by query, not by table, so each table's parts are gathered here first. This is
also the one place that leaves lamina's own objects out.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field

from lamina.schema.model import Column, ForeignKey, Index, SchemaObject, Snapshot, Table, View

__all__ = [
    "LAMINA_OBJECTS",
    "SchemaBuilder",
    "TableBuilder",
    "is_lamina_object",
    "qualified",
    "rows_digest",
]

#: lamina's bookkeeping tables (and DuckDB's sequence for the audit log): never part of a
#: snapshot, so a snapshot describes the application's schema only.
LAMINA_OBJECTS = frozenset(
    {
        "lamina_migrations",
        "lamina_migration_log",
        "lamina_meta",
        "lamina_lock",
        "lamina_migration_log_seq",
    }
)


def is_lamina_object(name: str) -> bool:
    return name.lower() in LAMINA_OBJECTS


def qualified(schema: str, name: str, target: str) -> str:
    """``name`` in the target schema, ``schema.name`` elsewhere: a whole-database snapshot
    and a target-only one then name the target's objects alike."""
    return name if schema == target else f"{schema}.{name}"


def rows_digest(kind: str, parts: Iterable[object]) -> str:
    """A fingerprint (``EngineSpec.fingerprint``) of raw catalog rows, in the order read:
    the same rows make the same snapshot, so an equal digest needs no normalising."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update(repr(part).encode())
        digest.update(b"\n")
    return f"{kind}:{digest.hexdigest()}"


@dataclass
class TableBuilder:
    name: str
    columns: list[Column] = field(default_factory=list)
    primary_key: tuple[str, ...] = ()
    uniques: list[tuple[str, ...]] = field(default_factory=list)
    foreign_keys: list[ForeignKey] = field(default_factory=list)
    checks: list[str] = field(default_factory=list)
    indexes: list[Index] = field(default_factory=list)

    def freeze(self) -> Table:
        return Table(
            name=self.name,
            columns=tuple(self.columns),
            primary_key=self.primary_key,
            uniques=tuple(self.uniques),
            foreign_keys=tuple(self.foreign_keys),
            checks=tuple(self.checks),
            indexes=tuple(self.indexes),
        )


@dataclass
class SchemaBuilder:
    """Parts of a snapshot; rows for tables it does not know (views, lamina's) are dropped."""

    engine: str
    tables: dict[str, TableBuilder] = field(default_factory=dict)
    views: list[View] = field(default_factory=list)
    objects: dict[tuple[str, str], SchemaObject] = field(default_factory=dict)

    def add_table(self, name: str) -> TableBuilder | None:
        """The table ``name``, added on its first row (catalogs give a row per column)."""
        built = self.tables.get(name)
        if built is None and not is_lamina_object(name):
            built = self.tables[name] = TableBuilder(name)
        return built

    def table(self, name: str) -> TableBuilder | None:
        """The table ``name`` if it was added; None for views and lamina's tables."""
        return self.tables.get(name)

    def add_view(self, name: str, definition: str | None) -> None:
        if not is_lamina_object(name):
            self.views.append(View(name, definition))

    def add_sequence(self, name: str, definition: str | None = None) -> None:
        self.add_object("sequence", name, definition)

    def add_object(self, kind: str, name: str, definition: str | None) -> None:
        """One object per (kind, name): a later row for the same one replaces the first."""
        if not is_lamina_object(name):
            self.objects[(kind, name)] = SchemaObject(kind, name, definition)

    def freeze(self) -> Snapshot:
        return Snapshot(
            engine=self.engine,
            tables=tuple(t.freeze() for t in self.tables.values()),
            views=tuple(self.views),
            objects=tuple(self.objects.values()),
        )
