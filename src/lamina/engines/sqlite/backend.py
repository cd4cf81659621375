"""SQLite through the standard library's ``sqlite3``, with lamina driving every transaction.

The connection runs in autocommit mode (``isolation_level=None``) and lamina issues BEGIN and
COMMIT itself. The module's default mode opens transactions implicitly only before INSERT,
UPDATE, DELETE and REPLACE, so a migration starting with ``CREATE TABLE`` would otherwise run
outside any transaction and could not be rolled back.

Foreign keys and the table rebuild. SQLite's recipe for changes ALTER TABLE cannot make
(https://sqlite.org/lang_altertable.html) turns foreign keys off, copies the table into a new
one, drops the old one and renames the new one. ``PRAGMA foreign_keys`` is a no-op inside a
transaction, so inside a migration's transaction the DROP TABLE would run with foreign keys on
and ``ON DELETE CASCADE`` would empty the child tables. When a transactional migration turns
foreign keys off, :meth:`SQLiteBackend.migration_session` turns them off on the connection
before ``BEGIN``; the migration's own PRAGMAs are then harmless no-ops; ``PRAGMA
foreign_key_check`` runs before ``COMMIT`` (a violation fails the migration, which rolls
back); and foreign keys are on again afterwards, whatever happened. Other settings SQLite
ignores or refuses inside a transaction are refused before the migration starts
(:data:`_REFUSED_IN_TRANSACTION`), and connection flags a migration changed are put back.
"""

from __future__ import annotations

import os
import re
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, suppress
from typing import Any, ClassVar

from lamina.engines.base import (
    HistoryTypes,
    RefusedInTransaction,
)
from lamina.engines.filelock import FileBackend
from lamina.engines.sqlite.connect import connect_target
from lamina.errors import (
    BackendError,
    BackendUnavailableError,
    LaminaError,
    LockTimeoutError,
    StatementError,
)

__all__ = ["SQLiteBackend"]

#: The smallest busy timeout lamina gives SQLite, so ``timeout_s=0`` still rides out a commit.
_MIN_BUSY_S = 0.05

# PRAGMA [schema.]name [= value | (value)]; statements start at their first token.
_PRAGMA = re.compile(
    r"PRAGMA\s+(?:[\"`\[]?\w+[\"`\]]?\s*\.\s*)?[\"`\[]?(?P<name>\w+)[\"`\]]?"
    r"\s*(?:=\s*(?P<value>[^;]*?)|\(\s*(?P<arg>[^;]*?)\s*\))?\s*;?\s*\Z",
    re.IGNORECASE | re.DOTALL,
)
_FALSE = frozenset({"0", "off", "false", "no"})

#: Connection flags a migration may change with a PRAGMA (they work inside a transaction and
#: outlive it): put back after each migration, so one migration's setting never leaks into the
#: next one or into lamina's own history writes. ``foreign_keys`` is always put back on.
_CONNECTION_FLAGS = (
    "legacy_alter_table",
    "recursive_triggers",
    "ignore_check_constraints",
    "writable_schema",
    "trusted_schema",
    "defer_foreign_keys",
)

_TRANSACTIONAL_FALSE = (
    "run it in a migration of its own marked `-- transactional: false` (`transactional = "
    "False` in Python), which runs outside a transaction, or outside lamina"
)
#: Settings SQLite ignores (silently) or refuses inside a transaction, by PRAGMA name, when set.
_REFUSED_PRAGMAS = {
    "journal_mode": "SQLite ignores PRAGMA journal_mode inside a transaction: it keeps the "
    "current mode without a word",
    "synchronous": "SQLite refuses to change PRAGMA synchronous inside a transaction",
    "page_size": "PRAGMA page_size takes effect only at the next VACUUM, which SQLite cannot "
    "run inside a transaction",
    "auto_vacuum": "PRAGMA auto_vacuum takes effect on an existing database only at the next "
    "VACUUM, which SQLite cannot run inside a transaction",
    "encoding": "SQLite ignores PRAGMA encoding once the database has content",
    "wal_checkpoint": "SQLite cannot checkpoint its log inside a transaction",
}


#: SQLite's own busy handler (``sqlite3_busy_timeout``, which Python's ``timeout=`` sets): the
#: sleeps between its tries, in ms; after the last, 100 ms each (sqliteDefaultBusyCallback).
_BUSY_SLEEPS_MS = (1, 2, 5, 10, 15, 20, 25, 25, 25, 50, 50, 100)


def busy_sleep_ms(waited_ms: float) -> float:
    """The sleep SQLite's busy handler is in after ``waited_ms`` of waiting: how long the
    write lock must stay free after a batch of ``waited_ms`` for a writer that waited since
    it began to find it free (SQLite has no queue of waiters: a backfill that takes the lock
    again right after each commit starves them). ``Capabilities.handoff`` of SQLite."""
    slept = 0.0
    for sleep in _BUSY_SLEEPS_MS:
        if waited_ms < slept + sleep:
            return float(sleep)
        slept += sleep
    return float(_BUSY_SLEEPS_MS[-1])


class SQLiteBackend(FileBackend):
    """A SQLite database file (or ``sqlite:///:memory:``), with foreign keys enforced.

    Example::

        backend = SQLiteBackend(parse_url("sqlite:///app.sqlite3"))
        backend.connect(timeout_s=5)
        with backend.transaction():
            backend.execute("CREATE TABLE t (id INTEGER PRIMARY KEY)")
    """

    name: ClassVar[str] = "sqlite"
    other_engine_hint: ClassVar[str] = "duckdb:/// opens DuckDB files"
    driver_errors: ClassVar[tuple[type[BaseException], ...]] = (sqlite3.Error,)
    history_types: ClassVar[HistoryTypes] = HistoryTypes(
        # AUTOINCREMENT: a rolled-back or deleted row's number is never handed out again.
        sequence_key="INTEGER PRIMARY KEY AUTOINCREMENT"
    )

    _conn: sqlite3.Connection | None = None
    _busy_s = _MIN_BUSY_S
    # While a transactional migration runs (migration_session): whether lamina turned
    # foreign keys off before its BEGIN, so its COMMIT must check them first.
    _in_migration = False
    _check_foreign_keys = False

    # -- connection -----------------------------------------------------------------------------
    def connect(self, timeout_s: float = 0.0) -> None:
        if self._conn is not None:
            return
        self._require_file_for_reading()
        self._refuse_read_only_file()
        self._busy_s = max(timeout_s, _MIN_BUSY_S)
        target, uri = connect_target(self.url, self.path, self.read_only)
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
    def migration_session(
        self, statements: Callable[[], Sequence[str]], *, in_transaction: bool
    ) -> AbstractContextManager[None]:
        return self._migration_session(statements, in_transaction)

    @contextmanager
    def _migration_session(
        self, statements: Callable[[], Sequence[str]], in_transaction: bool
    ) -> Iterator[None]:
        """Foreign keys off before BEGIN when the migration turns them off, refusal of what a
        transaction ignores, and the connection's flags put back afterwards (module doc)."""
        conn = self._connection()
        keys_off = False
        if in_transaction:
            sql = statements()
            _refuse_in_transaction(sql)
            keys_off = any(_turns_foreign_keys_off(statement) for statement in sql)
        flags = {name: _flag(conn, name) for name in _CONNECTION_FLAGS}
        try:
            if keys_off:
                conn.execute("PRAGMA foreign_keys = OFF")
            self._in_migration, self._check_foreign_keys = in_transaction, keys_off
            yield
        finally:
            self._in_migration = self._check_foreign_keys = False
            self._restore(conn, flags)

    def _restore(self, conn: sqlite3.Connection, flags: dict[str, int | None]) -> None:
        """Foreign keys on, and the flags as they were; a dead connection runs nothing more."""
        with suppress(sqlite3.Error):
            conn.execute("PRAGMA foreign_keys = ON")
            for name, value in flags.items():
                if value is not None and _flag(conn, name) != value:
                    conn.execute(f"PRAGMA {name} = {value}")

    def _begin(self) -> None:
        # IMMEDIATE takes the write lock up front: a concurrent writer then waits on the busy
        # timeout here, instead of failing halfway through a migration on its first write.
        self._connection().execute("BEGIN" if self.read_only else "BEGIN IMMEDIATE")

    def _begin_refused(self, exc: BaseException) -> LaminaError:
        if isinstance(exc, sqlite3.Error) and _is_busy(exc):
            return LockTimeoutError(self.target(), self._busy_s, self.other_holder())
        return super()._begin_refused(exc)

    def _commit(self) -> None:
        conn = self._connection()
        if self._check_foreign_keys:
            _foreign_key_check(conn)
        conn.execute("COMMIT")

    def _rollback(self, exc: BaseException) -> None:
        """Roll back after ``exc`` without hiding it.

        SQLite ends the transaction by itself after some errors (a full disk, an interrupt), and
        a failed COMMIT leaves it open: ask the connection rather than guess.
        """
        conn = self._connection()
        if not conn.in_transaction:
            return
        try:
            conn.execute("ROLLBACK")
        except sqlite3.Error as rollback_exc:
            exc.add_note(f"lamina: the rollback failed too: {rollback_exc}")

    def _transaction_failed(self, exc: BaseException) -> None:
        driver = exc.original if isinstance(exc, StatementError) else exc
        if isinstance(driver, sqlite3.Error) and _is_busy(driver):
            # COMMIT waits for readers to leave; past the busy timeout that is a lock
            # timeout, not a fault of the migration.
            raise LockTimeoutError(self.target(), self._busy_s, self.other_holder()) from driver

    def _execute(self, sql: str, params: Sequence[object]) -> None:
        # cursor.execute runs exactly one statement (more raise ProgrammingError). Never
        # executescript(): it COMMITs any open transaction first, which would break the
        # migration's transaction in two.
        if self._in_migration and not self._check_foreign_keys and _turns_foreign_keys_off(sql):
            # Python code that turns foreign keys off only on its real run (not on the
            # recorder): too late to do it before BEGIN, and running on with them on could
            # cascade deletes. Fail (and roll back) instead.
            raise RefusedInTransaction(
                sql,
                "PRAGMA foreign_keys = OFF ran inside the migration's transaction, where SQLite "
                "ignores it, and the migration's recorded SQL did not show it beforehand",
                "run the PRAGMA unconditionally, not under `if not self.dry_run:`, so lamina "
                "turns foreign keys off before the transaction opens",
            )
        _close_quietly(self._connection().execute(sql, tuple(params)))

    def _query(self, sql: str, params: Sequence[object]) -> list[tuple[Any, ...]]:
        cursor = self._connection().execute(sql, tuple(params))
        try:
            return [tuple(row) for row in cursor.fetchall()]
        finally:
            _close_quietly(cursor)

    def interrupt(self) -> None:
        conn = self._conn
        if conn is not None:
            # sqlite3_interrupt is the one call SQLite allows from another thread; the running
            # statement fails with "interrupted" and SQLite rolls the transaction back. A
            # connection closed meanwhile has nothing left to interrupt.
            with suppress(sqlite3.ProgrammingError):
                conn.interrupt()

    def table_exists(self, table: str) -> bool:
        sql = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ? COLLATE NOCASE"
        try:
            return bool(self.query(sql, [table]))
        except StatementError as exc:
            raise BackendError(
                f"cannot look up table {table} in {self.path}: {exc.original}"
            ) from exc.original

    # -- helpers --------------------------------------------------------------------------------
    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            raise RuntimeError("SQLiteBackend used before connect()")
        return self._conn

    def _unavailable(self, exc: sqlite3.Error) -> BackendUnavailableError:
        code = getattr(exc, "sqlite_errorname", "")
        return self._cannot_open(str(exc), not_a_database=code == "SQLITE_NOTADB")


def _pragma(sql: str) -> tuple[str, str | None] | None:
    """``(name, value)`` of a PRAGMA statement (value ``None`` when it only reads)."""
    match = _PRAGMA.match(sql.strip())
    if match is None:
        return None
    value = match["value"] if match["value"] is not None else match["arg"]
    if value is not None:
        value = value.strip().strip("'\"`").strip()
    return match["name"].lower(), value or None


def _turns_foreign_keys_off(sql: str) -> bool:
    pragma = _pragma(sql)
    if pragma is None or pragma[0] != "foreign_keys":
        return False
    return (pragma[1] or "").lower() in _FALSE


def _refuse_in_transaction(statements: Sequence[str]) -> None:
    """Raise :class:`RefusedInTransaction` for the first statement SQLite would ignore or
    refuse inside the migration's transaction."""
    for sql in statements:
        words = sql.split(None, 1)
        if words and words[0].upper() == "VACUUM":
            raise RefusedInTransaction(
                sql, "SQLite cannot VACUUM inside a transaction", _TRANSACTIONAL_FALSE
            )
        pragma = _pragma(sql)
        if pragma is None:
            continue
        name, value = pragma
        if name in _REFUSED_PRAGMAS and (value is not None or name == "wal_checkpoint"):
            raise RefusedInTransaction(sql, _REFUSED_PRAGMAS[name], _TRANSACTIONAL_FALSE)


def _flag(conn: sqlite3.Connection, name: str) -> int | None:
    try:
        row = conn.execute(f"PRAGMA {name}").fetchone()
    except sqlite3.Error:
        return None
    return int(row[0]) if row is not None and row[0] is not None else None


def _foreign_key_check(conn: sqlite3.Connection) -> None:
    """Fail the commit of a migration that ran with foreign keys off and left a row whose
    parent is missing, naming the rows (SQLite's own check, ``PRAGMA foreign_key_check``)."""
    rows = conn.execute("PRAGMA foreign_key_check").fetchall()
    if not rows:
        return
    shown = [
        f"{table} rowid {rowid} has no matching row in {parent}"
        if rowid is not None
        else f"a row of {table} has no matching row in {parent}"
        for table, rowid, parent, _fkid in rows[:5]
    ]
    more = f" (and {len(rows) - 5} more)" if len(rows) > 5 else ""
    raise sqlite3.IntegrityError(
        f"FOREIGN KEY check failed after the migration, which ran with foreign keys off: "
        f"{'; '.join(shown)}{more}"
    )


def _close_quietly(cursor: sqlite3.Cursor) -> None:
    """Close a cursor; one whose connection is gone has nothing left to close."""
    with suppress(sqlite3.ProgrammingError):
        cursor.close()


def _is_busy(exc: sqlite3.Error) -> bool:
    code = getattr(exc, "sqlite_errorname", "")
    return code.startswith("SQLITE_BUSY") or "database is locked" in str(exc)
