"""Every ``--json`` document, defined once, for the CLI and for applications alike.

A document is a plain dict of JSON values (``json.dumps`` needs no ``default``). The naming
convention and every document's keys are in docs/json.md: keys are snake_case; every
top-level document starts with ``"schema_version": 1`` (:data:`SCHEMA_VERSION`); a concept has
one key name in every document (``applied_by``, ``current_version``, ``migration_id`` ...).
The health document (:func:`lamina.health.check`) is the one exception: it is the seed's
camelCase document, key for key.

Results of the API carry a ``to_document()`` method that returns their document
(:meth:`lamina.models.StatusReport.to_document`, :meth:`lamina.api.UpResult.to_document` ...).
What the API returns as a plain list or tuple (history events, backups, schema changes,
accepted checksums) gets its document from a function here. Example::

    from lamina import Lamina, documents, load_settings

    lamina = Lamina(load_settings())
    print(json.dumps(lamina.status().to_document()))
    print(json.dumps(documents.history_document(lamina.history(10))))
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from lamina.models import (
    DOCUMENT_SCHEMA_VERSION,
    AuditEvent,
    LockOwner,
    Problem,
    Severity,
    StatusReport,
)

if TYPE_CHECKING:
    from lamina.api import (
        ChecksumAccepted,
        CreateResult,
        LintResult,
        RepairResult,
        RollbackResult,
        UpResult,
        ValidationResult,
    )
    from lamina.api.results import BackfillRun
    from lamina.backup import BackupRecord, BrokenManifest
    from lamina.risk import RiskLevel
    from lamina.safety import StepPreview
    from lamina.schema import Difference
    from lamina.verify import StepReport, VerifyResult

__all__ = [
    "SCHEMA_VERSION",
    "Document",
    "backup_document",
    "backup_part",
    "backups_document",
    "busy_message",
    "checksums_document",
    "create_document",
    "difference_part",
    "drift_document",
    "error_document",
    "graph_document",
    "history_document",
    "interrupted_document",
    "lint_document",
    "preview_part",
    "repair_document",
    "restore_document",
    "rollback_document",
    "rules_document",
    "status_busy_document",
    "step_report_part",
    "up_document",
    "validation_document",
    "verify_document",
]

#: The ``schema_version`` of every top-level document.
SCHEMA_VERSION = DOCUMENT_SCHEMA_VERSION

#: A JSON object: snake_case keys, JSON values.
Document = dict[str, object]


def _document(**keys: object) -> Document:
    return {"schema_version": SCHEMA_VERSION, **keys}


# -- parts shared by several documents ------------------------------------------------------
def preview_part(preview: StepPreview) -> Document:
    """One planned step of ``up`` or ``rollback``: its risk, findings and statements."""
    risk = preview.risk.to_dict()
    return {
        "id": preview.step.migration_id,
        "version": preview.step.version,
        "name": preview.name,
        "category": preview.category,
        "out_of_order": preview.step.out_of_order,
        "atomic": preview.atomic,
        "batched": None if preview.ranges is None else preview.ranges.to_dict(),
        "risk": risk["risk"],
        "findings": risk["findings"],
        "statements": [
            {"sql": s.sql, "line": s.line, "query": s.is_query} for s in preview.statements
        ],
    }


def backup_part(record: BackupRecord) -> Document:
    """One backup's manifest. The manifest's ``schema_version`` (the database's migration
    version when the backup was taken) is ``current_version`` here, as in ``status``:
    ``schema_version`` is the document's own version."""
    part = record.to_dict()
    part["current_version"] = part.pop("schema_version")
    return part


def difference_part(difference: Difference) -> Document:
    return {
        "kind": difference.kind,
        "object": difference.object,
        "detail": difference.detail,
        "note": difference.note,
        "lines": list(difference.lines),
    }


def step_report_part(step: StepReport) -> Document:
    return {
        "id": step.migration_id,
        "name": step.name,
        "outcome": step.outcome,
        "problems": list(step.problems),
        "notes": list(step.notes),
        "data": list(step.data),
        "up_ms": step.up_ms,
        "down_ms": step.down_ms,
        "halted": step.halted,
    }


# -- one document per command ---------------------------------------------------------------
def busy_message(holder: LockOwner) -> str:
    """Why ``status`` cannot read a DuckDB file a lamina run holds open."""
    return (
        f"a migration run is in progress: lock held by {holder.describe()}; the DuckDB file "
        "cannot be read until it ends"
    )


def status_busy_document(holder: LockOwner, database: str) -> Document:
    """``status --json`` while a lamina run holds the DuckDB file: no counts can be read."""
    problem = Problem(Severity.INFO, busy_message(holder), code="in-progress")
    return _document(
        database=database,
        in_progress=True,
        up_to_date=False,
        lock=holder.to_record(),
        problems=[problem.to_dict()],
    )


def validation_document(result: ValidationResult, *, strict: bool = False) -> Document:
    return _document(
        ok=result.ok(strict=strict),
        checked=result.checked,
        errors=[p.to_dict() for p in result.errors],
        warnings=[p.to_dict() for p in result.warnings],
    )


def up_document(result: UpResult) -> Document:
    return _document(
        dry_run=result.dry_run,
        target=result.plan.target,
        applied=list(result.applied),
        out_of_order=list(result.out_of_order),
        plan=[preview_part(p) for p in result.previews],
        warnings=[p.to_dict() for p in result.warnings],
        backups=[backup_part(b) for b in result.backups],
        queued=list(result.queued),
    )


def backfill_document(run: BackfillRun) -> Document:
    """``lamina backfill --json``: the backfills it ran to their end, or the other worker."""
    other = run.other_worker
    return _document(
        finished=list(run.finished), other_worker=None if other is None else other.to_record()
    )


def rollback_document(result: RollbackResult) -> Document:
    return _document(
        dry_run=result.dry_run,
        target=result.plan.target,
        reverted=list(result.reverted),
        forced=list(result.forced),
        plan=[preview_part(p) for p in result.previews],
        backups=[backup_part(b) for b in result.backups],
    )


def lint_document(result: LintResult, level: RiskLevel) -> Document:
    """``level`` is the threshold ``ok`` is judged against (``lint --level``)."""
    target = result.target
    version = target.facts.server_version if target else None
    return _document(
        ok=not result.fails(level),
        level=level.label,
        dialect=target.dialect if target else None,
        server_version=".".join(map(str, version)) if version else None,
        live_facts=target.live if target else False,
        note=target.note if target else None,
        migrations=[
            {
                "id": e.file.id,
                "name": e.file.meta.name,
                "path": str(e.file.path),
                "up": e.up.to_dict(),
                "down": e.down.to_dict(),
            }
            for e in result.entries
        ],
        problems=[p.to_dict() for p in result.problems],
    )


def rules_document() -> Document:
    """``lint --rules --json``: the rule catalogue (docs/risk-rules.md)."""
    from lamina.risk import CATALOGUE

    return _document(
        rules=[
            {
                "id": r.id,
                "level": r.level.label,
                "title": r.title,
                "dialects": list(r.dialects),
                "explanation": r.explanation,
                "alternative": r.alternative,
            }
            for r in CATALOGUE
        ]
    )


def history_document(events: Sequence[AuditEvent]) -> Document:
    """``history --json``: the audit log as :meth:`lamina.api.Lamina.history` returns it."""
    return _document(events=[e.to_dict() for e in events])


def repair_document(result: RepairResult) -> Document:
    return _document(
        id=result.migration_id,
        marked=result.mark,
        previous_status=result.was.state,
        detail=result.was.detail,
    )


def checksums_document(accepted: Sequence[ChecksumAccepted]) -> Document:
    """``repair --accept-checksum --json``."""
    return _document(
        accepted=[
            {"id": a.migration_id, "previous_checksum": a.was, "checksum": a.now} for a in accepted
        ]
    )


def create_document(result: CreateResult) -> Document:
    return _document(id=result.migration_id, path=str(result.path))


def backups_document(
    records: Sequence[BackupRecord], broken: Sequence[BrokenManifest] = ()
) -> Document:
    """``backup list --json``, from what :meth:`lamina.api.Lamina.backups` returns."""
    return _document(
        backups=[backup_part(r) for r in records],
        unreadable=[{"path": str(b.path), "problem": b.problem} for b in broken],
    )


def backup_document(record: BackupRecord) -> Document:
    """``backup create --json``."""
    return _document(backup=backup_part(record))


def restore_document(record: BackupRecord) -> Document:
    """``backup restore --json``."""
    return _document(restored=backup_part(record))


def verify_document(result: VerifyResult) -> Document:
    return _document(
        ok=result.ok,
        engine=result.engine,
        migrations=[step_report_part(s) for s in result.steps],
    )


def drift_document(
    differences: Sequence[Difference] | None, causes: Sequence[str] = ()
) -> Document:
    """``diff --json``, from what :meth:`lamina.api.Lamina.schema_changes` returns:
    ``recorded`` is false when no schema was recorded yet; ``left_by`` names the failed or
    running migrations whose doing the differences are."""
    return _document(
        recorded=differences is not None,
        left_by=list(causes),
        differences=[difference_part(d) for d in differences or ()],
    )


def graph_document(report: StatusReport, parents: Mapping[str, Sequence[str]]) -> Document:
    """``graph --json``, from what :meth:`lamina.api.Lamina.graph` returns: every migration in
    the order lamina applies them (a status entry and ``depends_on``, its declared
    dependencies), each dependency as an edge (``from`` is needed by ``to``), and ``ok``:
    false when the dependencies form a cycle or name an unknown migration (``problems``)."""
    known = {m.id for m in report.migrations}
    needs = {m.id: [p for p in parents.get(m.id, ()) if p in known] for m in report.migrations}
    return _document(
        ok=not any(p.code in ("cycle", "unknown") for p in report.problems),
        nodes=[{**m.to_dict(), "depends_on": needs[m.id]} for m in report.migrations],
        edges=[{"from": parent, "to": child} for child in needs for parent in needs[child]],
        problems=[p.to_dict() for p in report.problems],
    )


# -- errors: a LaminaError's own is its to_document() -----------------------------------------
def error_document(
    message: str, *, hint: str | None, exit_code: int, kind: str, **fields: object
) -> Document:
    """The ``--json`` document of an error that is not a :class:`~lamina.errors.LaminaError`
    (an unexpected exception, a usage error click found): the keys of
    :meth:`~lamina.errors.LaminaError.to_document`, in the same order."""
    return _document(error=message, hint=hint, exit_code=exit_code, kind=kind, **fields)


def interrupted_document(exc: BaseException) -> Document:
    """The ``--json`` document of a command stopped by Ctrl-C or SIGTERM (exit 130, 143): the
    one line :func:`lamina.signals.describe` gives, the signal, and where the run stopped
    (``stop``: null when no migration of the run had started)."""
    from lamina.signals import describe, exit_code, signal_name, stop_point

    message, hint = describe(exc)
    point = stop_point(exc)
    stop = None
    if point is not None:
        stop = {
            "direction": point.direction,
            "migration_id": point.migration_id,
            "outcome": point.outcome,
            "statement": point.statement,
            "done": list(point.done),
            "rows_done": point.rows_done,
            "rows_total": point.rows_total,
        }
    return error_document(
        message,
        hint=hint,
        exit_code=exit_code(exc),
        kind="Interrupted",
        signal=signal_name(exc),
        stop=stop,
    )
