"""The records :class:`~lamina.api.Lamina` returns, each with the ``to_document()`` that gives
the CLI's ``--json`` document (the documents themselves live in :mod:`lamina.documents`)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from lamina.models import (
    DOCUMENT_SCHEMA_VERSION,
    AppliedMigration,
    AuditAction,
    AuditEvent,
    LockOwner,
    MigrationFile,
    Problem,
    StatusReport,
    errors_in,
    warnings_in,
)

if TYPE_CHECKING:  # annotations only: `status` loads neither the planner's runs nor the risk rules
    from lamina.backup import BackupRecord
    from lamina.planning import Plan
    from lamina.risk import LiveFacts, RiskLevel, RiskReport
    from lamina.safety import StepPreview

__all__ = [
    "BackfillRun",
    "ChecksumAccepted",
    "CreateResult",
    "LintEntry",
    "LintResult",
    "RedoResult",
    "RepairMark",
    "RepairResult",
    "RollbackResult",
    "StartupRestore",
    "UpResult",
    "ValidationResult",
]

#: What ``repair`` records a dirty migration as, once the user fixed the database by hand.
RepairMark = Literal["applied", "rolled-back"]


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
    #: Background backfills queued, not run (:mod:`lamina.api.backfills`): a worker runs them.
    queued: tuple[str, ...] = ()

    @property
    def out_of_order(self) -> tuple[str, ...]:
        return tuple(s.migration_id for s in self.plan.steps if s.out_of_order)

    def to_document(self) -> dict[str, object]:
        """The ``lamina up --json`` document (docs/json.md)."""
        from lamina.documents import up_document

        return up_document(self)


@dataclass(frozen=True, slots=True)
class BackfillRun:
    """What ``lamina backfill`` did: the backfills it ran to their end, or, when another
    worker was running them already, that worker (and nothing done here)."""

    finished: tuple[str, ...]
    other_worker: LockOwner | None = None

    def to_document(self) -> dict[str, object]:
        """The ``lamina backfill --json`` document (docs/json.md)."""
        from lamina.documents import backfill_document

        return backfill_document(self)


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

    def worst(self) -> RiskLevel | None:
        return max((r.level for r in (self.up, self.down) if r.level), default=None)


@dataclass(frozen=True, slots=True)
class LintTarget:
    """What a lint judged the SQL against.

    Attributes:
        dialect: the sqlglot dialect the statements were parsed in.
        facts: the live database's facts (empty offline, but for ``--server-version``).
        note: one line for people: the database, or the dialect and why it was chosen.
        live: whether ``facts`` came from the database.
    """

    dialect: str
    facts: LiveFacts
    note: str
    live: bool = True


@dataclass(frozen=True, slots=True)
class LintResult:
    """The risk report of every migration linted, and files that could not be loaded."""

    entries: tuple[LintEntry, ...]
    problems: tuple[Problem, ...] = ()
    target: LintTarget | None = None

    def fails(self, level: RiskLevel) -> bool:
        """Whether anything is at or above ``level``, or a file could not be loaded."""
        worst = [entry.worst() for entry in self.entries]
        return bool(errors_in(self.problems)) or any(w is not None and w >= level for w in worst)

    def to_document(self, level: RiskLevel | None = None) -> dict[str, object]:
        """The ``lamina lint --json`` document; ``ok`` is ``not fails(level)`` (danger when
        None)."""
        from lamina.documents import lint_document
        from lamina.risk import RiskLevel

        return lint_document(self, RiskLevel.DANGER if level is None else level)


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


@dataclass(frozen=True, slots=True)
class RedoResult:
    """What ``redo`` did (or would do with ``dry_run``): the rollback of ``redone``, newest
    first, then their up again, oldest first.

    ``modified`` names the redone migrations whose file changed since they were applied: they
    were rolled back with the down as the file has it now, and applied with its new up.
    ``rollback.plan.target`` is the version the database was at between the two halves.
    """

    redone: tuple[str, ...]
    rollback: RollbackResult
    up: UpResult
    modified: tuple[str, ...] = ()
    dry_run: bool = False

    def to_document(self) -> dict[str, object]:
        """The ``lamina redo --json`` document: the two runs' own documents, nested."""
        from lamina.documents import rollback_document, up_document

        def part(document: dict[str, object]) -> dict[str, object]:
            return {key: value for key, value in document.items() if key != "schema_version"}

        return {
            "schema_version": DOCUMENT_SCHEMA_VERSION,
            "dry_run": self.dry_run,
            "redone": list(self.redone),
            "modified": list(self.modified),
            "rollback": part(rollback_document(self.rollback)),
            "up": part(up_document(self.up)),
        }


#: How a startup restore reads in the audit log (``restore`` rows): written and parsed here.
_STARTUP_RESTORE = re.compile(
    r"^startup restore: the database file was missing; restored backup (?P<id>\S+) "
    r"taken (?P<taken>\S+)"
)


@dataclass(frozen=True, slots=True)
class StartupRestore:
    """A restore ``lamina.startup()`` made because the database file was missing
    (``LAMINA_RESTORE_IF_MISSING``), as its audit-log row records it."""

    backup_id: str
    backup_created_at: str
    #: When the restore was written to the audit log (ISO 8601 UTC).
    restored_at: str
    #: The migration version the backup was taken at.
    schema_version: int | None
    detail: str

    @staticmethod
    def audit_detail(backup_id: str, created_at: str, sha256: str) -> str:
        """The audit-log detail of a startup restore (:meth:`from_events` reads it back)."""
        return (
            f"startup restore: the database file was missing; restored backup {backup_id} "
            f"taken {created_at} (sha256 {sha256} verified); the audit log before this entry "
            "is the backup's"
        )

    @classmethod
    def from_events(cls, events: Sequence[AuditEvent]) -> StartupRestore | None:
        """The newest startup restore among ``events`` (the audit log, newest first)."""
        for event in events:
            found = _STARTUP_RESTORE.match(event.detail or "")
            if event.action == AuditAction.RESTORE and found:
                return cls(found["id"], found["taken"], event.at, event.version, event.detail or "")
        return None

    def to_dict(self) -> dict[str, object]:
        """The health document's ``restoredAtStartup`` (camelCase, as health is)."""
        return {
            "backupId": self.backup_id,
            "backupCreatedAt": self.backup_created_at,
            "restoredAt": self.restored_at,
            "schemaVersion": self.schema_version,
        }
