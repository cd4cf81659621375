"""The shared records: migrations, history rows, problems, the lock holder, statements."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

MigrationKind = Literal["py", "sql"]

#: The ``schema_version`` of every top-level ``--json`` document (docs/json.md); raised only
#: when a key is renamed or removed, never for an added key.
DOCUMENT_SCHEMA_VERSION = 1


class Category(enum.StrEnum):
    """What a migration changes; ``data`` migrations are risky to roll back."""

    SCHEMA = "schema"
    DATA = "data"
    INDEX = "index"
    CONSTRAINT = "constraint"


class MigrationState(enum.StrEnum):
    """Where one migration stands against the database's history."""

    APPLIED = "applied"
    PENDING = "pending"
    MODIFIED = "modified"  # applied, but the file changed since
    MISSING = "missing"  # applied, but the file is gone
    FAILED = "failed"  # stopped half-way outside a transaction: the database is dirty
    #: A non-atomic migration whose ``running`` row belongs to the run that holds the
    #: migration lock right now: in progress, not failed. It becomes FAILED (dirty) only
    #: once no live run holds the lock.
    RUNNING = "running"
    #: A batched migration stopped between batches (killed, stopped or failed): its
    #: progress is kept and ``lamina up`` resumes it at the next batch (lamina.backfill), or
    #: ``lamina rollback`` when it was its batched down that stopped.
    PAUSED = "paused"


class RowState(enum.StrEnum):
    """The state a row of ``lamina_migrations`` records; anything but APPLIED is dirty."""

    APPLIED = "applied"
    #: Written (and committed) before a non-atomic step starts; left behind if lamina dies.
    RUNNING = "running"
    #: A non-atomic step stopped half-way: some of its work was kept.
    FAILED = "failed"

    @classmethod
    def read(cls, text: str) -> RowState:
        """The state stored as ``text``; an unknown value (a newer lamina's, or a hand edit)
        counts as FAILED, so it is dirty and never taken for applied."""
        try:
            return cls(text)
        except ValueError:
            return cls.FAILED


class Direction(enum.StrEnum):
    UP = "up"
    DOWN = "down"


class Severity(enum.StrEnum):
    ERROR = "error"
    WARNING = "warning"
    #: Worth saying, not a problem (a migration in progress): never fails a command.
    INFO = "info"


class AuditAction(enum.StrEnum):
    """What an audit-log row records."""

    APPLY = "apply"
    ROLLBACK = "rollback"
    FAIL = "fail"
    FORCE = "force"
    REPAIR = "repair"
    BACKUP = "backup"
    RESTORE = "restore"


@dataclass(frozen=True, slots=True)
class MigrationMeta:
    """What a migration declares about itself, read without running its code."""

    name: str
    description: str = ""
    category: Category = Category.SCHEMA
    dependencies: tuple[str, ...] = ()
    #: Whether the up runs in a transaction (``-- transactional:``, ``-- migrate:up
    #: transaction:false``, or a Python class's ``transactional``).
    transactional: bool = True
    #: Whether there is a down to run: False only when there is none at all (no
    #: ``-- migrate:down`` marker, no ``down()`` method).
    reversible: bool = True
    #: Whether the down runs in a transaction (``-- migrate:down transaction:false``).
    transactional_down: bool = True
    #: A ``-- migrate:down`` section with no statement: rolling back runs nothing and only
    #: removes the history row.
    down_empty: bool = False

    def runs_in_transaction(self, direction: Direction) -> bool:
        """Whether the step in ``direction`` runs in one transaction."""
        return self.transactional if direction is Direction.UP else self.transactional_down


@dataclass(frozen=True, slots=True)
class MigrationFile:
    """One migration file on disk: identity, checksum and declared metadata."""

    id: str
    version: int
    slug: str
    path: Path
    kind: MigrationKind
    checksum: str
    meta: MigrationMeta


@dataclass(frozen=True, slots=True)
class AppliedMigration:
    """One row of ``lamina_migrations``: a migration the database has applied."""

    id: str
    version: int
    name: str
    category: str
    checksum: str
    applied_at: str  # ISO 8601, UTC
    execution_ms: int
    applied_by: str
    host: str
    #: See :class:`RowState`; anything but APPLIED is dirty.
    state: RowState = RowState.APPLIED
    #: For a dirty row: the 1-based statement that failed or was running.
    failed_statement: int | None = None
    #: For a dirty row: what happened, in words.
    detail: str | None = None
    #: Digest of the schema snapshot taken after the run that applied this migration (only
    #: on the last migration of each run; see lamina.schema).
    schema_hash: str | None = None

    @property
    def dirty(self) -> bool:
        return self.state is not RowState.APPLIED

    @property
    def backfill(self) -> bool:
        """A batched migration part-way through its batches (lamina.backfill), either way:
        not dirty, since the command of :attr:`backfill_direction` resumes it."""
        return self.backfill_direction is not None

    @property
    def backfill_direction(self) -> Direction | None:
        """Which way a backfill under way walks, read from the ``running`` row's detail:
        ``backfill up started ...`` (``lamina up`` resumes it, as any detail starting
        ``backfill `` that is not a down's) or ``backfill down started ...`` (a batched down:
        ``lamina rollback`` resumes it, ``up`` refuses to run); None for any other row."""
        return backfill_direction(self.state, self.detail)


def backfill_direction(state: RowState, detail: str | None) -> Direction | None:
    """:attr:`AppliedMigration.backfill_direction` of a row in ``state`` with ``detail``."""
    text = detail or ""
    if state is not RowState.RUNNING or not text.startswith("backfill "):
        return None
    return Direction.DOWN if text.startswith("backfill down ") else Direction.UP


@dataclass(frozen=True, slots=True)
class AuditEvent:
    """One row of the append-only ``lamina_migration_log``."""

    seq: int
    at: str
    action: str
    migration_id: str | None
    version: int | None
    applied_by: str
    host: str
    duration_ms: int | None
    detail: str | None

    def to_dict(self) -> dict[str, object]:
        """This event as an entry of the ``history`` document (docs/json.md)."""
        return {
            "seq": self.seq,
            "at": self.at,
            "action": self.action,
            "migration_id": self.migration_id,
            "version": self.version,
            "applied_by": self.applied_by,
            "host": self.host,
            "duration_ms": self.duration_ms,
            "detail": self.detail,
        }


@dataclass(frozen=True, slots=True)
class Problem:
    """One finding of validation, tied to a file (and line) when there is one."""

    severity: Severity
    message: str
    path: Path | None = None
    line: int | None = None
    code: str = ""

    def render(self) -> str:
        if self.path is None:
            return self.message
        where = f"{self.path}:{self.line}" if self.line else str(self.path)
        return f"{where}: {self.message}"

    def to_dict(self) -> dict[str, object]:
        """This problem as an entry of a document's ``problems`` (docs/json.md)."""
        return {
            "severity": self.severity.value,
            "message": self.message,
            "path": str(self.path) if self.path else None,
            "line": self.line,
            "code": self.code or None,
        }


def errors_in(problems: tuple[Problem, ...]) -> tuple[Problem, ...]:
    return tuple(p for p in problems if p.severity is Severity.ERROR)


def warnings_in(problems: tuple[Problem, ...]) -> tuple[Problem, ...]:
    return tuple(p for p in problems if p.severity is Severity.WARNING)


@dataclass(frozen=True, slots=True)
class LockOwner:
    """Who holds a migration lock, in terms a person can act on."""

    host: str
    pid: int
    started_at: str
    command: str = ""
    container: str | None = None

    def describe(self) -> str:
        where = f"{self.host}" + (f" (container {self.container})" if self.container else "")
        what = f"`{self.command}` " if self.command else ""
        return f"{what}pid {self.pid} on {where} since {self.started_at}"

    def to_record(self) -> dict[str, object]:
        """The JSON-ready form lamina stores with a lock (file, or ``lamina_lock`` row)."""
        return {
            "host": self.host,
            "pid": self.pid,
            "started_at": self.started_at,
            "command": self.command,
            "container": self.container,
        }

    @classmethod
    def from_record(cls, record: object) -> LockOwner:
        """Read :meth:`to_record`'s form back; missing or malformed fields become "unknown"
        (pid 0), so a damaged record still says that somebody holds the lock."""
        data = record if isinstance(record, dict) else {}

        def text(key: str) -> str | None:
            value = data.get(key)
            return value if isinstance(value, str) else None

        raw = data.get("pid")
        pid = raw if isinstance(raw, int) and not isinstance(raw, bool) and raw > 0 else 0
        return cls(
            host=text("host") or "unknown",
            pid=pid,
            started_at=text("started_at") or "unknown",
            command=text("command") or "",
            container=text("container"),
        )


@dataclass(frozen=True, slots=True)
class StatementRecord:
    """A statement a migration ran or would run, with its 1-based line in the file when known."""

    sql: str
    line: int | None = None
    is_query: bool = False
    params: tuple[object, ...] = field(default=())
