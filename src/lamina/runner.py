"""Run a plan: each migration in its own transaction together with its history row.

The runner never prints. It reports progress through an ``on_event`` callback and failures
as :class:`~lamina.errors.ExecutionError`, after rolling the failed migration back and writing
the failure to the audit log in a transaction of its own. The same :class:`Recorder` that
backs ``--dry-run`` captures statements for risk assessment, so every path sees the same SQL.
"""

from __future__ import annotations

import dataclasses
import sys
import time
import traceback
import weakref
from collections.abc import Callable, Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from lamina.backends.base import Backend, RefusedInTransaction
from lamina.backends.mysql_commits import runs_in_transaction
from lamina.errors import ExecutionError, HistoryError, LaminaError, TimeLimitError
from lamina.history import History
from lamina.migration import Migration, SqlMigration
from lamina.models import AppliedMigration, AuditAction, Direction, StatementRecord
from lamina.planning import Plan, PlanStep
from lamina.signals import (
    StopPoint,
    attach_stop,
    interrupting,
    reason,
    received,
    stop_point,
)
from lamina.sqltext import is_data_statement, split_statements
from lamina.watchdog import MigrationTimeout, Watchdog

__all__ = ["EventSink", "Recorder", "RunEvent", "Runner", "record_statements"]


@dataclass(frozen=True, slots=True)
class RunEvent:
    """Progress of a run: a step started, finished or failed."""

    kind: Literal["start", "done", "fail", "note"]
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
    #: For a ``note``: what happened before the step (a backup was taken, or failed).
    detail: str | None = None


EventSink = Callable[[RunEvent], None]


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


#: What each loaded migration recorded, so a real run can consult the SQL its risk check
#: recorded without calling a Python migration on the recorder a second time.
_RECORDED: weakref.WeakKeyDictionary[
    Migration, dict[tuple[Direction, str], tuple[StatementRecord, ...]]
] = weakref.WeakKeyDictionary()


def record_statements(
    migration: Migration, direction: Direction, dialect: str
) -> tuple[StatementRecord, ...]:
    """What ``migration.up()``/``down()`` would run, captured by a :class:`Recorder`."""
    recorder = Recorder(dialect)
    with migration.bound(recorder):
        (migration.up if direction is Direction.UP else migration.down)()
    statements = tuple(recorder.statements)
    _RECORDED.setdefault(migration, {})[(direction, dialect)] = statements
    return statements


def recorded_statements(
    migration: Migration, direction: Direction, dialect: str
) -> tuple[StatementRecord, ...]:
    """The statements ``migration`` recorded for ``direction`` (before a real run, the risk
    check records every step), recording them now only if that never happened."""
    known = _RECORDED.get(migration, {}).get((direction, dialect))
    return known if known is not None else record_statements(migration, direction, dialect)


class _LiveExecutor:
    """Runs statements one by one on the backend, remembering how far it got.

    ``reached`` is the 1-based number of the statement in flight (or last started); ``kept``
    turns true once a completed statement cannot be undone by rolling back: any statement of a
    migration running outside a transaction, or one that commits implicitly (MySQL DDL).
    """

    dry_run = False

    def __init__(self, backend: Backend, watchdog: Watchdog, *, in_transaction: bool) -> None:
        self.backend = backend
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
            self.watchdog.check()
            self.backend.execute(statement.sql)
            self._note_done(statement.sql)
        self.current = None

    def fetch_all(
        self, sql: str, params: Sequence[object] = (), *, first_line: int | None = None
    ) -> list[tuple[Any, ...]]:
        self.current = StatementRecord(sql, first_line, is_query=True)
        self.reached += 1
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


class Runner:
    """Applies or reverts the steps of a plan, stopping at the first failure.

    A step is *atomic* when it runs in a transaction on an engine whose DDL is transactional:
    its changes, history row and audit row commit together or not at all. Any other step is
    *tracked*: its history row is marked ``running`` (committed) before it starts, so that a
    crash, a kill or a failure half-way leaves a dirty row telling the truth, which blocks
    further runs until ``lamina repair`` resolves it.
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
        self.max_migration_time_ms = max_migration_time_ms
        #: A ``time.monotonic()`` instant the whole run must end by (startup's time limit).
        self.deadline: float | None = None
        self._risks: Mapping[str, str] = {}

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
            transactional = (
                meta.transactional if direction is Direction.UP else meta.transactional_down
            )
        announced, atomic, statements = self._atomicity(migration, direction, transactional)
        self._emit(
            "start", plan, step, migration, index, total, atomic=announced, statements=statements
        )
        executor = _LiveExecutor(self.backend, watchdog, in_transaction=transactional)
        migration.bind(executor)
        try:
            # One region for a signal: from the `running` row on, whatever it interrupts
            # (even the handling of another failure) is settled by _interrupted.
            self._execute(step, migration, direction, executor, watchdog, started, atomic)
        except KeyboardInterrupt as exc:
            try:
                point = self._interrupted(exc, step, direction, executor, started, atomic)
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
        executor: _LiveExecutor,
        watchdog: Watchdog,
        started: float,
        atomic: bool,
    ) -> None:
        """Run one step: its ``running`` row when tracked, its change and its history row;
        a failure is rolled back, recorded and raised as :class:`ExecutionError`."""
        transactional = executor.in_transaction
        if not atomic:
            self._mark_running(direction, step)
        watchdog.arm()
        # Around the transaction: what the engine needs done before BEGIN (SQLite turns
        # foreign keys off for a table rebuild) and undone after COMMIT or ROLLBACK.
        session = self.backend.migration_session(
            lambda: self._planned_sql(migration, direction), in_transaction=transactional
        )
        try:
            if transactional:
                with session, self.backend.transaction():
                    self._change(direction, migration)
                    watchdog.check()
                    self._record(direction, step, started, tracked=not atomic)
            else:
                with session:
                    self._change(direction, migration)
                watchdog.check()
                with self.backend.transaction():
                    self._record(direction, step, started, tracked=True)
        except LaminaError as exc:
            _raise_swallowed_interrupt(exc)
            if not isinstance(exc, HistoryError):
                raise  # a lock or connection problem: not this migration's fault
            # Recording failed inside the migration's transaction, so the migration went too.
            watchdog.disarm()  # no late interrupt may hit the failure's own record
            kept = self._fail(step, direction, executor, exc.message, started, atomic)
            raise ExecutionError(
                step.migration_id,
                None,
                exc.message,
                rolled_back=not kept,
                hint=_hint(step, kept, direction),
                direction=direction.value,
            ) from exc
        except (Exception, SystemExit) as exc:  # sys.exit() in a migration is its failure
            _raise_swallowed_interrupt(exc)
            if watchdog.fired or isinstance(exc, MigrationTimeout):
                error = f"stopped after exceeding MAX_MIGRATION_TIME ({watchdog.limit_ms} ms)"
            else:
                error = self._describe(exc)
            watchdog.disarm()  # no late interrupt may hit the failure's own record
            kept = self._fail(step, direction, executor, error, started, atomic)
            statement = executor.current
            sql = statement.sql if statement else None
            hint = _hint(step, kept, direction)
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
            ) from exc

    def _interrupted(
        self,
        exc: BaseException,
        step: PlanStep,
        direction: Direction,
        executor: _LiveExecutor,
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
        finished = self._finished(step, direction)
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
        self._fail(step, direction, executor, why, started, atomic, kept=kept, detail=detail)
        if not kept:
            return dataclasses.replace(point, outcome="rolled back")
        return dataclasses.replace(
            point, outcome="kept", statement=executor.reached or None, in_flight=in_flight
        )

    def _finished(self, step: PlanStep, direction: Direction) -> bool | None:
        """Whether history shows ``step`` complete (its row applied, or gone after a
        rollback); ``None`` when it cannot be read."""
        try:
            rows = {row.id: row for row in self.history.applied()}
        except Exception:  # a dead connection: the caller reports the outcome as unknown
            return None
        row = rows.get(step.migration_id)
        if direction is Direction.UP:
            return row is not None and row.state == "applied"
        return row is None

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

    def _atomicity(
        self, migration: Migration, direction: Direction, transactional: bool
    ) -> tuple[bool, bool, int | None]:
        """``(announced, tracked_atomic, statements)`` for a step about to run.

        ``announced`` is what the user is told: a step is *not atomic* only when it runs
        outside a transaction, or when one of its statements commits implicitly (MySQL DDL
        and the other statements of :mod:`lamina.backends.mysql_commits`). A MySQL step of
        row changes only, or of no statement at all, rolls back as a whole and is atomic.
        ``tracked_atomic`` decides whether the step skips its ``running`` row: only when its
        statements are known for sure beforehand (a ``.sql`` file); Python code may run other
        SQL for real than on the recorder, so it stays tracked, and the executor's record of
        what it actually ran decides what a failure kept. ``statements`` is the count for a
        step announced as not atomic, when known.
        """
        if transactional and self.backend.capabilities.transactional_ddl:
            return True, True, None
        known = _RECORDED.get(migration, {}).get((direction, self.backend.dialect))
        if known is None and isinstance(migration, SqlMigration):
            known = record_statements(migration, direction, self.backend.dialect)
        if transactional and known is not None and runs_in_transaction(s.sql for s in known):
            return True, isinstance(migration, SqlMigration), None
        return False, False, None if known is None else len(known)

    def _planned_sql(self, migration: Migration, direction: Direction) -> tuple[str, ...]:
        """The statements the step runs, as recorded before the run; none when Python code
        could not be recorded (its real run is then the only truth)."""
        try:
            records = recorded_statements(migration, direction, self.backend.dialect)
        except (Exception, SystemExit):
            return ()
        return tuple(record.sql for record in records if not record.is_query)

    def _change(self, direction: Direction, migration: Migration) -> None:
        # A stop signal reaches a statement the engine runs in one C call (lamina.signals).
        stop = interrupting(self.backend.interrupt) if self.backend.interrupt_on_stop else None
        with stop or nullcontext():
            if direction is Direction.UP:
                migration.up()
            else:
                migration.down()

    def _mark_running(self, direction: Direction, step: PlanStep) -> None:
        """Commit a ``running`` row before a tracked step, so a crash leaves it dirty."""
        detail = f"{direction.value} started {History.now()} by {self.user}@{self.host}"
        with self.backend.transaction():
            if direction is Direction.UP:
                self.history.record_apply(
                    self._applied_row(step, 0, state="running", detail=detail)
                )
            else:
                self.history.mark(step.migration_id, "running", detail=detail)

    def _applied_row(
        self, step: PlanStep, elapsed_ms: int, *, state: str = "applied", detail: str | None = None
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

    def _record(
        self, direction: Direction, step: PlanStep, started: float, *, tracked: bool
    ) -> None:
        elapsed = _ms_since(started)
        if direction is Direction.UP:
            row = self._applied_row(step, elapsed)
            if tracked:
                self.history.finish_apply(row)
            else:
                self.history.record_apply(row)
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

    def _fail(
        self,
        step: PlanStep,
        direction: Direction,
        executor: _LiveExecutor,
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
        the row's ``detail`` (see :meth:`_interrupted`).
        """
        if kept is None:
            kept = not atomic and executor.kept
        for attempt in range(2):  # a second chance: a cancel sent late may hit the first
            try:
                self._record_failure(
                    step, direction, executor, error, started, atomic, kept, detail
                )
                break
            except Exception:  # see the docstring
                if attempt:
                    break
        return kept

    def _record_failure(
        self,
        step: PlanStep,
        direction: Direction,
        executor: _LiveExecutor,
        error: str,
        started: float,
        atomic: bool,
        kept: bool,
        detail: str | None,
    ) -> None:
        """The failure's history and audit rows, in one transaction of their own."""
        with self.backend.transaction():
            if kept:
                self.history.mark(
                    step.migration_id,
                    "failed",
                    failed_statement=executor.reached or None,
                    detail=detail
                    or f"{direction.value} failed at statement {executor.reached}: {error}",
                )
            elif not atomic and direction is Direction.UP:
                self.history.record_rollback(step.migration_id)
            elif not atomic:
                self.history.mark(step.migration_id, "applied")
            self.history.audit(
                AuditAction.FAIL,
                migration_id=step.migration_id,
                version=step.version,
                duration_ms=_ms_since(started),
                detail=f"{direction.value}: {error}",
            )

    def _describe(self, exc: BaseException) -> str:
        if self.backend.is_driver_error(exc):
            return self.backend.describe_error(exc)
        if isinstance(exc, SystemExit):
            return f"the migration called sys.exit({exc.code!r})"
        if isinstance(exc, RefusedInTransaction):
            return exc.reason
        return f"{type(exc).__name__}: {exc}"

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
                None if started is None else _ms_since(started),
                step.out_of_order,
                atomic,
                statements,
                self._risks.get(step.migration_id),
            )
        )


def _raise_swallowed_interrupt(exc: BaseException) -> None:
    """Raise the stop signal's interrupt when a driver turned it into ``exc`` (DuckDB's
    "Query interrupted"), so the step is settled and reported as interrupted, not failed."""
    interrupt = received()
    if interrupt is not None:
        raise interrupt from exc


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


def _hint(step: PlanStep, kept: bool, direction: Direction = Direction.UP) -> str:
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
