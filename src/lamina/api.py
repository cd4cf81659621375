"""The public API: everything the CLI does, callable from an application.

:class:`Lamina` wires settings, backend, history, planning and the runner together. Its
methods return result records and raise :class:`~lamina.errors.LaminaError` subclasses; they
never print, prompt or exit. Progress goes to the ``on_event`` callback and confirmation of a
risky step to the ``confirm`` callback, so a CLI, a web app and a test can each supply their own.

Example::

    from lamina import Lamina, load_settings

    lamina = Lamina(load_settings({"database_url": "sqlite:///app.db"}))
    result = lamina.up()
    print(result.applied)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from lamina.backends import open_backend
from lamina.backends.base import Backend, BackendOptions
from lamina.catalog import MigrationSet
from lamina.config import Settings, load_settings
from lamina.discovery import ScanResult, scan
from lamina.errors import (
    ChecksumMismatchError,
    ConfigError,
    DirtyDatabaseError,
    IrreversibleMigrationError,
    MigrationLoadError,
    PlanError,
    RiskRefusedError,
    ValidationError,
)
from lamina.history import History
from lamina.identity import current_host, current_user, lock_owner
from lamina.loader import import_migration_class, load_migration
from lamina.migration import Migration
from lamina.models import (
    AppliedMigration,
    AuditAction,
    AuditEvent,
    Category,
    MigrationState,
    Problem,
    Severity,
    StatementRecord,
    StatusReport,
    errors_in,
    warnings_in,
)
from lamina.planning import Plan, PlanStep, compute_status, plan_rollback, plan_up
from lamina.risk import RiskReport, analyze
from lamina.runner import EventSink, Runner, record_statements
from lamina.templates import next_version, render_template, slugify

__all__ = [
    "ConfirmCallback",
    "CreateResult",
    "Lamina",
    "RepairMark",
    "RepairResult",
    "RollbackResult",
    "StepPreview",
    "UpResult",
    "ValidationResult",
]

#: Asked before a forced risky step when confirmation is required; returns True to proceed.
ConfirmCallback = Callable[[str], bool]

#: What ``repair`` records a dirty migration as, once the user fixed the database by hand.
RepairMark = Literal["applied", "rolled-back"]

#: How long read-only commands wait for a busy database file before reporting who holds it.
_READ_WAIT_S = 2.0


@dataclass(frozen=True, slots=True)
class StepPreview:
    """A planned step with the SQL it runs and its risk (dry runs and risk checks)."""

    step: PlanStep
    name: str
    category: str
    statements: tuple[StatementRecord, ...]
    risk: RiskReport
    #: False when a failure half-way cannot be rolled back as a whole (MySQL DDL, or a
    #: migration declared non-transactional).
    atomic: bool = True


@dataclass(frozen=True, slots=True)
class UpResult:
    """What ``up`` did, or would do with ``dry_run``."""

    plan: Plan
    applied: tuple[str, ...]
    dry_run: bool = False
    previews: tuple[StepPreview, ...] = ()
    warnings: tuple[Problem, ...] = ()

    @property
    def out_of_order(self) -> tuple[str, ...]:
        return tuple(s.migration_id for s in self.plan.steps if s.out_of_order)


@dataclass(frozen=True, slots=True)
class RollbackResult:
    """What ``rollback`` did, or would do with ``dry_run``."""

    plan: Plan
    reverted: tuple[str, ...]
    dry_run: bool = False
    previews: tuple[StepPreview, ...] = ()
    forced: tuple[str, ...] = ()

    @property
    def risky(self) -> tuple[StepPreview, ...]:
        return tuple(p for p in self.previews if p.risk.risky)


@dataclass(frozen=True, slots=True)
class ValidationResult:
    """Every problem found in the migration files and against history."""

    problems: tuple[Problem, ...]
    checked: int
    status: StatusReport | None = None

    @property
    def errors(self) -> tuple[Problem, ...]:
        return errors_in(self.problems)

    @property
    def warnings(self) -> tuple[Problem, ...]:
        return warnings_in(self.problems)

    def ok(self, *, strict: bool = False) -> bool:
        return not self.errors and not (strict and self.warnings)


@dataclass(frozen=True, slots=True)
class RepairResult:
    """What ``repair`` resolved: the dirty row as it was, and what it is now."""

    migration_id: str
    was: AppliedMigration
    mark: RepairMark


@dataclass(frozen=True, slots=True)
class CreateResult:
    path: Path
    migration_id: str


class Lamina:
    """lamina's operations on one database and one migrations folder.

    Args:
        settings: resolved settings; ``None`` loads them from the environment and config file.
        on_event: receives :class:`~lamina.runner.RunEvent` progress during ``up``/``rollback``.
        confirm: asked before forced risky steps when confirmation is required; ``None``
            means nobody can be asked, so such steps need ``yes=True``.
    """

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        on_event: EventSink | None = None,
        confirm: ConfirmCallback | None = None,
    ) -> None:
        self.settings = settings or load_settings()
        self.on_event = on_event
        self.confirm = confirm
        self.user = current_user()
        self.host = current_host()

    # -- reading ------------------------------------------------------------------------------
    def status(self) -> StatusReport:
        """Files against history: applied, pending, modified, missing. Runs no migration code.

        Raises:
            ConfigError: the migrations folder is unusable.
            LockTimeoutError: the database file is busy (names the holder).
            BackendError: the database cannot be read.
        """
        scanned = self._scan()
        migrations, report = self._survey(scanned, scanned.problems)
        return dataclasses.replace(
            report,
            problems=migrations.problems,
            database=self.settings.database_url.redacted(),
            environment=self.settings.env,
        )

    def validate(self) -> ValidationResult:
        """Check every file: names, headers, imports, dependencies, checksums against history.

        Imports each Python migration (never calling up/down) so import errors surface here.
        """
        scanned = self._scan()
        problems = list(scanned.problems)
        unreadable = {p.path for p in scanned.problems}
        for file in scanned.files:
            if file.kind == "py" and file.path not in unreadable:
                try:
                    import_migration_class(file.path, file.id)
                except MigrationLoadError as exc:
                    problems.append(Problem(Severity.ERROR, exc.problem, file.path, exc.line))
        migrations, status = self._survey(scanned, problems)
        found = [*migrations.problems, *_drift_problems(status, modified=Severity.ERROR)]
        return ValidationResult(tuple(found), len(scanned.files), status)

    def history(self, limit: int | None = None) -> list[AuditEvent]:
        """The audit log, newest first."""
        with self._reader() as (_, history):
            return history.events(limit) if history else []

    # -- changing -----------------------------------------------------------------------------
    def up(
        self, *, to_version: int | None = None, dry_run: bool = False, force: bool = False
    ) -> UpResult:
        """Apply pending migrations in order, each in its own transaction with its history row.

        Args:
            to_version: stop after this version (inclusive).
            dry_run: change nothing; return the plan with each step's SQL and risk.
            force: run even though applied migrations were modified.

        Raises:
            ValidationError, ChecksumMismatchError, OutOfOrderError, MigrationLoadError,
            ExecutionError (the failing migration was rolled back), LockTimeoutError.
        """
        scanned = self._scan()
        if dry_run:
            applied = self._applied_read_only()
            _refuse_dirty(applied)
            plan, warnings = self._plan_up(scanned, applied, to_version, force)
            previews, _ = self._previews(plan)
            return UpResult(plan, (), True, previews, warnings)
        with self._writer("lamina up") as (backend, history):
            applied = history.applied()
            _refuse_dirty(applied)
            plan, warnings = self._plan_up(scanned, applied, to_version, force)
            loaded = {step.migration_id: self._load_one(step) for step in plan.steps}
            if force and any(w.code == "modified" for w in warnings):
                with backend.transaction():
                    history.audit(
                        AuditAction.FORCE,
                        detail="up despite modified migrations: "
                        + ", ".join(str(w.path.name) for w in warnings if w.path),
                    )
            done = self._runner(backend, history).run(plan, loaded)
        return UpResult(plan, tuple(done), False, (), warnings)

    def rollback(
        self,
        to_version: int,
        *,
        dry_run: bool = False,
        force: bool = False,
        yes: bool = False,
    ) -> RollbackResult:
        """Revert every applied migration above ``to_version``, newest first (``0``: all).

        Risky steps (a data migration, a down that drops a table or column) are refused
        unless ``force``; when confirmation is required a forced risky rollback also needs
        ``yes`` or a ``confirm`` callback that answers yes. Irreversible migrations stop the
        rollback before anything changes, even with ``force``.

        Raises:
            TargetNotFoundError, IrreversibleMigrationError, RiskRefusedError (exit 3, nothing
            changed), ChecksumMismatchError, ExecutionError, LockTimeoutError.
        """
        scanned = self._scan()
        if dry_run:
            applied = self._applied_read_only()
            _refuse_dirty(applied)
            plan, (previews, _) = self._plan_rollback(scanned, applied, to_version, force)
            return RollbackResult(plan, (), True, previews)
        with self._writer("lamina rollback") as (backend, history):
            applied = history.applied()
            _refuse_dirty(applied)
            plan, (previews, loaded) = self._plan_rollback(scanned, applied, to_version, force)
            risky = [p for p in previews if p.risk.risky]
            if risky:
                self._authorise(risky, force=force, yes=yes)
                with backend.transaction():
                    history.audit(
                        AuditAction.FORCE,
                        detail="rollback of risky steps: "
                        + "; ".join(f"{p.step.migration_id} ({_reasons(p)})" for p in risky),
                    )
            done = self._runner(backend, history).run(plan, loaded)
        forced = tuple(p.step.migration_id for p in risky)
        return RollbackResult(plan, tuple(done), False, previews, forced)

    def repair(self, migration_id: str, mark: RepairMark) -> RepairResult:
        """Resolve a dirty (failed or interrupted) migration after the user fixed the database.

        ``mark="applied"``: the user finished the migration by hand; its row becomes applied.
        ``mark="rolled-back"``: the user undid what it did; its row is removed, so it is
        pending again. Either way the audit log records the repair, with who did it.

        Raises:
            PlanError: no such migration in history, or it is not dirty.
            LockTimeoutError: another run holds the migration lock.
        """
        if mark not in ("applied", "rolled-back"):
            raise ValueError(f"mark must be 'applied' or 'rolled-back', not {mark!r}")
        with self._writer("lamina repair") as (backend, history):
            rows = {row.id: row for row in history.applied()}
            row = rows.get(migration_id)
            dirty = [r.id for r in rows.values() if r.dirty]
            if row is None or not row.dirty:
                state = "not in history" if row is None else "applied, not dirty"
                listing = ", ".join(dirty) if dirty else "none"
                raise PlanError(
                    f"cannot repair {migration_id}: it is {state} (dirty migrations: {listing})",
                    hint="`lamina status` lists failed migrations; repair only those",
                )
            with backend.transaction():
                if mark == "applied":
                    history.mark(migration_id, "applied")
                else:
                    history.record_rollback(migration_id)
                history.audit(
                    AuditAction.REPAIR,
                    migration_id=migration_id,
                    version=row.version,
                    detail=f"marked {mark} (was {row.state}: {row.detail or 'no detail'})",
                )
        return RepairResult(migration_id, row, mark)

    def create(
        self,
        name: str,
        *,
        sql: bool = False,
        category: Category | str = Category.SCHEMA,
        depends_on: Sequence[str] = (),
    ) -> CreateResult:
        """Write a new migration template into the migrations folder and return its path.

        Raises:
            ConfigError: the name cannot become a file name, or the folder cannot be written.
        """
        try:
            slug = slugify(name)
        except ValueError as exc:
            raise ConfigError("NAME", "command line", str(exc)) from None
        folder = self.settings.migrations_dir
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(
                self.settings.migrations_dir_origin.setting,
                self.settings.migrations_dir_origin.source,
                f"cannot create {folder}: {exc.strerror}",
            ) from None
        scanned = scan(folder, self.settings.migrations_dir_origin)
        existing = {f.version: f.id.split("_", 1)[0] for f in scanned.files}
        known = {f.id for f in scanned.files} | {str(v) for v in existing}
        unknown = [d for d in depends_on if d not in known]
        if unknown:
            raise ConfigError(
                "--depends-on", "command line", f"no migration {', '.join(unknown)} in {folder}"
            )
        version = next_version(existing)
        kind = "sql" if sql else "py"
        path = folder / f"{version}_{slug}.{kind}"
        text = render_template(kind, name, Category(category), tuple(depends_on))
        try:
            with path.open("x", encoding="utf-8") as handle:
                handle.write(text)
        except FileExistsError:
            raise ConfigError("NAME", "command line", f"{path} already exists") from None
        return CreateResult(path, path.stem)

    # -- internals ----------------------------------------------------------------------------
    def _scan(self) -> ScanResult:
        return scan(self.settings.migrations_dir, self.settings.migrations_dir_origin)

    def _survey(
        self, scanned: ScanResult, problems: Sequence[Problem]
    ) -> tuple[MigrationSet, StatusReport]:
        """Read history once (read-only) and classify every migration against it."""
        with self._reader() as (backend, history):
            applied = history.applied() if history else []
            holder = backend.lock_holder()
        migrations = MigrationSet.build(scanned.files, applied, problems)
        return migrations, compute_status(migrations, applied, holder)

    def _applied_read_only(self) -> list[AppliedMigration]:
        with self._reader() as (_, history):
            return history.applied() if history else []

    def _backend(self, *, read_only: bool) -> Backend:
        settings = self.settings
        options = BackendOptions(
            # Only runs that change need the statement limit; status never runs user SQL.
            statement_timeout_ms=None if read_only else settings.max_migration_time_ms,
            table_lock_timeout_ms=settings.table_lock_timeout_ms or None,
            lock_mode="table" if settings.lock_mode == "table" else "session",
            lock_ttl_s=settings.effective_lock_ttl_s,
        )
        return open_backend(settings.database_url, read_only=read_only, options=options)

    @contextmanager
    def _reader(self) -> Iterator[tuple[Backend, History | None]]:
        """A read-only connection; ``History`` is None when nothing was ever recorded.

        A database file that does not exist is not created: it simply has no history.
        """
        backend = self._backend(read_only=True)
        try:
            if not backend.exists():
                yield backend, None
                return
            backend.connect(min(self.settings.lock_timeout_s, _READ_WAIT_S))
            history = History(backend, user=self.user, host=self.host)
            yield backend, history if history.exists() else None
        finally:
            backend.close()

    @contextmanager
    def _writer(self, command: str) -> Iterator[tuple[Backend, History]]:
        """The migration lock, a connection and lamina's tables, for commands that change."""
        timeout = self.settings.lock_timeout_s
        backend = self._backend(read_only=False)
        try:
            with backend.lock(lock_owner(command), timeout):
                backend.connect(timeout)
                history = History(backend, user=self.user, host=self.host)
                history.ensure()
                yield backend, history
        finally:
            backend.close()

    def _runner(self, backend: Backend, history: History) -> Runner:
        return Runner(
            backend,
            history,
            user=self.user,
            host=self.host,
            on_event=self.on_event,
            max_migration_time_ms=self.settings.max_migration_time_ms,
        )

    def _migration_set(
        self, scanned: ScanResult, applied: Sequence[AppliedMigration]
    ) -> MigrationSet:
        migrations = MigrationSet.build(scanned.files, applied, scanned.problems)
        if migrations.errors:
            raise ValidationError(migrations.errors)
        return migrations

    def _plan_up(
        self,
        scanned: ScanResult,
        applied: Sequence[AppliedMigration],
        to_version: int | None,
        force: bool,
    ) -> tuple[Plan, tuple[Problem, ...]]:
        migrations = self._migration_set(scanned, applied)
        status = compute_status(migrations, applied)
        modified = status.in_state(MigrationState.MODIFIED)
        if modified and not force:
            raise ChecksumMismatchError([m.id for m in modified])
        warnings = _drift_problems(status, modified=Severity.WARNING)
        plan = plan_up(
            migrations, applied, to_version=to_version, strict_order=self.settings.strict_order
        )
        return plan, tuple(warnings) + migrations.warnings

    def _plan_rollback(
        self,
        scanned: ScanResult,
        applied: Sequence[AppliedMigration],
        to_version: int,
        force: bool,
    ) -> tuple[Plan, tuple[tuple[StepPreview, ...], dict[str, Migration]]]:
        migrations = self._migration_set(scanned, applied)
        plan = plan_rollback(migrations, applied, to_version)
        gone = [s.migration_id for s in plan.steps if s.file is None]
        if gone:
            raise PlanError(
                f"cannot roll back {', '.join(gone)}: the migration file is missing",
                hint="restore the file(s) from version control, then roll back again",
            )
        changed = [
            s.migration_id
            for s in plan.steps
            if s.file and s.applied and s.file.checksum != s.applied.checksum
        ]
        if changed and not force:
            raise ChecksumMismatchError(changed)
        irreversible = [s.migration_id for s in plan.steps if s.file and not s.file.meta.reversible]
        if irreversible:
            raise IrreversibleMigrationError(irreversible)
        return plan, self._previews(plan)

    def _previews(self, plan: Plan) -> tuple[tuple[StepPreview, ...], dict[str, Migration]]:
        """Load each step, record its SQL with the dry-run recorder and assess its risk.

        The loaded migrations are returned too, so a real run reuses them instead of
        importing each file a second time.
        """
        dialect = self._dialect()
        transactional_ddl = self._backend(read_only=True).capabilities.transactional_ddl
        previews = []
        loaded: dict[str, Migration] = {}
        for step in plan.steps:
            assert step.file is not None
            migration = loaded[step.migration_id] = self._load_one(step)
            statements = record_statements(migration, plan.direction, dialect)
            meta = step.file.meta
            risk = analyze(
                step.migration_id,
                statements,
                dialect=dialect,
                category=meta.category.value,
                direction=plan.direction.value,
                reversible=meta.reversible,
            )
            atomic = meta.transactional and transactional_ddl
            previews.append(
                StepPreview(step, meta.name, meta.category.value, statements, risk, atomic)
            )
        return tuple(previews), loaded

    def _authorise(self, risky: Sequence[StepPreview], *, force: bool, yes: bool) -> None:
        steps = [(p.step.migration_id, p.risk.reasons()) for p in risky]
        listing = ", ".join(f"{p.step.migration_id} ({_reasons(p)})" for p in risky)
        if not force:
            raise RiskRefusedError(
                f"rollback refused, nothing was changed: risky step(s): {listing}",
                steps,
                hint="review the steps with --dry-run, then pass --force to run them",
            )
        if not self.settings.require_confirmation or yes:
            return
        if self.confirm is None:
            raise RiskRefusedError(
                f"rollback refused, nothing was changed: risky step(s) need confirmation: "
                f"{listing}",
                steps,
                hint="run it on a terminal to confirm, pass --yes, "
                "or set MIGRATION_REQUIRE_CONFIRMATION=false",
            )
        question = f"Roll back {len(risky)} risky step(s) ({listing})?"
        if not self.confirm(question):
            raise RiskRefusedError(
                "rollback cancelled, nothing was changed",
                steps,
                hint="run it again and answer y to proceed",
            )

    def _load_one(self, step: PlanStep) -> Migration:
        assert step.file is not None
        return load_migration(step.file)

    def _dialect(self) -> str:
        from lamina.backends import dialect_for

        return dialect_for(self.settings.database_url)


def _refuse_dirty(applied: Sequence[AppliedMigration]) -> None:
    """Nothing runs on a database where a migration stopped half-way, until it is repaired."""
    dirty = [row for row in applied if row.dirty]
    if dirty:
        first = dirty[0]
        raise DirtyDatabaseError([row.id for row in dirty], first.detail or first.state)


def _reasons(preview: StepPreview) -> str:
    return ", ".join(preview.risk.danger_rules())


def _drift_problems(status: StatusReport, *, modified: Severity) -> list[Problem]:
    """Applied migrations whose file changed (at ``modified`` severity) or is gone (warning)."""
    return [
        Problem(
            modified,
            f"{m.id} was modified after it was applied (checksum mismatch)",
            m.path,
            code="modified",
        )
        for m in status.in_state(MigrationState.MODIFIED)
    ] + [
        Problem(Severity.WARNING, f"{m.id} is applied but its file is missing", code="missing")
        for m in status.in_state(MigrationState.MISSING)
    ]
