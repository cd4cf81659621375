"""Background backfills: batched migrations marked ``background`` run after the rest of
``up``, so the schema migrations that follow them are not held up.

``up`` runs its other steps first. Then, with ``wait_backfills``, it runs the background ones
itself, in order, under the lock it holds; without, it only *queues* each one (the key check,
its ``running`` row and its progress row, no batch) and returns: :func:`run_under_way`
(``lamina backfill``, the worker ``lamina up`` starts, or ``startup()``'s thread) runs them to
the end later. The worker takes the migration lock for each batch only, so deploys and other
runs interleave with it between batches; every batch re-reads the stored progress under that
lock, so two workers, or a worker and ``up --wait-backfills``, never run a range twice.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, ExitStack, contextmanager
from typing import TYPE_CHECKING

from lamina.api.results import BackfillRun
from lamina.backfill import Backfill
from lamina.engines.base import WORKER_LOCK, Backend
from lamina.errors import ChecksumMismatchError, ExecutionError, LockTimeoutError, PlanError
from lamina.history import History
from lamina.identity import lock_owner
from lamina.migration import BatchedMigration, Migration
from lamina.models import Direction, LockOwner
from lamina.planning import Plan, PlanStep
from lamina.watchdog import Watchdog

if TYPE_CHECKING:
    from lamina.api.session import Session
    from lamina.runner import EventSink, Runner

__all__ = ["is_background", "run_under_way", "run_up"]

#: The command a worker's lock shows to others (``lamina status``'s lock holder).
WORKER_COMMAND = "lamina backfill"
_UNKNOWN = LockOwner(host="unknown", pid=0, started_at="unknown", command=WORKER_COMMAND)
#: The pause before a worker waits for the lock again, after a wait that timed out.
_RETRY_S = 1.0
#: How long a worker leaves the lock free after each batch: more than the longest interval
#: at which a waiting run polls for it (server engines: 0.1 s; file engines: 0.05 s), so a
#: deploy's ``up`` waits at most about one batch, however short the batches are.
COURTESY_S = 0.12


def is_background(migration: Migration) -> bool:
    """Whether ``migration``'s up is a backfill that runs after the rest of ``up``."""
    return isinstance(migration, BatchedMigration) and bool(migration.background)


def run_up(
    runner: Runner,
    plan: Plan,
    loaded: Mapping[str, Migration],
    *,
    wait: bool,
    risks: Mapping[str, str],
    before_step: Callable[[PlanStep], None],
) -> tuple[list[str], tuple[str, ...]]:
    """Run ``plan`` with its background backfills last: ``(done, queued)``.

    With ``wait`` they run here, after the rest; without, they are queued for a worker,
    except on an engine one process opens at a time (DuckDB), where no worker could open it.

    Raises:
        ExecutionError: as :meth:`lamina.runner.Runner.run`; ``.applied`` lists every step
            done before it, background ones included.
    """
    later = tuple(s for s in plan.steps if is_background(loaded[s.migration_id]))
    now = dataclasses.replace(plan, steps=tuple(s for s in plan.steps if s not in later))
    done = runner.run(now, loaded, risks=risks, before_step=before_step) if now.steps else []
    if not later:
        return done, ()
    deferred = dataclasses.replace(plan, steps=later)
    if wait or runner.backend.capabilities.one_process:
        try:
            done += runner.run(deferred, loaded, risks=risks, before_step=before_step)
        except ExecutionError as exc:
            exc.applied = (*done, *exc.applied)
            raise
        return done, ()
    watchdog = Watchdog(None, runner.backend.interrupt)
    try:
        for step in later:
            migration = loaded[step.migration_id]
            assert isinstance(migration, BatchedMigration)
            Backfill(runner, deferred, step, migration, watchdog, time.perf_counter()).queue()
            runner.note(deferred, step, f"{step.migration_id} queued: it runs in the background")
    finally:
        watchdog.close()
    return done, tuple(s.migration_id for s in later)


def run_under_way(session: Session, on_event: EventSink | None = None) -> BackfillRun:
    """Run every up backfill under way (queued, or paused) to its end, oldest first. Each
    batch runs under the migration lock, taken and released per batch. One worker runs at a
    time: it holds the worker lock (``lock_purpose`` :data:`WORKER_LOCK`) meanwhile, which
    ``status`` reads to tell a running backfill from a paused one; a second worker leaves at
    once, naming the first (``BackfillRun.other_worker``).

    Raises:
        ChecksumMismatchError: a backfill's file changed since it was queued.
        PlanError: a backfill's file is missing.
        ExecutionError: a batch failed (the backfill stays paused, resumable).
        LockTimeoutError: another run held the lock longer than the lock timeout, at the start.
    """
    owner = lock_owner(WORKER_COMMAND)
    guard = session.backend(read_only=False)
    guard.lock_purpose = WORKER_LOCK
    try:
        with guard.lock(owner, 0):
            return BackfillRun(_run_all(session, owner, on_event))
    except LockTimeoutError as exc:
        return BackfillRun((), other_worker=exc.holder or _UNKNOWN)
    finally:
        guard.close()


def _run_all(session: Session, owner: LockOwner, on_event: EventSink | None) -> tuple[str, ...]:
    scanned = session.scan()
    files = {f.id: f for f in scanned.files}
    timeout = session.settings.lock_timeout_s
    backend = session.backend(read_only=False)
    watchdog = Watchdog(session.settings.max_migration_time_ms, backend.interrupt)
    finished: list[str] = []
    try:
        with backend.lock(owner, timeout):
            backend.connect(timeout)
            history = History(backend, user=session.user, host=session.host)
            history.ensure()
            plan = _plan(history, files)
        loaded = _load(session, plan)
        runner = session.runner(backend, history, on_event)
        for step in plan.steps:
            migration = loaded[step.migration_id]
            assert isinstance(migration, BatchedMigration)
            lock = _per_batch_lock(backend, owner, timeout)
            Backfill(
                runner, plan, step, migration, watchdog, time.perf_counter(), batch_lock=lock
            ).run()
            finished.append(step.migration_id)
    finally:
        watchdog.close()
        backend.close()
    return tuple(finished)


def _plan(history: History, files: Mapping[str, object]) -> Plan:
    """The up backfills under way, as a plan in version order."""
    from lamina.models import MigrationFile

    steps: list[PlanStep] = []
    for row in sorted(history.applied(), key=lambda r: r.version):
        if not row.backfill or row.backfill_direction != "up":
            continue
        file = files.get(row.id)
        if not isinstance(file, MigrationFile):
            raise PlanError(
                f"the backfill {row.id} is under way but its migration file is missing",
                hint="restore the file from version control, then run `lamina backfill` again",
            )
        if file.checksum != row.checksum:
            raise ChecksumMismatchError([row.id])
        steps.append(PlanStep(row.id, row.version, file, applied=row))
    return Plan(Direction.UP, tuple(steps))


def _load(session: Session, plan: Plan) -> dict[str, Migration]:
    from lamina.loader import load_migration

    settings = session.settings
    return {
        step.migration_id: load_migration(
            step.file,
            allow_unsafe=settings.allow_unsafe_migrations,
            dialect=session.dialect(),
        )
        for step in plan.steps
        if step.file is not None
    }


def _per_batch_lock(
    backend: Backend, owner: LockOwner, timeout: float
) -> Callable[[], AbstractContextManager[None]]:
    """The lock a worker takes for each batch, left free for :data:`COURTESY_S` after it.
    A deploy holding it longer than the lock timeout does not stop the worker: it waits
    again, since the deploy ends eventually."""

    @contextmanager
    def hold() -> Iterator[None]:
        with ExitStack() as held:
            while True:
                try:
                    held.enter_context(backend.lock(owner, timeout))
                    break
                except LockTimeoutError:
                    time.sleep(_RETRY_S)
            yield
        time.sleep(COURTESY_S)

    return hold
