"""How a step's history rows are written, and how a failed or interrupted step is settled.

A tracked step commits a ``running`` row before it starts; a step that completes writes its
``applied`` row (or removes it, on rollback) and an audit row inside its transaction, in one
statement where the engine allows (:meth:`lamina.history.History.record_apply`). A step that
fails is rolled back, then its failure is recorded in a transaction of its own and raised as
:class:`~lamina.errors.ExecutionError`; one a stop signal interrupted is settled from what
history shows, since the signal may have landed just after the commit.
"""

from __future__ import annotations

import dataclasses
import sys
import time
import traceback
from contextlib import nullcontext
from pathlib import Path
from typing import NoReturn

from lamina.engines.base import Backend, RefusedInTransaction
from lamina.engines.server import ServerBackend
from lamina.errors import ExecutionError, StatementError
from lamina.executors import LiveExecutor
from lamina.history import History
from lamina.history.store import AuditEntry
from lamina.migration import Migration, SqlMigration
from lamina.models import AppliedMigration, AuditAction, Direction, RowState
from lamina.planning import PlanStep
from lamina.signals import StopPoint, reason, received
from lamina.watchdog import MigrationTimeout, Watchdog

__all__ = ["StepBook", "hint_after", "ms_since", "raise_swallowed_interrupt"]


class StepBook:
    """The history rows of the steps of one run, on ``backend`` (see the module docstring)."""

    def __init__(self, backend: Backend, history: History, *, user: str, host: str) -> None:
        self.backend = backend
        self.history = history
        self.user = user
        self.host = host

    def mark_running(self, direction: Direction, step: PlanStep) -> None:
        """Commit a ``running`` row before a tracked step, so a crash leaves it dirty.

        One statement, so on a server it runs in autocommit, committed by itself: one round
        trip, not BEGIN, the write and COMMIT (every DDL step on MySQL is tracked). The
        embedded engines keep the transaction, which costs them no round trip and lets SQLite
        report a busy file as a lock timeout (its ``BEGIN IMMEDIATE``).
        """
        detail = f"{direction.value} started {History.now()} by {self.user}@{self.host}"
        autocommit = isinstance(self.backend, ServerBackend)
        with nullcontext() if autocommit else self.backend.transaction():
            if direction is Direction.UP:
                self.history.record_apply(
                    self.applied_row(step, 0, state=RowState.RUNNING, detail=detail)
                )
            else:
                self.history.mark(step.migration_id, RowState.RUNNING, detail=detail)

    def applied_row(
        self,
        step: PlanStep,
        elapsed_ms: int,
        *,
        state: RowState = RowState.APPLIED,
        detail: str | None = None,
    ) -> AppliedMigration:
        assert step.file is not None
        return AppliedMigration(
            id=step.migration_id,
            version=step.version,
            name=step.file.meta.name,
            category=step.file.meta.category.value,
            checksum=step.file.checksum,
            applied_at=History.now(),
            execution_ms=elapsed_ms,
            applied_by=self.user,
            host=self.host,
            state=state,
            detail=detail,
        )

    def record(
        self, direction: Direction, step: PlanStep, started: float, *, tracked: bool
    ) -> None:
        """A completed step's history row and audit row, in the caller's transaction: in one
        statement where the engine has data-modifying CTEs (see ``History.record_apply``)."""
        elapsed = ms_since(started)
        audit = AuditEntry(
            AuditAction.APPLY if direction is Direction.UP else AuditAction.ROLLBACK,
            step.migration_id,
            step.version,
            elapsed,
            "out of order" if step.out_of_order else None,
        )
        if direction is Direction.DOWN:
            self.history.record_rollback(step.migration_id, audit=audit)
        elif tracked:
            self.history.finish_apply(self.applied_row(step, elapsed), audit=audit)
        else:
            self.history.record_apply(self.applied_row(step, elapsed), audit=audit)

    def fail(
        self,
        step: PlanStep,
        direction: Direction,
        executor: LiveExecutor,
        error: str,
        started: float,
        atomic: bool,
        *,
        kept: bool | None = None,
        detail: str | None = None,
    ) -> bool:
        """Record a failed step after its rollback; returns whether any of its work was kept.

        Written in a transaction of its own (the migration's was rolled back). A tracked step
        whose work was all undone gets its history row back as it was; one that kept work is
        marked ``failed`` with the statement it reached. Errors here are swallowed: the
        original failure is what the user must see. An interrupt passes its own ``kept`` and
        the row's ``detail`` (see :meth:`interrupted`).
        """
        if kept is None:
            kept = not atomic and executor.kept
        for attempt in range(2):  # a second chance: a cancel sent late may hit the first
            try:
                self.record_failure(step, direction, executor, error, started, atomic, kept, detail)
                break
            except Exception:  # see the docstring
                if attempt:
                    break
        return kept

    def record_failure(
        self,
        step: PlanStep,
        direction: Direction,
        executor: LiveExecutor,
        error: str,
        started: float,
        atomic: bool,
        kept: bool,
        detail: str | None,
    ) -> None:
        """The failure's history and audit rows, in one transaction of their own (in one
        statement where the engine allows, as :meth:`record`)."""
        audit = AuditEntry(
            AuditAction.FAIL,
            step.migration_id,
            step.version,
            ms_since(started),
            f"{direction.value}: {error}",
        )
        with self.backend.transaction():
            if kept:
                self.history.mark(
                    step.migration_id,
                    RowState.FAILED,
                    failed_statement=executor.reached or None,
                    detail=detail
                    or f"{direction.value} failed at statement {executor.reached}: {error}",
                    audit=audit,
                )
            elif not atomic and direction is Direction.UP:
                self.history.record_rollback(step.migration_id, audit=audit)
            elif not atomic:
                self.history.mark(step.migration_id, RowState.APPLIED, audit=audit)
            else:
                self.history.write_audit(audit)

    def finished(self, step: PlanStep, direction: Direction) -> bool | None:
        """Whether history shows ``step`` complete (its row applied, or gone after a
        rollback); ``None`` when it cannot be read."""
        try:
            rows = {row.id: row for row in self.history.applied()}
        except Exception:  # a dead connection: the caller reports the outcome as unknown
            return None
        row = rows.get(step.migration_id)
        if direction is Direction.UP:
            return row is not None and row.state is RowState.APPLIED
        return row is None

    def failed(
        self,
        step: PlanStep,
        migration: Migration,
        direction: Direction,
        executor: LiveExecutor,
        watchdog: Watchdog,
        started: float,
        atomic: bool,
        exc: BaseException,
    ) -> NoReturn:
        """The migration failed with ``exc``: roll back, record and raise ExecutionError."""
        raise_swallowed_interrupt(exc)
        if watchdog.fired or isinstance(exc, MigrationTimeout):
            error = f"stopped after exceeding MAX_MIGRATION_TIME ({watchdog.limit_ms} ms)"
        else:
            error = self.describe(exc)
        watchdog.disarm()  # no late interrupt may hit the failure's own record
        kept = self.fail(step, direction, executor, error, started, atomic)
        statement = executor.current
        sql = statement.sql if statement else None
        hint = hint_after(step, kept, direction)
        if isinstance(exc, RefusedInTransaction):
            sql, hint = exc.statement, exc.hint
        raise ExecutionError(
            step.migration_id,
            sql,
            error,
            line=statement.line if statement else _user_line(exc, migration),
            rolled_back=not kept,
            hint=hint,
            direction=direction.value,
        ) from (exc.original if isinstance(exc, StatementError) else exc)

    def interrupted(
        self,
        exc: BaseException,
        step: PlanStep,
        direction: Direction,
        executor: LiveExecutor,
        started: float,
        atomic: bool,
    ) -> StopPoint:
        """Settle a step a signal interrupted, and say how it ended (its transaction, if
        any, has already rolled back).

        History is read back first: a signal can land just after the step's commit, and
        writing ``fail`` for a step that completed would be a lie. A non-atomic step counts
        as having kept work when a statement that commits by itself was in flight, since it
        may have run on the server: marked ``failed``, it blocks the next run until a person
        checks. Nothing is written when history cannot be read.
        """
        point = StopPoint(direction.value, (), step.migration_id, "unknown", atomic=atomic)
        finished = self.finished(step, direction)
        if finished is None:
            return point
        if finished:
            return dataclasses.replace(point, outcome="completed")
        why = reason(exc)
        kept = not atomic and executor.may_have_kept()
        in_flight = executor.current is not None
        detail = None
        if kept:
            where = "during" if in_flight else "after"
            detail = f"{direction.value} {why} {where} statement {executor.reached}"
        self.fail(step, direction, executor, why, started, atomic, kept=kept, detail=detail)
        if not kept:
            return dataclasses.replace(point, outcome="rolled back")
        return dataclasses.replace(
            point, outcome="kept", statement=executor.reached or None, in_flight=in_flight
        )

    def describe(self, exc: BaseException) -> str:
        if isinstance(exc, StatementError):
            return exc.detail
        if isinstance(exc, SystemExit):
            return f"the migration called sys.exit({exc.code!r})"
        if isinstance(exc, RefusedInTransaction):
            return exc.reason
        return f"{type(exc).__name__}: {exc}"


def raise_swallowed_interrupt(exc: BaseException) -> None:
    """Raise the stop signal's interrupt when a driver turned it into ``exc`` (DuckDB's
    "Query interrupted"), so the step is settled and reported as interrupted, not failed."""
    interrupt = received()
    if interrupt is not None:
        raise interrupt from exc


def ms_since(started: float) -> int:
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


def hint_after(step: PlanStep, kept: bool, direction: Direction = Direction.UP) -> str:
    """What to do after ``step`` failed, by direction and by what of it was kept."""
    mid = step.migration_id
    if direction is Direction.DOWN:
        if not kept:
            return (
                f"its down was rolled back, so {mid} is still applied (and so is every migration "
                "this rollback had not reverted yet); fix the down (or what it trips on) and run "
                "the same `lamina rollback` again"
            )
        return (
            f"statements of its down before the failing one were kept (they ran outside a "
            f"transaction or committed implicitly), and {mid} is marked failed: finish the down "
            f"by hand and run `lamina repair {mid} --mark-rolled-back`, or undo what it did and "
            f"run `lamina repair {mid} --mark-applied`; then run `lamina rollback` again for "
            "the rest"
        )
    if not kept:
        return "fix the migration and run `lamina up` again; nothing of it was kept"
    return (
        "statements before the failing one were kept (they ran outside a transaction or "
        "committed implicitly), and the migration is marked failed: finish or undo it by hand, "
        f"then run `lamina repair {mid} --mark-applied` or `--mark-rolled-back`"
    )
