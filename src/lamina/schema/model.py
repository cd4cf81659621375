"""The snapshot's value objects: frozen, canonically ordered, JSON round-trippable.

Every container sorts itself on construction (columns excepted: their order is part of the
schema), so two snapshots of the same schema compare equal however they were built, and
:meth:`Snapshot.digest` is a stable fingerprint to store next to a migration.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "FORMAT",
    "Column",
    "ForeignKey",
    "Index",
    "SchemaObject",
    "Snapshot",
    "Table",
    "View",
]

#: The layout of :meth:`Snapshot.to_dict`; bumped when a field changes meaning. 2: schema
#: objects (routines, triggers, types, sequences with their parameters, ...) and unique keys
#: kept with their multiplicity.
FORMAT = 2


def _set(obj: object, name: str, value: object) -> None:
    """Assign to a frozen dataclass in ``__post_init__`` (canonical ordering only)."""
    object.__setattr__(obj, name, value)


@dataclass(frozen=True, slots=True)
class Column:
    """One column: ``type`` is the engine's canonical lowercase spelling, ``default`` the
    normalised default expression (None when the column has none)."""

    name: str
    type: str
    nullable: bool = True
    default: str | None = None

    def describe(self) -> str:
        """``varchar(20), nullable, default 'x'``: the column as a diff shows it."""
        text = f"{self.type}, {'nullable' if self.nullable else 'not null'}"
        return text if self.default is None else f"{text}, default {self.default}"


@dataclass(frozen=True, slots=True)
class ForeignKey:
    """``columns`` reference ``ref_table(ref_columns)``; ``on_delete`` is upper case
    (``NO ACTION`` where the engine has no other choice or reports none)."""

    columns: tuple[str, ...]
    ref_table: str
    ref_columns: tuple[str, ...]
    on_delete: str = "NO ACTION"

    def __post_init__(self) -> None:
        _set(self, "columns", tuple(self.columns))
        _set(self, "ref_columns", tuple(self.ref_columns))

    @property
    def key(self) -> tuple[tuple[str, ...], str, tuple[str, ...]]:
        """What identifies the constraint in a diff (its name is not stable across engines)."""
        return (self.columns, self.ref_table, self.ref_columns)


@dataclass(frozen=True, slots=True)
class Index:
    """A secondary index the user created (not one backing a key constraint).

    ``columns`` holds column names or normalised expressions, with `` desc`` where the engine
    reports it; ``where`` is a partial index's predicate; ``method`` is set only when it is not
    the engine's default (PostgreSQL ``gin``, MySQL ``fulltext``, ...).
    """

    name: str
    columns: tuple[str, ...]
    unique: bool = False
    where: str | None = None
    method: str | None = None

    def __post_init__(self) -> None:
        _set(self, "columns", tuple(self.columns))

    def describe(self) -> str:
        parts = [", ".join(self.columns)]
        if self.unique:
            parts.append("unique")
        if self.method:
            parts.append(f"using {self.method}")
        if self.where:
            parts.append(f"where {self.where}")
        return "; ".join(parts)


@dataclass(frozen=True, slots=True)
class Table:
    """A base table with its keys, constraints and secondary indexes.

    ``uniques`` keeps duplicates (two UNIQUE constraints on the same columns are two entries):
    a down that leaves a second, redundant unique key behind must show in a diff.
    """

    name: str
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...] = ()
    uniques: tuple[tuple[str, ...], ...] = ()
    foreign_keys: tuple[ForeignKey, ...] = ()
    checks: tuple[str, ...] = ()
    indexes: tuple[Index, ...] = ()

    def __post_init__(self) -> None:
        _set(self, "columns", tuple(self.columns))
        _set(self, "primary_key", tuple(self.primary_key))
        _set(self, "uniques", tuple(sorted(tuple(u) for u in self.uniques)))
        _set(self, "foreign_keys", tuple(sorted(set(self.foreign_keys), key=_fk_order)))
        _set(self, "checks", tuple(sorted(set(self.checks))))
        _set(self, "indexes", tuple(sorted(self.indexes, key=lambda i: i.name)))

    def column(self, name: str) -> Column | None:
        return next((c for c in self.columns if c.name == name), None)

    def index(self, name: str) -> Index | None:
        return next((i for i in self.indexes if i.name == name), None)


def _fk_order(fk: ForeignKey) -> tuple[object, ...]:
    return (*fk.key, fk.on_delete)


@dataclass(frozen=True, slots=True)
class View:
    """A view and its normalised definition (None where the engine gives none)."""

    name: str
    definition: str | None = None


@dataclass(frozen=True, slots=True)
class SchemaObject:
    """Any other named object of the schema: a ``function``, ``procedure``, ``trigger``,
    ``sequence``, ``type``, ``domain``, ``extension``, ``event``, ``materialized view``,
    ``macro`` or ``schema``.

    ``name`` is unique within ``kind`` (a PostgreSQL function carries its argument types,
    ``f(integer, text)``, so overloads are distinct; a trigger is ``name on table``);
    ``definition`` is the engine's text for it, normalised so that the same statement run
    twice gives the same text (None where the engine gives none).
    """

    kind: str
    name: str
    definition: str | None = None

    @property
    def label(self) -> str:
        """``function f(integer)``: how a diff names the object."""
        return f"{self.kind} {self.name}"


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The schema of one target (a database or schema) of one engine, at one moment.

    Example::

        before = snapshot(backend)
        ...
        assert snapshot(backend).digest() == before.digest()
    """

    engine: str
    tables: tuple[Table, ...] = ()
    views: tuple[View, ...] = ()
    objects: tuple[SchemaObject, ...] = ()

    def __post_init__(self) -> None:
        _set(self, "tables", tuple(sorted(self.tables, key=lambda t: t.name)))
        _set(self, "views", tuple(sorted(self.views, key=lambda v: v.name)))
        _set(self, "objects", tuple(sorted(set(self.objects), key=_object_order)))

    @property
    def sequences(self) -> tuple[str, ...]:
        """The names of the sequences (objects of kind ``sequence``)."""
        return tuple(o.name for o in self.objects if o.kind == "sequence")

    def object(self, kind: str, name: str) -> SchemaObject | None:
        return next((o for o in self.objects if o.kind == kind and o.name == name), None)

    def table(self, name: str) -> Table | None:
        return next((t for t in self.tables if t.name == name), None)

    def view(self, name: str) -> View | None:
        return next((v for v in self.views if v.name == name), None)

    # -- serialisation ------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict; objects are keyed by name so the JSON diffs well in review."""
        return {
            "format": FORMAT,
            "engine": self.engine,
            "tables": {t.name: _table_to_dict(t) for t in self.tables},
            "views": {v.name: v.definition for v in self.views},
            "objects": _objects_to_dict(self.objects),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Snapshot:
        """The inverse of :meth:`to_dict`.

        Raises:
            ValueError: ``data`` was written in another format (an older or newer lamina):
                a caller comparing with a stored snapshot treats that as "unknown".
        """
        if data.get("format") != FORMAT:
            raise ValueError(f"schema snapshot format {data.get('format')!r} is not {FORMAT}")
        return cls(
            engine=str(data["engine"]),
            tables=tuple(_table_from_dict(n, t) for n, t in data.get("tables", {}).items()),
            views=tuple(View(str(n), d) for n, d in data.get("views", {}).items()),
            objects=tuple(
                SchemaObject(str(kind), str(name), definition)
                for kind, named in data.get("objects", {}).items()
                for name, definition in named.items()
            ),
        )

    def to_json(self, *, indent: int | None = None) -> str:
        """Canonical JSON (sorted keys); with ``indent=None`` it is what :meth:`digest` hashes."""
        separators = (",", ":") if indent is None else (",", ": ")
        return json.dumps(
            self.to_dict(), sort_keys=True, indent=indent, separators=separators, ensure_ascii=False
        )

    def digest(self) -> str:
        """``sha256:<hex>`` of the canonical JSON: equal schemas give equal digests."""
        return "sha256:" + hashlib.sha256(self.to_json().encode("utf-8")).hexdigest()


def _object_order(obj: SchemaObject) -> tuple[str, str, str]:
    return (obj.kind, obj.name, obj.definition or "")


def _objects_to_dict(objects: Iterable[SchemaObject]) -> dict[str, dict[str, str | None]]:
    """``{kind: {name: definition}}``."""
    grouped: dict[str, dict[str, str | None]] = {}
    for obj in objects:
        grouped.setdefault(obj.kind, {})[obj.name] = obj.definition
    return grouped


def _table_to_dict(table: Table) -> dict[str, Any]:
    return {
        "columns": [
            {"name": c.name, "type": c.type, "nullable": c.nullable, "default": c.default}
            for c in table.columns
        ],
        "primary_key": list(table.primary_key),
        "uniques": [list(u) for u in table.uniques],
        "foreign_keys": [
            {
                "columns": list(fk.columns),
                "ref_table": fk.ref_table,
                "ref_columns": list(fk.ref_columns),
                "on_delete": fk.on_delete,
            }
            for fk in table.foreign_keys
        ],
        "checks": list(table.checks),
        "indexes": {
            i.name: {
                "columns": list(i.columns),
                "unique": i.unique,
                "where": i.where,
                "method": i.method,
            }
            for i in table.indexes
        },
    }


def _table_from_dict(name: str, data: Mapping[str, Any]) -> Table:
    return Table(
        name=name,
        columns=tuple(
            Column(str(c["name"]), str(c["type"]), bool(c["nullable"]), c.get("default"))
            for c in data.get("columns", ())
        ),
        primary_key=_strings(data.get("primary_key", ())),
        uniques=tuple(_strings(u) for u in data.get("uniques", ())),
        foreign_keys=tuple(
            ForeignKey(
                columns=_strings(fk["columns"]),
                ref_table=str(fk["ref_table"]),
                ref_columns=_strings(fk["ref_columns"]),
                on_delete=str(fk.get("on_delete", "NO ACTION")),
            )
            for fk in data.get("foreign_keys", ())
        ),
        checks=_strings(data.get("checks", ())),
        indexes=tuple(
            Index(
                name=str(index_name),
                columns=_strings(i["columns"]),
                unique=bool(i.get("unique", False)),
                where=i.get("where"),
                method=i.get("method"),
            )
            for index_name, i in data.get("indexes", {}).items()
        ),
    )


def _strings(values: Iterable[Any]) -> tuple[str, ...]:
    return tuple(str(v) for v in values)
