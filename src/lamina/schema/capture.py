"""``snapshot(backend)``: one entry point; each engine's catalog reader is found through the
engine registry (``engines/<name>/catalog.py``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from lamina.engines import ENGINES, load
from lamina.engines.base import Backend
from lamina.errors import BackendError, StatementError
from lamina.schema.builder import SchemaBuilder
from lamina.schema.model import Snapshot

__all__ = ["fingerprint", "snapshot"]

_T = TypeVar("_T")


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
    spec = ENGINES.get(backend.name)
    if spec is None:
        raise ValueError(f"cannot read the schema of a {backend.name} database")
    reader: Callable[[Backend, bool], SchemaBuilder] = load(spec.catalog, hint=spec.install_hint)
    return _catalog(backend, lambda: reader(backend, whole_database)).freeze()


def fingerprint(backend: Backend) -> str | None:
    """The engine's digest of its raw catalog (see ``EngineSpec.fingerprint``), or None when
    the engine has none: two equal fingerprints of one engine mean equal snapshots, so drift
    that finds the recorded one again needs no snapshot at all."""
    spec = ENGINES.get(backend.name)
    if spec is None or spec.fingerprint is None:
        return None
    reader: Callable[[Backend], str] = load(spec.fingerprint, hint=spec.install_hint)
    return _catalog(backend, lambda: reader(backend))


def _catalog(backend: Backend, read: Callable[[], _T]) -> _T:
    """``read()`` of ``backend``'s catalog; a refused catalog query is a BackendError."""
    try:
        return read()
    except StatementError as exc:
        raise BackendError(
            f"cannot read the schema of {backend.target()}: {exc.detail}"
        ) from exc.original
