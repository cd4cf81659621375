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

import contextlib
import dataclasses
import json
from collections.abc import Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from lamina.catalog import MigrationSet
from lamina.config import Settings, load_settings
from lamina.discovery import ScanResult, scan
from lamina.engines import open_backend
from lamina.engines.base import Backend, BackendOptions
from lamina.engines.filelock import FileBackend
from lamina.errors import (
    ChecksumMismatchError,
    ConfigError,
    DirtyDatabaseError,
    ExecutionError,
    IrreversibleMigrationError,
    LaminaError,
    MigrationLoadError,
    PlanError,
    RiskRefusedError,
    RunInProgressError,
    UsageError,
    ValidationError,
)
from lamina.history import History
from lamina.identity import current_host, current_user, lock_owner
from lamina.loader import load_migration, unsafe_migrations_allowed
from lamina.migration import Migration
from lamina.models import (
    AppliedMigration,
    AuditAction,
    AuditEvent,
    Category,
    Direction,
    LockOwner,
    MigrationFile,
    MigrationState,
    Problem,
    Severity,
    StatementRecord,
    StatusReport,
    errors_in,
    warnings_in,
)
from lamina.planning import Plan, compute_status, in_progress, plan_rollback, plan_up
from lamina.risk import RiskLevel, RiskReport
from lamina.runner import EventSink, Runner
from lamina.safety import (
    BackupBeforeRisk,
    ConfirmCallback,
    Safeguard,
    StepPreview,
    assess,
    check_transaction_control,
    listing,
    preview_steps,
)
from lamina.templates import next_version, render_template, slugify

if TYPE_CHECKING:
    from lamina.backup import BackupRecord, BackupStore, BrokenManifest, Progress
    from lamina.schema import Difference

__all__ = [
    "ChecksumAccepted",
    "ConfirmCallback",
    "CreateResult",
    "Lamina",
    "LintEntry",
    "LintResult",
    "RepairMark",
    "RepairResult",
    "RollbackResult",
    "StepPreview",
    "UpResult",
    "ValidationResult",
]


#: What ``repair`` records a dirty migration as, once the user fixed the database by hand.
RepairMark = Literal["applied", "rolled-back"]

#: How long read-only commands wait for a busy database file before reporting who holds it.
_READ_WAIT_S = 2.0


@dataclass(frozen=True, slots=True)
class UpResult:
    """What ``up`` did, or would do with ``dry_run``."""

    plan: Plan
    applied: tuple[str, ...]
    dry_run: bool = False
    previews: tuple[StepPreview, ...] = ()
    warnings: tuple[Problem, ...] = ()
    #: Backups taken before risky steps (see BACKUP_ENABLED).
    backups: tuple[BackupRecord, ...] = ()

    @property
    def out_of_order(self) -> tuple[str, ...]:
        return tuple(s.migration_id for s in self.plan.steps if s.out_of_order)

    def to_document(self) -> dict[str, object]:
        """The ``lamina up --json`` document (docs/json.md)."""
        from lamina.documents import up_document

        return up_document(self)


@dataclass(frozen=True, slots=True)
class RollbackResult:
    """What ``rollback`` did, or would do with ``dry_run``."""

    plan: Plan
    reverted: tuple[str, ...]
    dry_run: bool = False
    previews: tuple[StepPreview, ...] = ()
    forced: tuple[str, ...] = ()
    backups: tuple[BackupRecord, ...] = ()

    @property
    def risky(self) -> tuple[StepPreview, ...]:
        return tuple(p for p in self.previews if p.risk.risky)

    def to_document(self) -> dict[str, object]:
        """The ``lamina rollback --json`` document (docs/json.md)."""
        from lamina.documents import rollback_document

        return rollback_document(self)


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

    def to_document(self, *, strict: bool = False) -> dict[str, object]:
        """The ``lamina validate --json`` document; ``ok`` as :meth:`ok` judges it."""
        from lamina.documents import validation_document

        return validation_document(self, strict=strict)


@dataclass(frozen=True, slots=True)
class LintEntry:
    """One migration's risk, both ways."""

    file: MigrationFile
    up: RiskReport
    down: RiskReport
    up_statements: tuple[StatementRecord, ...]
    down_statements: tuple[StatementRecord, ...]

    def worst(self) -> RiskLevel | None:
        return max((r.level for r in (self.up, self.down) if r.level), default=None)


@dataclass(frozen=True, slots=True)
class LintResult:
    """The risk report of every migration linted, and files that could not be loaded."""

    entries: tuple[LintEntry, ...]
    problems: tuple[Problem, ...] = ()

    def fails(self, level: RiskLevel) -> bool:
        """Whether anything is at or above ``level``, or a file could not be loaded."""
        worst = [entry.worst() for entry in self.entries]
        return bool(errors_in(self.problems)) or any(w is not None and w >= level for w in worst)

    def to_document(self, level: RiskLevel = RiskLevel.DANGER) -> dict[str, object]:
        """The ``lamina lint --json`` document; ``ok`` is ``not fails(level)``."""
        from lamina.documents import lint_document

        return lint_document(self, level)


@dataclass(frozen=True, slots=True)
class RepairResult:
    """What ``repair`` resolved: the dirty row as it was, and what it is now."""

    migration_id: str
    was: AppliedMigration
    mark: RepairMark

    def to_document(self) -> dict[str, object]:
        """The ``lamina repair --json`` document (docs/json.md)."""
        from lamina.documents import repair_document

        return repair_document(self)


@dataclass(frozen=True, slots=True)
class ChecksumAccepted:
    """An applied migration whose edited file was accepted: the checksum stored before, and
    the file's, stored now."""

    migration_id: str
    was: str
    now: str


@dataclass(frozen=True, slots=True)
class CreateResult:
    path: Path
    migration_id: str

    def to_document(self) -> dict[str, object]:
        """The ``lamina create --json`` document (docs/json.md)."""
        from lamina.documents import create_document

        return create_document(self)


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
    def status(self, *, wait_s: float | None = None, drift: bool = True) -> StatusReport:
        """Files against history: applied, pending, modified, missing, failed, in progress.
        Runs no migration code, never takes the migration lock.

        ``wait_s`` bounds the wait for a database file another process holds open (DuckDB);
        by default up to 2 s. Health checks pass 0. :meth:`migration_run` then tells whether
        the file is busy because a lamina run is migrating or because another program (the
        application) has it open.
        ``drift`` compares the live schema with the one the last run recorded (a snapshot:
        a few catalog queries); the basic health check leaves it out to stay cheap.

        Raises:
            ConfigError: the migrations folder is unusable.
            LockTimeoutError: the database file is busy (names the holder).
            BackendError: the database cannot be read.
        """
        scanned = self._scan()
        migrations, report = self._survey(scanned, scanned.problems, wait_s, drift=drift)
        return dataclasses.replace(
            report,
            problems=migrations.problems,
            database=self.settings.database_url.redacted(),
            environment=self.settings.env,
        )

    def migration_run(self) -> LockOwner | None:
        """The lamina run holding the migration lock of a database file (DuckDB, SQLite),
        read from the lock file alone: never opens the database, never takes the lock and
        never waits. None on the server engines (``status`` reports their holder)."""
        backend = self._backend(read_only=True)
        if not isinstance(backend, FileBackend):
            return None
        holder = backend.other_holder()
        return holder if holder is not None and holder.pid else None

    def validate(self) -> ValidationResult:
        """Check every file: names, headers, imports, dependencies, checksums against history.

        Imports each Python migration (never calling up/down) so import errors surface here,
        and checks every risk allowance (``lamina:allow``) names a rule and gives a reason.
        """
        scanned = self._scan()
        problems = list(scanned.problems)
        unreadable = {p.path for p in scanned.problems}
        for file in scanned.files:
            if file.path not in unreadable:
                try:
                    # imports .py files (never up/down), checks risk allowances and, in .sql
                    # files, transaction control in a transactional section
                    load_migration(
                        file,
                        allow_unsafe=self.settings.allow_unsafe_migrations,
                        dialect=self._dialect(),
                    )
                except MigrationLoadError as exc:
                    problems.append(Problem(Severity.ERROR, exc.problem, file.path, exc.line))
        migrations, status = self._survey(scanned, problems, drift=True)
        found = [*migrations.problems, *_drift_problems(status, modified=Severity.ERROR)]
        found += [
            Problem(Severity.ERROR, f"schema drift: {d} (changed outside lamina)", code="drift")
            for d in status.drift or ()
        ]
        # A migration that failed half-way, and what it left, are the database's problems too.
        found += [p for p in status.findings if p.code in ("dirty", "leftover")]
        return ValidationResult(tuple(found), len(scanned.files), status)

    def ordered_files(self) -> list[MigrationFile]:
        """Every migration file, in the order lamina applies them (dependencies, versions).

        Raises:
            ValidationError: the set is inconsistent (duplicate versions, cycles...).
        """
        scanned = self._scan()
        migrations = MigrationSet.build(scanned.files, [], scanned.problems)
        if migrations.errors:
            raise ValidationError(migrations.errors)
        return migrations.ordered()

    def diff(self) -> list[Difference] | None:
        """How the live schema differs from the one the last ``up``/``rollback`` left:
        ``added`` objects were made by hand, ``missing`` ones dropped by hand, ``changed``
        ones altered. None when no run has recorded a schema yet."""
        return self.schema_changes()[0]

    def schema_changes(self) -> tuple[list[Difference] | None, tuple[str, ...]]:
        """:meth:`diff`, and the migrations whose failure or run explains the differences.

        With a dirty history row (a migration failed half-way, or one is being applied
        right now), what differs from the last clean run is that migration's doing, not a
        change made outside lamina; the ids say which.
        """
        with self._reader() as (backend, history):
            if history is None:
                return None, ()
            causes = tuple(row.id for row in history.applied() if row.dirty)
            return _drift(backend, history), causes

    def graph(self) -> tuple[StatusReport, dict[str, tuple[str, ...]]]:
        """Status and each migration's resolved dependencies, for ``lamina graph``."""
        scanned = self._scan()
        migrations, report = self._survey(scanned, scanned.problems)
        report = dataclasses.replace(report, problems=migrations.problems)
        return report, dict(migrations.graph.parents)

    def history(self, limit: int | None = None) -> list[AuditEvent]:
        """The audit log, newest first."""
        with self._reader() as (_, history):
            return history.events(limit) if history else []

    # -- changing -----------------------------------------------------------------------------
    def up(
        self,
        *,
        to_version: int | str | None = None,
        dry_run: bool = False,
        force: bool = False,
        yes: bool = False,
        deadline: float | None = None,
    ) -> UpResult:
        """Apply pending migrations in order, each in its own transaction with its history row.

        Every step's SQL is assessed first (:mod:`lamina.risk`); the result carries it. In
        production, danger-level steps need confirmation (``yes``, the ``confirm`` callback,
        or ``MIGRATION_REQUIRE_CONFIRMATION=false``), and ``force`` needs ``yes``.

        Args:
            to_version: apply only pending migrations whose version is at most this one
                (a version, zero-padded or not, or a migration id). A version that matches
                no migration exactly is not an error: the result warns about it.
            dry_run: change nothing; return the plan with each step's SQL and risk.
            force: run even though applied migrations were modified.
            yes: confirm risky steps (and, in production, ``force``) without asking.
            deadline: a ``time.monotonic()`` instant the whole run must end by (startup's
                time limit): no step starts after it, and each step's limit shrinks to fit.

        Raises:
            ValidationError, ChecksumMismatchError, OutOfOrderError, MigrationLoadError,
            RiskRefusedError (exit 3, nothing changed), DirtyDatabaseError, ExecutionError
            (the failing migration was rolled back where the engine allows), LockTimeoutError.
        """
        scanned = self._scan()
        if dry_run:
            with self._reader() as (backend, history):
                applied = history.applied() if history else []
                indexed = backend.indexed_tables() if history else {}
                holder = backend.lock_holder() if any(r.dirty for r in applied) else None
            _refuse_dirty(applied, holder)
            plan, warnings = self._plan_up(scanned, applied, to_version, force)
            previews, _ = self._previews(plan, indexed)
            return UpResult(plan, (), True, previews, warnings)
        guard = Safeguard(self.settings, self.confirm)
        guard.check_force("up", force=force, yes=yes)
        with self._writer("lamina up") as (backend, history):
            applied = history.applied()
            _refuse_dirty(applied)
            plan, warnings = self._plan_up(scanned, applied, to_version, force)
            previews, loaded = self._previews(plan, backend.indexed_tables())
            risky = [p for p in previews if p.risk.risky]
            guard.authorise("up", risky, force=force, yes=yes)
            modified = [str(w.path.name) for w in warnings if w.code == "modified" and w.path]
            notes = []
            if force and modified:
                notes.append("up despite modified migrations: " + ", ".join(modified))
            if risky and self.settings.is_production:
                notes.append("up of risky steps in production: " + listing(risky))
            self._audit_forced(backend, history, notes)
            done, backups = self._run(plan, loaded, previews, backend, history, deadline)
        return UpResult(plan, tuple(done), False, previews, warnings, backups)

    def rollback(
        self,
        to_version: int | str | None = None,
        *,
        steps: int | None = None,
        dry_run: bool = False,
        force: bool = False,
        yes: bool = False,
    ) -> RollbackResult:
        """Revert every applied migration above ``to_version``, newest first (None or ``0``:
        all of them, version 0 included), or the ``steps`` newest ones.

        Risky steps (danger-level findings: a down that drops what holds data, a data
        migration...) are refused unless ``force``; when confirmation is required a forced
        risky rollback also needs ``yes`` or a ``confirm`` callback that answers yes.
        Irreversible migrations stop the rollback before anything changes, even with ``force``.

        Raises:
            TargetNotFoundError, IrreversibleMigrationError, RiskRefusedError (exit 3, nothing
            changed), ChecksumMismatchError, DirtyDatabaseError, ExecutionError,
            LockTimeoutError.
        """
        scanned = self._scan()
        if dry_run:
            with self._reader() as (backend, history):
                applied = history.applied() if history else []
                indexed = backend.indexed_tables() if history else {}
                holder = backend.lock_holder() if any(r.dirty for r in applied) else None
            _refuse_dirty(applied, holder)
            plan = self._plan_rollback(scanned, applied, to_version, steps, force)
            previews, _ = self._previews(plan, indexed)
            return RollbackResult(plan, (), True, previews)
        guard = Safeguard(self.settings, self.confirm)
        guard.check_force("rollback", force=force, yes=yes)
        with self._writer("lamina rollback") as (backend, history):
            applied = history.applied()
            _refuse_dirty(applied)
            plan = self._plan_rollback(scanned, applied, to_version, steps, force)
            previews, loaded = self._previews(plan, backend.indexed_tables())
            risky = [p for p in previews if p.risk.risky]
            guard.authorise("rollback", risky, force=force, yes=yes)
            if risky:
                self._audit_forced(backend, history, ["rollback of risky steps: " + listing(risky)])
            done, backups = self._run(plan, loaded, previews, backend, history)
        forced = tuple(p.step.migration_id for p in risky)
        return RollbackResult(plan, tuple(done), False, previews, forced, backups)

    def lint(self, selection: Sequence[str] = ()) -> LintResult:
        """Assess every migration (or those ``selection`` names by id or version), up and down.

        Reads no history and changes nothing; on DuckDB the live database, when it exists,
        tells which tables have indexes. A file that cannot be loaded is a problem in the
        result, not an exception, so one broken file does not hide the others' reports.

        Raises:
            ConfigError: the migrations folder is unusable, or ``selection`` names no file.
        """
        scanned = self._scan()
        files = _select(scanned.files, selection, self.settings)
        with self._reader() as (backend, history):
            indexed = backend.indexed_tables() if history else {}
        dialect = self._dialect()
        entries: list[LintEntry] = []
        problems = list(scanned.problems)
        for file in files:
            try:
                migration = load_migration(
                    file, allow_unsafe=self.settings.allow_unsafe_migrations, dialect=dialect
                )
            except MigrationLoadError as exc:
                problems.append(Problem(Severity.ERROR, exc.problem, file.path, exc.line))
                continue
            category, reversible = file.meta.category.value, file.meta.reversible
            up_sql, up_risk = assess(
                migration, file.id, direction=Direction.UP, dialect=dialect,
                category=category, reversible=reversible, indexed_tables=indexed,
            )  # fmt: skip
            down_sql, down_risk = assess(
                migration, file.id, direction=Direction.DOWN, dialect=dialect,
                category=category, reversible=reversible, indexed_tables=indexed,
            )  # fmt: skip
            for direction, recorded in ((Direction.UP, up_sql), (Direction.DOWN, down_sql)):
                refused = check_transaction_control(file, direction, recorded, dialect)
                if refused is not None:
                    problems.append(
                        Problem(Severity.ERROR, refused.problem, file.path, refused.line, "load")
                    )
            entries.append(LintEntry(file, up_risk, down_risk, up_sql, down_sql))
        return LintResult(tuple(entries), tuple(problems))

    # -- backups ------------------------------------------------------------------------------
    def backups(self) -> tuple[list[BackupRecord], list[BrokenManifest]]:
        """The backups in the backup folder, newest first, and manifests that are unreadable."""
        return self._store().scan()

    def backup(self, *, progress: Progress | None = None) -> BackupRecord:
        """Take a backup now (``lamina backup create``), under the migration lock.

        Raises:
            BackupError: the engine's tool is missing or failed; nothing was kept.
            LockTimeoutError: a run holds the migration lock.
        """
        from lamina.backup import create_backup

        with self._writer("lamina backup create") as (backend, history):
            version = max((r.version for r in history.applied() if not r.dirty), default=0)
            checkpoint = backend.backup_checkpoint()
            record = create_backup(
                self.settings.database_url,
                self._store(),
                schema_version=version,
                trigger="manual",
                progress=progress,
                checkpoint=checkpoint,
            )
            with backend.transaction():
                history.audit(
                    AuditAction.BACKUP,
                    version=version,
                    detail=f"backup {record.id} (manual): {record.file}, {record.size} bytes, "
                    f"sha256 {record.sha256}",
                )
        return record

    def restore(
        self, backup_id: str, *, yes: bool = False, progress: Progress | None = None
    ) -> BackupRecord:
        """Make the database exactly backup ``backup_id``: all of it, or nothing.

        Replacing a database is never a default: it needs ``yes`` or a ``confirm`` callback
        that answers yes. The checksum is verified before anything changes. History goes back
        to the backup's with the rest; the restore itself is then written to the audit log.

        Raises:
            RiskRefusedError: not confirmed (exit 3, nothing changed).
            BackupError: unknown id, corrupted file, another database's backup, or the
                restore failed (the database was left as it was).
            LockTimeoutError: a run holds the migration lock.
        """
        from lamina.backup import restore_backup

        store = self._store()
        record = store.get(backup_id)
        if not yes:
            question = (
                f"Replace {self.settings.database_url.redacted()} with backup {record.id} "
                f"(schema version {record.schema_version}, taken {record.created_at})?"
            )
            if self.confirm is None or not self.confirm(question):
                raise RiskRefusedError(
                    f"restore of {record.id} refused, nothing was changed: it replaces the "
                    "whole database and needs confirmation",
                    [],
                    hint="run it on a terminal to confirm, or pass --yes",
                )
        backend = self._backend(read_only=False)
        try:
            # The lock alone: DuckDB's file must not be open in this process while replaced.
            with backend.lock(lock_owner("lamina backup restore"), self.settings.lock_timeout_s):
                restore_backup(self.settings.database_url, store, backup_id, progress=progress)
                backend.connect(self.settings.lock_timeout_s)
                history = History(backend, user=self.user, host=self.host)
                history.ensure()
                with backend.transaction():
                    history.audit(
                        AuditAction.RESTORE,
                        version=record.schema_version,
                        detail=f"restored backup {record.id} taken {record.created_at} "
                        f"(trigger: {record.trigger or 'none'}); the audit log before this "
                        "entry is the backup's",
                    )
        finally:
            backend.close()
        return record

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
            migration_id = _resolve_id(migration_id, [(r.id, r.version) for r in rows.values()])
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
            # The user fixed the database by hand: what is there now is the new baseline.
            _record_schema(backend, history)
        return RepairResult(migration_id, row, mark)

    def accept_checksum(
        self, selection: Sequence[str] = (), *, every: bool = False
    ) -> tuple[ChecksumAccepted, ...]:
        """Accept the edited file of applied migrations: store each file's current checksum
        on its history row, so it is no longer ``modified``. For an edit that changes nothing
        the database has (a comment, formatting); the database itself is not touched.

        ``selection`` names migrations by id or version (``004``, ``4``, ``004_name``);
        ``every`` accepts every modified migration instead. Each acceptance is written to the
        audit log with the user and host, the old and the new checksum.

        Raises:
            PlanError: a migration is not in history, is dirty, its file is missing or
                unchanged; or ``every`` finds nothing modified. Nothing is changed then.
            LockTimeoutError: another run holds the migration lock.
        """
        if every == bool(selection):
            raise ValueError("name migrations, or pass every=True; not both")
        scanned = self._scan()
        files = {f.id: f for f in scanned.files}
        with self._writer("lamina repair --accept-checksum") as (backend, history):
            rows = {row.id: row for row in history.applied()}
            if every:
                chosen = [
                    row
                    for row in rows.values()
                    if not row.dirty and row.id in files and files[row.id].checksum != row.checksum
                ]
                if not chosen:
                    raise PlanError(
                        "no applied migration was modified: there is no checksum to accept",
                        hint="`lamina status` lists modified migrations",
                    )
            else:
                known = [(r.id, r.version) for r in rows.values()]
                known += [(f.id, f.version) for f in files.values() if f.id not in rows]
                chosen = [
                    self._acceptable(_resolve_id(name, known), rows, files) for name in selection
                ]
            accepted: list[ChecksumAccepted] = []
            with backend.transaction():
                for row in dict.fromkeys(chosen):
                    new = files[row.id].checksum
                    history.set_checksum(row.id, new)
                    history.audit(
                        AuditAction.REPAIR,
                        migration_id=row.id,
                        version=row.version,
                        detail=f"accepted the edited file {files[row.id].path.name}: checksum "
                        f"{new} (was {row.checksum})",
                    )
                    accepted.append(ChecksumAccepted(row.id, row.checksum, new))
        return tuple(accepted)

    @staticmethod
    def _acceptable(
        migration_id: str, rows: Mapping[str, AppliedMigration], files: Mapping[str, MigrationFile]
    ) -> AppliedMigration:
        row = rows.get(migration_id)
        file = files.get(migration_id)
        why = None
        if row is None and file is None:
            why = "no such migration in history or in the migrations folder"
        elif row is None:
            why = "it is not applied (only an applied migration's checksum is recorded)"
        elif row.dirty:
            why = (
                f"it is {row.state} (dirty): resolve it with `lamina repair {migration_id} "
                "--mark-applied` or `--mark-rolled-back`"
            )
        elif file is None:
            why = "its file is missing: restore it from version control"
        elif file.checksum == row.checksum:
            why = "its file is unchanged since it was applied"
        if why is not None or row is None:
            raise PlanError(
                f"cannot accept the checksum of {migration_id}: {why}",
                hint="`lamina status` lists modified migrations; nothing was changed",
            )
        return row

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
        from lamina.templates import check_name

        try:
            check_name(name)
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
        unknown = [d for d in depends_on if not any(_matches(f, d) for f in scanned.files)]
        if unknown:
            raise UsageError(
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
        with unsafe_migrations_allowed(self.settings.allow_unsafe_migrations):
            return scan(self.settings.migrations_dir, self.settings.migrations_dir_origin)

    def _survey(
        self,
        scanned: ScanResult,
        problems: Sequence[Problem],
        wait_s: float | None = None,
        *,
        drift: bool = False,
    ) -> tuple[MigrationSet, StatusReport]:
        """Read history once (read-only) and classify every migration against it; with
        ``drift``, also compare the live schema with the one the last run recorded."""
        differences: tuple[str, ...] | None = None
        with self._reader(wait_s) as (backend, history):
            applied = history.applied() if history else []
            holder = backend.lock_holder()
            if drift and history is not None:
                found = _drift(backend, history)
                differences = None if found is None else tuple(str(d) for d in found)
        migrations = MigrationSet.build(scanned.files, applied, problems)
        report = compute_status(migrations, applied, holder)
        if any(row.dirty for row in applied):
            # Not drift: a failed migration kept part of its work, or a run is changing the
            # schema right now. What differs from the last clean run is that migration's.
            leftovers = (differences or None) if report.dirty else None
            return migrations, dataclasses.replace(report, leftovers=leftovers)
        return migrations, dataclasses.replace(report, drift=differences)

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
    def _reader(self, wait_s: float | None = None) -> Iterator[tuple[Backend, History | None]]:
        """A read-only connection; ``History`` is None when nothing was ever recorded.

        A database file that does not exist is not created: it simply has no history.
        """
        backend = self._backend(read_only=True)
        try:
            if not backend.exists():
                yield backend, None
                return
            wait = min(self.settings.lock_timeout_s, _READ_WAIT_S) if wait_s is None else wait_s
            backend.connect(wait)
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
        to_version: int | str | None,
        force: bool,
    ) -> tuple[Plan, tuple[Problem, ...]]:
        migrations = self._migration_set(scanned, applied)
        target = None if to_version is None else _version_of(to_version, scanned.files, applied)
        status = compute_status(migrations, applied)
        modified = status.in_state(MigrationState.MODIFIED)
        if modified and not force:
            raise ChecksumMismatchError([m.id for m in modified])
        warnings = _drift_problems(status, modified=Severity.WARNING)
        plan = plan_up(
            migrations, applied, to_version=target, strict_order=self.settings.strict_order
        )
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
        self,
        scanned: ScanResult,
        applied: Sequence[AppliedMigration],
        to_version: int | str | None,
        steps: int | None,
        force: bool,
    ) -> Plan:
        migrations = self._migration_set(scanned, applied)
        target = None if to_version is None else _version_of(to_version, scanned.files, applied)
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
            if s.file and s.applied and s.file.checksum != s.applied.checksum
        ]
        if changed and not force:
            raise ChecksumMismatchError(changed)
        irreversible = [s.migration_id for s in plan.steps if s.file and not s.file.meta.reversible]
        if irreversible:
            raise IrreversibleMigrationError(irreversible)
        return plan

    def _previews(
        self, plan: Plan, indexed_tables: Mapping[str, Collection[str]]
    ) -> tuple[tuple[StepPreview, ...], dict[str, Migration]]:
        with unsafe_migrations_allowed(self.settings.allow_unsafe_migrations):
            return preview_steps(
                plan,
                dialect=self._dialect(),
                transactional_ddl=self._backend(read_only=True).capabilities.transactional_ddl,
                indexed_tables=indexed_tables,
            )

    def _run(
        self,
        plan: Plan,
        loaded: Mapping[str, Migration],
        previews: Sequence[StepPreview],
        backend: Backend,
        history: History,
        deadline: float | None = None,
    ) -> tuple[list[str], tuple[BackupRecord, ...]]:
        """Run the plan, backing up before each risky step; returns ids done and backups."""
        runner = self._runner(backend, history)
        runner.deadline = deadline
        risky = [p.step.migration_id for p in previews if p.risk.risky]
        backup = BackupBeforeRisk(
            self.settings, backend, history, risky, lambda step, text: runner.note(plan, step, text)
        )
        try:
            done = runner.run(plan, loaded, risks=_risk_labels(previews), before_step=backup)
        except LaminaError as exc:
            exc.add_note(f"backups taken: {', '.join(b.id for b in backup.taken) or 'none'}")
            if isinstance(exc, ExecutionError) and exc.applied:
                _record_schema_quietly(backend, history)  # what the steps that ran left
            raise
        if done:
            _record_schema(backend, history)
        return done, tuple(backup.taken)

    def _store(self) -> BackupStore:
        from lamina.backup import BackupStore

        return BackupStore(self.settings.backup_dir, self.settings.backup_keep)

    def _audit_forced(self, backend: Backend, history: History, notes: Sequence[str]) -> None:
        """Write forced and confirmed actions to the audit log (with user and host)."""
        if not notes:
            return
        with backend.transaction():
            for note in notes:
                history.audit(AuditAction.FORCE, detail=note)

    def _dialect(self) -> str:
        from lamina.engines import dialect_for

        return dialect_for(self.settings.database_url)


def _refuse_dirty(applied: Sequence[AppliedMigration], holder: LockOwner | None = None) -> None:
    """Nothing runs on a database where a migration stopped half-way, until it is repaired.

    ``holder`` (dry runs, which read without the lock): a ``running`` row whose run still
    holds the lock is in progress, not dirty, and says so.
    """
    dirty = [row for row in applied if row.dirty]
    running = [row for row in dirty if holder is not None and in_progress(row, holder)]
    if running and holder is not None:
        raise RunInProgressError([row.id for row in running], holder.describe())
    if dirty:
        first = dirty[0]
        raise DirtyDatabaseError([row.id for row in dirty], first.detail or first.state)


def _record_schema(backend: Backend, history: History) -> None:
    """Snapshot the schema a run left, for drift detection (one snapshot per run, not per
    migration: its cost grows with the schema, and a run of a thousand steps must not pay
    it a thousand times). The digest goes on the newest applied row, which is how a later
    check knows whether the snapshot still describes the history (see :func:`_drift`)."""
    from lamina.schema import snapshot

    taken = snapshot(backend)
    applied = [row for row in history.applied() if not row.dirty]
    last = applied[-1].id if applied else None
    with backend.transaction():
        history.record_schema(last, taken.digest(), taken.to_json())


def _record_schema_quietly(backend: Backend, history: History) -> None:
    """:func:`_record_schema` after a failed run: its own failure must not hide the run's."""
    with contextlib.suppress(LaminaError):  # StatementError too: a refusal is lamina's type
        _record_schema(backend, history)


def _drift(backend: Backend, history: History) -> list[Difference] | None:
    """Live schema against the recorded one; None when nothing was recorded yet."""
    from lamina.schema import Snapshot, diff, snapshot

    recorded = history.recorded_schema()
    if recorded is None:
        return None
    digest, text, taken_at = recorded
    applied = [row for row in history.applied() if not row.dirty]
    if (applied[-1].id if applied else "") != taken_at:
        # History moved on without a new snapshot (a run was killed, or a row was changed by
        # hand): any difference could be lamina's own, so drift is unknown, not reported.
        return None
    live = snapshot(backend)
    if live.digest() == digest:
        return []
    try:
        recorded_snapshot = Snapshot.from_dict(json.loads(text))
    except (ValueError, KeyError, TypeError):
        return None  # written by another lamina, or damaged: no basis for a comparison
    return diff(recorded_snapshot, live)


def _matches(file: MigrationFile, ref: str) -> bool:
    """Whether ``ref`` names ``file``: its id (``004_name``), its version (``4``) or the
    version zero-padded (``004``), as in the file name."""
    ref = ref.strip()
    return ref == file.id or (ref.isdigit() and int(ref) == file.version)


def _select(
    files: Sequence[MigrationFile], selection: Sequence[str], settings: Settings
) -> list[MigrationFile]:
    """The files ``selection`` names (ids, versions, zero-padded versions), in order; every
    file when empty.

    Raises:
        UsageError: a name matches no file (exit 2), listing every such name.
    """
    if not selection:
        return sorted(files, key=lambda f: (f.version, f.id))
    chosen = [f for f in files if any(_matches(f, name) for name in selection)]
    unknown = [name for name in selection if not any(_matches(f, name) for f in files)]
    if unknown:
        origin = settings.migrations_dir_origin
        raise UsageError(
            "ID", "command line", f"no migration {', '.join(unknown)} in {settings.migrations_dir}",
            hint=f"`lamina status` lists the migrations ({origin})",
        )  # fmt: skip
    return sorted(chosen, key=lambda f: (f.version, f.id))


def _version_of(
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


def _resolve_id(name: str, known: Sequence[tuple[str, int]]) -> str:
    """The id ``name`` means among ``known`` (id, version) pairs: the id itself, or a version
    written any way (``4``, ``004``), or a version and slug (``4_name`` for ``004_name``).
    A name that matches nothing is returned as it is, for the caller to refuse by name.

    Raises:
        PlanError: a version shared by several migrations.
    """
    ids = {migration_id for migration_id, _ in known}
    if name in ids:
        return name
    number, _, slug = name.partition("_")
    if not number.isdigit():
        return name
    matches = sorted(
        {
            migration_id
            for migration_id, version in known
            if version == int(number) and (not slug or migration_id.partition("_")[2] == slug)
        }
    )
    if len(matches) > 1:
        raise PlanError(
            f"{name} is ambiguous: it is the version of {', '.join(matches)}",
            hint="name the migration by its id",
        )
    return matches[0] if matches else name
