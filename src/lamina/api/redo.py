"""``redo``: roll back the newest applied migration (or every one down to a given one) and
apply the same migrations again: the edit-and-retry loop (dbmate's ``rollback`` + ``up``,
alembic's ``downgrade -1 && upgrade head``).

Both halves are the ordinary runs, :func:`lamina.api.migrate.rollback` then
:func:`lamina.api.migrate.up`, with their risk checks, backups, lock and audit log. Around
them redo adds:

- it is a development command: in another environment it needs ``force``, and in production
  ``force`` needs ``yes`` as well;
- before anything changes it checks that the up will apply exactly what the rollback reverts
  (a pending migration of an older version would slip in) and that nothing else would stop
  the up half-way through the redo (another applied file that was modified);
- a redone migration whose file was edited since it was applied is what the loop is for: it
  is accepted, rolled back with the down as the file has it *now*, and named in the result
  (``modified``). A risky rollback (a down that loses data, counted on the live database)
  still needs ``force``, as any rollback does.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

from lamina.api import migrate
from lamina.api.results import RedoResult, RollbackResult, UpResult
from lamina.api.session import Session
from lamina.config import Settings
from lamina.discovery import ScanResult
from lamina.engines import risk_facts
from lamina.errors import (
    ChecksumMismatchError,
    LaminaError,
    PlanError,
    RiskRefusedError,
    TargetNotFoundError,
    ValidationError,
)
from lamina.migration_set import MigrationSet
from lamina.models import AppliedMigration
from lamina.planning import Plan, plan_up
from lamina.risk import LiveFacts
from lamina.runner import EventSink
from lamina.safety import ConfirmCallback

__all__ = ["DEVELOPMENT", "redo"]

#: The environment names redo runs in without ``force``.
DEVELOPMENT = frozenset({"development", "dev"})


@dataclass(frozen=True, slots=True)
class _Chosen:
    """What a redo reverts (newest first), the up plan that re-applies it, and its edits."""

    redone: tuple[str, ...]
    up_plan: Plan
    modified: tuple[str, ...]
    #: The version the database is at between the two halves (the rollback's target).
    between: int


def redo(
    session: Session,
    *,
    confirm: ConfirmCallback | None,
    on_event: EventSink | None,
    target: int | str | None,
    dry_run: bool,
    force: bool,
    yes: bool,
) -> RedoResult:
    """See :meth:`lamina.api.Lamina.redo`."""
    if not dry_run:
        check_environment(session.settings, force=force, yes=yes)
    chosen = _choose(session, target, force=force)
    steps = len(chosen.redone)
    if dry_run:
        rolled = migrate.rollback(
            session, confirm=confirm, on_event=None, to_version=None, steps=steps,
            dry_run=True, force=force, yes=yes, accept_modified=chosen.modified,
        )  # fmt: skip
        again = _up_preview(session, chosen.up_plan)
        return RedoResult(chosen.redone, _to(rolled, chosen), again, chosen.modified, True)
    rolled = _rollback(session, confirm, on_event, steps, chosen, force=force, yes=yes)
    if rolled.reverted != chosen.redone:
        raise PlanError(
            f"the database changed while redo ran: it rolled back {_names(rolled.reverted)} "
            f"instead of {_names(chosen.redone)}, and applied nothing again",
            hint="see `lamina status`, then `lamina up` to apply what is pending",
        )
    bound = max(step.version for step in chosen.up_plan.steps)
    try:
        again = migrate.up(
            session, confirm=confirm, on_event=on_event, to_version=bound, dry_run=False,
            force=force, yes=yes, deadline=None,
        )  # fmt: skip
    except LaminaError as exc:
        _after_rollback(exc, chosen.redone)
        raise
    return RedoResult(chosen.redone, _to(rolled, chosen), again, chosen.modified)


def _to(rolled: RollbackResult, chosen: _Chosen) -> RollbackResult:
    """The rollback, with the version it leaves the database at as its target (a rollback
    by steps has none of its own), so it reads as any rollback does."""
    plan = dataclasses.replace(rolled.plan, target=chosen.between)
    return dataclasses.replace(rolled, plan=plan)


def check_environment(settings: Settings, *, force: bool, yes: bool) -> None:
    """Redo is for development: elsewhere it needs ``force``, in production ``yes`` too.

    Raises:
        RiskRefusedError: exit 3, nothing changed.
    """
    env = settings.env
    if settings.is_production and not (force and yes):
        raise RiskRefusedError(
            f"redo refused, nothing was changed: the environment (--env, LAMINA_ENV) is "
            f"{env!r}, production, and redo is the development loop",
            [],
            hint="run `lamina redo --force --yes` if you mean to roll back and re-apply here",
        )
    if env.lower() not in DEVELOPMENT and not force:
        raise RiskRefusedError(
            f"redo refused, nothing was changed: the environment (--env, LAMINA_ENV) is "
            f"{env!r}, not development",
            [],
            hint="pass --force to redo here anyway, or run it on a development database",
        )


def _choose(session: Session, target: int | str | None, *, force: bool) -> _Chosen:
    """The migrations to redo and the plan applying them again; refuses, before anything
    changes, a redo whose up would not re-apply exactly them."""
    scanned = session.scan()
    with session.reader() as (backend, history):
        applied = history.applied() if history else []
        holder = backend.lock_holder() if any(row.dirty for row in applied) else None
    migrate.refuse_dirty(applied, holder)
    migrations = _migration_set(scanned, applied)
    rows = {row.id: row for row in applied}
    newest = [node for node in reversed(migrations.graph.order) if node in rows]
    if not newest:
        raise PlanError(
            "nothing to redo: no migration is applied",
            hint="apply migrations with `lamina up`; redo rolls back and re-applies applied ones",
        )
    last = 0 if target is None else newest.index(_applied_id(target, scanned, applied)) + 1
    redone = tuple(newest[: max(last, 1)])
    gone = [node for node in redone if node not in migrations.files]
    if gone:
        raise PlanError(
            f"cannot redo {_names(gone)}: the migration file is missing",
            hint="restore the file(s) from version control, then redo again",
        )
    remaining = [row for row in applied if row.id not in redone]
    others = [
        row.id
        for row in remaining
        if row.id in migrations.files and migrations.files[row.id].checksum != row.checksum
    ]
    if others and not force:
        raise ChecksumMismatchError(others)  # the up half of the redo would refuse them
    after = _migration_set(scanned, remaining)
    bound = max(rows[node].version for node in redone)
    plan = plan_up(after, remaining, to_version=bound, strict_order=session.settings.strict_order)
    extra = [s.migration_id for s in plan.steps if s.migration_id not in redone]
    if extra:
        raise PlanError(
            f"redo of {_names(redone)} refused, nothing was changed: applying them again "
            f"would also apply the pending {_names(extra)} (an older version)",
            hint="apply the pending migration(s) first (`lamina up`), then redo",
        )
    modified = tuple(n for n in redone if migrations.files[n].checksum != rows[n].checksum)
    between = max((row.version for row in remaining if not row.dirty), default=0)
    return _Chosen(redone, plan, modified, between)


def _applied_id(target: int | str, scanned: ScanResult, applied: Sequence[AppliedMigration]) -> str:
    """The applied migration ``target`` names (an id, or a version).

    Raises:
        UsageError (not a version or an id), TargetNotFoundError (no such version),
        PlanError (a known migration that is not applied).
    """
    if isinstance(target, str) and target.strip() in {row.id for row in applied}:
        return target.strip()
    version = migrate.version_of(target, scanned.files, applied)
    for row in applied:
        if row.version == version:
            return row.id
    known = [file.id for file in scanned.files if file.version == version]
    if not known:
        raise TargetNotFoundError(version, hint="`lamina status` lists the applied migrations")
    raise PlanError(
        f"{known[0]} is not applied: there is nothing to redo",
        hint="`lamina up` applies it; redo takes an applied migration",
    )


def _rollback(
    session: Session,
    confirm: ConfirmCallback | None,
    on_event: EventSink | None,
    steps: int,
    chosen: _Chosen,
    *,
    force: bool,
    yes: bool,
) -> RollbackResult:
    """The rollback half: ``rollback`` as the user would run it, except that the redone
    files' edits are accepted; a down that loses data still needs ``force``."""
    try:
        return migrate.rollback(
            session, confirm=confirm, on_event=on_event, to_version=None, steps=steps,
            dry_run=False, force=force, yes=yes, accept_modified=chosen.modified,
        )  # fmt: skip
    except RiskRefusedError as exc:
        if force:
            raise
        risky = "; ".join(f"{step} ({', '.join(reasons)})" for step, reasons in exc.steps)
        raise RiskRefusedError(
            f"redo refused, nothing was changed: rolling back is risky: {risky}",
            exc.steps,
            hint="review it with `lamina redo --dry-run`, then pass --force to redo anyway "
            "(the data the down removes is lost)",
        ) from None


def _up_preview(session: Session, plan: Plan) -> UpResult:
    """The up half of a dry run: each step's SQL and risk, as ``up --dry-run`` shows them
    (judged with the live database's facts of now, before the rollback)."""
    with session.reader() as (backend, _):
        facts = risk_facts(backend) if backend.exists() else LiveFacts()
    steps, _ = migrate.preview_plan(session, plan, facts)
    return UpResult(plan, (), True, steps)


def _after_rollback(exc: LaminaError, redone: Sequence[str]) -> None:
    """Say in the error that the rollback half did happen, and what is pending now."""
    done = set(getattr(exc, "applied", ()))  # an ExecutionError names what did complete
    pending = [node for node in reversed(redone) if node not in done]
    exc.message = (
        f"redo rolled back {_names(redone)}, then applying them again failed: {exc.message}"
    )
    exc.args = (exc.message,)
    now = f"pending now: {_names(pending)}; `lamina up` applies them once this is fixed"
    exc.hint = f"{exc.hint}; {now}" if exc.hint else now


def _migration_set(scanned: ScanResult, applied: Sequence[AppliedMigration]) -> MigrationSet:
    migrations = MigrationSet.build(scanned.files, applied, scanned.problems)
    if migrations.errors:
        raise ValidationError(migrations.errors)
    return migrations


def _names(ids: Sequence[str]) -> str:
    return ", ".join(ids)
