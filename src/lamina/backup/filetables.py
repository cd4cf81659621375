"""What the embedded engines' touched backups share: a backup file holding copies of some
tables plus a catalog of the SQL that recreates them (``lamina_backup_catalog``).

The copies keep every row; the catalog keeps what a copy may lose — the original ``CREATE
TABLE`` (constraints, defaults, keys), its indexes and (SQLite) triggers — in the order a
restore runs it: tables (referenced ones first), then indexes, then triggers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from lamina.backup.scope import ForeignKey, RestorePlan

__all__ = [
    "CATALOG",
    "CATALOG_DDL",
    "Object",
    "literal",
    "quote",
    "replace_tables",
    "to_recreate",
    "write_catalog",
]

#: The table of the backup file that lists what to recreate (never one of the backed-up
#: tables: their copies are in the same file).
CATALOG = "lamina_backup_catalog"
CATALOG_DDL = (
    f"CREATE TABLE {CATALOG} (position INTEGER PRIMARY KEY, kind VARCHAR NOT NULL, "
    "name VARCHAR NOT NULL, tbl VARCHAR NOT NULL, sql VARCHAR NOT NULL)"
)
#: The order a restore recreates objects in.
_KIND_ORDER = {"table": 0, "index": 1, "trigger": 2}
#: One catalog entry: kind, name, its table, the SQL creating it.
Object = tuple[str, str, str, str]
#: Runs one statement with optional parameters (a DB-API connection's ``execute``).
Execute = Callable[..., Any]


def literal(text: str) -> str:
    """``text`` as a single-quoted SQL string (a file path in ``ATTACH``)."""
    return "'" + text.replace("'", "''") + "'"


def quote(name: str) -> str:
    """A name as a double-quoted identifier (DuckDB and SQLite alike)."""
    return '"' + name.replace('"', '""') + '"'


def referenced_first(tables: Sequence[str], keys: Iterable[ForeignKey]) -> list[str]:
    """``tables`` ordered so a table comes after those it references (creation order; drop in
    reverse). A cycle keeps the given order for the tables in it."""
    needs = {t: {k.target for k in keys if k.source == t and k.target != t} for t in tables}
    done: list[str] = []
    while len(done) < len(tables):
        ready = [t for t in tables if t not in done and not (needs[t] & set(tables)) - set(done)]
        done.append(ready[0] if ready else next(t for t in tables if t not in done))
    return done


def to_recreate(
    objects: Iterable[Object], tables: Sequence[str], keys: Iterable[ForeignKey]
) -> list[Object]:
    """The objects of ``tables`` that have SQL, in the order a restore creates them."""
    order = {t: i for i, t in enumerate(referenced_first(tables, tuple(keys)))}
    kept = [o for o in objects if o[0] in _KIND_ORDER and o[3] and o[2] in order]
    return sorted(kept, key=lambda o: (_KIND_ORDER[o[0]], order[o[2]]))


def write_catalog(execute: Execute, objects: Sequence[Object], copy: Callable[[str], None]) -> None:
    """Fill a new backup file (the connection's default database): the catalog, and a copy of
    each table made by ``copy(table)``."""
    execute(CATALOG_DDL)
    for position, (kind, name, table, sql) in enumerate(objects):
        execute(f"INSERT INTO {CATALOG} VALUES (?, ?, ?, ?, ?)", (position, kind, name, table, sql))
        if kind == "table":
            copy(table)


def replace_tables(
    execute: Execute,
    plan: RestorePlan,
    keys: Iterable[ForeignKey],
    catalog: Sequence[tuple[str, str, str]],
    copy: Callable[[str], None],
) -> None:
    """Drop ``plan.drop`` (referencing tables first), then run the backup's ``catalog`` rows
    (kind, table, SQL) in order, copying each table's rows back with ``copy(table)``."""
    for table in reversed(referenced_first(plan.drop, tuple(keys))):
        execute(f"DROP TABLE main.{quote(table)}")
    for kind, table, sql in catalog:
        execute(sql)
        if kind == "table":
            copy(table)
