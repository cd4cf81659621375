"""One backfill step, either way: the ``running`` row and progress row it starts with, one
transaction per batch that re-reads and advances the stored progress, and the history row
recorded at its end as any step's (see :mod:`lamina.backfill`)."""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from typing import TYPE_CHECKING

from lamina.backfill.walk import adapted_size, key_problem, next_range, wait_for_replicas
from lamina.errors import ExecutionError, LaminaError, StatementError
from lamina.executors import LiveExecutor
from lamina.history import History
from lamina.history.backfills import BackfillProgress, BackfillStore
from lamina.migration import BatchedMigration
from lamina.models import AppliedMigration, Direction, RowState
from lamina.settling import ms_since, raise_swallowed_interrupt
from lamina.signals import StopPoint, attach_stop
from lamina.watchdog import MigrationTimeout, Watchdog

if TYPE_CHECKING:
    from lamina.planning import Plan, PlanStep
    from lamina.runner import RunEvent, Runner

__all__ = ["Backfill", "BatchLock"]

#: The command that resumes a paused backfill, by its direction.
_RESUME = {Direction.UP: "lamina up", Direction.DOWN: "lamina rollback"}
#: Taken around each batch (a worker's migration lock, so other runs interleave).
BatchLock = Callable[[], AbstractContextManager[object]]


class Backfill:
    """One backfill step of ``plan`` (its direction: a batched up, or a batched down).

    ``batch_lock``: entered around the start and around each batch, instead of the
    lock held by the whole run (whose loss :meth:`Backend.check_lock` reports per batch).
    """

    def __init__(
        self,
        runner: Runner,
        plan: Plan,
        step: PlanStep,
        migration: BatchedMigration,
        watchdog: Watchdog,
        started: float,
        batch_lock: BatchLock | None = None,
    ) -> None:
        self.runner, self.plan, self.step = runner, plan, step
        self.migration, self.watchdog, self.started = migration, watchdog, started
        self.batch_lock = batch_lock
        self.direction = plan.direction
        self.backend = runner.backend
        self.history: History = runner.history
        self.store = BackfillStore(self.backend)
        self.size = max(1, int(migration.batch_size))
        #: The progress as this process last read or wrote it.
        self.progress: BackfillProgress | None = None
        #: The range of the batch in flight, for its failure's message.
        self._range: tuple[int, int] | None = None

    def queue(self) -> None:
        """Start the backfill without running a batch: the key check, the ``running`` row
        with its backfill detail and the progress row, as :meth:`run` starts; a worker runs
        the batches later. Nothing when the backfill is already under way."""
        with self._held():
            self._begin()

    def run(self) -> None:
        """Run the remaining batches, then record the step done (applied, or rolled back).

        Each batch continues from the progress stored when it starts, so processes taking
        turns under ``batch_lock`` never run a range twice; when another one finished the
        backfill, this one stops without error.

        Raises:
            ExecutionError: a batch failed (it was rolled back; earlier batches stay done and
                the same command resumes after them), or the key cannot drive batches.
            KeyboardInterrupt: a stop signal; the batch in flight was rolled back, and the
                backfill is paused (:meth:`_stopped`).
        """
        executor = LiveExecutor(self.backend, self.watchdog, in_transaction=True)
        self.migration.bind(executor)
        try:
            with self._held():
                self.progress = self._begin()
            while self.progress is not None and self._step(executor):
                pass
        except KeyboardInterrupt as exc:
            attach_stop(exc, self._stopped())
            raise
        finally:
            self.watchdog.disarm()
            self.migration.bind(None)

    def _held(self) -> AbstractContextManager[object]:
        return self.batch_lock() if self.batch_lock is not None else nullcontext()

    def _begin(self) -> BackfillProgress | None:
        """The progress to continue from: the stored one when this direction's backfill is
        under way, else a new one, written with the ``running`` row in one transaction;
        None when the step was settled since it was planned (:meth:`_settled`)."""
        step, migration = self.step, self.migration
        self.store.ensure()
        row = next((r for r in self.history.applied() if r.id == step.migration_id), None)
        if self._settled(row):
            return None
        if row is not None and row.backfill_direction is self.direction:
            stored = self.store.read(step.migration_id)
            if stored is not None and stored.direction == self.direction.value:
                self.size = stored.batch_size or self.size
                return stored
        problem = key_problem(self.backend, migration.table, migration.key)
        if problem is not None:
            raise self._error(
                None,
                f"cannot run as a batched migration: {problem}",
                f"declare `key` (or the `-- batch:` header's KEY) as the primary key or a "
                f"unique indexed integer column of {migration.table}",
            )
        lowest, highest, count = self.backend.query(
            f"SELECT MIN({migration.key}), MAX({migration.key}), COUNT(*) FROM {migration.table}"
        )[0]
        now = History.now()
        progress = BackfillProgress(
            step.migration_id,
            self.direction.value,
            None if lowest is None else int(lowest),
            None if highest is None else int(highest),
            int(count or 0),
            0,
            0,
            0,
            self.size,
            now,
            now,
        )
        with self.backend.transaction():
            detail = self._detail(progress)
            if row is None:
                running = self.runner.book.applied_row(
                    step, 0, state=RowState.RUNNING, detail=detail
                )
                self.history.record_apply(running)
            else:
                self.history.mark(step.migration_id, RowState.RUNNING, detail=detail)
            self.store.start(progress)
        return progress

    def _settled(self, row: AppliedMigration | None) -> bool:
        """Whether the step is done already: rolled back (a down), applied, or gone since
        it was planned under way (a worker's up: another process or a repair settled it)."""
        if self.direction is Direction.DOWN:
            return row is None
        return not row.dirty if row is not None else self.step.applied is not None

    def _step(self, executor: LiveExecutor) -> bool:
        """The next batch under the batch lock, in one transaction with its progress; or, when
        none is left, the step recorded done. False once nothing is left to do here."""
        rows_done = self.progress.rows_done if self.progress else 0
        wait_for_replicas(
            self.backend, self.migration, rows_done, _RESUME[self.direction], self._error
        )
        with self._held():
            if self.batch_lock is None:
                self.backend.check_lock()
            began = time.perf_counter()
            self._range = None
            self.watchdog.arm()  # the time limit applies to each batch, not the whole backfill
            try:
                with self.backend.transaction():
                    after = self._advance(began)
            except Exception as exc:
                raise self._failure(exc, executor) from exc
            finally:
                self.watchdog.disarm()
        if after is None:
            return False
        self.progress = after
        took = ms_since(began)
        self.size = adapted_size(self.migration, self.size, took)
        self._report(after)
        # Writers that poll for the lock (SQLite) need it free a moment to get their turn.
        pause = max(self.migration.pause_ms, self.backend.capabilities.handoff_ms(took))
        if pause > 0:
            time.sleep(pause / 1000)
        return True

    def _advance(self, began: float) -> BackfillProgress | None:
        """Inside the batch's transaction: the range after the stored progress, run and
        recorded; None when the stored progress is finished (the step is recorded done
        now), or gone or no longer this backfill's (another process recorded it, or a
        rollback or repair settled the migration meanwhile)."""
        stored = self.store.read(self.step.migration_id)
        if stored is None or stored.direction != self.direction.value:
            return None
        if self.store.under_way(self.step.migration_id) is not self.direction:
            return None  # its history row was settled otherwise: a rollback, a repair
        self.progress = stored
        if stored.finished:
            self.runner.book.record(self.direction, self.step, self.started, tracked=True)
            self.store.delete(self.step.migration_id)
            return None
        assert stored.next_key is not None and stored.upper_key is not None
        lo = stored.next_key
        hi, rows = next_range(self.backend, self.migration, lo, stored.upper_key, self.size)
        self._range = (lo, hi)
        if self.direction is Direction.UP:
            self.migration.batch(lo, hi)
        else:
            self.migration.batch_down(lo, hi)
        self.watchdog.check()
        after = stored.advanced(hi, rows, ms_since(began), self.size, History.now())
        self.store.advance(after)
        self.history.mark(self.step.migration_id, RowState.RUNNING, detail=self._detail(after))
        return after

    def _failure(self, exc: Exception, executor: LiveExecutor) -> ExecutionError:
        """The error that reports a failed batch, once its transaction was rolled back; a
        failure outside the migration's own SQL is raised as it is."""
        raise_swallowed_interrupt(exc)  # DuckDB's "interrupted" is the stop signal's
        if self._range is None or (
            isinstance(exc, LaminaError) and not isinstance(exc, StatementError)
        ):
            raise exc
        timed_out = self.watchdog.fired or isinstance(exc, MigrationTimeout)
        why = (
            f"stopped after exceeding MAX_MIGRATION_TIME ({self.watchdog.limit_ms} ms)"
            if timed_out
            else self.runner.book.describe(exc)
        )
        lo, hi = self._range
        done = self.progress.rows_done if self.progress else 0
        whose = "its" if self.direction is Direction.UP else "rolling back in batches, its"
        return self._error(
            executor.current.sql if executor.current else None,
            f"{whose} batch [{lo}, {hi}) failed: {why} (only that batch; the {done} rows of "
            "earlier batches stay done)",
            f"the backfill is paused: fix the cause and run `{_RESUME[self.direction]}` again "
            "to resume at this batch (`lamina status` shows its progress)",
        )

    def _stopped(self) -> StopPoint:
        """Where a stop signal left the backfill: ``completed`` when its end was recorded
        just before, ``rolled back`` when it had not started, else ``paused`` with the rows
        of the batches committed (read back: the signal may have come just after a commit)."""
        direction, migration_id = self.direction.value, self.step.migration_id
        if self.runner.book.finished(self.step, self.direction):
            return StopPoint(direction, (), migration_id, "completed", atomic=False)
        try:
            progress = self.store.read(migration_id) or self.progress
        except Exception:  # a dead connection: what this process saw last
            progress = self.progress
        if progress is None:
            return StopPoint(direction, (), migration_id, "rolled back", atomic=False)
        return StopPoint(
            direction, (), migration_id, "paused", atomic=False,
            rows_done=progress.rows_done, rows_total=progress.rows_total,
        )  # fmt: skip

    def _report(self, progress: BackfillProgress) -> None:
        """A ``progress`` event for a sink that takes statement events (the CLI's bar)."""
        listener = getattr(self.runner, "_listener", None)
        if listener is not None:
            listener(progress_event(self.plan, self.step, self.migration, self._detail(progress)))

    def _detail(self, progress: BackfillProgress) -> str:
        """The ``running`` row's detail: ``backfill up started ...`` or ``backfill down
        started ...`` (:attr:`lamina.models.AppliedMigration.backfill_direction`)."""
        runner = self.runner
        return (
            f"backfill {self.direction.value} started {progress.started_at} by "
            f"{runner.user}@{runner.host}; {progress.summary()}"
        )

    def _error(self, sql: str | None, message: str, hint: str) -> ExecutionError:
        # Worded as an up's error either way: "rolled back" is the failed batch's transaction
        # (a down's wording would say the migration is still applied: it is part-way).
        return ExecutionError(self.step.migration_id, sql, message, rolled_back=True, hint=hint)


def progress_event(
    plan: Plan, step: PlanStep, migration: BatchedMigration, detail: str
) -> RunEvent:
    """The ``progress`` event of a batch committed, ``detail`` as ``status`` shows it."""
    from lamina.runner import RunEvent

    name = step.file.meta.name if step.file else migration.name
    index, total = plan.steps.index(step) + 1, len(plan.steps)
    return RunEvent(
        "progress", plan.direction, step.migration_id, name, index, total, detail=detail
    )
