"""SQLite: the ``main`` database, read through the pragma table-valued functions.

One query per kind of object covers every table (``sqlite_master`` joined to
``pragma_table_xinfo``/``pragma_foreign_key_list``/``pragma_index_list``). SQLite keeps
declared types and default expressions as written, so they are only tidied (lowercase, no
spaces before parentheses); names are lower-cased because SQLite compares them
case-insensitively. CHECK constraints are found in the ``CREATE TABLE`` text (SQLite reports
them nowhere else): each ``CHECK (...)`` outside quoted text, column or table constraint alike.
Triggers (``name on table``) keep their normalised ``CREATE TRIGGER`` text. Not captured:
``AUTOINCREMENT``.
"""

from __future__ import annotations

from typing import Any

from lamina.engines.base import Backend
from lamina.schema.builder import SchemaBuilder, is_lamina_object, rows_digest
from lamina.schema.model import Column, ForeignKey, Index
from lamina.schema.normalise import (
    check_clauses,
    index_parts,
    normalise_default,
    normalise_expression,
    normalise_type,
    view_body,
)

__all__ = ["fingerprint", "read"]

_USER_TABLES = "m.type = 'table' AND m.name NOT LIKE 'sqlite\\_%' ESCAPE '\\'"

_COLUMNS = f"""
SELECT m.name, p.name, p.type, p."notnull", p.dflt_value, p.pk, p.hidden
FROM sqlite_master m JOIN pragma_table_xinfo(m.name) p
WHERE {_USER_TABLES}
ORDER BY m.name, p.cid
"""
_FOREIGN_KEYS = f"""
SELECT m.name, f.id, f."table", f."from", f."to", f.on_delete
FROM sqlite_master m JOIN pragma_foreign_key_list(m.name) f
WHERE {_USER_TABLES}
ORDER BY m.name, f.id, f.seq
"""
_INDEXES = f"""
SELECT m.name, il.name, il."unique", il.origin, x.name, x."desc", s.sql
FROM sqlite_master m
JOIN pragma_index_list(m.name) il
JOIN pragma_index_xinfo(il.name) x
LEFT JOIN sqlite_master s ON s.type = 'index' AND s.name = il.name
WHERE {_USER_TABLES} AND x.key = 1 AND il.origin <> 'pk'
ORDER BY m.name, il.name, x.seqno
"""
#: Every schema object of ``main``: SQLite derives each pragma :func:`read` uses from these
#: ``CREATE`` texts, so the same rows mean the same schema.
_WHOLE_MASTER = "SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name"
_MASTER = """
SELECT type, name, tbl_name, sql FROM sqlite_master WHERE type IN ('table', 'view', 'trigger')
"""

#: pragma_table_xinfo's ``hidden``: 1 a virtual table's hidden column, 2/3 generated columns.
_GENERATED = {2: "generated virtual", 3: "generated stored"}


def read(backend: Backend, whole_database: bool = False) -> SchemaBuilder:
    """``whole_database`` changes nothing: ``main`` is the one schema a migration reaches."""
    schema = SchemaBuilder(backend.name)
    keys: dict[str, list[tuple[int, str]]] = {}
    for table, column, declared, notnull, default, pk, hidden in backend.query(_COLUMNS):
        built = schema.add_table(str(table).lower())
        if built is None or hidden == 1:
            continue
        name = str(column).lower()
        kind = normalise_type(str(declared or ""))
        value = _GENERATED.get(int(hidden)) or normalise_default(default, kind)
        built.columns.append(Column(name, kind, not notnull, value))
        if pk:
            keys.setdefault(built.name, []).append((int(pk), name))
    for table, columns in keys.items():
        schema.tables[table].primary_key = tuple(name for _, name in sorted(columns))
    _foreign_keys(schema, backend.query(_FOREIGN_KEYS))
    _indexes(schema, backend.query(_INDEXES))
    for kind, name, table, sql in backend.query(_MASTER):
        _master(schema, str(kind), str(name).lower(), str(table).lower(), sql)
    return schema


def fingerprint(backend: Backend) -> str:
    """A digest of ``sqlite_master``: unchanged exactly when the schema :func:`read` reads is."""
    return rows_digest("sqlite-master", backend.query(_WHOLE_MASTER))


def _master(schema: SchemaBuilder, kind: str, name: str, table: str, sql: object) -> None:
    """A table's CHECK constraints, a view, or a trigger, from its ``sqlite_master`` row."""
    if kind == "view":
        schema.add_view(name, view_body(str(sql)) if sql else None)
    elif kind == "trigger":
        if not is_lamina_object(table):
            text = normalise_expression(str(sql)) if sql else None
            schema.add_object("trigger", f"{name} on {table}", text)
    else:
        built = schema.table(name)
        if built is not None and sql:
            built.checks.extend(check_clauses(str(sql)))


def _foreign_keys(schema: SchemaBuilder, rows: list[tuple[Any, ...]]) -> None:
    """Group the per-column rows of each constraint (``id``); a ``REFERENCES t`` without
    columns means t's primary key, which SQLite reports as NULL."""
    groups: dict[tuple[str, int], list[tuple[Any, ...]]] = {}
    for row in rows:
        groups.setdefault((str(row[0]).lower(), int(row[1])), []).append(row)
    for (table, _), members in groups.items():
        built = schema.table(table)
        if built is None:
            continue
        ref_table = str(members[0][2]).lower()
        columns = tuple(str(r[3]).lower() for r in members)
        if any(r[4] is None for r in members):
            target = schema.table(ref_table)
            refs = target.primary_key if target is not None else ()
        else:
            refs = tuple(str(r[4]).lower() for r in members)
        on_delete = str(members[0][5] or "NO ACTION").upper()
        built.foreign_keys.append(ForeignKey(columns, ref_table, refs, on_delete))


def _indexes(schema: SchemaBuilder, rows: list[tuple[Any, ...]]) -> None:
    """``origin`` 'u' is a UNIQUE constraint's automatic index (``sqlite_autoindex_*``),
    'c' an index the user created; the keys of the latter come from its SQL, which also
    holds expressions and the WHERE of a partial index."""
    groups: dict[tuple[str, str], list[tuple[Any, ...]]] = {}
    for row in rows:
        groups.setdefault((str(row[0]).lower(), str(row[1])), []).append(row)
    for (table, name), members in groups.items():
        built = schema.table(table)
        if built is None:
            continue
        _, _, unique, origin, _, _, sql = members[0]
        columns = tuple(
            str(r[4]).lower() + (" desc" if r[5] else "") if r[4] is not None else "?"
            for r in members
        )
        if origin == "u":
            built.uniques.append(columns)
            continue
        keys, where = index_parts(str(sql)) if sql else ((), None)
        built.indexes.append(Index(name.lower(), keys or columns, bool(unique), where))
