"""What each engine's backup module provides (``engines/<name>/backup.py``: ``BACKUP``), and
the file checks the embedded engines share.

:mod:`lamina.backup.operations` finds an engine's :class:`EngineBackup` through the engine
registry (:data:`lamina.engines.EngineSpec.backup`), so it never names an engine.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from lamina.backup.errors import BackupError
from lamina.backup.store import BackupRecord
from lamina.backup.streams import Produced, Progress
from lamina.urls import DatabaseURL

if TYPE_CHECKING:
    from lamina.risk.touched import Touched

__all__ = ["EngineBackup", "error_line", "existing_file", "target_file"]


class BackupFunction(Protocol):
    def __call__(
        self,
        url: DatabaseURL,
        dest: Path,
        *,
        progress: Progress | None,
        checkpoint: Callable[[], None] | None,
    ) -> Produced: ...


class RestoreFunction(Protocol):
    def __call__(
        self, url: DatabaseURL, source: Path, record: BackupRecord, *, progress: Progress | None
    ) -> None: ...


class TablesBackupFunction(Protocol):
    def __call__(
        self,
        url: DatabaseURL,
        dest: Path,
        touched: Touched,
        *,
        progress: Progress | None,
        checkpoint: Callable[[], None] | None,
    ) -> Produced: ...


@dataclass(frozen=True, slots=True)
class EngineBackup:
    """An engine's backup and atomic restore (see each engine's ``backup`` module).

    Attributes:
        backup: write a backup of ``url`` to ``dest`` (which must not exist yet);
            ``checkpoint`` runs the engine's flush on the caller's connection (DuckDB).
        restore: make ``url`` exactly the backup at ``source``, or leave it untouched.
        backup_tables: write a backup of just the tables ``touched`` names (and those tied to
            them, :mod:`lamina.backup.scope`); ``Produced.scope`` says which. Raises
            :class:`~lamina.backup.scope.WholeDatabase` when they cannot be backed up alone.
        restore_tables: replace just a touched backup's tables, all or nothing.
    """

    backup: BackupFunction
    restore: RestoreFunction
    backup_tables: TablesBackupFunction
    restore_tables: RestoreFunction


def existing_file(url: DatabaseURL) -> Path:
    """The database file a backup copies: symlinks resolved; it must exist."""
    if url.is_memory or url.path is None:
        raise BackupError(f"{url.redacted()} is an in-memory database: there is nothing to copy")
    path = Path(os.path.realpath(url.path))
    if not path.is_file():
        raise BackupError(f"no database file at {url.path}: there is nothing to back up")
    return path


def target_file(url: DatabaseURL) -> Path:
    """The file a restore writes: symlinks resolved, so the link's target is replaced."""
    if url.is_memory or url.path is None:
        raise BackupError(f"{url.redacted()} is an in-memory database: it cannot be restored")
    path = Path(os.path.realpath(url.path))
    if not path.parent.is_dir():
        raise BackupError(f"the folder of {url.path} does not exist; nothing was restored")
    return path


def error_line(exc: BaseException) -> str:
    """A driver's error on one line, for a message."""
    return " ".join(str(exc).split()) or type(exc).__name__
