"""SQLite through the standard library's ``sqlite3``, with lamina driving every transaction.

The connection runs in autocommit mode (``isolation_level=None``) and lamina issues BEGIN and
COMMIT itself. The module's default mode opens transactions implicitly only before INSERT,
UPDATE, DELETE and REPLACE, so a migration starting with ``CREATE TABLE`` would otherwise run
outside any transaction and could not be rolled back.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import Any, ClassVar
from urllib.parse import quote

from lamina.backends.base import BackendOptions, Capabilities, history_tables
from lamina.backends.filelock import FileBackend
from lamina.errors import BackendError, BackendUnavailableError, LockTimeoutError
from lamina.urls import DatabaseURL

__all__ = ["SQLiteBackend"]

#: The smallest busy timeout lamina gives SQLite, so ``timeout_s=0`` still rides out a commit.
_MIN_BUSY_S = 0.05


class SQLiteBackend(FileBackend):
    """A SQLite database file (or ``sqlite:///:memory:``), with foreign keys enforced.

    Example::

        backend = SQLiteBackend(parse_url("sqlite:///app.sqlite3"))
        backend.connect(timeout_s=5)
        with backend.transaction():
            backend.execute("CREATE TABLE t (id INTEGER PRIMARY KEY)")
    """

    name: ClassVar[str] = "sqlite"
    title: ClassVar[str] = "SQLite"
    other_engine_hint: ClassVar[str] = "duckdb:/// opens DuckDB files"
    dialect: ClassVar[str] = "sqlite"
    capabilities: ClassVar[Capabilities] = Capabilities(transactional_ddl=True)
    history_ddl: ClassVar[tuple[str, ...]] = history_tables(
        # AUTOINCREMENT: a rolled-back or deleted row's number is never handed out again.
        "seq INTEGER PRIMARY KEY AUTOINCREMENT"
    )

    def __init__(
        self,
        url: DatabaseURL,
        *,
        read_only: bool = False,
        options: BackendOptions | None = None,
    ) -> None:
        super().__init__(url, read_only=read_only, options=options)
        self._conn: sqlite3.Connection | None = None
        self._busy_s = _MIN_BUSY_S

    # -- connection -----------------------------------------------------------------------------
    def connect(self, timeout_s: float = 0.0) -> None:
        if self._conn is not None:
            return
        self._require_file_for_reading()
        self._refuse_read_only_file()
        self._busy_s = max(timeout_s, _MIN_BUSY_S)
        target, uri = self.path, False
        if not self.url.is_memory:
            # A writer asks for read-write explicitly: SQLite would otherwise open a read-only
            # file read-only without a word, and the first migration would take the blame.
            mode = "ro" if self.read_only else "rwc"
            target, uri = f"file:{quote(self.path)}?mode={mode}", True
        try:
            conn = sqlite3.connect(target, timeout=self._busy_s, isolation_level=None, uri=uri)
        except sqlite3.Error as exc:
            raise self._unavailable(exc) from exc
        try:
            # Reading the schema cookie makes SQLite read the header: a file that is not a
            # database fails here rather than in the middle of a migration.
            conn.execute("PRAGMA schema_version").fetchall()
            conn.execute("PRAGMA foreign_keys = ON")
        except sqlite3.Error as exc:
            conn.close()
            if _is_busy(exc):
                raise LockTimeoutError(self.target(), timeout_s, self.other_holder()) from exc
            raise self._unavailable(exc) from exc
        self._conn = conn

    def _refuse_read_only_file(self) -> None:
        """SQLite opens a file it may not write read-only, silently: say so before anything
        runs, instead of letting the first write (a migration) take the blame."""
        if self.read_only or self.url.is_memory or not os.path.exists(self.path):
            return
        if not os.access(self.path, os.W_OK):
            raise BackendUnavailableError(
                f"SQLite database {self.path} is read-only for this user",
                hint="make the file writable (and its folder: SQLite writes a journal beside "
                "it), or run read-only commands such as `lamina status`",
            )

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()

    # -- statements -----------------------------------------------------------------------------
    def transaction(self) -> AbstractContextManager[None]:
        return self._transaction()

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        conn = self._connection()
        # IMMEDIATE takes the write lock up front: a concurrent writer then waits on the busy
        # timeout here, instead of failing halfway through a migration on its first write.
        begin = "BEGIN" if self.read_only else "BEGIN IMMEDIATE"
        try:
            conn.execute(begin)
        except sqlite3.Error as exc:
            if _is_busy(exc):
                raise LockTimeoutError(self.target(), self._busy_s, self.other_holder()) from exc
            raise BackendError(f"cannot begin a transaction on {self.path}: {exc}") from exc
        try:
            yield
            conn.execute("COMMIT")
        except BaseException as exc:
            _rollback(conn, exc)
            if isinstance(exc, sqlite3.Error) and _is_busy(exc):
                # COMMIT waits for readers to leave; past the busy timeout that is a lock
                # timeout, not a fault of the migration.
                raise LockTimeoutError(self.target(), self._busy_s, self.other_holder()) from exc
            raise

    def execute(self, sql: str, params: Sequence[object] = ()) -> None:
        # cursor.execute runs exactly one statement (more raise ProgrammingError). Never
        # executescript(): it COMMITs any open transaction first, which would break the
        # migration's transaction in two.
        self._connection().execute(sql, tuple(params)).close()

    def query(self, sql: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        cursor = self._connection().execute(sql, tuple(params))
        try:
            return [tuple(row) for row in cursor.fetchall()]
        finally:
            cursor.close()

    def interrupt(self) -> None:
        conn = self._conn
        if conn is not None:
            # sqlite3_interrupt is the one call SQLite allows from another thread; the running
            # statement fails with "interrupted" and SQLite rolls the transaction back.
            conn.interrupt()

    def table_exists(self, table: str) -> bool:
        sql = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ? COLLATE NOCASE"
        try:
            return bool(self.query(sql, [table]))
        except sqlite3.Error as exc:
            raise BackendError(f"cannot look up table {table} in {self.path}: {exc}") from exc

    def is_driver_error(self, exc: BaseException) -> bool:
        return isinstance(exc, sqlite3.Error)

    # -- helpers --------------------------------------------------------------------------------
    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            raise RuntimeError("SQLiteBackend used before connect()")
        return self._conn

    def _unavailable(self, exc: sqlite3.Error) -> BackendUnavailableError:
        code = getattr(exc, "sqlite_errorname", "")
        return self._cannot_open(str(exc), not_a_database=code == "SQLITE_NOTADB")


def _is_busy(exc: sqlite3.Error) -> bool:
    code = getattr(exc, "sqlite_errorname", "")
    return code.startswith("SQLITE_BUSY") or "database is locked" in str(exc)


def _rollback(conn: sqlite3.Connection, exc: BaseException) -> None:
    """Roll back after ``exc`` without hiding it.

    SQLite ends the transaction by itself after some errors (a full disk, an interrupt), and a
    failed COMMIT leaves it open: ask the connection rather than guess.
    """
    if not conn.in_transaction:
        return
    try:
        conn.execute("ROLLBACK")
    except sqlite3.Error as rollback_exc:
        exc.add_note(f"lamina: the rollback failed too: {rollback_exc}")
