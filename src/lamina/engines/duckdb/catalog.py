"""DuckDB: the current database and schema (or every user schema of the current database),
read from the ``duckdb_*()`` table functions.

DuckDB folds unquoted names case-insensitively but stores them as written, so names are
lower-cased. It ignores ``VARCHAR(n)`` lengths (the type is ``varchar``), supports no
``ON DELETE`` action but NO ACTION, and does not keep ``DESC`` on index keys: the snapshot
shows what DuckDB stores. View definitions are DuckDB's own re-rendering of the query.
Besides tables and views: sequences with their parameters, user-defined ENUM types (labels in
order), macros (``name(parameters)``, the macro's expression or query) and, for the whole
database, the other schemas (their objects named ``schema.name``).
"""

from __future__ import annotations

from typing import Any

from lamina.engines.base import Backend
from lamina.schema.builder import SchemaBuilder, is_lamina_object, qualified, rows_digest
from lamina.schema.model import Column, ForeignKey, Index
from lamina.schema.normalise import (
    index_parts,
    normalise_default,
    normalise_expression,
    normalise_type,
    split_top_level,
    view_body,
)

__all__ = ["fingerprint", "read"]

_HERE = "database_name = current_database() AND schema_name = current_schema()"
#: Every schema of the current database (DuckDB keeps its own in the system/temp catalogs).
_WHOLE = "database_name = current_database()"

_COLUMNS = """
SELECT t.schema_name, t.table_name, c.column_name, c.data_type, c.is_nullable, c.column_default
FROM (SELECT * FROM duckdb_tables() WHERE {HERE} AND NOT temporary) t
LEFT JOIN duckdb_columns() c ON c.table_oid = t.table_oid
ORDER BY t.schema_name, t.table_name, c.column_index
"""
_CONSTRAINTS = """
SELECT schema_name, table_name, constraint_type, constraint_column_names, expression,
       referenced_table, referenced_column_names
FROM duckdb_constraints()
WHERE {HERE} AND constraint_type IN ('PRIMARY KEY', 'UNIQUE', 'FOREIGN KEY', 'CHECK')
ORDER BY schema_name, table_name, constraint_index
"""
_INDEXES = """
SELECT schema_name, table_name, index_name, is_unique, sql, expressions
FROM duckdb_indexes() WHERE {HERE}
"""
_VIEWS = """
SELECT schema_name, view_name, sql FROM duckdb_views()
WHERE {HERE} AND NOT internal AND NOT temporary
"""
_SEQUENCES = """
SELECT schema_name, sequence_name, start_value, increment_by, min_value, max_value, cycle
FROM duckdb_sequences() WHERE {HERE} AND NOT temporary
"""
_TYPES = """
SELECT schema_name, type_name, labels FROM duckdb_types()
WHERE {HERE} AND NOT internal AND logical_type = 'ENUM'
"""
_MACROS = """
SELECT schema_name, function_name, function_type, parameters, macro_definition
FROM duckdb_functions()
WHERE {HERE} AND NOT internal AND function_type IN ('macro', 'table_macro')
"""
_SCHEMAS = """
SELECT schema_name FROM duckdb_schemas()
WHERE database_name = current_database() AND NOT internal AND schema_name <> current_schema()
"""


#: What :func:`read` reads, in order; :func:`fingerprint` reads the same.
_QUERIES = (_COLUMNS, _CONSTRAINTS, _INDEXES, _VIEWS, _SEQUENCES, _TYPES, _MACROS)


def _fetch(backend: Backend, whole_database: bool) -> tuple[str, dict[str, list[Any]]]:
    """The current schema, and the rows of each of :data:`_QUERIES`."""
    target = str(backend.query("SELECT current_schema()")[0][0])
    where = _WHOLE if whole_database else _HERE
    return target, {sql: backend.query(sql.replace("{HERE}", where)) for sql in _QUERIES}


def fingerprint(backend: Backend) -> str:
    """The target's raw catalog rows, digested: equal exactly when :func:`read` would read
    the same rows (it reads nothing else for the target)."""
    target, fetched = _fetch(backend, whole_database=False)
    # Rows of lamina's own objects are left out, as read() leaves them out (a macro is named
    # by its signature, so it stays): DuckDB reports the audit log's sequence with its last
    # value as its start once the file is reopened, which is no change of the schema.
    kept = [
        [row for row in rows if sql is _MACROS or not is_lamina_object(str(row[1]))]
        for sql, rows in fetched.items()
    ]
    return rows_digest("duckdb-catalog", [target, *kept])


def read(backend: Backend, whole_database: bool = False) -> SchemaBuilder:
    schema = SchemaBuilder(backend.name)
    target, fetched = _fetch(backend, whole_database)
    rows = fetched.__getitem__

    def name(namespace: object, item: object) -> str:
        return qualified(str(namespace).lower(), str(item).lower(), target.lower())

    for namespace, table, column, data_type, nullable, default in rows(_COLUMNS):
        built = schema.add_table(name(namespace, table))
        if built is not None and column is not None:
            kind = normalise_type(str(data_type))
            built.columns.append(
                Column(str(column).lower(), kind, bool(nullable), normalise_default(default, kind))
            )
    for namespace, table, *constraint in rows(_CONSTRAINTS):
        _constraint(schema, name(namespace, table), constraint)
    for namespace, table, index, unique, sql, expressions in rows(_INDEXES):
        built = schema.table(name(namespace, table))
        if built is not None:
            keys = _index_keys(sql, expressions)
            built.indexes.append(Index(str(index).lower(), keys, unique=bool(unique)))
    for namespace, view, sql in rows(_VIEWS):
        schema.add_view(name(namespace, view), view_body(str(sql)) if sql else None)
    for namespace, sequence, start, step, low, high, cycle in rows(_SEQUENCES):
        parameters = f"start {start} increment {step} minvalue {low} maxvalue {high}"
        schema.add_sequence(name(namespace, sequence), parameters + _CYCLE[bool(cycle)])
    for namespace, type_name, labels in rows(_TYPES):
        listed = ", ".join("'" + str(label).replace("'", "''") + "'" for label in labels or ())
        schema.add_object("type", name(namespace, type_name), f"enum ({listed})")
    for namespace, macro, kind, parameters, definition in rows(_MACROS):
        signature = f"{str(macro).lower()}({', '.join(str(p) for p in parameters or ())})"
        text = normalise_expression(str(definition)) if definition is not None else None
        shown = f"table {text}" if kind == "table_macro" and text is not None else text
        schema.add_object("macro", name(namespace, signature), shown)
    if whole_database:
        for (namespace,) in backend.query(_SCHEMAS):
            schema.add_object("schema", str(namespace).lower(), None)
    return schema


_CYCLE = {True: " cycle", False: " no cycle"}


def _constraint(schema: SchemaBuilder, table: str, row: list[Any]) -> None:
    kind, columns, expression, ref_table, ref_columns = row
    built = schema.table(table)
    if built is None:
        return
    names = tuple(str(c).lower() for c in columns or ())
    if kind == "PRIMARY KEY":
        built.primary_key = names
    elif kind == "UNIQUE":
        built.uniques.append(names)
    elif kind == "FOREIGN KEY":
        refs = tuple(str(c).lower() for c in ref_columns or ())
        built.foreign_keys.append(ForeignKey(names, str(ref_table).lower(), refs))
    elif expression is not None:
        built.checks.append(normalise_expression(str(expression)))


def _index_keys(sql: object, expressions: object) -> tuple[str, ...]:
    """Key columns/expressions from ``CREATE INDEX i ON t(<keys>);`` (DuckDB's rendering),
    else from the ``expressions`` column (a list printed as text)."""
    keys, _ = index_parts(str(sql or ""))
    if keys:
        return keys
    inner = str(expressions or "").strip().removeprefix("[").removesuffix("]")
    return tuple(normalise_expression(key.strip("'")) for key in split_top_level(inner))
