"""Running a :class:`~lamina.migration.BatchedMigration`: walk its key in ranges, one short
transaction per batch that also records the progress, so a killed run resumes at the next
batch and every row is processed exactly once. Its up always runs so; its down too when it
has a batched down (``batch_down()``, or a ``-- batch:`` file's down of one statement using
``:lo`` and ``:hi``).

The step's history row is ``running`` while batches run, its detail starting ``backfill up``
or ``backfill down`` (:attr:`lamina.models.AppliedMigration.backfill_direction`): not dirty,
but a backfill under way, which ``lamina up`` resumes, or for a down ``lamina rollback``
(``up`` refuses to run meanwhile, :func:`lamina.planning.plan_up`). The progress itself is in
``lamina_backfills`` (:mod:`lamina.history.backfills`), its ``direction`` the step's; the
row's detail mirrors it for ``status`` and health. A finished down records the rollback as
any step's (the history row removed, an audit row).

:meth:`Backfill.queue` only starts a backfill (a background one, which a worker runs later);
a worker runs each batch under ``batch_lock`` (the migration lock taken per batch), and every
batch re-reads the stored progress, so processes taking turns never run a range twice.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lamina.backfill.runs import Backfill, BatchLock
from lamina.backfill.walk import key_problem
from lamina.history import History
from lamina.migration import BatchedMigration, Migration
from lamina.models import Direction
from lamina.watchdog import Watchdog

if TYPE_CHECKING:
    from lamina.planning import Plan, PlanStep
    from lamina.runner import Runner

__all__ = [
    "Backfill",
    "BatchLock",
    "backfills_under_way",
    "is_batched",
    "key_problem",
    "run_backfill",
]


def is_batched(migration: Migration, direction: Direction) -> bool:
    """Whether the step runs as a backfill: the up of a batched migration, or its down when
    it has a batched down."""
    if not isinstance(migration, BatchedMigration):
        return False
    return direction is Direction.UP or migration.has_batched_down()


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


def backfills_under_way(history: History) -> list[str]:
    """The ids of the up backfills under way (queued or paused; not a batched down), oldest
    version first: what ``lamina up`` or a worker resumes."""
    rows = sorted(history.applied(), key=lambda row: row.version)
    return [row.id for row in rows if row.backfill_direction is Direction.UP]
