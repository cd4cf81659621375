"""Compare files with history: status, and the ordered work of ``up`` and ``rollback``.

Pure functions over a :class:`~lamina.migration_set.MigrationSet` and the history rows read once per
command; they raise domain errors but never touch a database or the filesystem.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from lamina.errors import OutOfOrderError, PlanError, TargetNotFoundError
from lamina.migration_set import MigrationSet
from lamina.models import (
    AppliedMigration,
    Direction,
    LockOwner,
    MigrationFile,
    MigrationState,
    MigrationStatus,
    StatusReport,
)

__all__ = ["Plan", "PlanStep", "compute_status", "in_progress", "plan_rollback", "plan_up"]


@dataclass(frozen=True, slots=True)
class PlanStep:
    """One migration to run. ``file`` is None for an applied migration whose file is gone."""

    migration_id: str
    version: int
    file: MigrationFile | None
    applied: AppliedMigration | None = None
    out_of_order: bool = False


@dataclass(frozen=True, slots=True)
class Plan:
    """The ordered work of one command."""

    direction: Direction
    steps: tuple[PlanStep, ...]
    target: int | None = None

    @property
    def empty(self) -> bool:
        return not self.steps


def compute_status(
    migrations: MigrationSet,
    applied: Sequence[AppliedMigration],
    lock_holder: LockOwner | None = None,
    worker: LockOwner | None = None,
) -> StatusReport:
    """Classify every migration as applied, pending, modified, missing, failed or running.

    A ``running`` history row is *in progress* (:attr:`MigrationState.RUNNING`) while
    ``lock_holder`` (who holds the migration lock now) can be the run that wrote it; with no
    live holder, or one that took the lock only after the row was written, the run that wrote
    it is gone and the row is failed (dirty). A backfill under way is running while
    ``worker`` (a background backfill worker) or the run holding the lock works on it, else
    paused. ``current_version`` and ``last_applied`` count only cleanly applied rows.
    """
    rows = {row.id: row for row in applied}
    clean = [row for row in applied if not row.dirty]
    newest = max((row.version for row in clean), default=0)
    statuses: list[MigrationStatus] = []
    for node_id in migrations.graph.order:
        file = migrations.files.get(node_id)
        row = rows.get(node_id)
        if file is None and row is not None:
            state = _dirty_state(row, lock_holder, worker) if row.dirty else MigrationState.MISSING
            statuses.append(_status(row, state, row.name, row.category))
        elif file is not None and row is None:
            statuses.append(
                MigrationStatus(
                    file.id,
                    file.version,
                    file.meta.name,
                    file.meta.category.value,
                    MigrationState.PENDING,
                    out_of_order=file.version < newest,
                    path=file.path,
                )
            )
        elif file is not None and row is not None:
            state = MigrationState.APPLIED
            if row.dirty:
                state = _dirty_state(row, lock_holder, worker)
            elif row.checksum != file.checksum:
                state = MigrationState.MODIFIED
            statuses.append(
                _status(row, state, file.meta.name, file.meta.category.value, file=file)
            )
    return StatusReport(
        migrations=tuple(statuses),
        current_version=newest,
        last_applied=clean[-1] if clean else None,
        lock_holder=lock_holder,
    )


#: The start time the runner writes into a ``running`` row's detail
#: ("up started 2026-11-25T13:45:01.123456Z by ana@ci-7").
_STARTED = re.compile(r"\bstarted (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)")
_ISO_SECONDS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d")


def in_progress(row: AppliedMigration, holder: LockOwner) -> bool:
    """Whether ``row`` (a dirty history row) belongs to the run holding the lock now."""
    return _dirty_state(row, holder) is MigrationState.RUNNING


def _dirty_state(
    row: AppliedMigration, holder: LockOwner | None, worker: LockOwner | None = None
) -> MigrationState:
    """RUNNING while a live lock holder can be the run that wrote this ``running`` row. A
    backfill runs on while a worker or any run holds the lock (``up`` resumes backfills
    under way, started by an earlier run), and is paused otherwise."""
    if row.backfill:
        running = worker is not None or holder is not None
        return MigrationState.RUNNING if running else MigrationState.PAUSED
    if row.state != "running" or holder is None:
        return MigrationState.FAILED
    found = _STARTED.search(row.detail or "")
    row_started = found.group(1) if found else row.applied_at[:19]
    held_since = holder.started_at[:19]
    comparable = bool(
        holder.pid and _ISO_SECONDS.match(row_started) and _ISO_SECONDS.match(held_since)
    )
    # Both times come from the clock of the host that ran lamina; a run writes its `running`
    # row after it took the lock, so a row older than the lock is a dead run's.
    if comparable and row_started < held_since:
        return MigrationState.FAILED
    return MigrationState.RUNNING


def _status(
    row: AppliedMigration,
    state: MigrationState,
    name: str,
    category: str,
    file: MigrationFile | None = None,
) -> MigrationStatus:
    return MigrationStatus(
        row.id,
        row.version,
        name,
        category,
        state,
        applied_at=row.applied_at,
        path=file.path if file else None,
        failed_statement=row.failed_statement if row.dirty else None,
        detail=row.detail if row.dirty else None,
    )


def plan_up(
    migrations: MigrationSet,
    applied: Sequence[AppliedMigration],
    *,
    to_version: int | None = None,
    strict_order: bool = False,
) -> Plan:
    """Pending migrations in order, those with a version at most ``to_version`` (as Flyway's
    target: it need not be the version of a migration; the caller warns when it is not).

    A backfill under way (its up part-way through its batches) is planned again, to resume,
    and is never out of order: migrations applied after it was queued or paused are not
    from a parallel branch.

    Raises:
        PlanError: a migration within the range depends on a pending one above it, or a
            batched down is part-way through its batches (``lamina rollback`` finishes it).
        OutOfOrderError: ``strict_order`` and a pending migration is older than the newest
            applied one (it came from a parallel branch).
    """
    _refuse_down_under_way(applied)
    resumed = {row.id for row in applied if row.backfill_direction is Direction.UP}
    done = {row.id for row in applied} - resumed
    newest = max(applied, key=lambda r: r.version, default=None)
    steps: list[PlanStep] = []
    planned: set[str] = set()
    for file in migrations.ordered():
        if file.id in done or (to_version is not None and file.version > to_version):
            continue
        missing = [
            p for p in migrations.graph.parents[file.id] if p not in done and p not in planned
        ]
        if missing:
            where = f"above --to {to_version}" if to_version is not None else "not planned"
            raise PlanError(
                f"{file.id} depends on {', '.join(missing)}, which is {where}",
                hint="raise --to to include the dependency"
                if to_version is not None
                else "run `lamina validate` to find the broken dependency",
            )
        late = newest is not None and file.version < newest.version and file.id not in resumed
        steps.append(PlanStep(file.id, file.version, file, out_of_order=late))
        planned.add(file.id)
    late_ids = [s.migration_id for s in steps if s.out_of_order]
    if strict_order and late_ids and newest is not None:
        raise OutOfOrderError(late_ids, newest.id)
    return Plan(Direction.UP, tuple(steps), to_version)


def _refuse_down_under_way(applied: Sequence[AppliedMigration]) -> None:
    """``up`` cannot apply a migration whose batched down stopped half-way: it is neither
    applied nor rolled back until that rollback finishes (or ``repair`` settles it)."""
    halfway = [row for row in applied if row.backfill_direction is Direction.DOWN]
    if not halfway:
        return
    row = halfway[0]
    below = [r.version for r in applied if r.version < row.version and not r.dirty]
    raise PlanError(
        f"{row.id} is being rolled back in batches and its rollback stopped part-way "
        f"({row.detail}); `lamina up` cannot run until it is finished",
        hint=f"run `lamina rollback {max(below, default=0)}` to finish it, or, once you "
        f"have settled its rows by hand, `lamina repair {row.id} --mark-applied` (or "
        "`--mark-rolled-back`)",
    )


def plan_rollback(
    migrations: MigrationSet,
    applied: Sequence[AppliedMigration],
    to_version: int | None,
    *,
    steps: int | None = None,
) -> Plan:
    """Applied migrations above ``to_version``, dependents before their dependencies.

    ``to_version`` None or ``0`` reverts every applied migration, version-0 ones included
    (``lamina rollback 0`` and ``--all``); ``steps`` instead reverts that many of the newest
    applied migrations, in the order lamina applied them (``verify`` and ``redo`` use one).
    A batched down that stopped part-way is always planned, whatever the target: the rollback
    resumes it (nothing can be applied after it meanwhile, ``up`` refuses to run).

    Raises:
        TargetNotFoundError: ``to_version`` is neither 0 nor a known version.
        PlanError: a migration that stays applied depends on one that would be reverted.
    """
    everything = not to_version and steps is None
    if to_version and not _known_version(migrations, applied, to_version):
        raise TargetNotFoundError(
            to_version,
            hint="use 0 (or --all) to revert everything, or a version from `lamina status`",
        )
    rows = {row.id: row for row in applied}
    if steps is not None:
        newest = [node_id for node_id in reversed(migrations.graph.order) if node_id in rows]
        reverted = set(newest[:steps])
    else:
        reverted = {row.id for row in applied if everything or row.version > (to_version or 0)}
    reverted |= {row.id for row in applied if row.backfill_direction is Direction.DOWN}
    for kept in rows.keys() - reverted:
        needs = [p for p in migrations.graph.parents.get(kept, ()) if p in reverted]
        if needs:
            raise PlanError(
                f"{kept} stays applied but depends on {', '.join(needs)}, "
                f"which rolling back to {to_version} would revert",
                hint=f"roll back to a version below {rows[kept].version}",
            )
    order = [node_id for node_id in reversed(migrations.graph.order) if node_id in reverted]
    planned = tuple(
        PlanStep(node_id, rows[node_id].version, migrations.files.get(node_id), rows[node_id])
        for node_id in order
    )
    return Plan(Direction.DOWN, planned, to_version)


def _known_version(
    migrations: MigrationSet, applied: Sequence[AppliedMigration], version: int
) -> bool:
    return migrations.by_version(version) is not None or any(
        row.version == version for row in applied
    )
