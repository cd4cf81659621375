"""The two executors a migration's ``execute_sql``/``fetch_all`` are bound to: the
:class:`Recorder`, which captures statements (dry run, risk, lint), and the
:class:`LiveExecutor`, which runs them on the backend and remembers how far it got."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from lamina.engines.base import Backend
from lamina.migration import Migration, SqlMigration
from lamina.models import Direction, StatementRecord
from lamina.sqltext import is_data_statement, split_statements
from lamina.watchdog import Watchdog

__all__ = [
    "LiveExecutor",
    "Recorder",
    "atomicity",
    "planned_sql",
    "record_statements",
    "recorded_before",
    "recorded_statements",
]


class Recorder:
    """An executor that captures statements instead of running them (dry run, risk, lint).

    ``fetch_all`` returns no rows: nothing is read from the database during a dry run.
    """

    dry_run = True

    def __init__(self, dialect: str) -> None:
        self.dialect = dialect
        self.statements: list[StatementRecord] = []

    def execute_sql(self, sql: str, *, first_line: int | None = None) -> None:
        for statement in split_statements(sql, self.dialect):
            self.statements.append(StatementRecord(statement.sql, _line(first_line, statement)))

    def fetch_all(
        self, sql: str, params: Sequence[object] = (), *, first_line: int | None = None
    ) -> list[tuple[Any, ...]]:
        self.statements.append(
            StatementRecord(sql, first_line, is_query=True, params=tuple(params))
        )
        return []

    def execute_bound(
        self, sql: str, params: Sequence[object], *, first_line: int | None = None
    ) -> None:
        """One statement with ``?`` marks bound to ``params``: recorded with them."""
        self.statements.append(StatementRecord(sql, first_line, params=tuple(params)))


def record_statements(
    migration: Migration, direction: Direction, dialect: str
) -> tuple[StatementRecord, ...]:
    """What ``migration.up()``/``down()`` would run, captured by a :class:`Recorder`."""
    recorder = Recorder(dialect)
    with migration.bound(recorder):
        (migration.up if direction is Direction.UP else migration.down)()
    statements = tuple(recorder.statements)
    migration.keep_recording(direction.value, dialect, statements)
    return statements


def recorded_before(
    migration: Migration, direction: Direction, dialect: str
) -> tuple[StatementRecord, ...] | None:
    """The statements ``migration`` recorded for ``direction`` so far, or None."""
    return migration.recording(direction.value, dialect)


def recorded_statements(
    migration: Migration, direction: Direction, dialect: str
) -> tuple[StatementRecord, ...]:
    """The statements ``migration`` recorded for ``direction`` (before a real run, the risk
    check records every step), recording them now only if that never happened."""
    known = recorded_before(migration, direction, dialect)
    return known if known is not None else record_statements(migration, direction, dialect)


class LiveExecutor:
    """Runs statements one by one on the backend, remembering how far it got.

    ``reached`` is the 1-based number of the statement in flight (or last started); ``kept``
    turns true once a completed statement cannot be undone by rolling back: any statement of a
    migration running outside a transaction, or one that commits implicitly (MySQL DDL).
    ``on_statement`` is told each statement's SQL as it starts (the CLI shows the running one).
    """

    dry_run = False

    def __init__(self, backend: Backend, watchdog: Watchdog, *, in_transaction: bool) -> None:
        self.backend = backend
        self.on_statement: Callable[[str], None] | None = None
        self.dialect = backend.dialect
        self.watchdog = watchdog
        self.current: StatementRecord | None = None
        self.reached = 0
        self.kept = False
        self.in_transaction = in_transaction
        self._rollback_undoes_data = in_transaction
        self._rollback_undoes_ddl = in_transaction and backend.capabilities.transactional_ddl

    def execute_sql(self, sql: str, *, first_line: int | None = None) -> None:
        for statement in split_statements(sql, self.backend.dialect):
            self.current = StatementRecord(statement.sql, _line(first_line, statement))
            self.reached += 1
            if self.on_statement is not None:
                self.on_statement(statement.sql)
            self.watchdog.check()
            self.backend.execute(statement.sql)
            self._note_done(statement.sql)
        self.current = None

    def execute_bound(
        self, sql: str, params: Sequence[object], *, first_line: int | None = None
    ) -> None:
        """Run one statement whose ``?`` marks are bound to ``params`` by the driver."""
        self.current = StatementRecord(sql, first_line)
        self.reached += 1
        if self.on_statement is not None:
            self.on_statement(sql)
        self.watchdog.check()
        self.backend.execute(self.backend.sql(sql), params)
        self._note_done(sql)
        self.current = None

    def fetch_all(
        self, sql: str, params: Sequence[object] = (), *, first_line: int | None = None
    ) -> list[tuple[Any, ...]]:
        self.current = StatementRecord(sql, first_line, is_query=True)
        self.reached += 1
        if self.on_statement is not None:
            self.on_statement(sql)
        self.watchdog.check()
        rows = self.backend.query(sql, params)
        self._note_done(sql)
        self.current = None
        return rows

    def _note_done(self, sql: str) -> None:
        if not self.kept:
            self.kept = self._keeps(sql)

    def _keeps(self, sql: str) -> bool:
        """Whether ``sql``, once run, survives a rollback of the migration."""
        if self._rollback_undoes_ddl:
            return False
        return not (self._rollback_undoes_data and is_data_statement(sql))

    def may_have_kept(self) -> bool:
        """After an interrupt: whether any work may have been kept. A statement still in flight
        counts: a signal can land after the server ran it and before :meth:`_note_done`."""
        current = self.current
        return self.kept or (current is not None and self._keeps(current.sql))


def _line(first_line: int | None, statement: Any) -> int | None:
    return None if first_line is None else first_line + statement.line - 1


def atomicity(
    backend: Backend, migration: Migration, direction: Direction, transactional: bool
) -> tuple[bool, bool, int | None]:
    """``(announced, tracked_atomic, statements)`` for a step about to run.

    ``announced`` is what the user is told: a step is *not atomic* only when it runs
    outside a transaction, or when one of its statements commits implicitly (MySQL DDL
    and the other statements of :mod:`lamina.sqltext.implicit_commits`). A MySQL step of
    row changes only, or of no statement at all, rolls back as a whole and is atomic.
    ``tracked_atomic`` decides whether the step skips its ``running`` row: only when its
    statements are known for sure beforehand (a ``.sql`` file); Python code may run other
    SQL for real than on the recorder, so it stays tracked, and the executor's record of
    what it actually ran decides what a failure kept. ``statements`` is the count for a
    step announced as not atomic, when known.
    """
    if transactional and backend.capabilities.transactional_ddl:
        return True, True, None
    known = recorded_before(migration, direction, backend.dialect)
    if known is None and isinstance(migration, SqlMigration):
        known = record_statements(migration, direction, backend.dialect)
    runs_in_transaction = backend.capabilities.runs_in_transaction
    if transactional and known is not None and runs_in_transaction(s.sql for s in known):
        return True, isinstance(migration, SqlMigration), None
    return False, False, None if known is None else len(known)


def planned_sql(migration: Migration, direction: Direction, dialect: str) -> tuple[str, ...]:
    """The statements the step runs, as recorded before the run; none when Python code
    could not be recorded (its real run is then the only truth)."""
    try:
        records = recorded_statements(migration, direction, dialect)
    except (Exception, SystemExit):
        return ()
    return tuple(record.sql for record in records if not record.is_query)
