"""Taking and restoring a backup: the engine-independent steps around each engine's own.

A backup is written to a hidden partial file, hashed on the way, published by
:meth:`BackupStore.commit` (rename, then manifest), and followed by retention. A restore checks,
before touching the database, that the backup is of this engine and this database and that
its file still has the manifest's size and SHA-256; then the engine restores it atomically.
Each engine's own steps (``engines/<name>/backup.py``) are found through the engine registry.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from lamina.backup.engine import EngineBackup
from lamina.backup.errors import BackupError
from lamina.backup.scope import WholeDatabase
from lamina.backup.store import EXTENSIONS, BackupRecord, BackupStore
from lamina.backup.streams import Produced, Progress, remove_quietly
from lamina.engines import ENGINES, EngineSpec, load
from lamina.urls import DatabaseURL

if TYPE_CHECKING:
    from lamina.risk.touched import Touched

__all__ = ["FORMATS", "create_backup", "location_of", "restore_backup"]

#: The backup format of each engine.
FORMATS = {name: spec.backup_format for name, spec in ENGINES.items()}


def create_backup(
    url: DatabaseURL,
    store: BackupStore,
    *,
    schema_version: int,
    trigger: str | None,
    covers: tuple[str, ...] = (),
    touched: Touched | None = None,
    progress: Progress | None = None,
    checkpoint: Callable[[], None] | None = None,
) -> BackupRecord:
    """Back up the database at ``url`` into ``store``, then apply the store's retention.

    Args:
        schema_version: lamina's schema version now, recorded in the manifest.
        trigger: the migration id the backup precedes, ``"manual"``, or None.
        covers: the risky steps of the run the backup is taken for (see BackupRecord).
        touched: what the run changes, for a backup of just those tables (``backup_scope =
            touched``); when they cannot be backed up alone the whole database is, and the
            record's ``scope_note`` says why.
        progress: called as bytes are written, ``progress(done, total_or_None)``.
        checkpoint: DuckDB only: when the caller holds the database's read-write connection,
            a function running ``CHECKPOINT`` on it (``lambda: backend.execute("CHECKPOINT")``).
            Without it lamina opens its own connection, which works alongside the caller's
            only if that one is read-write with default settings (DuckDB shares the open
            database within a process) and fails if another process has the file open.

    Raises:
        BackupError: the database cannot be read, a client tool is missing (the hint says
            what to install) or failed (its stderr, on one line). No file is left behind.
    """
    format_name = _format_of(url)
    store.ensure_folder()
    backup_id, created_at = store.new_id()
    partial = store.partial_path(backup_id, format_name)
    try:
        produced, note = _produce(url, partial, touched, progress, checkpoint)
        scope = produced.scope
        record = BackupRecord(
            id=backup_id,
            engine=url.scheme,
            database=url.redacted(),
            location=location_of(url),
            schema=produced.schema,
            schema_version=schema_version,
            created_at=created_at,
            size=produced.size,
            sha256=produced.sha256,
            trigger=trigger,
            file=f"{backup_id}.{EXTENSIONS[format_name]}",
            format=produced.format,
            tool=produced.tool,
            covers=covers,
            scope="database" if scope is None else "touched",
            tables=() if scope is None else scope.tables,
            absent=() if scope is None else scope.absent,
            dropped=() if scope is None else scope.dropped,
            scope_note=note,
        )
        store.commit(partial, record)
    except BaseException:
        remove_quietly(partial)
        raise
    store.prune(protect=frozenset({record.id}))
    return record


def _produce(
    url: DatabaseURL,
    dest: Path,
    touched: Touched | None,
    progress: Progress | None,
    checkpoint: Callable[[], None] | None,
) -> tuple[Produced, str | None]:
    """The backup, and why a touched one fell back to the whole database (or None)."""
    engine = _engine_backup(url)
    note = None
    if touched is not None:
        try:
            return engine.backup_tables(
                url, dest, touched, progress=progress, checkpoint=checkpoint
            ), None
        except WholeDatabase as exc:
            note = str(exc)
            remove_quietly(dest)
        except BackupError as exc:  # the whole database is always a safe answer
            note = f"backing up just the touched tables failed: {exc.message}"
            remove_quietly(dest)
    return engine.backup(url, dest, progress=progress, checkpoint=checkpoint), note


def _engine_backup(url: DatabaseURL) -> EngineBackup:
    spec = ENGINES[url.scheme]
    found: EngineBackup = load(spec.backup, hint=spec.install_hint, what=f"{spec.title} backup")
    return found


def restore_backup(
    url: DatabaseURL,
    store: BackupStore,
    backup_id: str,
    *,
    progress: Progress | None = None,
    allow_other_database: bool = False,
) -> BackupRecord:
    """Make the database at ``url`` exactly the backup ``backup_id``, or leave it untouched.

    A touched backup (``record.touched``) replaces just its tables: the other tables are left
    as they are (see :mod:`lamina.backup.scope` for what it refuses).

    Nothing is changed unless the backup is of this engine and, unless
    ``allow_other_database``, of this database (:attr:`BackupRecord.location`), and its file
    has the manifest's size and SHA-256. The caller must hold lamina's migration lock and, on
    DuckDB, must not have the database open (the file is replaced).

    Raises:
        BackupError: refused (wrong database, damaged or missing file, objects the engine's
            restore cannot carry) or failed; the message says whether anything changed.
    """
    record = store.get(backup_id)
    _format_of(url)
    if record.engine != url.scheme:
        raise BackupError(
            f"backup {record.id} is a {record.engine} backup; {url.redacted()} is {url.scheme}",
            hint="pick a backup of this database (`lamina backup list`)",
        )
    if record.location != location_of(url) and not allow_other_database:
        raise BackupError(
            f"backup {record.id} was taken of {record.database}, not of {url.redacted()}; "
            "nothing was restored",
            hint="check the database URL; restoring into another database must be asked for "
            "explicitly",
        )
    source = store.verify(record)
    engine = _engine_backup(url)
    restore = engine.restore_tables if record.touched else engine.restore
    restore(url, source, record, progress=progress)
    return record


def location_of(url: DatabaseURL) -> str:
    """What a backup is of, without credentials: an absolute file path, or server/database.

    PostgreSQL's schema is left out here; the record's ``schema`` is checked on restore.
    """
    spec = _spec(url)
    if spec.scratch == "file":
        return os.path.realpath(url.path or "")
    host = (url.host or "").lower()
    return f"{url.scheme}://{host}:{url.port or spec.default_port}/{url.database}"


def _spec(url: DatabaseURL) -> EngineSpec:
    spec = ENGINES.get(url.scheme)
    if spec is None:
        raise BackupError(f"lamina cannot back up {url.scheme}:// databases")
    return spec


def _format_of(url: DatabaseURL) -> str:
    format_name = _spec(url).backup_format
    if url.is_memory:
        raise BackupError(f"{url.redacted()} is an in-memory database: it has no backup")
    return format_name
