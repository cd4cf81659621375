"""What PostgreSQL's risk rules need from the live database: sizes, indexes, foreign keys and
the version.

A finding that says "rewrites orders (≈41 M rows, 12 GB)" is one a reviewer acts on; the sizes
come from the planner's statistics (``reltuples``) and ``pg_total_relation_size``, which cost
one catalog query, never a scan. Index names let a ``DROP INDEX`` name its table, and the
foreign keys let ``TRUNCATE ... CASCADE`` name every table it empties.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lamina.risk.model import LiveFacts, TableFacts

if TYPE_CHECKING:
    from lamina.engines.base import Backend

# Tables, partitioned tables and materialized views, named as the risk rules name them:
# unqualified in the current schema, schema.name elsewhere. A table dropped while this runs
# has no size (NULL): it is read as unknown.
_TABLES = """
WITH rel AS (
    SELECT c.oid, c.reltuples,
           CASE WHEN n.nspname = current_schema() THEN c.relname
                ELSE n.nspname || '.' || c.relname END AS name
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'p', 'm')
      AND n.nspname NOT IN ('pg_catalog', 'information_schema')
      AND n.nspname NOT LIKE 'pg\\_toast%'
)
SELECT rel.name, rel.reltuples::bigint, pg_total_relation_size(rel.oid),
       ARRAY(SELECT i.relname::text FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
             WHERE x.indrelid = rel.oid ORDER BY 1),
       ARRAY(SELECT DISTINCT referencing.name FROM pg_constraint f
             JOIN rel referencing ON referencing.oid = f.conrelid
             WHERE f.contype = 'f' AND f.confrelid = rel.oid ORDER BY 1)
FROM rel
"""


def read(backend: Backend) -> LiveFacts:
    """Every table's estimated rows, size, indexes and referencing tables, and the server's
    version (``(16, 4)``)."""
    tables = {
        str(name).lower(): TableFacts(
            indexes=tuple(str(index).lower() for index in indexes or ()),
            indexed=bool(indexes),
            referenced_by=tuple(str(table).lower() for table in referenced_by or ()),
            rows=max(int(rows), 0) if rows is not None else None,  # -1: never analysed
            size_bytes=int(size) if size is not None else None,  # dropped meanwhile
        )
        for name, rows, size, indexes, referenced_by in backend.query(_TABLES)
    }
    number = int(backend.query("SHOW server_version_num")[0][0])
    return LiveFacts(tables, (number // 10000, number % 10000))
