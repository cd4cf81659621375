"""The base class users derive from, and the adapter that runs ``.sql`` files through it.

A migration never talks to a database itself: ``execute_sql`` and ``fetch_all`` go to an
executor the runner injects. The same ``up()`` therefore runs for real, against a recorder for
``--dry-run`` and lint, or against a scratch database for verification: one code path.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from types import MappingProxyType
from typing import Any, ClassVar, Protocol

from lamina.models import Category, StatementRecord
from lamina.sqltext.sections import bind_range_marks

__all__ = [
    "BatchedMigration",
    "Migration",
    "SqlBatchedMigration",
    "SqlExecutor",
    "SqlMigration",
    "TransactionControlError",
]


class TransactionControlError(RuntimeError):
    """A migration running in a transaction tried to end it, open another, or switch
    autocommit (``COMMIT``, ``BEGIN``, ``SET autocommit``...). Raised before the statement
    reaches the database, so the migration fails and its transaction rolls back whole."""


class SqlExecutor(Protocol):
    """Where a migration's SQL goes. Implemented by the runner and by the dry-run recorder."""

    #: True for the recorder: statements are captured, nothing reaches a database.
    dry_run: bool
    #: The sqlglot dialect of the target: duckdb, sqlite, postgres or mysql.
    dialect: str

    def execute_sql(self, sql: str, *, first_line: int | None = None) -> None:
        """Run a script of one or more statements; ``first_line`` is its line in the file."""

    def fetch_all(
        self, sql: str, params: Sequence[object] = (), *, first_line: int | None = None
    ) -> list[tuple[Any, ...]]:
        """Run one query and return its rows."""


class Migration:
    """Base class for a Python migration.

    Derive exactly one class from it in a file named ``<version>_<slug>.py``::

        from lamina import Migration

        class AddPhoneNumber(Migration):
            name = "Add phone number"
            category = "schema"
            dependencies = ["20261101120000_create_users"]

            def up(self) -> None:
                self.execute_sql("ALTER TABLE users ADD COLUMN phone VARCHAR(20)")

            def down(self) -> None:
                self.execute_sql("ALTER TABLE users DROP COLUMN phone")

    A class that does not override :meth:`down` is irreversible. The loader sets ``id`` and
    ``version`` from the file name; declaring them with other values is an error.
    """

    id: str = ""
    version: int = 0
    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    category: ClassVar[str | Category] = Category.SCHEMA
    dependencies: ClassVar[Sequence[str | int]] = ()
    transactional: ClassVar[bool] = True
    #: Risk rules this migration allows, each with the reason (shown in every report), e.g.
    #: ``{"drop-column": "unused since 4.2"}``; see docs/risk-rules.md.
    risk_allow: Mapping[str, str] = MappingProxyType({})

    _executor: SqlExecutor | None = None
    #: Savepoints this migration created during the current run (see execute_sql).
    _savepoints: list[str] | None = None
    #: What the dry pass recorded, per (direction, dialect): the run reuses it (see recording).
    _recordings: dict[tuple[str, str], tuple[StatementRecord, ...]] | None = None

    def up(self) -> None:
        """Apply the change. Must be overridden."""
        raise NotImplementedError(f"{type(self).__name__} does not define up()")

    def down(self) -> None:
        """Revert :meth:`up`. Not overriding it makes the migration irreversible."""
        raise NotImplementedError(f"{type(self).__name__} does not define down()")

    @classmethod
    def is_reversible(cls) -> bool:
        """True when the class overrides :meth:`down`."""
        return cls.down is not Migration.down

    def declares_down(self) -> bool:
        """Whether a down exists at all (it may still run nothing: an "empty" down)."""
        return self.is_reversible()

    def execute_sql(self, sql: str, params: Sequence[object] = ()) -> None:
        """Run ``sql``: one statement or a script of several, split for the target's dialect.

        With ``params``, ``sql`` is one statement whose ``?`` marks are bound to them as the
        driver's own parameters (a :class:`BatchedMigration` binds its range this way).

        Raises:
            RuntimeError: when called outside a lamina run (no executor bound).
            TransactionControlError: the migration runs in a transaction and ``sql`` would
                end it, open another or switch autocommit; nothing of ``sql`` ran.
        """
        executor = self._require_executor()
        self._refuse_transaction_control(executor, sql)
        if params:
            _bound(executor)(sql, tuple(params), first_line=_caller_line())
        else:
            executor.execute_sql(sql, first_line=_caller_line())

    def fetch_all(self, sql: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        """Run one query with driver-style parameters and return all rows as tuples.

        During ``--dry-run`` nothing is read and this returns an empty list.
        """
        executor = self._require_executor()
        self._refuse_transaction_control(executor, sql)
        return executor.fetch_all(sql, params, first_line=_caller_line())

    @property
    def dry_run(self) -> bool:
        """True while lamina records this migration's SQL instead of running it.

        lamina records every step before running it (``--dry-run``, ``lint``, and the risk
        check before every real ``up``/``rollback``), so ``up()``/``down()`` may be called
        once on a recorder first. Guard any side effect other than SQL (calling a service,
        writing a file) with ``if not self.dry_run:``.
        """
        return bool(getattr(self._executor, "dry_run", False))

    @property
    def dialect(self) -> str:
        """The target's SQL dialect (``duckdb``, ``sqlite``, ``postgres``, ``mysql``), for the
        rare statement engines spell differently (``DROP INDEX i ON t`` on MySQL)."""
        return str(getattr(self._require_executor(), "dialect", ""))

    def bind(self, executor: SqlExecutor | None) -> None:
        """Attach the executor that receives this migration's SQL (the runner calls this)."""
        self._executor = executor
        self._savepoints = []

    def keep_recording(
        self, direction: str, dialect: str, statements: tuple[StatementRecord, ...]
    ) -> None:
        """Remember what ``direction`` recorded on ``dialect`` (lamina's executors call this),
        so a real run can consult it without calling Python code on the recorder again."""
        if self._recordings is None:
            self._recordings = {}
        self._recordings[(direction, dialect)] = statements

    def recording(self, direction: str, dialect: str) -> tuple[StatementRecord, ...] | None:
        """What :meth:`keep_recording` kept for ``direction`` on ``dialect``, or None."""
        return None if self._recordings is None else self._recordings.get((direction, dialect))

    @contextmanager
    def bound(self, executor: SqlExecutor) -> Iterator[None]:
        """Attach ``executor`` for the block, then give back whatever was attached before
        (recording a step's SQL during its live run must not unbind the live executor)."""
        saved = (self._executor, self._savepoints)
        self.bind(executor)
        try:
            yield
        finally:
            self._executor, self._savepoints = saved

    def _refuse_transaction_control(self, executor: SqlExecutor, sql: str) -> None:
        """On a live run inside a transaction, refuse SQL that controls the transaction.

        lamina already refuses such a migration before it runs, from the statements its
        recorded dry pass ran; this catches what the dry pass could not see (SQL behind
        ``if not self.dry_run:``, or built from rows). The recorder has no ``in_transaction``.
        """
        if executor.dry_run or not getattr(executor, "in_transaction", False):
            return
        from lamina.sqltext import controls_transaction, split_statements

        if self._savepoints is None:
            self._savepoints = []
        for statement in split_statements(sql, executor.dialect):
            what = controls_transaction(statement.sql, executor.dialect, self._savepoints)
            if what is not None:
                raise TransactionControlError(
                    f"`{' '.join(statement.sql.split())[:80]}` {what}; the migration runs in a "
                    "transaction, so lamina refused it before it ran (declare "
                    "`transactional = False`, or split the migration)"
                )

    def _require_executor(self) -> SqlExecutor:
        if self._executor is None:
            raise RuntimeError("execute_sql() can only run inside a lamina run")
        return self._executor


def _bound(executor: SqlExecutor) -> Any:
    """The executor's ``execute_bound`` (one statement with parameters)."""
    run = getattr(executor, "execute_bound", None)
    if run is None:
        raise RuntimeError("this executor cannot bind parameters")
    return run


def _caller_line() -> int | None:
    """Line of the user's call to execute_sql/fetch_all, so errors point into their file."""
    try:
        return sys._getframe(2).f_lineno
    except ValueError:  # pragma: no cover - shallow stack, only when called oddly
        return None


class SqlMigration(Migration):
    """A ``.sql`` migration: its sections become ``up()`` and ``down()``.

    ``up_line`` / ``down_line`` are the 1-based lines where each section's SQL starts, so a
    failing statement is reported at its real line in the file.
    """

    def __init__(
        self, up_sql: str, down_sql: str | None, *, up_line: int = 1, down_line: int = 1
    ) -> None:
        self._up_sql = up_sql
        self._down_sql = down_sql
        self._up_line = up_line
        self._down_line = down_line

    def up(self) -> None:
        self._require_executor().execute_sql(self._up_sql, first_line=self._up_line)

    def declares_down(self) -> bool:
        return self._down_sql is not None

    def down(self) -> None:
        # An empty section is a down that runs nothing (dbmate's no-op rollback).
        if self._down_sql is None:
            raise NotImplementedError("this migration has no `-- migrate:down` section")
        self._require_executor().execute_sql(self._down_sql, first_line=self._down_line)


class BatchedMigration(Migration):
    """A data migration lamina runs in batches: one short transaction per key range.

    lamina walks ``key`` of ``table`` (a primary key, or a unique indexed integer column)
    in ranges ``[lo, hi)`` of about ``batch_size`` rows and calls :meth:`batch` for each,
    recording its progress in the same transaction, so a killed run resumes at the next
    batch (see docs/backfills in README)::

        class BackfillEmailLower(BatchedMigration):
            table = "users"
            key = "id"
            batch_size = 5000

            def batch(self, lo: int, hi: int) -> None:
                self.execute_sql(
                    "UPDATE users SET email_lower = LOWER(email) WHERE id >= ? AND id < ?",
                    (lo, hi),
                )

    Its down is batched too when it defines :meth:`batch_down` (a rollback walks the key the
    same way), ordinary when it defines :meth:`down`; with neither it is irreversible.
    """

    category: ClassVar[str | Category] = Category.DATA
    table: ClassVar[str] = ""
    key: ClassVar[str] = "id"
    batch_size: ClassVar[int] = 1000
    #: Run the up after the rest of ``lamina up``, which then need not wait for it (only the
    #: up: a batched down always runs within its rollback).
    background: ClassVar[bool] = False
    #: Aim for batches of about this long: the size adapts between ``min_batch_size`` and
    #: ``max_batch_size`` (None keeps ``batch_size``).
    target_batch_ms: ClassVar[int | None] = None
    min_batch_size: ClassVar[int] = 1
    max_batch_size: ClassVar[int] = 1_000_000
    #: A pause between batches, so other writers get the table.
    pause_ms: ClassVar[int] = 0
    #: Before each batch, wait while replicas lag more than this many seconds (None: never
    #: look). PostgreSQL: read from ``pg_stat_replication.replay_lag`` on the primary; other
    #: engines expose no replica lag on the primary: give ``replica_lag_sql``.
    max_replica_lag_s: ClassVar[float | None] = None
    #: A query returning the replicas' lag in seconds (one number; e.g. a pt-heartbeat table's
    #: age), used instead of the engine's own reading.
    replica_lag_sql: ClassVar[str | None] = None
    #: How long to wait for lagging replicas before the backfill stops, paused.
    max_lag_wait_s: ClassVar[float] = 600.0

    def batch(self, lo: int, hi: int) -> None:
        """Process the rows whose key is in ``[lo, hi)``. Must be overridden."""
        raise NotImplementedError(f"{type(self).__name__} does not define batch()")

    def batch_down(self, lo: int, hi: int) -> None:
        """Undo :meth:`batch` for the rows whose key is in ``[lo, hi)``: defining it makes
        the rollback batched too. Define it or :meth:`down`, not both."""
        raise NotImplementedError(f"{type(self).__name__} does not define batch_down()")

    def has_batched_down(self) -> bool:
        """Whether a rollback runs :meth:`batch_down` once per key range."""
        return type(self).batch_down is not BatchedMigration.batch_down

    @classmethod
    def is_reversible(cls) -> bool:
        methods = ("down", "batch_down")
        return any(getattr(cls, m) is not getattr(BatchedMigration, m) for m in methods)

    def up(self) -> None:
        """On a recorder (dry run, risk check): one representative batch. A live run never
        calls it: the runner walks the key (:mod:`lamina.backfill`)."""
        self._one_batch(self.batch)

    def down(self) -> None:
        """With :meth:`batch_down`, as :meth:`up`: one representative batch on a recorder."""
        if not self.has_batched_down():
            raise NotImplementedError(f"{type(self).__name__} does not define down()")
        self._one_batch(self.batch_down)

    def _one_batch(self, run: Callable[[int, int], None]) -> None:
        if not self.dry_run:
            raise RuntimeError("a BatchedMigration runs through lamina's backfill runner")
        run(0, self.batch_size)


class SqlBatchedMigration(BatchedMigration):
    """A ``.sql`` migration with ``-- batch: TABLE KEY SIZE``: the up section's one statement
    runs once per range, ``:lo`` and ``:hi`` bound as parameters (never spliced into SQL).
    With ``down_in_batches`` (a down section of one statement using both marks, the loader
    decides), the down runs the same way; any other down runs as an ordinary down."""

    def __init__(
        self,
        up_sql: str,
        down_sql: str | None,
        *,
        table: str,
        key: str,
        batch_size: int,
        background: bool = False,
        down_in_batches: bool = False,
        up_line: int = 1,
        down_line: int = 1,
    ) -> None:
        self._sql = SqlMigration(up_sql, down_sql, up_line=up_line, down_line=down_line)
        self.table = table  # type: ignore[misc]
        self.key = key  # type: ignore[misc]
        self.batch_size = batch_size  # type: ignore[misc]
        self.background = background  # type: ignore[misc]
        self._up: _RangeStatement = (up_sql, up_line, *bind_range_marks(up_sql))
        self._down: _RangeStatement | None = None
        if down_in_batches and down_sql is not None:
            self._down = (down_sql, down_line, *bind_range_marks(down_sql))

    def batch(self, lo: int, hi: int) -> None:
        self._run_range(self._up, lo, hi)

    def batch_down(self, lo: int, hi: int) -> None:
        assert self._down is not None, "an ordinary down: the runner calls down()"
        self._run_range(self._down, lo, hi)

    def has_batched_down(self) -> bool:
        return self._down is not None

    def _run_range(self, section: _RangeStatement, lo: int, hi: int) -> None:
        """The section's statement for ``[lo, hi)``; on a recorder, its text as written."""
        text, line, statement, names = section
        executor = self._require_executor()
        if executor.dry_run:
            executor.execute_sql(text, first_line=line)
            return
        values = {"lo": lo, "hi": hi}
        _bound(executor)(statement, tuple(values[name] for name in names), first_line=line)

    def declares_down(self) -> bool:
        return self._sql.declares_down()

    @classmethod
    def is_reversible(cls) -> bool:
        return True  # decided per file: declares_down() and the file's metadata

    def down(self) -> None:
        if self._down is not None:
            super().down()
        else:
            with self._sql.bound(self._require_executor()):
                self._sql.down()


#: A section run once per range: its text, first line, statement with ``?`` marks, mark names.
_RangeStatement = tuple[str, int, str, tuple[str, ...]]
