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

The class only delegates: :mod:`~lamina.api.session` (connections, the lock),
:mod:`~lamina.api.migrate` (``up``/``rollback``), :mod:`~lamina.api.redo`,
:mod:`~lamina.api.checks`, :mod:`~lamina.api.drift`, :mod:`~lamina.api.backups`,
:mod:`~lamina.api.restore_missing`, :mod:`~lamina.api.repair`;
:mod:`lamina.health`, :mod:`lamina.verify` and :mod:`lamina.integration` for ``health()``,
``verify()`` and ``startup()``. Results are in :mod:`~lamina.api.results`.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from lamina.api import drift
from lamina.api._deferred import Deferred
from lamina.api.drift import survey
from lamina.api.results import (
    BackfillRun,
    ChecksumAccepted,
    CreateResult,
    LintEntry,
    LintResult,
    RedoResult,
    RepairMark,
    RepairResult,
    RollbackResult,
    StartupRestore,
    UpResult,
    ValidationResult,
)
from lamina.api.session import Session
from lamina.config import Settings, load_settings
from lamina.engines.filelock import FileBackend
from lamina.identity import current_host, current_user
from lamina.models import AuditEvent, Category, LockOwner, MigrationFile, StatusReport

if TYPE_CHECKING:
    from lamina.api import backfills as _backfills
    from lamina.api import backups as _backups
    from lamina.api import checks as _checks
    from lamina.api import migrate as _migrate
    from lamina.api import redo as _redo
    from lamina.api import repair as _repair
    from lamina.api import restore_missing as _restore_missing
    from lamina.backup import BackupRecord, BrokenManifest, Progress
    from lamina.integration import StartupResult
    from lamina.runner import EventSink
    from lamina.safety import ConfirmCallback, StepPreview
    from lamina.schema import Difference
    from lamina.urls import DatabaseURL
    from lamina.verify import ProgressCallback, VerifyResult
else:  # imported when first used: `status` needs neither the runner nor the risk analysis
    _parts = ["backfills", "backups", "checks", "migrate", "redo", "repair", "restore_missing"]
    _backfills, _backups, _checks, _migrate, _redo, _repair, _restore_missing = (
        Deferred(f"lamina.api.{part}") for part in _parts
    )

__all__ = [
    "BackfillRun",
    "ChecksumAccepted",
    "ConfirmCallback",
    "CreateResult",
    "Lamina",
    "LintEntry",
    "LintResult",
    "RedoResult",
    "RepairMark",
    "RepairResult",
    "RollbackResult",
    "StartupRestore",
    "StepPreview",
    "UpResult",
    "ValidationResult",
]


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
        #: The connections this instance opens: read-only ones, and writers under the lock.
        self.session = Session(self.settings, user=self.user, host=self.host)

    # -- reading ------------------------------------------------------------------------------
    def status(self, *, wait_s: float | None = None, drift: bool = True) -> StatusReport:
        """Files against history: applied, pending, modified, missing, failed, in progress.
        Runs no migration code, never takes the migration lock.

        ``wait_s`` bounds the wait for a database file another process holds open (DuckDB);
        by default up to 2 s; health checks pass 0 (:meth:`migration_run` then tells who).
        ``drift`` compares the live schema with the one the last run recorded.

        Raises:
            ConfigError (unusable migrations folder), LockTimeoutError (busy database file,
            names the holder), BackendError (the database cannot be read).
        """
        scanned = self.session.scan()
        found, report = survey(self.session, scanned, scanned.problems, wait_s, drift=drift)
        return dataclasses.replace(
            report,
            problems=found.problems,
            database=self.settings.database_url.redacted(),
            environment=self.settings.env,
        )

    def migration_run(self) -> LockOwner | None:
        """The lamina run holding the lock of a database file (DuckDB, SQLite), from the lock
        file alone: never opens the database or waits. None on the server engines."""
        backend = self.session.backend(read_only=True)
        if not isinstance(backend, FileBackend):
            return None
        holder = backend.other_holder()
        return holder if holder is not None and holder.pid else None

    def validate(self, *, applied_too: bool = True) -> ValidationResult:
        """Check every file: names, headers, imports, dependencies, checksums against history,
        risk allowances (``lamina:allow``); and the database: drift, dirty rows. Loads each
        migration (never calling up/down), but for ``applied_too=False`` (startup) the applied,
        unchanged ones."""
        return _checks.validate(self.session, applied_too=applied_too)

    def ordered_files(self) -> list[MigrationFile]:
        """Every migration file, in the order lamina applies them (dependencies, versions);
        ValidationError when the set is inconsistent (duplicate versions, cycles...)."""
        return _checks.ordered_files(self.session)

    def drift(self) -> list[Difference] | None:
        """How the live schema differs from the one the last ``up``/``rollback`` left:
        ``added`` objects were made by hand, ``missing`` ones dropped by hand, ``changed``
        ones altered. None when no run has recorded a schema yet."""
        return self.schema_changes()[0]

    def schema_changes(self) -> tuple[list[Difference] | None, tuple[str, ...]]:
        """:meth:`drift`, and the migrations whose failure or run explains the differences
        (a dirty row: a migration failed half-way, or is being applied right now)."""
        return drift.schema_changes(self.session)

    def graph(self) -> tuple[StatusReport, dict[str, tuple[str, ...]]]:
        """Status and each migration's resolved dependencies, for ``lamina graph``."""
        scanned = self.session.scan()
        found, report = survey(self.session, scanned, scanned.problems)
        return dataclasses.replace(report, problems=found.problems), dict(found.graph.parents)

    def history(self, limit: int | None = None) -> list[AuditEvent]:
        """The audit log, newest first."""
        with self.session.reader() as (_, history):
            return history.events(limit) if history else []

    def lint(
        self, selection: Sequence[str] = (), *, dialect: str | None = None,
        server_version: str | None = None,
    ) -> LintResult:  # fmt: skip
        """Assess every migration (or those ``selection`` names), up and down; changes nothing.
        With ``dialect`` (``postgresql``, ``mysql``, ``mariadb``, ``sqlite``, ``duckdb``) no
        database is needed; else the configured one's live facts are used when it answers.
        ``server_version`` (``"8.0.36"``) sets the version the rules assume. A file that
        cannot be loaded is a problem in the result. Raises ConfigError (unusable folder, or
        ``selection`` names no file) and UsageError (unknown dialect, malformed version).
        """
        return _checks.lint(self.session, selection, dialect=dialect, server_version=server_version)

    # -- changing -----------------------------------------------------------------------------
    def up(
        self, *, to_version: int | str | None = None, dry_run: bool = False,
        force: bool = False, yes: bool = False, deadline: float | None = None,
        wait_backfills: bool = False,
    ) -> UpResult:  # fmt: skip
        """Apply pending migrations in order, each in its own transaction with its history row.

        Every step's SQL is assessed first (:mod:`lamina.risk`). In production, danger-level
        steps need confirmation (``yes``, the ``confirm`` callback, or
        ``MIGRATION_REQUIRE_CONFIRMATION=false``), and ``force`` needs ``yes``.
        ``to_version``: only up to this version (or migration id; a version matching no file
        is a warning). ``dry_run``: change nothing, return each step's SQL and risk.
        ``force``: run despite modified applied migrations. ``deadline``: a
        ``time.monotonic()`` instant the run must end by (no step starts after it).
        Background backfills run last with ``wait_backfills`` (always on DuckDB), else are
        only queued (``UpResult.queued``): :meth:`backfill` runs them.

        Raises:
            ValidationError, ChecksumMismatchError, OutOfOrderError, MigrationLoadError,
            RiskRefusedError (exit 3, nothing changed), DirtyDatabaseError, ExecutionError
            (the failing migration was rolled back where the engine allows), LockTimeoutError.
        """
        return _migrate.up(
            self.session, confirm=self.confirm, on_event=self.on_event, to_version=to_version,
            dry_run=dry_run, force=force, yes=yes, deadline=deadline,
            wait_backfills=wait_backfills,
        )  # fmt: skip

    def rollback(
        self, to_version: int | str | None = None, *, steps: int | None = None,
        dry_run: bool = False, force: bool = False, yes: bool = False,
    ) -> RollbackResult:  # fmt: skip
        """Revert every applied migration above ``to_version``, newest first (None or ``0``:
        all of them, version 0 included), or the ``steps`` newest ones.

        Risky steps are refused unless ``force``; when confirmation is required a forced
        risky rollback also needs ``yes`` or a ``confirm`` callback that answers yes.
        Irreversible migrations stop the rollback before anything changes, even with ``force``.

        Raises:
            TargetNotFoundError, IrreversibleMigrationError, RiskRefusedError (exit 3, nothing
            changed), ChecksumMismatchError, DirtyDatabaseError, ExecutionError,
            LockTimeoutError.
        """
        return _migrate.rollback(
            self.session, confirm=self.confirm, on_event=self.on_event, to_version=to_version,
            steps=steps, dry_run=dry_run, force=force, yes=yes,
        )  # fmt: skip

    def redo(
        self, migration: int | str | None = None, *, dry_run: bool = False,
        force: bool = False, yes: bool = False,
    ) -> RedoResult:  # fmt: skip
        """:meth:`rollback` the newest applied migration (or every one down to and including
        ``migration``), then :meth:`up` exactly those again; outside development only with
        ``force`` (:mod:`~lamina.api.redo` says what it accepts and refuses)."""
        return _redo.redo(self.session, confirm=self.confirm, on_event=self.on_event,
            target=migration, dry_run=dry_run, force=force, yes=yes)  # fmt: skip

    def backfill(self) -> BackfillRun:
        """Run every backfill under way to its end, taking the migration lock for each batch
        only; one worker at a time (:mod:`~lamina.api.backfills`)."""
        return _backfills.run_under_way(self.session, self.on_event)

    def repair(self, migration_id: str, mark: RepairMark) -> RepairResult:
        """Resolve a dirty migration after the user fixed the database: ``mark="applied"``
        (finished by hand) or ``"rolled-back"`` (undone: pending again); audited.

        Raises:
            PlanError (not in history, or not dirty), LockTimeoutError.
        """
        return _repair.repair(self.session, migration_id, mark)

    def accept_checksum(
        self, selection: Sequence[str] = (), *, every: bool = False
    ) -> tuple[ChecksumAccepted, ...]:
        """Store the edited file's checksum of the applied migrations ``selection`` names (or
        ``every`` modified one), for an edit that changes nothing the database has; audited.
        Raises PlanError (nothing changed), LockTimeoutError."""
        return _repair.accept_checksum(self.session, selection, every=every)

    def create(
        self, name: str, *, sql: bool = False, category: Category | str = Category.SCHEMA,
        depends_on: Sequence[str] = (),
    ) -> CreateResult:  # fmt: skip
        """Write a new migration template into the migrations folder and return its path;
        ConfigError when the name cannot be a file name or the folder cannot be written."""
        return _repair.create(self.session, name, sql=sql, category=category, depends_on=depends_on)

    # -- backups ------------------------------------------------------------------------------
    def backups(self) -> tuple[list[BackupRecord], list[BrokenManifest]]:
        """The backups in the backup folder, newest first, and manifests that are unreadable."""
        return _backups.backups(self.settings)

    def backup(self, *, progress: Progress | None = None) -> BackupRecord:
        """Take a backup now (``lamina backup create``), under the migration lock; audited.

        Raises:
            BackupError (the tool is missing or failed; nothing kept), LockTimeoutError.
        """
        return _backups.backup_now(self.session, progress)

    def restore(
        self, backup_id: str, *, yes: bool = False, progress: Progress | None = None
    ) -> BackupRecord:
        """Make the database exactly backup ``backup_id`` (all of it, or nothing; checksum
        verified first), given ``yes`` or a ``confirm`` that answers yes; then audited.

        Raises:
            RiskRefusedError (not confirmed), BackupError (unknown id, corrupted, another
            database's, or failed: the database was left as it was), LockTimeoutError.
        """
        return _backups.restore(self.session, self.confirm, backup_id, yes=yes, progress=progress)

    def restore_if_missing(self) -> StartupRestore | None:
        """DuckDB, SQLite: restore a missing database file from its newest verified backup,
        audited; None if the file exists or has none (:mod:`~lamina.api.restore_missing`)."""
        return _restore_missing.restore_if_missing(self.session)

    # -- operations ---------------------------------------------------------------------------
    def health(self, *, detailed: bool = False) -> dict[str, Any]:
        """The health document (:mod:`lamina.health`): never raises for the database's state."""
        from lamina.health import document

        return document(self, detailed=detailed)

    def verify(
        self, *, data: bool = False, progress: ProgressCallback | None = None,
        scratch_url: DatabaseURL | None = None, strict_column_order: bool = False,
    ) -> VerifyResult:  # fmt: skip
        """Round-trip every migration on a scratch database of the target's engine, never
        opening the target (:mod:`lamina.verify`, which lists what it raises)."""
        from lamina.verify import run

        return run(
            self, data=data, progress=progress, scratch_url=scratch_url,
            strict_column_order=strict_column_order,
        )  # fmt: skip

    def startup(self, *, logger: logging.Logger | None = None) -> StartupResult:
        """The migration checks of application startup (:mod:`lamina.integration`); raises
        StartupError when the application must not start (the message says why)."""
        from lamina.integration import run

        return run(self, logger=logger)


def __getattr__(name: str) -> Any:
    """``ConfirmCallback`` and ``StepPreview`` are the safety module's, loaded when asked for."""
    if name in {"ConfirmCallback", "StepPreview"}:
        import lamina.safety

        return getattr(lamina.safety, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
