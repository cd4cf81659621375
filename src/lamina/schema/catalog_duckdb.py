"""DuckDB: the current database and schema, read from the ``duckdb_*()`` table functions.

DuckDB folds unquoted names case-insensitively but stores them as written, so names are
lower-cased. It ignores ``VARCHAR(n)`` lengths (the type is ``varchar``), supports no
``ON DELETE`` action but NO ACTION, and does not keep ``DESC`` on index keys: the snapshot
shows what DuckDB stores. View definitions are DuckDB's own re-rendering of the query.
"""

from __future__ import annotations

from typing import Any

from lamina.backends.base import Backend
from lamina.schema.builder import SchemaBuilder
from lamina.schema.model import Column, ForeignKey, Index
from lamina.schema.normalise import (
    index_parts,
    normalise_default,
    normalise_expression,
    normalise_type,
    split_top_level,
    view_body,
)

__all__ = ["read_duckdb"]

_HERE = "database_name = current_database() AND schema_name = current_schema()"

_COLUMNS = """
SELECT t.table_name, c.column_name, c.data_type, c.is_nullable, c.column_default
FROM duckdb_tables() t
LEFT JOIN duckdb_columns() c ON c.table_oid = t.table_oid
WHERE t.database_name = current_database() AND t.schema_name = current_schema()
    AND NOT t.temporary
ORDER BY t.table_name, c.column_index
"""
_CONSTRAINTS = f"""
SELECT table_name, constraint_type, constraint_column_names, expression,
       referenced_table, referenced_column_names
FROM duckdb_constraints()
WHERE {_HERE} AND constraint_type IN ('PRIMARY KEY', 'UNIQUE', 'FOREIGN KEY', 'CHECK')
ORDER BY table_name, constraint_index
"""
_INDEXES = f"""
SELECT table_name, index_name, is_unique, sql, expressions
FROM duckdb_indexes() WHERE {_HERE}
"""
_OTHERS = f"""
SELECT 'view', view_name, sql FROM duckdb_views() WHERE {_HERE} AND NOT internal
    AND NOT temporary
UNION ALL
SELECT 'sequence', sequence_name, NULL FROM duckdb_sequences() WHERE {_HERE} AND NOT temporary
"""


def read_duckdb(backend: Backend) -> SchemaBuilder:
    schema = SchemaBuilder(backend.name)
    for table, column, data_type, nullable, default in backend.query(_COLUMNS):
        built = schema.add_table(str(table).lower())
        if built is not None and column is not None:
            kind = normalise_type(str(data_type))
            built.columns.append(
                Column(str(column).lower(), kind, bool(nullable), normalise_default(default, kind))
            )
    for row in backend.query(_CONSTRAINTS):
        _constraint(schema, row)
    for table, name, unique, sql, expressions in backend.query(_INDEXES):
        built = schema.table(str(table).lower())
        if built is not None:
            keys = _index_keys(sql, expressions)
            built.indexes.append(Index(str(name).lower(), keys, unique=bool(unique)))
    for kind, name, sql in backend.query(_OTHERS):
        if kind == "view":
            schema.add_view(str(name).lower(), view_body(str(sql)) if sql else None)
        else:
            schema.add_sequence(str(name).lower())
    return schema


def _constraint(schema: SchemaBuilder, row: tuple[Any, ...]) -> None:
    table, kind, columns, expression, ref_table, ref_columns = row
    built = schema.table(str(table).lower())
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
