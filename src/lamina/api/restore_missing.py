"""The startup restore (``LAMINA_RESTORE_IF_MISSING``): an application on an ephemeral disk
(a container, a fresh VM) finds its DuckDB or SQLite file gone and gets it back from the
newest backup in the backup folder, before the migration checks run.

Which backup: the newest *whole-database* backup *of this database file* (its manifest's
engine and location), never a touched one (it holds only some tables). Its SHA-256 is checked
before anything is written (:func:`lamina.backup.restore_backup`). A backup that exists but
cannot be used stops here with an error naming it; an older backup is never taken instead
in silence, and neither is an empty database: a manifest that cannot be read and is at least
as new as the chosen backup (or when there is none) refuses too, since it may be the newest
backup of this database.

Never over an existing file, even an empty one: the check is made again under the migration
lock, so replicas starting together restore once. The restore is written to the audit log
(``restore``, :meth:`~lamina.api.results.StartupRestore.audit_detail`), where a later health
check, in any process, finds it.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import TYPE_CHECKING

from lamina.api.backups import store
from lamina.api.results import StartupRestore
from lamina.api.session import Session
from lamina.backup import BackupError, location_of, restore_backup
from lamina.models import AuditAction
from lamina.urls import DatabaseURL

if TYPE_CHECKING:
    from lamina.backup import BackupRecord, BackupStore

__all__ = ["restore_if_missing"]

#: Files SQLite and DuckDB keep beside a database; removed with a file a failed restore made.
_BESIDE = ("-journal", "-wal", "-shm", ".wal")


def restore_if_missing(session: Session) -> StartupRestore | None:
    """See :meth:`lamina.api.Lamina.restore_if_missing`."""
    url = session.settings.database_url
    if not url.is_file or url.is_memory or url.path is None:
        return None
    path = Path(url.path)
    if os.path.lexists(path):
        return None
    backups = store(session.settings)
    record = newest_backup(backups, url)
    if record is None:
        return None
    restored: list[BackupRecord] = []

    def restore() -> None:
        if os.path.lexists(path):
            return  # another process made the file while this one waited for the lock
        try:
            restore_backup(url, backups, record.id)
        except BackupError as exc:
            _remove_made(path)  # never leave an empty file that a next start would trust
            raise BackupError(
                f"the database file {path} is missing, and its newest backup {record.id} "
                f"(taken {record.created_at}) cannot be restored: {exc.message}",
                hint="restore another backup yourself (`lamina backup list`, `lamina backup "
                "restore ID --yes`), or move this one's files out of the backup folder",
            ) from exc
        except BaseException:
            _remove_made(path)
            raise
        restored.append(record)

    with session.writer("lamina startup restore", before_connect=restore) as (backend, history):
        if not restored:
            return None
        with backend.transaction():
            history.audit(
                AuditAction.RESTORE,
                version=record.schema_version,
                detail=StartupRestore.audit_detail(record.id, record.created_at, record.sha256),
            )
        # Read back as a health check in another process will read it.
        return StartupRestore.from_events(history.events(1))


def newest_backup(backups: BackupStore, url: DatabaseURL) -> BackupRecord | None:
    """The newest whole-database backup of the database at ``url``, or None.

    Raises:
        BackupError: a manifest that cannot be read is as new as that backup, or newer (or
            there is no backup and one cannot be read): it may be this database's newest.
    """
    records, broken = backups.scan()
    where = location_of(url)
    mine = [r for r in records if r.engine == url.scheme and r.location == where and not r.touched]
    chosen = mine[0] if mine else None
    # An id starts with its UTC second: a manifest named as late or later may be newer.
    newer = [b for b in broken if chosen is None or b.path.stem[:16] >= chosen.id[:16]]
    if newer:
        first = newer[0]
        instead = f"backup {chosen.id}" if chosen else "an empty database"
        raise BackupError(
            f"the database file {url.path} is missing, and the backup manifest {first.path} "
            f"cannot be read ({first.problem}): it may be the newest backup of this database, "
            f"so nothing was restored rather than {instead}",
            hint="repair or move that manifest away, or restore a backup yourself "
            "(`lamina backup list`, `lamina backup restore ID --yes`)",
        )
    return chosen


def _remove_made(path: Path) -> None:
    """Remove the database file a failed restore created (it did not exist before)."""
    for name in ("", *_BESIDE):
        with contextlib.suppress(OSError):  # absent, or not ours to remove: the error stands
            os.unlink(f"{path}{name}")
