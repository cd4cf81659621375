"""What DuckDB's risk rules need from the live database: indexes and foreign keys.

DuckDB refuses most ALTERs of a table that an index or a foreign key depends on, so the rules
must know them even on a database lamina has never migrated: both come from DuckDB's own
catalog (``duckdb_indexes()``, ``duckdb_constraints()``), never from lamina's history. The
indexes behind PRIMARY KEY and UNIQUE constraints are not listed there: they do not make DuckDB
refuse ALTERs of the rest of the table.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import duckdb

from lamina.risk.model import LiveFacts, TableFacts

if TYPE_CHECKING:
    from lamina.engines.base import Backend

_INDEXES = (
    "SELECT lower(table_name), index_name FROM duckdb_indexes() "
    "WHERE database_name = current_database() AND schema_name = current_schema() "
    "ORDER BY 1, 2"
)
_REFERENCES = (
    "SELECT lower(referenced_table), lower(table_name) FROM duckdb_constraints() "
    "WHERE constraint_type = 'FOREIGN KEY' AND database_name = current_database() "
    "AND schema_name = current_schema() ORDER BY 1, 2"
)


def read(backend: Backend) -> LiveFacts:
    """Indexes and the foreign keys that point at each table, in the current schema."""
    indexes: dict[str, list[str]] = {}
    for table, index in backend.query(_INDEXES):
        indexes.setdefault(str(table), []).append(str(index))
    referenced: dict[str, list[str]] = {}
    for target, source in backend.query(_REFERENCES):
        referenced.setdefault(str(target), []).append(str(source))
    tables = {
        name: TableFacts(
            indexes=tuple(indexes.get(name, ())),
            referenced_by=tuple(referenced.get(name, ())),
        )
        for name in indexes.keys() | referenced.keys()
    }
    return LiveFacts(tables, _version(duckdb.__version__))


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split(".")[:3] if part.isdigit())
