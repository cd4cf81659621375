"""``up`` and ``rollback``: one plan-run path for both.

A run reads history (read-only for a dry run, under the migration lock otherwise), refuses a
dirty database, plans, records and assesses every step's SQL (:mod:`lamina.safety`), lets the
:class:`~lamina.safety.Safeguard` decide about risky steps, writes forced actions to the audit
log, then runs the plan (one backup first when it has risky steps) and records the schema it
left.
Only planning differs between the two directions.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from lamina.api.backfills import run_up
from lamina.api.backups import BackupBeforeRisk
from lamina.api.drift import drift_problems, record_schema, record_schema_quietly
from lamina.api.results import RollbackResult, UpResult
from lamina.api.session import Session
from lamina.caching import default_cache_dir
from lamina.config import Settings
from lamina.discovery import ScanResult
from lamina.engines import risk_facts
from lamina.engines.base import Backend
from lamina.errors import (
    ChecksumMismatchError,
    DirtyDatabaseError,
    ExecutionError,
    IrreversibleMigrationError,
    LaminaError,
    PlanError,
    RunInProgressError,
    UsageError,
    ValidationError,
)
from lamina.history import History
from lamina.losses import weigh_rollback
from lamina.migration import Migration
from lamina.migration_set import MigrationSet
from lamina.models import (
    AppliedMigration,
    AuditAction,
    LockOwner,
    MigrationFile,
    MigrationState,
    Problem,
    Severity,
)
from lamina.planning import Plan, compute_status, in_progress, plan_rollback, plan_up
from lamina.risk import LiveFacts
from lamina.runner import EventSink
from lamina.safety import ConfirmCallback, Safeguard, StepPreview, listing, preview_steps

if TYPE_CHECKING:
    from lamina.backup import BackupRecord

__all__ = ["preview_plan", "refuse_dirty", "rollback", "up", "version_of"]

Action = Literal["up", "rollback"]
#: Plans a run from the scanned files and the applied rows: the plan and its warnings.
Planner = Callable[[ScanResult, Sequence[AppliedMigration]], tuple[Plan, tuple[Problem, ...]]]


@dataclass(frozen=True, slots=True)
class _Outcome:
    plan: Plan
    warnings: tuple[Problem, ...]
    previews: tuple[StepPreview, ...]
    done: tuple[str, ...] = ()
    backups: tuple[BackupRecord, ...] = ()
    risky: tuple[StepPreview, ...] = ()
    queued: tuple[str, ...] = ()


def up(
    session: Session,
    *,
    confirm: ConfirmCallback | None,
    on_event: EventSink | None,
    to_version: int | str | None,
    dry_run: bool,
    force: bool,
    yes: bool,
    deadline: float | None,
    wait_backfills: bool = True,
) -> UpResult:
    """See :meth:`lamina.api.Lamina.up`."""

    def planner(
        scanned: ScanResult, applied: Sequence[AppliedMigration]
    ) -> tuple[Plan, tuple[Problem, ...]]:
        return _plan_up(session.settings, scanned, applied, to_version, force)

    run = _migrate(
        session, "up", planner, confirm, on_event, dry_run, force, yes, deadline, wait_backfills
    )
    return UpResult(
        run.plan, run.done, dry_run, run.previews, run.warnings, run.backups, run.queued
    )


def rollback(
    session: Session,
    *,
    confirm: ConfirmCallback | None,
    on_event: EventSink | None,
    to_version: int | str | None,
    steps: int | None,
    dry_run: bool,
    force: bool,
    yes: bool,
    accept_modified: Collection[str] = (),
) -> RollbackResult:
    """See :meth:`lamina.api.Lamina.rollback`. ``accept_modified``: migrations whose file may
    differ from what was applied without ``force`` (``redo``'s edited files); their down is
    run as the file is now."""

    def planner(
        scanned: ScanResult, applied: Sequence[AppliedMigration]
    ) -> tuple[Plan, tuple[Problem, ...]]:
        return _plan_rollback(scanned, applied, to_version, steps, force, accept_modified), ()

    run = _migrate(session, "rollback", planner, confirm, on_event, dry_run, force, yes, None)
    forced = tuple(p.step.migration_id for p in run.risky)
    return RollbackResult(run.plan, run.done, dry_run, run.previews, forced, run.backups)


def _migrate(
    session: Session,
    action: Action,
    planner: Planner,
    confirm: ConfirmCallback | None,
    on_event: EventSink | None,
    dry_run: bool,
    force: bool,
    yes: bool,
    deadline: float | None,
    wait_backfills: bool = True,
) -> _Outcome:
    """The plan-run path of ``up`` and ``rollback``; a dry run changes nothing. Without
    ``wait_backfills``, background backfills are queued (:mod:`lamina.api.backfills`)."""
    scanned = session.scan()
    if dry_run:
        with session.reader() as (backend, history):
            applied = history.applied() if history else []
            exists = backend.exists()
            facts = risk_facts(backend) if exists else LiveFacts()
            holder = backend.lock_holder() if any(r.dirty for r in applied) else None
            refuse_dirty(applied, holder)
            plan, warnings = planner(scanned, applied)
            previews, loaded = preview_plan(session, plan, facts)
            if action == "rollback" and exists:
                previews = weigh_rollback(previews, backend)
            if action == "up":  # each batched step's batches, read from the live tables
                from lamina.backfill_ranges import with_ranges

                under_way = {row.id for row in applied if row.backfill}
                live = backend if exists else None
                previews = with_ranges(previews, loaded, live, under_way)
        return _Outcome(plan, warnings, previews)
    guard = Safeguard(session.settings, confirm)
    guard.check_force(action, force=force, yes=yes)
    with session.writer(f"lamina {action}") as (backend, history):
        applied = history.applied()
        refuse_dirty(applied)
        plan, warnings = planner(scanned, applied)
        previews, loaded = preview_plan(session, plan, risk_facts(backend))
        if action == "rollback":  # a down's data loss is weighed on what the tables hold
            previews = weigh_rollback(previews, backend)
        risky = tuple(p for p in previews if p.risk.risky)
        guard.authorise(action, risky, force=force, yes=yes)
        notes = _forced_notes(action, session.settings, force, warnings, risky)
        _audit_forced(backend, history, notes)
        runner = session.runner(backend, history, on_event)
        runner.deadline = deadline
        backup = BackupBeforeRisk(
            session.settings,
            backend,
            history,
            [p.step.migration_id for p in risky],
            lambda step, text: runner.note(plan, step, text),
            previews=previews,
        )
        try:
            risks = _risk_labels(previews)
            if action == "up":  # background backfills last, or queued
                done, queued = run_up(
                    runner, plan, loaded, wait=wait_backfills, risks=risks, before_step=backup
                )
            else:
                done, queued = runner.run(plan, loaded, risks=risks, before_step=backup), ()
        except LaminaError as exc:
            exc.add_note(f"backups taken: {', '.join(b.id for b in backup.taken) or 'none'}")
            if isinstance(exc, ExecutionError) and exc.applied:
                record_schema_quietly(backend, history)  # what the steps that ran left
            raise
        if done:
            record_schema(backend, history)
    return _Outcome(plan, warnings, previews, tuple(done), tuple(backup.taken), risky, queued)


def _forced_notes(
    action: Action,
    settings: Settings,
    force: bool,
    warnings: Sequence[Problem],
    risky: Sequence[StepPreview],
) -> list[str]:
    """What the audit log records as forced or confirmed before the run."""
    if action == "rollback":
        return ["rollback of risky steps: " + listing(risky)] if risky else []
    notes = []
    modified = [str(w.path.name) for w in warnings if w.code == "modified" and w.path]
    if force and modified:
        notes.append("up despite modified migrations: " + ", ".join(modified))
    if risky and settings.is_production:
        notes.append("up of risky steps in production: " + listing(risky))
    return notes


def _audit_forced(backend: Backend, history: History, notes: Sequence[str]) -> None:
    """Write forced and confirmed actions to the audit log (with user and host)."""
    if not notes:
        return
    with backend.transaction():
        for note in notes:
            history.audit(AuditAction.FORCE, detail=note)


def preview_plan(
    session: Session, plan: Plan, facts: LiveFacts
) -> tuple[tuple[StepPreview, ...], dict[str, Migration]]:
    """Each step of ``plan`` loaded, recorded and assessed for ``session``'s target (up,
    rollback, and redo's dry run)."""
    return preview_steps(
        plan,
        dialect=session.dialect(),
        transactional_ddl=session.backend(read_only=True).capabilities.transactional_ddl,
        facts=facts,
        allow_unsafe=session.settings.allow_unsafe_migrations,
        cache_dir=default_cache_dir(),
    )


def _migration_set(scanned: ScanResult, applied: Sequence[AppliedMigration]) -> MigrationSet:
    migrations = MigrationSet.build(scanned.files, applied, scanned.problems)
    if migrations.errors:
        raise ValidationError(migrations.errors)
    return migrations


def _plan_up(
    settings: Settings,
    scanned: ScanResult,
    applied: Sequence[AppliedMigration],
    to_version: int | str | None,
    force: bool,
) -> tuple[Plan, tuple[Problem, ...]]:
    migrations = _migration_set(scanned, applied)
    target = None if to_version is None else version_of(to_version, scanned.files, applied)
    status = compute_status(migrations, applied)
    modified = status.in_state(MigrationState.MODIFIED)
    if modified and not force:
        raise ChecksumMismatchError([m.id for m in modified])
    warnings = drift_problems(status, modified=Severity.WARNING)
    plan = plan_up(migrations, applied, to_version=target, strict_order=settings.strict_order)
    known = {f.version for f in scanned.files} | {row.version for row in applied}
    if target is not None and target not in known:
        below = [v for v in known if v < target]
        upto = f"the newest at or below it is {max(below)}" if below else "none is below it"
        warnings.append(
            Problem(
                Severity.WARNING,
                f"no migration has version {target} (--to): applying every pending "
                f"migration up to it; {upto}",
                code="target-not-exact",
            )
        )
    return plan, tuple(warnings) + migrations.warnings


def _plan_rollback(
    scanned: ScanResult,
    applied: Sequence[AppliedMigration],
    to_version: int | str | None,
    steps: int | None,
    force: bool,
    accept_modified: Collection[str] = (),
) -> Plan:
    migrations = _migration_set(scanned, applied)
    target = None if to_version is None else version_of(to_version, scanned.files, applied)
    plan = plan_rollback(migrations, applied, target, steps=steps)
    gone = [s.migration_id for s in plan.steps if s.file is None]
    if gone:
        raise PlanError(
            f"cannot roll back {', '.join(gone)}: the migration file is missing",
            hint="restore the file(s) from version control, then roll back again",
        )
    changed = [
        s.migration_id
        for s in plan.steps
        if s.file
        and s.applied
        and s.file.checksum != s.applied.checksum
        and s.migration_id not in accept_modified
    ]
    if changed and not force:
        raise ChecksumMismatchError(changed)
    irreversible = [s.migration_id for s in plan.steps if s.file and not s.file.meta.reversible]
    if irreversible:
        raise IrreversibleMigrationError(irreversible)
    return plan


def refuse_dirty(applied: Sequence[AppliedMigration], holder: LockOwner | None = None) -> None:
    """Nothing runs on a database where a migration stopped half-way, until it is repaired.

    ``holder`` (dry runs, which read without the lock): a ``running`` row whose run still
    holds the lock is in progress, not dirty, and says so.
    """
    dirty = [row for row in applied if row.dirty]
    running = [row for row in dirty if holder is not None and in_progress(row, holder)]
    if running and holder is not None:
        raise RunInProgressError([row.id for row in running], holder.describe())
    dirty = [row for row in dirty if not row.backfill]  # `up` resumes a backfill under way
    if dirty:
        first = dirty[0]
        raise DirtyDatabaseError([row.id for row in dirty], first.detail or first.state)


def version_of(
    ref: int | str, files: Sequence[MigrationFile], applied: Sequence[AppliedMigration]
) -> int:
    """The version ``ref`` names: a number (``4``, ``004``) as it is, or a migration id
    (``004_name``, a file's or an applied row's) as that migration's version.

    Raises:
        UsageError: neither a number nor the id of a known migration (exit 2).
    """
    if isinstance(ref, int):
        return ref
    text = ref.strip()
    if text.isdigit():
        return int(text)
    versions = {f.id: f.version for f in files} | {row.id: row.version for row in applied}
    if text in versions:
        return versions[text]
    raise UsageError(
        "VERSION", "command line", f"{ref!r} is neither a version nor a migration id",
        hint="give a version (4 or 004) or an id (004_name); `lamina status` lists them",
    )  # fmt: skip


def _risk_labels(previews: Sequence[StepPreview]) -> dict[str, str]:
    """Each step's overall risk level, for progress lines ("low" when nothing was found)."""
    return {p.step.migration_id: p.risk.level.label if p.risk.level else "low" for p in previews}
