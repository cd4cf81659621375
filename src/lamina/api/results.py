"""The records :class:`~lamina.api.Lamina` returns, each with the ``to_document()`` that gives
the CLI's ``--json`` document (the documents themselves live in :mod:`lamina.documents`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from lamina.models import (
    AppliedMigration,
    MigrationFile,
    Problem,
    StatusReport,
    errors_in,
    warnings_in,
)
from lamina.planning import Plan
from lamina.risk import LiveFacts, RiskLevel, RiskReport
from lamina.safety import StepPreview

if TYPE_CHECKING:
    from lamina.backup import BackupRecord

__all__ = [
    "ChecksumAccepted",
    "CreateResult",
    "LintEntry",
    "LintResult",
    "RepairMark",
    "RepairResult",
    "RollbackResult",
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
