"""Backups before risky steps, and restores that are all-or-nothing.

Example::

    from lamina.backup import BackupStore, create_backup, restore_backup

    store = BackupStore(Path(".lamina/backups"), keep=10)
    record = create_backup(url, store, schema_version=12, trigger="0013_drop_legacy")
    ...
    restore_backup(url, store, record.id)

How each engine backs up and restores (details in each module's docstring):

==========  ==========================================  ==========================================
engine      backup                                      atomic restore
==========  ==========================================  ==========================================
DuckDB      CHECKPOINT, then copy the file in chunks    copy beside the file, fsync, os.replace
SQLite      online backup API, 1 MiB per step           backup API into the live file: one write
                                                        transaction
PostgreSQL  pg_dump --format=custom --schema=S          pg_restore | psql: DROP SCHEMA S CASCADE
                                                        and the dump in one transaction
MySQL       mysqldump --single-transaction              load into a scratch database, then one
                                                        RENAME TABLE swaps every table
==========  ==========================================  ==========================================

Backups stream: nothing holds more than 1 MiB of the database in memory, the SHA-256 is
computed while writing, and ``progress(bytes_done, bytes_total_or_None)`` is called per chunk.

``create_backup(..., touched=...)`` (``backup_scope = touched``) backs up only the tables a
run changes, plus lamina's history, and its restore replaces only those: see
:mod:`lamina.backup.scope` for which tables, and when it falls back to the whole database or
refuses a restore.
"""

from __future__ import annotations

from lamina.backup.errors import BackupError
from lamina.backup.operations import FORMATS, create_backup, location_of, restore_backup
from lamina.backup.store import BackupRecord, BackupStore, BrokenManifest
from lamina.backup.streams import Progress

__all__ = [
    "FORMATS",
    "BackupError",
    "BackupRecord",
    "BackupStore",
    "BrokenManifest",
    "Progress",
    "create_backup",
    "location_of",
    "restore_backup",
]
