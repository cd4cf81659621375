"""What a touched PostgreSQL backup needs to know of the target schema
(:class:`lamina.backup.scope.LiveTables`): its tables and other relations, what keeps a table
from being restored alone (partitions, inheritance, views on it), triggers, foreign keys (with
the definitions a restore adds back) and indexes; read from the catalogs on one read-only
connection of lamina's backend.
"""

from __future__ import annotations

from typing import Any

from lamina.backup.errors import BackupError
from lamina.backup.scope import ForeignKey, LiveTables, Trigger
from lamina.errors import StatementError
from lamina.urls import DatabaseURL

__all__ = ["ident", "inspect", "live_tables", "qualified"]


def inspect(
    url: DatabaseURL, queries: list[tuple[str, tuple[object, ...]]]
) -> list[list[tuple[Any, ...]]]:
    """Read-only queries on one connection of lamina's PostgreSQL backend."""
    from lamina.engines import open_backend

    backend = open_backend(url, read_only=True)
    try:
        backend.connect()
        return [backend.query(sql, params) for sql, params in queries]
    except StatementError as exc:
        raise BackupError(f"cannot inspect {url.redacted()}: {exc.detail}") from exc.original
    finally:
        backend.close()


def ident(name: str) -> str:
    """``name`` as a double-quoted identifier."""
    return '"' + name.replace('"', '""') + '"'


def qualified(schema: str, table: str) -> str:
    """``"schema"."table"``: SQL, and a pg_dump pattern that matches just that table."""
    return f'"{schema}".{ident(table)}'


def live_tables(url: DatabaseURL, schema: str) -> LiveTables:
    """The target schema, as :mod:`lamina.backup.scope` needs it."""
    relations, triggers, keys, indexes = inspect(
        url, [(sql, (schema,) * sql.count("%s")) for sql in _LIVE_SQL]
    )
    found = [
        ForeignKey(
            source=src if src_schema == schema else f"{src_schema}.{src}",
            target=dst if dst_schema == schema else f"{dst_schema}.{dst}",
            cascades=bool(cascades),
            outside=src_schema != schema or dst_schema != schema,
            name=name,
            source_sql=f"{ident(src_schema)}.{ident(src)}",
            definition=definition,
        )
        for src, src_schema, dst, dst_schema, name, definition, cascades in keys
    ]
    triggered: dict[str, tuple[Trigger, ...]] = {}
    for table, name in triggers:
        triggered[table] = (*triggered.get(table, ()), Trigger(name, None))
    return LiveTables(
        tables=frozenset(r[0] for r in relations if r[1] in "rp"),
        others={r[0]: _KINDS[r[1]] for r in relations if r[1] not in "rp"},
        foreign_keys=tuple(found),
        indexes={str(name): str(table) for name, table in indexes},
        triggers=triggered,
        alone={r[0]: r[2] for r in relations if r[2]},
        qualifiers=frozenset({(), (schema,), (str(url.database), schema)}),
    )


_KINDS = {"v": "view", "m": "materialized view", "f": "foreign table"}
#: Relations (with why one cannot be restored alone), triggers, foreign keys, indexes.
_LIVE_SQL = (
    """SELECT c.relname, c.relkind::text, CASE
      WHEN c.relkind = 'p' OR c.relispartition THEN 'it is partitioned or a partition'
      WHEN EXISTS (SELECT 1 FROM pg_catalog.pg_inherits i
                   WHERE c.oid IN (i.inhrelid, i.inhparent)) THEN 'it takes part in inheritance'
      WHEN EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
                   JOIN pg_catalog.pg_rewrite r ON r.oid = d.objid
                   WHERE d.classid = 'pg_catalog.pg_rewrite'::regclass
                     AND d.refobjid = c.oid AND r.ev_class <> c.oid) THEN 'views depend on it'
      ELSE '' END
    FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = %s AND c.relkind IN ('r', 'p', 'v', 'm', 'f')""",
    """SELECT c.relname, t.tgname FROM pg_catalog.pg_trigger t
    JOIN pg_catalog.pg_class c ON c.oid = t.tgrelid
    JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = %s AND NOT t.tgisinternal""",
    """SELECT s.relname, sn.nspname, t.relname, tn.nspname, k.conname,
           pg_catalog.pg_get_constraintdef(k.oid),
           k.confdeltype NOT IN ('a', 'r') OR k.confupdtype NOT IN ('a', 'r')
    FROM pg_catalog.pg_constraint k
    JOIN pg_catalog.pg_class s ON s.oid = k.conrelid
    JOIN pg_catalog.pg_namespace sn ON sn.oid = s.relnamespace
    JOIN pg_catalog.pg_class t ON t.oid = k.confrelid
    JOIN pg_catalog.pg_namespace tn ON tn.oid = t.relnamespace
    WHERE k.contype = 'f' AND %s IN (sn.nspname, tn.nspname)""",
    "SELECT indexname, tablename FROM pg_catalog.pg_indexes WHERE schemaname = %s",
)
