"""Schema drift: the snapshot each run records, and the live schema compared with it.

After every ``up``, ``rollback`` and ``repair`` the schema the run left is recorded (one
snapshot per run). ``status``, ``validate``, ``diff`` and the detailed health document compare
the live schema with it: what differs was changed outside lamina, unless a dirty history row
says a migration that failed half-way (or is running now) did it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
from collections.abc import Sequence
from typing import TYPE_CHECKING

from lamina.api.session import Session
from lamina.discovery import ScanResult
from lamina.engines.base import WORKER_LOCK, Backend, holder_of
from lamina.errors import LaminaError
from lamina.history import History
from lamina.migration_set import MigrationSet
from lamina.models import AppliedMigration, MigrationState, Problem, Severity, StatusReport
from lamina.planning import compute_status

if TYPE_CHECKING:
    from lamina.schema import Difference

__all__ = [
    "drift_problems",
    "read_drift",
    "record_schema",
    "record_schema_quietly",
    "schema_changes",
    "survey",
]


def record_schema(backend: Backend, history: History) -> None:
    """Snapshot the schema a run left, for drift detection (one snapshot per run, not per
    migration: its cost grows with the schema, and a run of a thousand steps must not pay
    it a thousand times). The digest goes on the newest applied row, which is how a later
    check knows whether the snapshot still describes the history (see :func:`read_drift`);
    the engine's catalog fingerprint, if it has one, lets that check skip the snapshot."""
    from lamina.schema import fingerprint, snapshot

    before = fingerprint(backend)
    taken = snapshot(backend)
    # A change between the two reads would pair this snapshot with another schema's print.
    raw = before if before is not None and fingerprint(backend) == before else ""
    applied = [row for row in history.applied() if not row.dirty]
    last = applied[-1].id if applied else None
    with backend.transaction():
        history.record_schema(last, taken.digest(), taken.to_json(), raw)


def record_schema_quietly(backend: Backend, history: History) -> None:
    """:func:`record_schema` after a failed run: its own failure must not hide the run's."""
    with contextlib.suppress(LaminaError):  # StatementError too: a refusal is lamina's type
        record_schema(backend, history)


def read_drift(
    backend: Backend, history: History, applied: Sequence[AppliedMigration] | None = None
) -> list[Difference] | None:
    """Live schema against the recorded one; None when nothing was recorded yet. ``applied``
    is the history the caller has just read, if it has (one read less)."""
    from lamina.schema import Snapshot, diff, fingerprint, snapshot, without_sequence_starts

    recorded = history.recorded_schema()
    if recorded is None:
        return None
    clean = [row for row in (history.applied() if applied is None else applied) if not row.dirty]
    if (clean[-1].id if clean else "") != recorded.taken_at:
        # History moved on without a new snapshot (a run was killed, or a row was changed by
        # hand): any difference could be lamina's own, so drift is unknown, not reported.
        return None
    if recorded.fingerprint and fingerprint(backend) == recorded.fingerprint:
        return []  # the raw catalog the snapshot was read from is unchanged
    live = snapshot(backend)
    if live.digest() == recorded.digest:
        return []
    try:
        recorded_snapshot = Snapshot.from_dict(json.loads(history.recorded_snapshot() or ""))
    except (ValueError, KeyError, TypeError):
        return None  # written by another lamina, or damaged: no basis for a comparison
    if backend.capabilities.sequence_start_is_state:
        recorded_snapshot = without_sequence_starts(recorded_snapshot)
        live = without_sequence_starts(live)
    return diff(recorded_snapshot, live)


def schema_changes(session: Session) -> tuple[list[Difference] | None, tuple[str, ...]]:
    """The drift, and the dirty migrations whose failure or run explains it."""
    with session.reader() as (backend, history):
        if history is None:
            return None, ()
        causes = tuple(row.id for row in history.applied() if row.dirty)
        return read_drift(backend, history), causes


def survey(
    session: Session,
    scanned: ScanResult,
    problems: Sequence[Problem],
    wait_s: float | None = None,
    *,
    drift: bool = False,
) -> tuple[MigrationSet, StatusReport]:
    """Read history once (read-only) and classify every migration against it; with
    ``drift``, also compare the live schema with the one the last run recorded."""
    differences: tuple[str, ...] | None = None
    with session.reader(wait_s) as (backend, history):
        applied = history.applied() if history else []
        holder = backend.lock_holder()
        # A backfill under way runs while a worker holds its lock, else it is paused.
        worker = holder_of(backend, WORKER_LOCK) if any(r.backfill for r in applied) else None
        if drift and history is not None:
            found = read_drift(backend, history, applied)
            differences = None if found is None else tuple(str(d) for d in found)
    migrations = MigrationSet.build(scanned.files, applied, problems)
    report = compute_status(migrations, applied, holder, worker)
    if any(row.dirty for row in applied):
        # Not drift: a failed migration kept part of its work, or a run is changing the
        # schema right now. What differs from the last clean run is that migration's.
        leftovers = (differences or None) if report.dirty else None
        return migrations, dataclasses.replace(report, leftovers=leftovers)
    return migrations, dataclasses.replace(report, drift=differences)


def drift_problems(status: StatusReport, *, modified: Severity) -> list[Problem]:
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
