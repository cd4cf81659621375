"""Compare files with history: status, and the ordered work of ``up`` and ``rollback``.

Pure functions over a :class:`~lamina.catalog.MigrationSet` and the history rows read once per
command; they raise domain errors but never touch a database or the filesystem.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from lamina.catalog import MigrationSet
from lamina.errors import OutOfOrderError, PlanError, TargetNotFoundError
from lamina.models import (
    AppliedMigration,
    Direction,
    LockOwner,
    MigrationFile,
    MigrationState,
    MigrationStatus,
    StatusReport,
)

__all__ = ["Plan", "PlanStep", "compute_status", "plan_rollback", "plan_up"]


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
) -> StatusReport:
    """Classify every migration as applied, pending, modified or missing."""
    rows = {row.id: row for row in applied}
    newest = max((row.version for row in applied), default=0)
    statuses: list[MigrationStatus] = []
    for node_id in migrations.graph.order:
        file = migrations.files.get(node_id)
        row = rows.get(node_id)
        if file is None and row is not None:
            state = MigrationState.FAILED if row.dirty else MigrationState.MISSING
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
                state = MigrationState.FAILED
            elif row.checksum != file.checksum:
                state = MigrationState.MODIFIED
            statuses.append(
                _status(row, state, file.meta.name, file.meta.category.value, file=file)
            )
    return StatusReport(
        migrations=tuple(statuses),
        current_version=newest,
        last_applied=next((row for row in reversed(applied) if not row.dirty), None),
        lock_holder=lock_holder,
    )


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
    """Pending migrations in order, up to and including ``to_version``.

    Raises:
        TargetNotFoundError: ``to_version`` is not the version of a known migration.
        PlanError: a migration within the range depends on a pending one above it.
        OutOfOrderError: ``strict_order`` and a pending migration is older than the newest
            applied one (it came from a parallel branch).
    """
    done = {row.id for row in applied}
    if to_version is not None and not _known_version(migrations, applied, to_version):
        raise TargetNotFoundError(to_version, hint="see `lamina status` for the versions")
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
        late = newest is not None and file.version < newest.version
        steps.append(PlanStep(file.id, file.version, file, out_of_order=late))
        planned.add(file.id)
    late_ids = [s.migration_id for s in steps if s.out_of_order]
    if strict_order and late_ids and newest is not None:
        raise OutOfOrderError(late_ids, newest.id)
    return Plan(Direction.UP, tuple(steps), to_version)


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
