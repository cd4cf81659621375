"""Before anything changes: what each step would run, how risky it is, and who allowed it.

``preview_steps`` records the SQL of every planned step with the dry-run recorder and assesses
it with the rule catalogue (:mod:`lamina.risk`), so dry runs, real runs and ``lint`` judge the
same statements. :class:`Safeguard` turns a plan's danger-level steps into a decision: go, ask,
or refuse (exit 3, nothing changed), by the rules of the environment:

- ``rollback``: risky steps need ``--force``, and confirmation (a terminal prompt, ``--yes``, or
  ``MIGRATION_REQUIRE_CONFIRMATION=false``);
- ``up``: in development risky steps run and are shown; in production they need the same
  confirmation;
- production: ``--force`` also needs ``--yes``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from lamina.config import Settings
from lamina.engines import spec_for_dialect
from lamina.errors import MigrationLoadError, RiskRefusedError
from lamina.findings_cache import FindingsCache, watched
from lamina.loader import load_migration, transaction_control_error
from lamina.migration import BatchedMigration, Migration
from lamina.models import Direction, MigrationFile, StatementRecord
from lamina.planning import Plan, PlanStep
from lamina.risk import LiveFacts, ParseCache, RiskFinding, RiskLevel, RiskReport, analyze
from lamina.runner import record_statements
from lamina.sqltext import find_transaction_control

if TYPE_CHECKING:
    from lamina.backfill_ranges import BackfillRanges

__all__ = [
    "ConfirmCallback",
    "Safeguard",
    "StepPreview",
    "assess",
    "check_transaction_control",
    "listing",
    "preview_steps",
]

#: Asked before risky steps when confirmation is required; returns True to proceed.
ConfirmCallback = Callable[[str], bool]
Action = Literal["up", "rollback"]


@dataclass(frozen=True, slots=True)
class StepPreview:
    """A planned step with the SQL it runs and its risk (dry runs, real runs, lint)."""

    step: PlanStep
    name: str
    category: str
    statements: tuple[StatementRecord, ...]
    risk: RiskReport
    #: False when a failure half-way cannot be rolled back as a whole (MySQL DDL, or a
    #: migration declared non-transactional).
    atomic: bool = True
    #: A batched step's rows and first and last ranges, read from the live database by a
    #: dry run of ``up`` (:mod:`lamina.backfill_ranges`); None for any other step.
    ranges: BackfillRanges | None = None


def assess(
    migration: Migration,
    step_id: str,
    *,
    direction: Direction,
    dialect: str,
    category: str,
    reversible: bool,
    facts: LiveFacts,
    transactional: bool = True,
    parse_cache: ParseCache | None = None,
    findings_cache: FindingsCache | None = None,
) -> tuple[tuple[StatementRecord, ...], RiskReport]:
    """Record what ``migration`` runs in ``direction`` and assess it, with its allowances.

    ``reversible`` is the file's declared metadata: False when the down is missing or runs
    nothing, in which case the down is not run even on the recorder. For a down, the up's
    statements are recorded too: dropping what the up created is data loss once the
    application has filled it (rule ``down-loses-data``). ``findings_cache`` holds the
    reports of earlier runs: the same statements on the same schema are not parsed again.
    """
    runs_down = direction is Direction.DOWN
    statements: tuple[StatementRecord, ...] = ()
    failures: list[RiskFinding] = []
    if reversible or not runs_down:
        statements = _record(migration, direction, dialect, failures)
    up_statements = _record(migration, Direction.UP, dialect, []) if runs_down else ()
    down_defined = migration.declares_down()
    batched = isinstance(migration, BatchedMigration)
    key = None
    if findings_cache is not None and not failures:
        key = findings_cache.key(
            step_id, statements, up_statements,
            direction=direction.value, dialect=dialect, category=category,
            reversible=reversible, down_defined=down_defined, transactional=transactional,
            allowed=sorted(migration.risk_allow.items()), batched=batched,
        )  # fmt: skip
        cached = findings_cache.get(key, step_id, direction.value)
        if cached is not None:
            return statements, cached
        facts, looked_up = watched(facts)
    risk = analyze(
        step_id,
        statements,
        dialect=dialect,
        category=category,
        direction=direction.value,
        reversible=reversible,
        down_defined=down_defined,
        up_statements=up_statements,
        facts=facts,
        transactional=transactional,
        allowed=migration.risk_allow,
        parse_cache=parse_cache,
        batched=batched,
    )
    if key is not None and findings_cache is not None:
        findings_cache.put(key, risk, looked_up.looked_up)
    if failures:
        risk = replace(risk, findings=(*failures, *risk.findings))
    return statements, risk


def _record(
    migration: Migration, direction: Direction, dialect: str, failures: list[RiskFinding]
) -> tuple[StatementRecord, ...]:
    """The statements of one direction; Python code that fails on the recorder (it got no
    rows from fetch_all, say) is an unknown risk, not an error: its real run will tell."""
    try:
        return record_statements(migration, direction, dialect)
    except (Exception, SystemExit) as exc:  # a migration must not end lamina by sys.exit
        failures.append(
            RiskFinding(
                "unparsed-sql",
                RiskLevel.WARNING,
                f"{direction.value}() could not be recorded ({type(exc).__name__}: {exc}), "
                "so its risk is unknown",
                "review it by hand; guard code that needs real rows or other side effects "
                "with `if not self.dry_run:`",
            )
        )
        return ()


def preview_steps(
    plan: Plan,
    *,
    dialect: str,
    transactional_ddl: bool,
    facts: LiveFacts,
    allow_unsafe: bool = False,
    cache_dir: Path | None = None,
) -> tuple[tuple[StepPreview, ...], dict[str, Migration]]:
    """Load each step, record its SQL and assess its risk (``allow_unsafe``: as for
    :func:`~lamina.loader.load_migration`; ``cache_dir``: where findings of earlier runs
    are kept, see :mod:`lamina.findings_cache`).

    The loaded migrations are returned too, so a real run reuses them instead of importing
    each file a second time.
    """
    previews = []
    loaded: dict[str, Migration] = {}
    cache = ParseCache()  # a statement parsed for one step is not parsed again
    findings = FindingsCache.open(cache_dir, dialect, facts)
    for step in plan.steps:
        assert step.file is not None
        migration = loaded[step.migration_id] = load_migration(
            step.file, dialect=dialect, allow_unsafe=allow_unsafe
        )
        meta = step.file.meta
        transactional = meta.runs_in_transaction(plan.direction)
        statements, risk = assess(
            migration,
            step.migration_id,
            direction=plan.direction,
            dialect=dialect,
            category=meta.category.value,
            reversible=meta.reversible,
            facts=facts,
            transactional=transactional,
            parse_cache=cache,
            findings_cache=findings,
        )
        error = check_transaction_control(step.file, plan.direction, statements, dialect)
        if error is not None:
            raise error
        # Not atomic only when true: on MySQL a step of row changes alone (or of nothing)
        # rolls back as a whole; one statement that commits implicitly, or code that could
        # not be recorded, makes it not atomic.
        unknown = not statements and any(f.rule == "unparsed-sql" for f in risk.findings)
        runs_in_transaction = spec_for_dialect(dialect).capabilities.runs_in_transaction
        atomic = transactional and (
            transactional_ddl or (not unknown and runs_in_transaction(s.sql for s in statements))
        )
        previews.append(StepPreview(step, meta.name, meta.category.value, statements, risk, atomic))
    findings.save()
    return tuple(previews), loaded


def check_transaction_control(
    file: MigrationFile,
    direction: Direction,
    statements: Sequence[StatementRecord],
    dialect: str,
) -> MigrationLoadError | None:
    """The refusal of a step whose recorded statements control the transaction it runs in
    (COMMIT, BEGIN, ``SET autocommit``...), or None. Python migrations are judged here, on what
    their dry pass ran; ``.sql`` files are refused when loaded already."""
    if not file.meta.runs_in_transaction(direction):
        return None
    found = find_transaction_control(((s.sql, s.line) for s in statements), dialect)
    if found is None:
        return None
    return transaction_control_error(file, direction.value, found)


def listing(risky: Sequence[StepPreview]) -> str:
    """``003_drop (drop-table); 005_seed (data-migration)``: for messages and the audit log."""
    return "; ".join(f"{p.step.migration_id} ({', '.join(p.risk.danger_rules())})" for p in risky)


class Safeguard:
    """Decides whether risky steps may run, asking ``confirm`` when a person can answer."""

    def __init__(self, settings: Settings, confirm: ConfirmCallback | None) -> None:
        self.settings = settings
        self.confirm = confirm

    def check_force(self, action: Action, *, force: bool, yes: bool) -> None:
        """In production ``--force`` is a deliberate act: it needs ``--yes`` as well."""
        if force and not yes and self.settings.is_production:
            raise RiskRefusedError(
                f"{action} refused, nothing was changed: in production --force needs --yes",
                [],
                hint=f"run `lamina {action} ... --force --yes` if you mean it",
            )

    def authorise(
        self, action: Action, risky: Sequence[StepPreview], *, force: bool, yes: bool
    ) -> None:
        """Allow ``risky`` (danger-level) steps of ``action`` to run, or raise.

        Raises:
            RiskRefusedError: exit 3, nothing changed, with the steps and what would allow them.
        """
        if not risky:
            return
        steps = [(p.step.migration_id, p.risk.reasons()) for p in risky]
        names = listing(risky)
        if action == "rollback" and not force:
            raise RiskRefusedError(
                f"rollback refused, nothing was changed: risky step(s): {names}",
                steps,
                hint="review the steps with --dry-run, then pass --force to run them",
            )
        if action == "up" and not self.settings.is_production:
            return  # development: shown, and run
        if not self.settings.require_confirmation or yes:
            return
        where = " in production" if self.settings.is_production else ""
        if self.confirm is None:
            raise RiskRefusedError(
                f"{action} refused{where}, nothing was changed: risky step(s) need "
                f"confirmation: {names}",
                steps,
                hint="run it on a terminal to confirm, pass --yes, "
                "or set MIGRATION_REQUIRE_CONFIRMATION=false",
            )
        verb = "Apply" if action == "up" else "Roll back"
        if not self.confirm(f"{verb} {len(risky)} risky step(s){where} ({names})?"):
            raise RiskRefusedError(
                f"{action} cancelled, nothing was changed",
                steps,
                hint="run it again and answer y to proceed",
            )
