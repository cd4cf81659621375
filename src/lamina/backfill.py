"""Running a :class:`~lamina.migration.BatchedMigration`: walk its key in ranges, one short
transaction per batch that also records the progress, so a killed run resumes at the next
batch and every row is processed exactly once.

The step's history row is ``running`` with a detail starting ``backfill`` while batches run
(:attr:`lamina.models.AppliedMigration.backfill`): not dirty, but a backfill under way, which
``lamina up`` resumes. The progress itself is in ``lamina_backfills``
(:mod:`lamina.history.backfills`); the row's detail mirrors it for ``status`` and health.
"""

from __future__ import annotations

import re
import time
from typing import TYPE_CHECKING

from lamina.errors import ExecutionError, LaminaError, StatementError
from lamina.executors import LiveExecutor
from lamina.history import History
from lamina.history.backfills import BackfillProgress, BackfillStore
from lamina.migration import BatchedMigration, Migration
from lamina.models import Direction, RowState
from lamina.settling import ms_since, raise_swallowed_interrupt
from lamina.signals import StopPoint, attach_stop
from lamina.watchdog import MigrationTimeout, Watchdog

if TYPE_CHECKING:
    from lamina.planning import Plan, PlanStep
    from lamina.runner import Runner

__all__ = ["Backfill", "is_batched", "key_problem", "run_backfill"]

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?")
#: The replicas' lag as the primary shows it, in seconds: PostgreSQL's walsender view (the
#: slowest standby's replay lag; NULL, read as 0, when none is connected or it is idle).
_REPLICA_LAG_SQL = {
    "postgres": "SELECT MAX(EXTRACT(EPOCH FROM replay_lag)) FROM pg_stat_replication",
}
_INTEGER_TYPE = re.compile(r"int|serial|number\(\d+(,\s*0)?\)", re.IGNORECASE)


def is_batched(migration: Migration, direction: Direction) -> bool:
    """Whether the step runs as a backfill (the up of a batched migration)."""
    return direction is Direction.UP and isinstance(migration, BatchedMigration)


def run_backfill(
    runner: Runner,
    plan: Plan,
    step: PlanStep,
    migration: Migration,
    watchdog: Watchdog,
    started: float,
) -> bool:
    """Run ``step`` as a backfill when it is one (see :class:`Backfill`); False when not."""
    if not is_batched(migration, plan.direction):
        return False
    assert isinstance(migration, BatchedMigration)
    Backfill(runner, plan, step, migration, watchdog, started).run()
    return True


def key_problem(backend: object, table: str, key: str) -> str | None:
    """Why ``key`` cannot drive batches over ``table`` on the live database, or None.

    It must be the primary key or a unique, indexed column (a unique constraint is one),
    of an integer type.
    """
    from lamina.schema.capture import snapshot

    if not (_NAME.fullmatch(table) and _NAME.fullmatch(key)):
        return f"`{table}`.`{key}` is not a plain table and column name"
    found = [t for t in snapshot(backend).tables if t.name.lower() == table.lower()]  # type: ignore[arg-type]
    if not found:
        return f"table {table} does not exist"
    shape = found[0]
    column = next((c for c in shape.columns if c.name.lower() == key.lower()), None)
    if column is None:
        return f"table {table} has no column {key}"
    if not _INTEGER_TYPE.search(column.type):
        return f"{table}.{key} is {column.type}, not an integer type"
    one = (key.lower(),)
    keys = [tuple(c.lower() for c in shape.primary_key)]
    keys += [tuple(c.lower() for c in unique) for unique in shape.uniques]
    keys += [
        tuple(c.lower() for c in index.columns)
        for index in shape.indexes
        if index.unique and not index.where
    ]
    if one not in keys:
        return f"{table}.{key} is neither the primary key nor a unique indexed column"
    return None


class Backfill:
    """One backfill step of a run (see the module docstring)."""

    def __init__(
        self,
        runner: Runner,
        plan: Plan,
        step: PlanStep,
        migration: BatchedMigration,
        watchdog: Watchdog,
        started: float,
    ) -> None:
        self.runner, self.plan, self.step = runner, plan, step
        self.migration, self.watchdog, self.started = migration, watchdog, started
        self.backend = runner.backend
        self.history: History = runner.history
        self.store = BackfillStore(self.backend)
        self.size = max(1, int(migration.batch_size))

    def run(self) -> None:
        """Run the remaining batches, then record the step applied.

        Raises:
            ExecutionError: a batch failed (it was rolled back; earlier batches stay done and
                ``lamina up`` resumes after them), or the key cannot drive batches.
            KeyboardInterrupt: a stop signal; the batch in flight was rolled back.
        """
        executor = LiveExecutor(self.backend, self.watchdog, in_transaction=True)
        self.migration.bind(executor)
        try:
            progress = self._begin()
            while not progress.finished:
                progress = self._batch(progress, executor)
            with self.backend.transaction():
                self.runner.book.record(Direction.UP, self.step, self.started, tracked=True)
                self.store.delete(self.step.migration_id)
        except KeyboardInterrupt as exc:
            point = StopPoint("up", (), self.step.migration_id, "rolled back", atomic=False)
            attach_stop(exc, point)
            raise
        finally:
            self.watchdog.disarm()
            self.migration.bind(None)

    def _begin(self) -> BackfillProgress:
        """The progress to continue from: the stored one when resuming, else a new one,
        written with the ``running`` row in one transaction."""
        step, migration = self.step, self.migration
        self.store.ensure()
        row = next((r for r in self.history.applied() if r.id == step.migration_id), None)
        if row is not None and row.backfill:
            stored = self.store.read(step.migration_id)
            if stored is not None:
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
            "up",
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

    def _batch(self, progress: BackfillProgress, executor: LiveExecutor) -> BackfillProgress:
        """One range in one transaction, with its progress; returns the new progress."""
        assert progress.next_key is not None and progress.upper_key is not None
        self.backend.check_lock()
        self._wait_for_replicas(progress)
        lo, upper = progress.next_key, progress.upper_key
        hi, rows = self._range(lo, upper)
        began = time.perf_counter()
        self.watchdog.arm()  # the time limit applies to each batch, not the whole backfill
        try:
            with self.backend.transaction():
                self.migration.batch(lo, hi)
                self.watchdog.check()
                after = progress.advanced(hi, rows, ms_since(began), self.size, History.now())
                self.store.advance(after)
                detail = self._detail(after)
                self.history.mark(self.step.migration_id, RowState.RUNNING, detail=detail)
        except Exception as exc:
            raise_swallowed_interrupt(exc)  # DuckDB's "interrupted" is the stop signal's
            if isinstance(exc, LaminaError) and not isinstance(exc, StatementError):
                raise
            timed_out = self.watchdog.fired or isinstance(exc, MigrationTimeout)
            why = (
                f"stopped after exceeding MAX_MIGRATION_TIME ({self.watchdog.limit_ms} ms)"
                if timed_out
                else self.runner.book.describe(exc)
            )
            sql = executor.current.sql if executor.current else None
            raise self._error(
                sql,
                f"its batch [{lo}, {hi}) failed: {why} (only that batch; the "
                f"{progress.rows_done} rows of earlier batches stay done)",
                "the backfill is paused: fix the cause and run `lamina up` again to resume "
                "at this batch (`lamina status` shows its progress)",
            ) from exc
        finally:
            self.watchdog.disarm()
        self.size = self._adapt(ms_since(began))
        self._report(after)
        if self.migration.pause_ms > 0:
            time.sleep(self.migration.pause_ms / 1000)
        return after

    def _report(self, progress: BackfillProgress) -> None:
        """A ``progress`` event for a sink that takes statement events (the CLI's bar)."""
        from lamina.runner import RunEvent

        listener = getattr(self.runner, "_listener", None)
        if listener is None:
            return
        index = self.plan.steps.index(self.step) + 1
        name = self.step.file.meta.name if self.step.file else self.migration.name
        event = RunEvent(
            "progress",
            Direction.UP,
            self.step.migration_id,
            name,
            index,
            len(self.plan.steps),
            detail=self._detail(progress),
        )
        listener(event)

    def _wait_for_replicas(self, progress: BackfillProgress) -> None:
        """With ``max_replica_lag_s``: wait while the replicas lag more than it, at most
        ``max_lag_wait_s``, then stop (paused) rather than let them fall further behind."""
        ceiling = self.migration.max_replica_lag_s
        if ceiling is None:
            return
        sql = self.migration.replica_lag_sql or _REPLICA_LAG_SQL.get(self.backend.dialect)
        if sql is None:
            raise self._error(
                None,
                f"max_replica_lag_s is set, but {self.backend.title} exposes no replica lag on "
                "the primary",
                "set `replica_lag_sql` to a query returning the lag in seconds (a heartbeat "
                "table's age), or remove max_replica_lag_s",
            )
        since = time.monotonic()
        while True:
            rows = self.backend.query(sql)
            lag = float(rows[0][0]) if rows and rows[0][0] is not None else 0.0
            if lag <= ceiling:
                return
            if time.monotonic() - since >= self.migration.max_lag_wait_s:
                raise self._error(
                    sql,
                    f"replicas lag {lag:g} s, more than max_replica_lag_s ({ceiling:g} s), for "
                    f"over {self.migration.max_lag_wait_s:g} s (the {progress.rows_done} rows "
                    "of earlier batches stay done)",
                    "the backfill is paused: run `lamina up` again once the replicas caught up",
                )
            time.sleep(min(1.0, self.migration.max_lag_wait_s / 10))

    def _range(self, lo: int, upper: int) -> tuple[int, int]:
        """``(hi, rows)``: the range ``[lo, hi)`` holds ``rows`` rows, at most the batch size."""
        table, key = self.migration.table, self.migration.key
        found = self.backend.query(
            self.backend.sql(
                f"SELECT {key} FROM {table} WHERE {key} >= ? AND {key} <= ? "
                f"ORDER BY {key} LIMIT 1 OFFSET {int(self.size)}"
            ),
            (lo, upper),
        )
        if found:
            return int(found[0][0]), self.size
        counted = self.backend.query(
            self.backend.sql(f"SELECT COUNT(*) FROM {table} WHERE {key} >= ? AND {key} <= ?"),
            (lo, upper),
        )
        return upper + 1, int(counted[0][0])

    def _adapt(self, took_ms: int) -> int:
        """The next batch size: toward ``target_batch_ms``, at most doubling or halving."""
        target = self.migration.target_batch_ms
        if not target:
            return self.size
        ratio = min(2.0, max(0.5, target / max(took_ms, 1)))
        low, high = self.migration.min_batch_size, self.migration.max_batch_size
        return max(low, min(high, max(1, round(self.size * ratio))))

    def _detail(self, progress: BackfillProgress) -> str:
        runner = self.runner
        return (
            f"backfill up started {progress.started_at} by {runner.user}@{runner.host}; "
            f"{progress.summary()}"
        )

    def _error(self, sql: str | None, message: str, hint: str) -> ExecutionError:
        return ExecutionError(self.step.migration_id, sql, message, rolled_back=True, hint=hint)
