"""DuckDB, lamina's embedded default: one file that one process at a time may open read-write.

DuckDB takes an OS lock on the database file for as long as a read-write connection is open
(and read-only connections are refused meanwhile), so :meth:`DuckDBBackend.connect` waits for
the file, and reports who holds it, the way the migration lock does.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, suppress
from typing import Any, ClassVar

import duckdb

from lamina.engines.base import (
    HistoryTypes,
    RefusedInTransaction,
)
from lamina.engines.duckdb.connect import connect_args
from lamina.engines.filelock import POLL_S, FileBackend, owner_of_process
from lamina.errors import (
    BackendError,
    BackendUnavailableError,
    LockTimeoutError,
    StatementError,
)
from lamina.models import LockOwner

__all__ = ["DuckDBBackend"]

# 'IO Error: Could not set lock on file "/x.duckdb": Conflicting lock is held in
# /usr/bin/python3.11 (PID 6463). See also https://duckdb.org/docs/...'
_LOCK_CONFLICT = re.compile(r"Could not set lock|Conflicting lock")
_LOCK_HOLDER = re.compile(r"Conflicting lock is held in (?P<program>.+?) \(PID (?P<pid>\d+)\)")
# Where DuckDB starts drawing the statement with carets under the fault.
_CARET_DRAWING = re.compile(r"^\s*LINE \d+:")
# CHECKPOINT and FORCE CHECKPOINT: DuckDB refuses both inside a transaction that has changes.
_CHECKPOINT = re.compile(r"(?:FORCE\s+)?CHECKPOINT\b", re.IGNORECASE)


def _version_numbers(version: str) -> tuple[int, ...]:
    """``(2, 0, 1)`` from ``"2.0.1"`` (or ``"2.0.1.dev42"``): the numeric parts only."""
    numbers = re.match(r"\d+(?:\.\d+)*", version)
    return tuple(int(part) for part in numbers.group().split(".")) if numbers else ()


class DuckDBBackend(FileBackend):
    """A DuckDB database file (or ``duckdb:///:memory:``).

    Example::

        backend = DuckDBBackend(parse_url("duckdb:///app.duckdb"))
        backend.connect(timeout_s=5)
        with backend.transaction():
            backend.execute("CREATE TABLE t (id INTEGER)")
    """

    name: ClassVar[str] = "duckdb"
    other_engine_hint: ClassVar[str] = "sqlite:/// opens SQLite files"
    driver_errors: ClassVar[tuple[type[BaseException], ...]] = (duckdb.Error,)
    # DuckDB has neither AUTOINCREMENT nor identity columns: the log's key comes from a sequence.
    history_types: ClassVar[HistoryTypes] = HistoryTypes(
        sequence_key="BIGINT PRIMARY KEY DEFAULT nextval('{sequence}')",
        sequence_ddl="CREATE SEQUENCE {sequence}",
    )
    #: A step's history row and audit row in one statement (lamina.history.store). DuckDB took
    #: INSERT/UPDATE/DELETE inside a WITH in 2026 (duckdb/duckdb#21634); from 2.0, the first
    #: release lamina was tested with (also on files of the 1.0 storage format), else two.
    data_modifying_ctes: ClassVar[bool] = _version_numbers(duckdb.__version__) >= (2, 0)

    _conn: duckdb.DuckDBPyConnection | None = None
    _failed_in_transaction = False

    # -- connection -----------------------------------------------------------------------------
    def connect(self, timeout_s: float = 0.0) -> None:
        if self._conn is not None:
            return
        self._require_file_for_reading()
        deadline = time.monotonic() + max(timeout_s, 0.0)
        while True:
            try:
                self._conn = duckdb.connect(**connect_args(self.url, self.path, self.read_only))
                return
            except duckdb.Error as exc:
                if not _LOCK_CONFLICT.search(str(exc)):
                    raise self._unavailable(exc) from exc
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    holder = self._file_holder(str(exc))
                    raise LockTimeoutError(self.target(), timeout_s, holder) from exc
                time.sleep(min(POLL_S, remaining))

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
        """Refuse, before BEGIN, what DuckDB refuses inside a transaction with changes."""
        if in_transaction:
            for sql in statements():
                if _CHECKPOINT.match(sql.strip()):
                    raise RefusedInTransaction(
                        sql,
                        "DuckDB cannot CHECKPOINT inside a transaction that has changes",
                        "run it in a migration of its own marked `-- transactional: false` "
                        "(`transactional = False` in Python), or leave it to DuckDB's automatic "
                        "checkpoints",
                    )
        yield

    def _begin(self) -> None:
        self._connection().begin()
        self._failed_in_transaction = False

    def _aborted(self) -> BaseException | None:
        # DuckDB's COMMIT of a transaction that an earlier error aborted rolls back and
        # reports success, so a migration that caught a failed statement in Python would
        # look applied. Every statement goes through execute()/query(), which note a
        # failure, so refuse to commit without spending a round trip on a probe.
        if not self._failed_in_transaction:
            return None
        return duckdb.TransactionException(
            "Current transaction is aborted (an earlier statement in this "
            "transaction failed and the migration caught the error)"
        )

    def _commit(self) -> None:
        self._failed_in_transaction = False
        self._connection().commit()

    def _rollback(self, exc: BaseException) -> None:
        """Roll back after ``exc`` without hiding it; a failed COMMIT has already rolled back."""
        self._failed_in_transaction = False
        try:
            self._connection().rollback()
        except duckdb.Error as rollback_exc:
            if "no transaction is active" not in str(rollback_exc):
                exc.add_note(f"lamina: the rollback failed too: {rollback_exc}")

    def _execute(self, sql: str, params: Sequence[object]) -> None:
        self._run(sql, params)

    def _query(self, sql: str, params: Sequence[object]) -> list[tuple[Any, ...]]:
        return [tuple(row) for row in self._run(sql, params).fetchall()]

    def _run(self, sql: str, params: Sequence[object]) -> duckdb.DuckDBPyConnection:
        conn = self._connection()
        try:
            return conn.execute(sql, list(params)) if params else conn.execute(sql)
        except duckdb.Error:
            self._failed_in_transaction = True
            raise

    def interrupt(self) -> None:
        conn = self._conn
        if conn is not None:
            # Thread-safe: fails the running query with "INTERRUPT Error". A connection closed
            # meanwhile has nothing left to interrupt.
            with suppress(duckdb.Error):
                conn.interrupt()

    def table_exists(self, table: str) -> bool:
        sql = (
            "SELECT 1 FROM duckdb_tables() WHERE database_name = current_database() "
            "AND schema_name = current_schema() AND table_name = ?"
        )
        try:
            return bool(self.query(sql, [table]))
        except StatementError as exc:
            raise BackendError(f"cannot look up table {table} in {self.path}: {exc.detail}") from (
                exc.original
            )

    def describe_error(self, exc: BaseException) -> str:
        """DuckDB's message on one line, without the ``LINE 1: ...`` caret drawing."""
        kept: list[str] = []
        for line in str(exc).splitlines():
            if _CARET_DRAWING.match(line):
                break
            kept.append(line.strip())
        text = " ".join(part for part in kept if part) or " ".join(str(exc).split())
        if "transaction is aborted" in text:
            text += " (an earlier statement in this transaction failed)"
        return text

    # -- helpers --------------------------------------------------------------------------------
    def _connection(self) -> duckdb.DuckDBPyConnection:
        if self._conn is None:
            raise RuntimeError("DuckDBBackend used before connect()")
        return self._conn

    def _file_holder(self, message: str) -> LockOwner | None:
        """Who keeps the file open, from DuckDB's lock message and lamina's own lock record."""
        match = _LOCK_HOLDER.search(message)
        lamina_run = self.other_holder()
        if match is None:
            return lamina_run
        pid = int(match["pid"])
        if lamina_run is not None and lamina_run.pid == pid:
            return lamina_run  # its record names the lamina command, not just the program
        return owner_of_process(pid, match["program"])

    def _unavailable(self, exc: duckdb.Error) -> BackendUnavailableError:
        return self._cannot_open(
            self.describe_error(exc), not_a_database="not a valid DuckDB database" in str(exc)
        )
