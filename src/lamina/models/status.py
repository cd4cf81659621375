"""What ``status`` reports: one :class:`MigrationStatus` per migration, and the
:class:`StatusReport` over them all."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from lamina.models.records import (
    DOCUMENT_SCHEMA_VERSION,
    AppliedMigration,
    LockOwner,
    MigrationState,
    Problem,
    Severity,
    errors_in,
)


@dataclass(frozen=True, slots=True)
class MigrationStatus:
    """One migration as ``status`` reports it."""

    id: str
    version: int
    name: str
    category: str
    state: MigrationState
    applied_at: str | None = None
    out_of_order: bool = False
    path: Path | None = None
    #: For a failed (dirty) migration: the statement reached and what happened.
    failed_statement: int | None = None
    detail: str | None = None

    def to_dict(self) -> dict[str, object]:
        """This migration as an entry of the ``status`` document's ``migrations``."""
        entry: dict[str, object] = {
            "id": self.id,
            "version": self.version,
            "name": self.name,
            "category": self.category,
            "status": self.state.value,
            "applied_at": self.applied_at,
            "out_of_order": self.out_of_order,
        }
        if self.state in (MigrationState.FAILED, MigrationState.RUNNING, MigrationState.PAUSED):
            entry.update(failed_statement=self.failed_statement, detail=self.detail)
        if self.backfill is not None:
            entry["backfill"] = self.backfill
        return entry

    @property
    def backfill(self) -> dict[str, object] | None:
        """A running or paused backfill's progress (see :func:`backfill_progress`)."""
        if self.state not in (MigrationState.RUNNING, MigrationState.PAUSED):
            return None
        return backfill_progress(self.detail)


_PROGRESS = re.compile(
    r"^backfill (?:(down) )?.*?; "
    r"backfill (\d+)/(\d+) rows, (\d+) batches, (\d+) ms, next key (-?\d+|None)"
)


def backfill_progress(detail: str | None) -> dict[str, object] | None:
    """A backfill's progress from its history row's detail (lamina.backfill writes it with
    every batch): its direction (``up``, or ``down`` for a batched rollback), rows done and
    in all, batches, percentage, rate and ETA in seconds."""
    found = _PROGRESS.match(detail or "")
    if found is None:
        return None
    done, total, batches, elapsed_ms = (int(found.group(i)) for i in range(2, 6))
    rate = done * 1000 / elapsed_ms if elapsed_ms and done else None
    left = max(total - done, 0)
    return {
        "direction": found.group(1) or "up",
        "rows_done": done,
        "rows_total": total,
        "batches": batches,
        "percent": round(100 * done / total, 1) if total else 100.0,
        "rows_per_second": None if rate is None else round(rate, 1),
        "eta_seconds": None if rate is None else round(left / rate, 1),
        "next_key": None if found.group(6) == "None" else int(found.group(6)),
    }


@dataclass(frozen=True, slots=True)
class StatusReport:
    """The whole picture: files against history. Built by :func:`lamina.planning.compute_status`."""

    migrations: tuple[MigrationStatus, ...]
    current_version: int
    last_applied: AppliedMigration | None = None
    lock_holder: LockOwner | None = None
    problems: tuple[Problem, ...] = ()
    database: str = ""  # the redacted URL
    environment: str = ""
    #: How the live schema differs from the one the last run left ("added column users.x"):
    #: changes made by hand. None when unknown (no snapshot recorded yet), and while a
    #: migration is failed or in progress (then the differences are that migration's own).
    drift: tuple[str, ...] | None = None
    #: With a failed (dirty) migration: how the live schema differs from the one the last
    #: clean run left, which is what the failed migration kept (plus anything made by hand
    #: since; the two cannot be told apart). None when unknown or nothing failed.
    leftovers: tuple[str, ...] | None = None

    def in_state(self, state: MigrationState) -> tuple[MigrationStatus, ...]:
        return tuple(m for m in self.migrations if m.state is state)

    @property
    def applied_count(self) -> int:
        """Migrations applied cleanly (a modified file or a missing one is still applied);
        failed and in-progress ones are not."""
        return sum(1 for m in self.migrations if m.state in _APPLIED_STATES)

    @property
    def pending(self) -> tuple[MigrationStatus, ...]:
        return self.in_state(MigrationState.PENDING)

    @property
    def paused(self) -> tuple[MigrationStatus, ...]:
        """Backfills stopped between batches; ``lamina up`` resumes them (``lamina rollback``
        those of a batched down: their ``backfill`` progress says ``direction``)."""
        return self.in_state(MigrationState.PAUSED)

    @property
    def in_progress(self) -> tuple[MigrationStatus, ...]:
        """Non-atomic migrations the run holding the migration lock is applying right now."""
        return self.in_state(MigrationState.RUNNING)

    @property
    def findings(self) -> tuple[Problem, ...]:
        """Everything wrong with the database against the files, one :class:`Problem` each,
        most serious first: failed (dirty) migrations, modified and missing files, what a
        failed migration left, schema drift; a migration in progress is an ``info`` entry."""
        found: list[Problem] = []
        for m in self.dirty:
            where = f" at statement {m.failed_statement}" if m.failed_statement else ""
            found.append(
                Problem(
                    Severity.ERROR,
                    f"{m.id} failed half-way{where} (dirty): {m.detail or 'failed'}",
                    m.path,
                    code="dirty",
                )
            )
        for m in self.in_state(MigrationState.MODIFIED):
            found.append(
                Problem(
                    Severity.ERROR,
                    f"{m.id} was modified after it was applied (checksum mismatch)",
                    m.path,
                    code="modified",
                )
            )
        for m in self.in_state(MigrationState.MISSING):
            found.append(
                Problem(
                    Severity.ERROR, f"{m.id} is applied but its file is missing", code="missing"
                )
            )
        failed = ", ".join(m.id for m in self.dirty)
        for line in self.leftovers or ():
            found.append(
                Problem(Severity.ERROR, f"left by failed {failed}: {line}", code="leftover")
            )
        for line in self.drift or ():
            found.append(
                Problem(Severity.ERROR, f"schema drift: {line} (made outside lamina)", code="drift")
            )
        for m in self.in_progress:
            holder = f" by {self.lock_holder.describe()}" if self.lock_holder else ""
            found.append(
                Problem(
                    Severity.INFO,
                    f"{m.id} is in progress: the run holding the migration lock{holder} is "
                    "applying it",
                    m.path,
                    code="in-progress",
                )
            )
        for m in self.paused:
            down = (m.backfill or {}).get("direction") == "down"
            what = "a batched rollback" if down else "a backfill"
            command = "lamina rollback" if down else "lamina up"
            found.append(
                Problem(
                    Severity.INFO,
                    f"{m.id} is {what} paused between batches ({m.detail or ''}): "
                    f"`{command}` resumes it at the next batch",
                    m.path,
                    code="backfill-paused",
                )
            )
        return tuple(found)

    @property
    def needs_attention(self) -> bool:
        """Something is wrong: a migration failed half-way, an applied file was modified or
        is missing, the schema drifted or holds a failed migration's leftovers, or the
        migration files are invalid. A migration in progress is not a problem."""
        return bool(errors_in(self.problems)) or any(
            p.severity is not Severity.INFO for p in self.findings
        )

    @property
    def up_to_date(self) -> bool:
        """Nothing pending, nothing in progress and nothing wrong."""
        return (
            not self.pending
            and not self.in_progress
            and not self.paused
            and not self.needs_attention
        )

    @property
    def dirty(self) -> tuple[MigrationStatus, ...]:
        """Failed migrations, and ``running`` ones no live run holds the lock for."""
        return self.in_state(MigrationState.FAILED)

    def to_document(self) -> dict[str, object]:
        """The ``lamina status --json`` document (docs/json.md): every migration, every
        problem (``findings`` first, then the files' own), the lock holder."""
        last = self.last_applied
        return {
            "schema_version": DOCUMENT_SCHEMA_VERSION,
            "database": self.database,
            "environment": self.environment,
            "current_version": self.current_version,
            "applied": self.applied_count,
            "pending": len(self.pending),
            "failed": len(self.dirty),
            "in_progress": len(self.in_progress),
            "paused": len(self.paused),
            "total": len(self.migrations),
            "up_to_date": self.up_to_date,
            "last_migration": (
                {"id": last.id, "name": last.name, "applied_at": last.applied_at} if last else None
            ),
            "migrations": [m.to_dict() for m in self.migrations],
            "dirty": [m.id for m in self.dirty],
            "drift": None if self.drift is None else list(self.drift),
            "leftovers": None if self.leftovers is None else list(self.leftovers),
            "lock": None if self.lock_holder is None else self.lock_holder.to_record(),
            "problems": [p.to_dict() for p in (*self.findings, *self.problems)],
        }


_APPLIED_STATES = (MigrationState.APPLIED, MigrationState.MODIFIED, MigrationState.MISSING)
