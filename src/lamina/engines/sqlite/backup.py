"""SQLite backups: the online backup API, both ways.

*Backup*: the online backup API, 1 MiB of pages per step; SQLite restarts the copy if
another connection writes meanwhile, so the result is one consistent snapshot.

*Restore*: the backup API again, from the backup file into the live database. SQLite copies
every page inside one write transaction on the target (journal or WAL), committed only when
the last page is in: other connections see the old database or the new one, a crash or an
error rolls back, and connections that stay open keep working (which a file rename would
break: they would go on reading, and writing, the replaced file).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from lamina.backup.engine import EngineBackup, error_line, existing_file, target_file
from lamina.backup.errors import BackupError
from lamina.backup.store import BackupRecord
from lamina.backup.streams import CHUNK, Produced, Progress, create_private, digest_file
from lamina.engines.sqlite.connect import file_uri
from lamina.urls import DatabaseURL

if TYPE_CHECKING:
    import sqlite3

__all__ = ["BACKUP", "backup_sqlite", "restore_sqlite"]

#: How long SQLite may stay locked by another connection before a backup or restore gives up.
SQLITE_BUSY_S = 30.0
_SQLITE_BUSY, _SQLITE_LOCKED = 5, 6


def backup_sqlite(
    url: DatabaseURL,
    dest: Path,
    *,
    progress: Progress | None,
    checkpoint: Callable[[], None] | None = None,
) -> Produced:
    """Copy a SQLite database to ``dest`` with the online backup API (a consistent snapshot);
    ``checkpoint`` is not needed: the backup API reads through SQLite's own journal."""
    import sqlite3

    path = existing_file(url)
    create_private(dest).close()  # 0600 before SQLite writes a byte; SQLite keeps the mode
    try:
        source = sqlite3.connect(file_uri(str(path), "rw"), uri=True)
    except sqlite3.Error as exc:
        raise BackupError(f"cannot open {path}: {error_line(exc)}") from exc
    try:
        target = sqlite3.connect(dest)
        try:
            _copy_pages(source, target, progress, what=str(path))
        finally:
            target.close()
    finally:
        source.close()
    size, sha256 = digest_file(dest)
    return Produced("sqlite-file", f"sqlite {sqlite3.sqlite_version}", size, sha256)


def restore_sqlite(
    url: DatabaseURL, source: Path, record: BackupRecord, *, progress: Progress | None
) -> None:
    """Copy the backup into the live database in one SQLite write transaction."""
    import sqlite3

    path = target_file(url)
    backup = sqlite3.connect(file_uri(str(source), "ro", immutable=True), uri=True)
    try:
        try:
            target = sqlite3.connect(path, timeout=SQLITE_BUSY_S)
        except sqlite3.Error as exc:
            raise BackupError(f"cannot open {path}: {error_line(exc)}") from exc
        try:
            _copy_pages(backup, target, progress, what=str(path))
        finally:
            target.close()
    finally:
        backup.close()


class _StillBusy(Exception):
    """Raised from the backup progress callback to abandon a copy that stays locked."""


def _copy_pages(
    source: sqlite3.Connection,
    target: sqlite3.Connection,
    progress: Progress | None,
    *,
    what: str,
) -> None:
    import sqlite3

    page_size = int(source.execute("PRAGMA page_size").fetchone()[0])
    deadline = time.monotonic() + SQLITE_BUSY_S

    def step(status: int, remaining: int, total: int) -> None:
        if status in (_SQLITE_BUSY, _SQLITE_LOCKED) and time.monotonic() > deadline:
            raise _StillBusy
        if progress is not None:
            progress((total - remaining) * page_size, total * page_size)

    try:
        source.backup(target, pages=max(1, CHUNK // page_size), progress=step)
    except _StillBusy:
        raise BackupError(
            f"{what} stayed locked by another connection for {SQLITE_BUSY_S:g} s; "
            "nothing was changed",
            hint="retry when the other connection's transaction has finished",
        ) from None
    except sqlite3.Error as exc:
        raise BackupError(
            f"SQLite could not copy {what}: {error_line(exc)}; nothing was changed"
        ) from exc


#: What :mod:`lamina.backup.operations` finds through the engine registry.
BACKUP = EngineBackup(backup=backup_sqlite, restore=restore_sqlite)
