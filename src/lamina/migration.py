"""The base class users derive from, and the adapter that runs ``.sql`` files through it.

A migration never talks to a database itself: ``execute_sql`` and ``fetch_all`` go to an
executor the runner injects. The same ``up()`` therefore runs for real, against a recorder for
``--dry-run`` and lint, or against a scratch database for verification: one code path.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from types import MappingProxyType
from typing import Any, ClassVar, Protocol

from lamina.models import Category, StatementRecord

__all__ = ["Migration", "SqlExecutor", "SqlMigration", "TransactionControlError"]


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

    def execute_sql(self, sql: str) -> None:
        """Run ``sql``: one statement or a script of several, split for the target's dialect.

        Raises:
            RuntimeError: when called outside a lamina run (no executor bound).
            TransactionControlError: the migration runs in a transaction and ``sql`` would
                end it, open another or switch autocommit; nothing of ``sql`` ran.
        """
        executor = self._require_executor()
        self._refuse_transaction_control(executor, sql)
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
