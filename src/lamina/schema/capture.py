"""``snapshot(backend)``: one entry point, one small catalog reader per engine."""

from __future__ import annotations

from collections.abc import Callable

from lamina.backends.base import Backend
from lamina.errors import BackendError
from lamina.schema.builder import SchemaBuilder
from lamina.schema.catalog_duckdb import read_duckdb
from lamina.schema.catalog_mysql import read_mysql
from lamina.schema.catalog_postgres import read_postgres
from lamina.schema.catalog_sqlite import read_sqlite
from lamina.schema.model import Snapshot

__all__ = ["snapshot"]

_READERS: dict[str, Callable[[Backend, bool], SchemaBuilder]] = {
    "duckdb": read_duckdb,
    "sqlite": read_sqlite,
    "postgresql": read_postgres,
    "mysql": read_mysql,
}


def snapshot(backend: Backend, *, whole_database: bool = False) -> Snapshot:
    """The normalised schema of ``backend``'s target, without lamina's own tables.

    The target is what unqualified names in a migration reach: DuckDB's current schema,
    SQLite's ``main``, the PostgreSQL schema of the URL (else ``current_schema()``), the MySQL
    database of the URL. ``backend`` must be connected; only catalog queries are run, so a
    read-only backend will do.

    ``whole_database=True`` also reads every other user schema of a PostgreSQL database (not
    ``pg_catalog``, ``information_schema``, ``pg_toast*``, ``pg_temp*``) or of DuckDB's
    current catalog: what a migration may create outside the target, worth seeing on a
    throw-away database (verify) but not on a shared one (drift). Their objects are named
    ``schema.name`` (the target's keep bare names, so both scopes agree on them) and each such
    schema is an object of kind ``schema``. SQLite and MySQL have one schema per target: the
    keyword changes nothing there. PostgreSQL extensions are database-wide and in both scopes.

    Raises:
        ValueError: ``backend`` is of an engine lamina cannot read the schema of.
        BackendError: the database refused a catalog query (its message included).
    """
    reader = _READERS.get(backend.name)
    if reader is None:
        raise ValueError(f"cannot read the schema of a {backend.name} database")
    try:
        return reader(backend, whole_database).freeze()
    except Exception as exc:
        if not backend.is_driver_error(exc):
            raise
        raise BackendError(
            f"cannot read the schema of {backend.target()}: {backend.describe_error(exc)}"
        ) from exc
