"""Backups: "take a backup and write it to the audit log", once, for ``lamina backup create``
and for the one backup a run with risky steps takes (:class:`BackupBeforeRisk`); listing and
restoring backups.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from lamina.api.session import Session
from lamina.config import Settings
from lamina.engines.base import Backend
from lamina.errors import LaminaError, RiskRefusedError
from lamina.history import History
from lamina.models import AuditAction
from lamina.planning import PlanStep
from lamina.safety import ConfirmCallback, StepPreview

if TYPE_CHECKING:
    from lamina.backup import BackupRecord, BackupStore, BrokenManifest, Progress
    from lamina.risk.touched import Touched

__all__ = ["BackupBeforeRisk", "backup_and_audit", "backup_now", "backups", "restore", "store"]


def store(settings: Settings) -> BackupStore:
    """The backup folder, keeping ``backup_keep`` backups."""
    from lamina.backup import BackupStore

    return BackupStore(settings.backup_dir, settings.backup_keep)


def backups(settings: Settings) -> tuple[list[BackupRecord], list[BrokenManifest]]:
    """The backups in the backup folder, newest first, and manifests that are unreadable."""
    return store(settings).scan()


def backup_and_audit(
    settings: Settings,
    backend: Backend,
    history: History,
    *,
    step: PlanStep | None = None,
    covers: tuple[str, ...] = (),
    touched: Touched | None = None,
    progress: Progress | None = None,
    failed: Callable[[LaminaError], None] | None = None,
) -> BackupRecord | None:
    """Back up the database ``backend`` is connected to (under the migration lock), then write
    the backup to the audit log: before ``step`` (the first step of a run whose risky steps
    are ``covers``), or a manual one when ``step`` is None.

    ``failed`` receives the error when the backup cannot be taken (it raises, or returns to
    go on without one: then nothing is audited and None returned); without it the error
    propagates. ``touched`` asks for a backup of just those tables (``backup_scope``).

    Raises:
        BackupError: the engine's tool is missing or failed; nothing was kept.
    """
    from lamina.backup import create_backup

    version = max((row.version for row in history.applied() if not row.dirty), default=0)
    try:
        record = create_backup(
            settings.database_url,
            store(settings),
            schema_version=version,
            trigger="manual" if step is None else step.migration_id,
            covers=covers,
            touched=touched,
            progress=progress,
            # DuckDB: flush the WAL through lamina's own connection, which holds the file.
            checkpoint=backend.backup_checkpoint(),
        )
    except LaminaError as exc:
        if failed is None:
            raise
        failed(exc)
        return None
    why = "(manual)" if step is None else f"before {step.migration_id}"
    if covers:
        why += f", covering this run's risky steps {', '.join(covers)}"
    why += f"; {scope_text(record)}"
    with backend.transaction():
        history.audit(
            AuditAction.BACKUP,
            migration_id=None if step is None else step.migration_id,
            version=version if step is None else step.version,
            detail=f"backup {record.id} {why}: {record.file}, {record.size} bytes, "
            f"sha256 {record.sha256}",
        )
    return record


def scope_text(record: BackupRecord) -> str:
    """What a backup holds, for people: "the whole database", or its tables."""
    from lamina.backup.scope import HISTORY

    if record.touched:
        tables = [t for t in record.tables if t not in HISTORY]
        return (
            f"only {', '.join(tables) or 'no tables'} and lamina's history (backup_scope touched)"
        )
    if record.scope_note:
        return f"the whole database (backup_scope touched fell back: {record.scope_note})"
    return "the whole database"


def backup_now(session: Session, progress: Progress | None = None) -> BackupRecord:
    """``lamina backup create``: a manual backup under the migration lock."""
    with session.writer("lamina backup create") as (backend, history):
        record = backup_and_audit(session.settings, backend, history, progress=progress)
    assert record is not None  # without ``failed``, a failure raises
    return record


def restore(
    session: Session,
    confirm: ConfirmCallback | None,
    backup_id: str,
    *,
    yes: bool,
    progress: Progress | None,
) -> BackupRecord:
    """Replace the database with backup ``backup_id`` (see :meth:`Lamina.restore`)."""
    from lamina.backup import restore_backup

    settings = session.settings
    backup_store = store(settings)
    record = backup_store.get(backup_id)
    if not yes:
        what = settings.database_url.redacted()
        if record.touched:
            what = f"the tables {', '.join(record.tables)} of {what}"
        question = (
            f"Replace {what} with backup {record.id} "
            f"(schema version {record.schema_version}, taken {record.created_at})?"
        )
        if confirm is None or not confirm(question):
            raise RiskRefusedError(
                f"restore of {record.id} refused, nothing was changed: it replaces "
                f"{'tables' if record.touched else 'the whole database'} and needs confirmation",
                [],
                hint="run it on a terminal to confirm, or pass --yes",
            )

    def replace() -> None:
        restore_backup(settings.database_url, backup_store, backup_id, progress=progress)

    # The lock alone while replacing: DuckDB's file must not be open in this process.
    with session.writer("lamina backup restore", before_connect=replace) as (backend, history):
        _audit_restore(backend, history, record)
    return record


def _audit_restore(backend: Backend, history: History, record: BackupRecord) -> None:
    with backend.transaction():
        history.audit(
            AuditAction.RESTORE,
            version=record.schema_version,
            detail=f"restored backup {record.id} taken {record.created_at} "
            f"(trigger: {record.trigger or 'none'}; {scope_text(record)}); the audit log "
            "before this entry is the backup's",
        )


class BackupBeforeRisk:
    """Takes one backup before a run that has risky steps, and logs it.

    Called by the runner before every step (``before_step``); the first call of a run with
    any risky step takes the backup, so restoring it returns the database to before the whole
    run (one dump per deploy, not one per risky step), and the manifest and audit log name
    the risky steps it covers. In production a backup that fails stops the run before its
    first step ("no backup, no change"); in development the run goes on and the failure is
    reported.

    With ``backup_scope = touched`` the backup holds the tables that *every* step of the run
    changes (``previews``: restoring it rolls the whole run's history back, so each of its
    steps' tables must come back with it), plus lamina's history.
    """

    def __init__(
        self,
        settings: Settings,
        backend: Backend,
        history: History,
        risky: Sequence[str],
        notify: Callable[[PlanStep, str], None],
        previews: Sequence[StepPreview] = (),
    ) -> None:
        self.settings = settings
        self.backend = backend
        self.history = history
        self.risky = tuple(risky) if settings.backup_enabled else ()
        self.notify = notify
        self.previews = tuple(previews)
        self.taken: list[BackupRecord] = []
        self._done = False

    def __call__(self, step: PlanStep) -> None:
        if self._done or not self.risky:
            return
        self._done = True
        covered = ", ".join(self.risky)

        def failed(exc: LaminaError) -> None:
            from lamina.backup import BackupError

            if self.settings.is_production:
                raise BackupError(
                    f"backup before this run (risky steps: {covered}) failed, so nothing ran "
                    f"(production: no backup, no change): {exc.message}",
                    hint=exc.hint or "fix the backup, or set BACKUP_ENABLED=false to run without",
                ) from exc
            self.notify(
                step,
                f"backup before this run failed ({exc.message}); running its risky steps "
                f"({covered}) anyway (development). In production this stops the run.",
            )

        touched = None if self.settings.backup_scope != "touched" else self._touched()
        record = backup_and_audit(
            self.settings,
            self.backend,
            self.history,
            step=step,
            covers=self.risky,
            touched=touched,
            failed=failed,
        )
        if record is None:
            return
        self.taken.append(record)
        self.notify(
            step,
            f"backed up to {record.id} ({_size(record.size)}; {scope_text(record)}) before "
            f"this run; it covers the risky steps {covered}",
        )

    def _touched(self) -> Touched:
        """What the run's steps change, read from their recorded statements."""
        from lamina.engines import dialect_for
        from lamina.risk.touched import Touched, touched_by

        if not self.previews:  # nothing says what the run changes: never guess
            return Touched(whole="the run's statements were not given to the backup")
        for preview in self.previews:
            unrecorded = [f for f in preview.risk.findings if f.rule == "unparsed-sql"]
            if any(f.statement is None for f in unrecorded):
                return Touched(
                    whole=f"{preview.step.migration_id}: its statements could not be recorded"
                )
        steps = [(p.step.migration_id, p.statements) for p in self.previews]
        return touched_by(steps, dialect_for(self.settings.database_url))


def _size(size: int) -> str:
    value = float(size)
    for unit in ("bytes", "KiB", "MiB"):
        if value < 1024:
            return f"{size} bytes" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GiB"
