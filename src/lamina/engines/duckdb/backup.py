"""DuckDB backups: a checkpointed copy of the file, restored by one rename.

*Backup*: ``CHECKPOINT`` (every committed change moves from the ``.wal`` file into the
database file), then copy the database file in chunks while a connection keeps other
processes from writing it. DuckDB allows one read-write process per file, and lamina holds
that connection during a migration, so the copy either reuses the caller's connection
(``checkpoint=``, or this process's open database through DuckDB's instance cache) or opens
one itself. A non-empty ``.wal`` after the checkpoint is refused (its changes would be
missing from the copy), and the file must not change while it is copied (size and mtime are
compared before and after; a changed file is copied again).

*Restore*: the backup is copied (and re-hashed) into a temp file next to the database,
fsynced, opened read-only once (a file this DuckDB cannot read is refused there), and
renamed over the database with ``os.replace``: the database is the old file or the new
one, never a mix. Nobody may have the database open: a connection in another process, or in
this one, is refused before anything changes. The old database is checkpointed first, so no
``.wal`` of the old file survives to be replayed into the new one.

*Touched backup*: in one snapshot, each table is copied (``CREATE TABLE AS``, exact types)
into an attached new file whose catalog keeps its DDL and indexes (:mod:`lamina.backup.
filetables`); tables referencing it join (DuckDB cannot drop a referenced table). *Restore*:
one transaction drops the tables, recreates them from the catalog and copies the rows back.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lamina.backup.engine import EngineBackup, error_line, existing_file, target_file
from lamina.backup.errors import BackupError
from lamina.backup.filetables import (
    CATALOG,
    Object,
    literal,
    quote,
    replace_tables,
    to_recreate,
    write_catalog,
)
from lamina.backup.scope import ForeignKey, LiveTables, plan_backup, plan_restore, scope_of
from lamina.backup.store import BackupRecord
from lamina.backup.streams import (
    HashingWriter,
    Produced,
    Progress,
    create_exclusive,
    create_private,
    digest_file,
    fsync_dir,
    iter_chunks,
    remove_quietly,
)
from lamina.urls import DatabaseURL

if TYPE_CHECKING:
    from lamina.risk.touched import Touched

__all__ = ["BACKUP", "backup_duckdb", "restore_duckdb"]

#: How many times a DuckDB file that changed during the copy is copied again.
_COPY_ATTEMPTS = 3
_DUCKDB_CONFIG_CLASH = "different configuration"
_DUCKDB_LOCKED = re.compile(r"Could not set lock|Conflicting lock")


# -- DuckDB -------------------------------------------------------------------------------------
def backup_duckdb(
    url: DatabaseURL,
    dest: Path,
    *,
    progress: Progress | None,
    checkpoint: Callable[[], None] | None,
) -> Produced:
    """Copy a checkpointed DuckDB file to ``dest`` (which must not exist yet).

    ``checkpoint``: when the caller holds the database's read-write connection, a function
    running ``CHECKPOINT`` on it. Without it, lamina opens a connection of its own (sharing
    this process's open database, if any, through DuckDB's instance cache).
    """
    import duckdb

    path = existing_file(url)
    with _checkpointed(path, checkpoint):
        size, sha256 = _copy_unchanged(path, dest, progress)
    return Produced("duckdb-file", f"duckdb {duckdb.__version__}", size, sha256)


@contextmanager
def _checkpointed(path: Path, checkpoint: Callable[[], None] | None) -> Iterator[None]:
    """Flush the WAL into the file and keep writers out (the open connection) for the block."""
    import duckdb

    if checkpoint is not None:
        try:
            checkpoint()
        except Exception as exc:  # the caller's connection: any failure means no safe copy
            raise BackupError(f"CHECKPOINT of {path} failed: {error_line(exc)}") from exc
        _require_empty_wal(path)
        yield
        return
    conn = _open_duckdb(path)
    try:
        try:
            conn.execute("CHECKPOINT")
        except duckdb.Error as exc:
            raise BackupError(f"CHECKPOINT of {path} failed: {error_line(exc)}") from exc
        _require_empty_wal(path)
        yield
    finally:
        conn.close()


def _open_duckdb(path: Path) -> Any:
    import duckdb

    try:
        return duckdb.connect(str(path))
    except duckdb.Error as exc:
        raise _cannot_open(path, exc) from exc


def _holder(exc: BaseException) -> str | None:
    """Who keeps DuckDB from opening the file: "this process", "another process", or None."""
    text = str(exc)
    if _DUCKDB_CONFIG_CLASH in text:
        return "this process"
    if _DUCKDB_LOCKED.search(text):
        return "another process"
    return None


def _cannot_open(path: Path, exc: BaseException) -> BackupError:
    holder = _holder(exc)
    if holder == "this process":
        return BackupError(
            f"{path} is open in this process with other settings (read-only?)",
            hint="close that connection first, or pass checkpoint= running CHECKPOINT on it",
        )
    if holder == "another process":
        return BackupError(
            f"{path} is open in another process: {error_line(exc)}",
            hint="stop the process that has the database open, then try again",
        )
    return BackupError(f"cannot open {path}: {error_line(exc)}")


def _require_empty_wal(path: Path) -> None:
    wal = _wal_of(path)
    if wal.exists() and wal.stat().st_size > 0:
        raise BackupError(
            f"{wal} still holds changes after CHECKPOINT (is a transaction open?); "
            "a copy of the database file would miss them",
            hint="commit or roll back open transactions, then take the backup again",
        )


def _copy_unchanged(path: Path, dest: Path, progress: Progress | None) -> tuple[int, str]:
    """Copy ``path`` to ``dest``; copy again if the file changed under the copy."""
    for _ in range(_COPY_ATTEMPTS):
        before = _fingerprint(path)
        remove_quietly(dest)
        with create_private(dest) as out, path.open("rb") as source:
            writer = HashingWriter(out, progress, before[0])
            for chunk in iter_chunks(source):
                writer.write(chunk)
            sha256 = writer.finish()
        if _fingerprint(path) == before:
            return writer.size, sha256
    raise BackupError(
        f"{path} kept changing while it was copied ({_COPY_ATTEMPTS} attempts)",
        hint="stop whatever writes to the database (another connection in this process?)",
    )


def _fingerprint(path: Path) -> tuple[int, int, int]:
    stat = path.stat()
    return stat.st_size, stat.st_mtime_ns, stat.st_ino


def restore_duckdb(
    url: DatabaseURL, source: Path, record: BackupRecord, *, progress: Progress | None
) -> None:
    """Replace the DuckDB file with the backup in one rename (see the module docstring)."""
    path = target_file(url)
    if path.exists():
        _quiesce_duckdb(path)
    _require_no_wal(path)
    _replace_with_copy(path, source, record, progress)


def _quiesce_duckdb(path: Path) -> None:
    """Refuse if anyone has ``path`` open; else checkpoint it so no ``.wal`` is left over."""
    import duckdb

    try:
        # A setting nobody else uses: DuckDB refuses it if this process has the file open.
        conn = duckdb.connect(str(path), config={"custom_user_agent": "lamina-restore"})
    except duckdb.Error as exc:
        holder = _holder(exc)
        if holder is None:
            return  # a damaged file nobody can open: replacing it is the point of the restore
        raise BackupError(
            f"{path} is open in {holder}; nothing was restored",
            hint="close every connection to the database before restoring it",
        ) from exc
    try:
        conn.execute("CHECKPOINT")
    except duckdb.Error:
        pass  # a damaged file again; the .wal check that follows still guards the replace
    finally:
        conn.close()


def _require_no_wal(path: Path) -> None:
    wal = _wal_of(path)
    if wal.exists():
        raise BackupError(
            f"{wal} exists: it holds changes of the current database that DuckDB would replay "
            "into the restored file; nothing was restored",
            hint=f"open the database once with DuckDB (it applies the .wal), or move {wal} away",
        )


def _replace_with_copy(
    path: Path, source: Path, record: BackupRecord, progress: Progress | None
) -> None:
    """Copy ``source`` next to ``path``, check it is the backup, and rename it over ``path``."""
    temp = path.parent / f".{path.name}.lamina-restore-{secrets.token_hex(4)}"
    mode = path.stat().st_mode & 0o777 if path.exists() else None
    try:
        with create_exclusive(temp, mode) as out, source.open("rb") as backup:
            writer = HashingWriter(out, progress, record.size)
            for chunk in iter_chunks(backup):
                writer.write(chunk)
            sha256 = writer.finish()
        if (writer.size, sha256) != (record.size, record.sha256):
            raise BackupError(f"backup file {source} changed while it was restored; nothing done")
        _require_opens(temp, record)
        os.replace(temp, path)
    except BaseException:
        remove_quietly(temp)
        raise
    fsync_dir(path.parent)


def _require_opens(copy: Path, record: BackupRecord) -> None:
    """Open the copy read-only before it replaces anything: a backup written by a newer
    DuckDB (a storage version this one cannot read) is refused while nothing has changed."""
    import duckdb

    try:
        conn = duckdb.connect(str(copy), read_only=True)
        try:
            conn.execute("SELECT count(*) FROM duckdb_tables()").fetchall()
        finally:
            conn.close()
    except duckdb.Error as exc:
        raise BackupError(
            f"this DuckDB ({duckdb.__version__}) cannot open backup {record.id} "
            f"(written by {record.tool}): {error_line(exc)}; nothing was restored",
            hint="restore it with the DuckDB version that wrote it, or a newer one",
        ) from exc


def _wal_of(path: Path) -> Path:
    return path.with_name(path.name + ".wal")


# -- touched backups ---------------------------------------------------------------------------
_ALIAS = "lamina_backup"


def backup_duckdb_tables(
    url: DatabaseURL,
    dest: Path,
    touched: Touched,
    *,
    progress: Progress | None,
    checkpoint: Callable[[], None] | None,
) -> Produced:
    """Copy the touched tables into a new DuckDB file, in one snapshot (see above)."""
    import duckdb

    path = existing_file(url)
    try:
        with _attached(path, dest, "") as (conn, source):
            live, objects = _live(conn, source)
            scope = plan_backup(touched, live, "inbound")
            conn.execute(f"USE {_ALIAS}")
            write_catalog(
                conn.execute,
                to_recreate(objects, scope.tables, live.foreign_keys),
                lambda t: conn.execute(
                    f"CREATE TABLE {quote(t)} AS SELECT * FROM {quote(source)}.main.{quote(t)}"
                ),
            )
    except duckdb.Error as exc:
        raise BackupError(f"DuckDB could not copy tables of {path}: {error_line(exc)}") from exc
    os.chmod(dest, 0o600)  # DuckDB created it by the umask; backups are the owner's alone
    size, sha256 = digest_file(dest, progress)
    return Produced("duckdb-file", f"duckdb {duckdb.__version__}", size, sha256, scope=scope)


def restore_duckdb_tables(
    url: DatabaseURL, source: Path, record: BackupRecord, *, progress: Progress | None
) -> None:
    """Replace just the backup's tables, in one DuckDB transaction (see above)."""
    import duckdb

    path = target_file(url)
    try:
        with _attached(path, source, " (READ_ONLY)") as (conn, database):
            live, _ = _live(conn, database)
            plan = plan_restore(record.id, scope_of(record), live, "inbound")
            catalog = conn.execute(
                f"SELECT kind, tbl, sql FROM {_ALIAS}.main.{CATALOG} ORDER BY position"
            ).fetchall()
            replace_tables(
                conn.execute,
                plan,
                live.foreign_keys,
                catalog,
                lambda t: conn.execute(
                    f"INSERT INTO main.{quote(t)} SELECT * FROM {_ALIAS}.main.{quote(t)}"
                ),
            )
    except duckdb.Error as exc:
        raise BackupError(
            f"restoring backup {record.id} failed: {error_line(exc)}; nothing was restored"
        ) from exc
    if progress is not None:
        progress(record.size, record.size)


@contextmanager
def _attached(path: Path, other: Path, options: str) -> Iterator[tuple[Any, str]]:
    """A connection to ``path`` (this process's open database, if any) with ``other``
    attached, inside one transaction committed when the block ends cleanly; and the name of
    ``path``'s database."""
    import duckdb

    conn = _open_duckdb(path)
    try:
        database = str(conn.execute("SELECT current_database()").fetchall()[0][0])
        conn.execute(f"ATTACH {literal(str(other))} AS {_ALIAS}{options}")
        try:
            conn.execute("BEGIN")
            yield conn, database
            conn.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(duckdb.Error):
                conn.execute("ROLLBACK")
            raise
        finally:
            conn.execute(f"USE {quote(database)}")
            conn.execute(f"DETACH {_ALIAS}")
        conn.execute("CHECKPOINT")
    finally:
        conn.close()


_HERE = "database_name = current_database() AND schema_name = 'main'"
#: Every object a touched backup cares about: (kind, name, its table, SQL).
_CATALOG_SQL = f"""
SELECT 'table', table_name, table_name, sql FROM duckdb_tables() WHERE {_HERE}
UNION ALL SELECT 'view', view_name, view_name, sql FROM duckdb_views() WHERE NOT internal
    AND {_HERE}
UNION ALL SELECT 'index', index_name, table_name, sql FROM duckdb_indexes() WHERE {_HERE}
UNION ALL SELECT 'key', table_name, referenced_table, '' FROM duckdb_constraints()
    WHERE constraint_type = 'FOREIGN KEY' AND {_HERE}
"""


def _live(conn: Any, database: str) -> tuple[LiveTables, list[Object]]:
    """The main schema of ``database`` (the connection's), as :mod:`lamina.backup.scope` needs
    it, and the SQL of its objects."""
    rows = [
        (str(k), str(n), str(t), str(q or ""))
        for k, n, t, q in conn.execute(_CATALOG_SQL).fetchall()
    ]
    live = LiveTables(
        tables=frozenset(name for kind, name, _, _ in rows if kind == "table"),
        others={name: kind for kind, name, _, _ in rows if kind == "view"},
        foreign_keys=tuple(ForeignKey(a, b) for kind, a, b, _ in rows if kind == "key"),
        indexes={name: table for kind, name, table, _ in rows if kind == "index"},
        qualifiers=frozenset({(), ("main",), (database,), (database, "main")}),
        fold=True,
    )
    return live, rows


#: What :mod:`lamina.backup.operations` finds through the engine registry.
BACKUP = EngineBackup(backup_duckdb, restore_duckdb, backup_duckdb_tables, restore_duckdb_tables)
