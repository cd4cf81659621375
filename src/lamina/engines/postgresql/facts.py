"""What PostgreSQL's risk rules need from the live database: table sizes and the version.

A finding that says "rewrites orders, 41 M rows, 12 GB" is one a reviewer acts on; the sizes
come from the planner's statistics (``reltuples``) and ``pg_total_relation_size``, which cost
one catalog query, never a scan.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lamina.risk.model import LiveFacts, TableFacts

if TYPE_CHECKING:
    from lamina.engines.base import Backend

_TABLES = """
SELECT CASE WHEN n.nspname = current_schema() THEN c.relname
            ELSE n.nspname || '.' || c.relname END,
       c.reltuples::bigint, pg_total_relation_size(c.oid),
       EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p')
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg\\_toast%'
"""


def read(backend: Backend) -> LiveFacts:
    """Every table's estimated rows and size, and the server's version (``(16, 4)``)."""
    tables = {
        str(name).lower(): TableFacts(
            indexed=bool(indexed),
            rows=max(int(rows), 0) if rows is not None else None,  # -1: never analysed
            size_bytes=int(size),
        )
        for name, rows, size, indexed in backend.query(_TABLES)
    }
    number = int(backend.query("SHOW server_version_num")[0][0])
    return LiveFacts(tables, (number // 10000, number % 10000))
