"""Run a plan: each migration in its own transaction together with its history row.

The runner never prints. It reports progress through an ``on_event`` callback and failures
as :class:`~lamina.errors.ExecutionError`, after rolling the failed migration back and writing
the failure to the audit log in a transaction of its own. The same :class:`Recorder` that
backs ``--dry-run`` captures statements for risk assessment, so every path sees the same SQL.
"""

from __future__ import annotations

import sys
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from lamina.backends.base import Backend
from lamina.errors import ExecutionError, HistoryError, LaminaError
from lamina.history import History
from lamina.migration import Migration, SqlMigration
from lamina.models import AppliedMigration, AuditAction, Direction, StatementRecord
from lamina.planning import Plan, PlanStep
from lamina.sqltext import split_statements

__all__ = ["EventSink", "Recorder", "RunEvent", "Runner", "record_statements"]


@dataclass(frozen=True, slots=True)
class RunEvent:
    """Progress of a run: a step started, finished or failed."""

    kind: Literal["start", "done", "fail"]
    direction: Direction
    migration_id: str
    name: str
    index: int  # 1-based
    total: int
    duration_ms: int | None = None
    out_of_order: bool = False


EventSink = Callable[[RunEvent], None]


class Recorder:
    """An executor that captures statements instead of running them (dry run, risk, lint).

    ``fetch_all`` returns no rows: nothing is read from the database during a dry run.
    """

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


def record_statements(
    migration: Migration, direction: Direction, dialect: str
) -> tuple[StatementRecord, ...]:
    """What ``migration.up()``/``down()`` would run, captured by a :class:`Recorder`."""
    recorder = Recorder(dialect)
    migration.bind(recorder)
    try:
        (migration.up if direction is Direction.UP else migration.down)()
    finally:
        migration.bind(None)
    return tuple(recorder.statements)


class _LiveExecutor:
    """Runs statements one by one on the backend, remembering the one in flight."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self.current: StatementRecord | None = None

    def execute_sql(self, sql: str, *, first_line: int | None = None) -> None:
        for statement in split_statements(sql, self.backend.dialect):
            self.current = StatementRecord(statement.sql, _line(first_line, statement))
            self.backend.execute(statement.sql)
        self.current = None

    def fetch_all(
        self, sql: str, params: Sequence[object] = (), *, first_line: int | None = None
    ) -> list[tuple[Any, ...]]:
        self.current = StatementRecord(sql, first_line, is_query=True)
        rows = self.backend.query(sql, params)
        self.current = None
        return rows


def _line(first_line: int | None, statement: Any) -> int | None:
    return None if first_line is None else first_line + statement.line - 1


class Runner:
    """Applies or reverts the steps of a plan, stopping at the first failure."""

    def __init__(
        self,
        backend: Backend,
        history: History,
        *,
        user: str,
        host: str,
        on_event: EventSink | None = None,
    ) -> None:
        self.backend = backend
        self.history = history
        self.user = user
        self.host = host
        self.on_event = on_event or (lambda event: None)

    def run(self, plan: Plan, migrations: Mapping[str, Migration]) -> list[str]:
        """Run every step of ``plan``; returns the ids completed.

        Raises:
            ExecutionError: a step failed; it was rolled back (when the engine allows) and
                nothing after it ran. ``.applied`` lists the ids that completed before it.
        """
        done: list[str] = []
        total = len(plan.steps)
        for index, step in enumerate(plan.steps, start=1):
            migration = migrations[step.migration_id]
            self._emit("start", plan, step, migration, index, total)
            started = time.perf_counter()
            try:
                self._run_step(plan.direction, step, migration, started)
            except ExecutionError as exc:
                self._emit("fail", plan, step, migration, index, total, started)
                exc.applied = tuple(done)
                raise
            done.append(step.migration_id)
            self._emit("done", plan, step, migration, index, total, started)
        return done

    def _run_step(
        self, direction: Direction, step: PlanStep, migration: Migration, started: float
    ) -> None:
        executor = _LiveExecutor(self.backend)
        migration.bind(executor)
        # The file's declared metadata is authoritative for .sql and .py files alike.
        transactional = step.file.meta.transactional if step.file else migration.transactional
        try:
            if transactional:
                with self.backend.transaction():
                    self._change(direction, migration)
                    self._record(direction, step, migration, started)
            else:
                self._change(direction, migration)
                with self.backend.transaction():
                    self._record(direction, step, migration, started)
        except KeyboardInterrupt:
            self._audit_failure(step, direction, "interrupted (Ctrl-C)", started)
            raise
        except LaminaError as exc:
            if not isinstance(exc, HistoryError):
                raise  # a lock or connection problem: not this migration's fault
            # Recording failed inside the migration's transaction, so the migration went too.
            self._audit_failure(step, direction, exc.message, started)
            raise ExecutionError(
                step.migration_id,
                None,
                exc.message,
                rolled_back=transactional,
                hint=_hint(transactional),
            ) from exc
        except Exception as exc:
            error = self._describe(exc, migration)
            self._audit_failure(step, direction, error, started)
            statement = executor.current
            raise ExecutionError(
                step.migration_id,
                statement.sql if statement else None,
                error,
                line=statement.line if statement else _user_line(exc, migration),
                rolled_back=transactional,
                hint=_hint(transactional),
            ) from exc
        finally:
            migration.bind(None)

    def _change(self, direction: Direction, migration: Migration) -> None:
        if direction is Direction.UP:
            migration.up()
        else:
            migration.down()

    def _record(
        self, direction: Direction, step: PlanStep, migration: Migration, started: float
    ) -> None:
        elapsed = _ms_since(started)
        if direction is Direction.UP:
            assert step.file is not None
            self.history.record_apply(
                AppliedMigration(
                    id=step.migration_id,
                    version=step.version,
                    name=step.file.meta.name,
                    category=step.file.meta.category.value,
                    checksum=step.file.checksum,
                    applied_at=History.now(),
                    execution_ms=elapsed,
                    applied_by=self.user,
                    host=self.host,
                )
            )
            action = AuditAction.APPLY
        else:
            self.history.record_rollback(step.migration_id)
            action = AuditAction.ROLLBACK
        detail = "out of order" if step.out_of_order else None
        self.history.audit(
            action,
            migration_id=step.migration_id,
            version=step.version,
            duration_ms=elapsed,
            detail=detail,
        )

    def _audit_failure(
        self, step: PlanStep, direction: Direction, error: str, started: float
    ) -> None:
        """Write the failure in a transaction of its own: the migration's was rolled back."""
        try:
            with self.backend.transaction():
                self.history.audit(
                    AuditAction.FAIL,
                    migration_id=step.migration_id,
                    version=step.version,
                    duration_ms=_ms_since(started),
                    detail=f"{direction.value}: {error}",
                )
        except Exception:  # the original failure is what the user must see
            pass

    def _describe(self, exc: Exception, migration: Migration) -> str:
        if self.backend.is_driver_error(exc):
            return self.backend.describe_error(exc)
        return f"{type(exc).__name__}: {exc}"

    def _emit(
        self,
        kind: Literal["start", "done", "fail"],
        plan: Plan,
        step: PlanStep,
        migration: Migration,
        index: int,
        total: int,
        started: float | None = None,
    ) -> None:
        self.on_event(
            RunEvent(
                kind,
                plan.direction,
                step.migration_id,
                step.file.meta.name if step.file else migration.name,
                index,
                total,
                None if started is None else _ms_since(started),
                step.out_of_order,
            )
        )


def _ms_since(started: float) -> int:
    return round((time.perf_counter() - started) * 1000)


def _user_line(exc: BaseException, migration: Migration) -> int | None:
    """Line in the migration's own file where a Python exception was raised."""
    module = sys.modules.get(type(migration).__module__)
    module_file = getattr(module, "__file__", None)
    if not module_file or isinstance(migration, SqlMigration):
        return None
    lines = [
        frame.lineno
        for frame in traceback.extract_tb(exc.__traceback__)
        if Path(frame.filename) == Path(module_file)
    ]
    return lines[-1] if lines else None


def _hint(transactional: bool) -> str:
    if transactional:
        return "fix the migration and run `lamina up` again; nothing of it was kept"
    return (
        "this migration ran outside a transaction, so statements before the failing one "
        "were kept: inspect the database, fix it by hand, then run `lamina up` again"
    )
