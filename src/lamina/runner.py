"""Run a plan: each migration in its own transaction together with its history row.

The runner never prints. It reports progress through an ``on_event`` callback and failures
as :class:`~lamina.errors.ExecutionError`, after rolling the failed migration back and writing
the failure to the audit log in a transaction of its own. The same :class:`Recorder` that
backs ``--dry-run`` captures statements for risk assessment, so every path sees the same SQL.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Literal

from lamina.backfill import run_backfill
from lamina.engines.base import Backend
from lamina.errors import ExecutionError, HistoryError, LaminaError, StatementError, TimeLimitError
from lamina.executors import LiveExecutor, Recorder, atomicity, planned_sql, record_statements
from lamina.history import History
from lamina.migration import Migration
from lamina.models import Direction
from lamina.planning import Plan, PlanStep
from lamina.settling import StepBook, hint_after, ms_since, raise_swallowed_interrupt
from lamina.signals import StopPoint, attach_stop, interrupting, stop_point
from lamina.watchdog import Watchdog

__all__ = ["EventSink", "Recorder", "RunEvent", "Runner", "record_statements"]


@dataclass(frozen=True, slots=True)
class RunEvent:
    """Progress of a run: a step started, finished or failed, or one of its statements
    started (``statement``: sent only to a sink whose ``wants_statements`` attribute is true,
    such as the CLI's progress printer, so other sinks never see that kind)."""

    kind: Literal["start", "done", "fail", "note", "statement", "progress"]
    direction: Direction
    migration_id: str
    name: str
    index: int  # 1-based
    total: int
    duration_ms: int | None = None
    out_of_order: bool = False
    #: False when the step cannot be rolled back as a whole if it fails half-way (it runs
    #: outside a transaction, or on an engine whose DDL commits implicitly).
    atomic: bool = True
    #: How many statements a non-atomic step will run (known before it starts).
    statements: int | None = None
    #: The step's overall risk level ("low", "info", "warning", "danger"), when assessed.
    risk: str | None = None
    #: For a ``note``: what happened before the step (a backup was taken, or failed). For a
    #: ``statement``: its SQL as sent, unformatted (a listener shortens it only to show it).
    #: For a ``progress`` (a backfill's batch done, sent only where statements are): its
    #: progress, as ``status`` shows it.
    detail: str | None = None


EventSink = Callable[[RunEvent], None]


class Runner:
    """Applies or reverts the steps of a plan, stopping at the first failure.

    A step is *atomic* when it runs in a transaction on an engine whose DDL is transactional:
    its changes, history row and audit row commit together or not at all. Any other step is
    *tracked*: its ``running`` row is committed before it starts, so a crash half-way leaves a
    dirty row blocking further runs until ``lamina repair``. A backfill: lamina.backfill.
    """

    def __init__(
        self,
        backend: Backend,
        history: History,
        *,
        user: str,
        host: str,
        on_event: EventSink | None = None,
        max_migration_time_ms: int | None = None,
    ) -> None:
        self.backend = backend
        self.history = history
        self.user = user
        self.host = host
        self.on_event = on_event or (lambda event: None)
        self._listener = on_event if getattr(on_event, "wants_statements", False) else None
        self.max_migration_time_ms = max_migration_time_ms
        #: A ``time.monotonic()`` instant the whole run must end by (startup's time limit).
        self.deadline: float | None = None
        self._risks: Mapping[str, str] = {}
        self.book = StepBook(backend, history, user=user, host=host)

    def run(
        self,
        plan: Plan,
        migrations: Mapping[str, Migration],
        *,
        risks: Mapping[str, str] | None = None,
        before_step: Callable[[PlanStep], None] | None = None,
    ) -> list[str]:
        """Run every step of ``plan``; returns the ids completed.

        ``risks`` (migration id -> risk level) is only passed on in the progress events.
        ``before_step`` runs before each step, outside any transaction (the backup before a
        risky step); an exception from it stops the run before that step.

        Raises:
            ExecutionError: a step failed; it was rolled back (when the engine allows) and
                nothing after it ran. ``.applied`` lists the ids that completed before it.
            LockLostError: a table-mode lock was taken over; stopped before the next step.
            KeyboardInterrupt: Ctrl-C or, under the CLI, SIGTERM (:mod:`lamina.signals`); the
                step was handled like a failure, and the exception re-raised with a
                :class:`~lamina.signals.StopPoint` saying where the run stopped.
        """
        done: list[str] = []
        total = len(plan.steps)
        self._risks = risks or {}
        watchdog = Watchdog(self.max_migration_time_ms, self.backend.interrupt)
        step: PlanStep | None = None
        try:
            for index, step in enumerate(plan.steps, start=1):
                self.backend.check_lock()
                watchdog.limit_ms = self._step_limit_ms(step)
                if before_step is not None:
                    before_step(step)
                migration = migrations[step.migration_id]
                started = time.perf_counter()
                try:
                    self._run_step(plan, step, migration, index, total, watchdog, started)
                except ExecutionError as exc:
                    self._emit("fail", plan, step, migration, index, total, started)
                    exc.applied = tuple(done)
                    raise
                done.append(step.migration_id)
                self._emit("done", plan, step, migration, index, total, started)
        except KeyboardInterrupt as exc:
            attach_stop(exc, _where_stopped(exc, plan, step, done))
            raise
        finally:
            watchdog.close()
        return done

    def _run_step(
        self,
        plan: Plan,
        step: PlanStep,
        migration: Migration,
        index: int,
        total: int,
        watchdog: Watchdog,
        started: float,
    ) -> None:
        direction = plan.direction
        # The file's declared metadata is authoritative for .sql and .py files alike; a .sql
        # file's up and down may differ (dbmate's `-- migrate:down transaction:false`).
        meta = step.file.meta if step.file else None
        if meta is None:
            transactional = migration.transactional
        else:
            transactional = meta.runs_in_transaction(direction)
        announced, atomic, statements = atomicity(self.backend, migration, direction, transactional)
        self._emit(
            "start", plan, step, migration, index, total, atomic=announced, statements=statements
        )
        if run_backfill(self, plan, step, migration, watchdog, started):  # lamina.backfill
            return
        executor = LiveExecutor(self.backend, watchdog, in_transaction=transactional)
        executor.on_statement = _statement_sink(self._listener, plan, step, migration, index, total)
        migration.bind(executor)
        try:
            # One region for a signal: from the `running` row on, whatever it interrupts
            # (even the handling of another failure) is settled by _interrupted.
            self._execute(step, migration, direction, executor, watchdog, started, atomic)
        except KeyboardInterrupt as exc:
            try:
                point = self.book.interrupted(exc, step, direction, executor, started, atomic)
            except KeyboardInterrupt as again:  # a second Ctrl-C, where no handler ignores it
                unsettled = StopPoint(direction.value, (), step.migration_id, "unknown")
                attach_stop(again, dataclasses.replace(unsettled, atomic=atomic))
                raise
            attach_stop(exc, point)
            raise
        finally:
            watchdog.disarm()
            migration.bind(None)

    def _execute(
        self,
        step: PlanStep,
        migration: Migration,
        direction: Direction,
        executor: LiveExecutor,
        watchdog: Watchdog,
        started: float,
        atomic: bool,
    ) -> None:
        """Run one step: its ``running`` row when tracked, its change and its history row;
        a failure is rolled back, recorded and raised as :class:`ExecutionError`."""
        transactional = executor.in_transaction
        if not atomic:
            self.book.mark_running(direction, step)
        watchdog.arm()
        # Around the transaction: what the engine needs done before BEGIN (SQLite turns
        # foreign keys off for a table rebuild) and undone after COMMIT or ROLLBACK.
        session = self.backend.migration_session(
            lambda: planned_sql(migration, direction, self.backend.dialect),
            in_transaction=transactional,
        )
        try:
            if transactional:
                with session, self.backend.transaction():
                    self._change(direction, migration)
                    watchdog.check()
                    self.book.record(direction, step, started, tracked=not atomic)
            else:
                with session:
                    self._change(direction, migration)
                watchdog.check()
                with self.backend.transaction():
                    self.book.record(direction, step, started, tracked=True)
        except StatementError as exc:  # the database refused the migration's own SQL
            self.book.failed(step, migration, direction, executor, watchdog, started, atomic, exc)
        except LaminaError as exc:
            raise_swallowed_interrupt(exc)
            if not isinstance(exc, HistoryError):
                raise  # a lock or connection problem: not this migration's fault
            # Recording failed inside the migration's transaction, so the migration went too.
            watchdog.disarm()  # no late interrupt may hit the failure's own record
            kept = self.book.fail(step, direction, executor, exc.message, started, atomic)
            raise ExecutionError(
                step.migration_id,
                None,
                exc.message,
                rolled_back=not kept,
                hint=hint_after(step, kept, direction),
                direction=direction.value,
            ) from exc
        except (Exception, SystemExit) as exc:  # sys.exit() in a migration is its failure
            self.book.failed(step, migration, direction, executor, watchdog, started, atomic, exc)

    def _step_limit_ms(self, step: PlanStep) -> int | None:
        """This step's time limit: MAX_MIGRATION_TIME, or less when the run's deadline is near.

        Raises:
            TimeLimitError: the deadline passed before the step could start.
        """
        limit = self.max_migration_time_ms
        if self.deadline is None:
            return limit
        remaining_ms = int((self.deadline - time.monotonic()) * 1000)
        if remaining_ms <= 0:
            raise TimeLimitError(
                f"the time limit ran out before {step.migration_id} could start; it and the "
                "steps after it did not run",
                hint="raise MAX_MIGRATION_TIME, or run `lamina up` outside application startup",
            )
        return remaining_ms if limit is None else min(limit, remaining_ms)

    def _change(self, direction: Direction, migration: Migration) -> None:
        # A stop signal reaches a statement the engine runs in one C call (lamina.signals).
        stop = interrupting(self.backend.interrupt) if self.backend.interrupt_on_stop else None
        with stop or nullcontext():
            if direction is Direction.UP:
                migration.up()
            else:
                migration.down()

    def note(self, plan: Plan, step: PlanStep, text: str) -> None:
        """Report something that happened around a step (a backup), as a ``note`` event."""
        index = plan.steps.index(step) + 1
        name = step.file.meta.name if step.file else step.migration_id
        self.on_event(
            RunEvent(
                "note",
                plan.direction,
                step.migration_id,
                name,
                index,
                len(plan.steps),
                detail=text,
            )
        )

    def _emit(
        self,
        kind: Literal["start", "done", "fail", "note"],
        plan: Plan,
        step: PlanStep,
        migration: Migration,
        index: int,
        total: int,
        started: float | None = None,
        *,
        atomic: bool = True,
        statements: int | None = None,
    ) -> None:
        self.on_event(
            RunEvent(
                kind,
                plan.direction,
                step.migration_id,
                step.file.meta.name if step.file else migration.name,
                index,
                total,
                None if started is None else ms_since(started),
                step.out_of_order,
                atomic,
                statements,
                self._risks.get(step.migration_id),
            )
        )


def _statement_sink(
    on_event: EventSink | None,
    plan: Plan,
    step: PlanStep,
    migration: Migration,
    index: int,
    total: int,
) -> Callable[[str], None] | None:
    """What the live executor calls as each statement starts: a ``statement`` event with the
    SQL as it is; None when no sink asked for them, so such a run pays nothing for it."""
    if on_event is None:
        return None
    direction, migration_id = plan.direction, step.migration_id
    name = step.file.meta.name if step.file else migration.name

    def started(sql: str) -> None:
        on_event(RunEvent("statement", direction, migration_id, name, index, total, detail=sql))

    return started


def _where_stopped(
    exc: BaseException, plan: Plan, step: PlanStep | None, done: Sequence[str]
) -> StopPoint:
    """The whole :class:`StopPoint` of an interrupted run: the step's own outcome (when the
    signal came inside it) plus the steps done before it."""
    point = stop_point(exc)
    if point is not None:
        completed = (point.migration_id,) if point.outcome == "completed" else ()
        return dataclasses.replace(point, done=(*done, *completed))
    # Between steps: before the step at hand started, or after it (its "done" printing).
    if step is not None and step.migration_id in done:
        ids = [s.migration_id for s in plan.steps]
        following = ids.index(step.migration_id) + 1
        step = plan.steps[following] if following < len(ids) else None
    migration_id = step.migration_id if step is not None else None
    return StopPoint(plan.direction.value, tuple(done), migration_id, "not started")
