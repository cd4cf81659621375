"""Every piece of human and JSON output the CLI prints.

Human output uses rich (colour on a terminal, plain text in a pipe, none with ``NO_COLOR``);
``--json`` output is plain ``json.dumps`` through click, with no markup, on stdout.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import cache
from typing import TYPE_CHECKING, Any

import click

from lamina.models import (
    AuditEvent,
    LockOwner,
    MigrationState,
    Problem,
    StatusReport,
    errors_in,
)

if TYPE_CHECKING:
    from rich.console import Console

    from lamina.api import (
        ChecksumAccepted,
        CreateResult,
        LintResult,
        RepairResult,
        RollbackResult,
        StepPreview,
        UpResult,
        ValidationResult,
    )
    from lamina.backup import BackupRecord, BrokenManifest, Progress
    from lamina.risk import RiskFinding, RiskLevel, RiskReport
    from lamina.runner import RunEvent
    from lamina.schema import Difference
    from lamina.verify import StepReport, VerifyResult

_STATE_STYLE = {
    MigrationState.APPLIED: "green",
    MigrationState.PENDING: "yellow",
    MigrationState.MODIFIED: "bold red",
    MigrationState.MISSING: "bold red",
    MigrationState.FAILED: "bold red",
    MigrationState.RUNNING: "yellow",
}
_RISK_STYLE = {"info": "cyan", "warning": "yellow", "danger": "bold red"}


#: Width for output that is not a terminal (pipes, CI logs): wide enough that ids and
#: timestamps are never cut, unless COLUMNS says otherwise.
_PIPE_WIDTH = 160


@cache
def console() -> Console:
    from rich.console import Console

    out = Console(highlight=False, soft_wrap=True)
    if not out.is_terminal and "COLUMNS" not in os.environ:
        out = Console(highlight=False, soft_wrap=True, width=_PIPE_WIDTH)
    return out


def emit_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, default=str))


# -- status -----------------------------------------------------------------------------------
def status_document(report: StatusReport) -> dict[str, Any]:
    last = report.last_applied
    return {
        "database": report.database,
        "environment": report.environment,
        "current_version": report.current_version,
        "applied": report.applied_count,
        "pending": len(report.pending),
        "failed": len(report.dirty),
        "in_progress": len(report.in_progress),
        "total": len(report.migrations),
        "up_to_date": report.up_to_date,
        "last_migration": (
            {"id": last.id, "name": last.name, "applied_at": last.applied_at} if last else None
        ),
        "migrations": [
            {
                "id": m.id,
                "version": m.version,
                "name": m.name,
                "category": m.category,
                "status": m.state.value,
                "applied_at": m.applied_at,
                "out_of_order": m.out_of_order,
                **(
                    {"failed_statement": m.failed_statement, "detail": m.detail}
                    if m.state in (MigrationState.FAILED, MigrationState.RUNNING)
                    else {}
                ),
            }
            for m in report.migrations
        ],
        "dirty": [m.id for m in report.dirty],
        "drift": None if report.drift is None else list(report.drift),
        "leftovers": None if report.leftovers is None else list(report.leftovers),
        "lock": _lock_document(report),
        "problems": [_problem_document(p) for p in (*report.findings, *report.problems)],
    }


def _lock_document(report: StatusReport) -> dict[str, Any] | None:
    holder = report.lock_holder
    if holder is None:
        return None
    return {
        "host": holder.host,
        "pid": holder.pid,
        "started_at": holder.started_at,
        "command": holder.command,
        "container": holder.container,
    }


#: Human status lists the most recent applied migrations and at most this many pending ones;
#: ``--json`` always lists every migration.
_RECENT_APPLIED = 10
_BAR = "=" * 60
_PENDING_SHOWN = 50


def status(report: StatusReport, *, as_json: bool, verbose: bool = False) -> None:
    """The status panel. Every problem is listed, and the last line never says "up to date"
    while there is one; warnings that are the same for many files (no down) are summarised
    in one line unless ``verbose`` (``--json`` always lists them all)."""
    if as_json:
        emit_json(status_document(report))
        return
    out = console()
    out.print(_BAR)
    out.print("[bold]📊 MIGRATION STATUS")
    out.print(_BAR)
    _status_banners(report)
    _status_counts(report)
    _status_table(report)
    out.print()
    _status_problems(report, verbose=verbose)
    if report.pending:
        late = sum(1 for m in report.pending if m.out_of_order)
        note = f" ({late} out of order: older than the newest applied)" if late else ""
        out.print(f"[yellow]⏳ {len(report.pending)} pending migration(s){note}: run `lamina up`.")
    if report.needs_attention:
        count = sum(1 for p in report.findings if p.code != "in-progress") + len(
            errors_in(report.problems)
        )
        out.print(f"[bold red]✗ Database needs attention: {_count(count, 'problem', 'problems')}.")
    elif report.in_progress or report.lock_holder:
        out.print("[yellow]⏳ A migration run is in progress (it holds the migration lock).")
    elif report.up_to_date:
        out.print("[green]✅ Database is up to date.")
    out.print(_BAR)


def _status_banners(report: StatusReport) -> None:
    out = console()
    for m in report.dirty:
        out.print(
            f"[bold red]⛔ DIRTY: {m.id} stopped half-way"
            + (f" at statement {m.failed_statement}" if m.failed_statement else "")
            + f" ({m.detail or m.state.value}).[/]\n"
            "   Nothing will run until it is resolved: fix the database by hand, then "
            f"`lamina repair {m.id} --mark-applied` (finished) or `lamina repair {m.id} "
            "--mark-rolled-back` (undone)."
        )
    for m in report.in_progress:
        holder = report.lock_holder.describe() if report.lock_holder else "a live run"
        out.print(
            f"[bold yellow]⏳ IN PROGRESS: {m.id} is being applied by the run holding the "
            f"migration lock: {holder}[/]" + (f" ({m.detail})" if m.detail else "")
        )


def _status_counts(report: StatusReport) -> None:
    out = console()
    last = report.last_applied
    out.print(f"Database:           {report.database} ({report.environment})")
    out.print(f"Current version:    {report.current_version}")
    out.print(f"Applied migrations: {report.applied_count}")
    if report.dirty:
        out.print(f"Failed migrations:  {len(report.dirty)}")
    if report.in_progress:
        out.print(f"In progress:        {len(report.in_progress)}")
    out.print(f"Pending migrations: {len(report.pending)}")
    out.print(f"Total migrations:   {len(report.migrations)}")
    if last:
        out.print(f"Last migration:     {last.name} ({last.applied_at})")
    if report.lock_holder:
        out.print(f"[bold yellow]Migration lock held by {report.lock_holder.describe()}")


def _status_problems(report: StatusReport, *, verbose: bool) -> None:
    out = console()
    irreversible = [p for p in report.problems if p.code == "irreversible"]
    _problems([p for p in report.problems if verbose or p.code != "irreversible"])
    if irreversible and not verbose:
        which = _count(len(irreversible), "migration has", "migrations have")
        out.print(
            f"[yellow]warning[/]: {which} no down (cannot be rolled back): see --verbose "
            "(`lamina --verbose status` lists them)"
        )
    for problem in report.findings:
        if problem.code in ("modified", "missing"):
            out.print(f"[bold red]✗ {problem.message}")
    if report.in_state(MigrationState.MODIFIED):
        out.print(
            "   Restore the file, or accept a harmless edit: `lamina repair ID "
            "--accept-checksum` (`lamina repair --all --accept-checksum` for all)."
        )
    if report.leftovers:
        failed = ", ".join(m.id for m in report.dirty)
        out.print(
            f"[bold red]✗ left by the failed migration {failed}: {len(report.leftovers)} "
            "change(s) since the last clean run (`lamina diff` lists them):"
        )
        for line in report.leftovers[:10]:
            out.print(f"    {line}")
    if report.drift:
        out.print(
            f"[bold red]✗ schema drift: {len(report.drift)} change(s) made outside lamina "
            "(`lamina diff` lists them):"
        )
        for line in report.drift[:10]:
            out.print(f"    {line}")


def status_busy(holder: LockOwner, database: str, *, as_json: bool) -> None:
    """Status of a DuckDB file a lamina run holds open: a migration in progress."""
    message = (
        f"a migration run is in progress: lock held by {holder.describe()}; the DuckDB file "
        "cannot be read until it ends"
    )
    if as_json:
        emit_json(
            {
                "database": database,
                "in_progress": True,
                "up_to_date": False,
                "lock": holder.to_record(),
                "problems": [
                    {
                        "severity": "info",
                        "message": message,
                        "path": None,
                        "line": None,
                        "code": "in-progress",
                    }
                ],
            }
        )
        return
    console().print(f"[bold yellow]⏳ {database}: {message}.")


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def _status_table(report: StatusReport) -> None:
    from rich.table import Table

    applied = [m for m in report.migrations if m.state is MigrationState.APPLIED]
    recent = {m.id for m in applied[-_RECENT_APPLIED:]}
    pending_ids = {m.id for m in report.pending[:_PENDING_SHOWN]}
    rows = [
        m
        for m in report.migrations
        if m.id in recent
        or m.id in pending_ids
        or m.state
        in (
            MigrationState.MODIFIED,
            MigrationState.MISSING,
            MigrationState.FAILED,
            MigrationState.RUNNING,
        )
    ]
    if not rows:
        return
    table = Table(box=None, pad_edge=False, show_header=True, header_style="bold")
    table.add_column("id", no_wrap=True)
    table.add_column("name", no_wrap=True, overflow="ellipsis", max_width=40)
    table.add_column("category", no_wrap=True)
    table.add_column("status", no_wrap=True)
    table.add_column("applied at", no_wrap=True)
    for m in rows:
        state = m.state.value + (" (out of order)" if m.out_of_order else "")
        style = _STATE_STYLE[m.state]
        table.add_row(m.id, m.name, m.category, f"[{style}]{state}", _short_time(m.applied_at))
    out = console()
    out.print()
    hidden_applied = len(applied) - len(recent)
    if hidden_applied > 0:
        out.print(
            f"[dim]… {hidden_applied} earlier applied migration(s) not shown "
            "(`lamina status --json` lists all)"
        )
    out.print(table)
    hidden_pending = len(report.pending) - len(pending_ids)
    if hidden_pending > 0:
        out.print(f"[dim]… and {hidden_pending} more pending migration(s)")


# -- validate ---------------------------------------------------------------------------------
def _problem_document(problem: Problem) -> dict[str, Any]:
    return {
        "severity": problem.severity.value,
        "message": problem.message,
        "path": str(problem.path) if problem.path else None,
        "line": problem.line,
        "code": problem.code or None,
    }


def _problems(problems: Sequence[Problem]) -> None:
    out = console()
    for problem in problems:
        style = "bold red" if problem.severity.value == "error" else "yellow"
        out.print(f"[{style}]{problem.severity.value}[/]: {problem.render()}", markup=True)


def validation(result: ValidationResult, *, as_json: bool, strict: bool) -> None:
    if as_json:
        emit_json(
            {
                "ok": result.ok(strict=strict),
                "checked": result.checked,
                "errors": [_problem_document(p) for p in result.errors],
                "warnings": [_problem_document(p) for p in result.warnings],
            }
        )
        return
    out = console()
    _problems(result.problems)
    summary = (
        f"{result.checked} migration file(s) checked: "
        f"{len(result.errors)} error(s), {len(result.warnings)} warning(s)"
    )
    style = "green" if result.ok(strict=strict) else "bold red"
    out.print(f"[{style}]{summary}")


# -- up / rollback ----------------------------------------------------------------------------
def progress_printer() -> Any:
    """An ``on_event`` callback printing one line per finished (or failed) step."""
    out = console()

    def on_event(event: RunEvent) -> None:
        verb = "applied" if event.direction.value == "up" else "reverted"
        counter = f"[{event.index}/{event.total}]"
        if event.kind == "note":
            detail = event.detail or ""
            if _is_warning_note(detail):
                out.print(f"[yellow]⚠ {detail}")
            else:
                out.print(f"[cyan]ℹ {detail}")
            return
        if event.kind == "start":
            if not event.atomic and event.statements != 1:
                count = (
                    f"its {event.statements} statements" if event.statements else "its statements"
                )
                out.print(
                    f"[yellow]⚠ {event.migration_id} is not atomic: {count} cannot be rolled "
                    "back together if one fails (DDL commits implicitly, or it runs outside a "
                    "transaction)"
                )
            if out.is_terminal:
                out.print(f"[dim]{counter} {event.migration_id} …", end="\r")
            return
        if event.kind == "done":
            late = " [yellow](out of order)" if event.out_of_order else ""
            risk = ""
            if event.risk and event.risk != "low":
                risk = f" [{_RISK_STYLE[event.risk]}]risk: {event.risk}[/]"
            out.print(
                f"[green]✓[/] {counter} {verb} {event.migration_id} "
                f"[dim]{event.name} ({event.duration_ms} ms)[/]{risk}{late}"
            )
        else:
            out.print(f"[bold red]✗[/] {counter} {event.migration_id} failed")

    return on_event


def _is_warning_note(detail: str) -> bool:
    """Whether a note before a step reports something that went wrong (a backup before a
    risky step that failed) rather than something done (a backup taken)."""
    return detail.startswith("backup before") and " failed" in detail


#: A refusal names at most this many risky steps, unless --verbose (or --json) asks for all.
REFUSAL_SHOWN = 5


def refusal_message(message: str, steps: int, *, full: bool) -> str:
    """A refusal's message with its list of risky steps (``id (rules); id (rules)`` after
    the last colon) cut to the first few and "and N more", unless ``full``."""
    head, sep, names = message.rpartition(": ")
    entries = names.split("; ")
    if full or not sep or len(entries) != steps or steps <= REFUSAL_SHOWN:
        return message
    shown = "; ".join(entries[:REFUSAL_SHOWN])
    more = steps - REFUSAL_SHOWN
    return f"{head}: {shown}; … and {more} more ({steps} in all; --verbose or --json lists all)"


def _preview_document(preview: StepPreview) -> dict[str, Any]:
    return {
        "id": preview.step.migration_id,
        "version": preview.step.version,
        "name": preview.name,
        "category": preview.category,
        "out_of_order": preview.step.out_of_order,
        "atomic": preview.atomic,
        "risk": preview.risk.level.label if preview.risk.level else None,
        "findings": [_finding_document(f) for f in preview.risk.findings],
        "statements": [
            {"sql": s.sql, "line": s.line, "query": s.is_query} for s in preview.statements
        ],
    }


def _previews(previews: Sequence[StepPreview], verb: str) -> None:
    out = console()
    for preview in previews:
        level = preview.risk.level
        risk = f"[{_RISK_STYLE[level.label]}]{level.label}[/]" if level else "[green]low[/]"
        late = " [yellow](out of order)" if preview.step.out_of_order else ""
        out.print(
            f"[bold]{verb} {preview.step.migration_id}[/]  {preview.name}  "
            f"[dim]\\[{preview.category}][/]  risk: {risk}{late}"
        )
        if not preview.atomic and len(preview.statements) > 1:
            out.print(
                f"    [yellow]not atomic: a failure after the first of its "
                f"{len(preview.statements)} statements leaves earlier ones applied, and the "
                "migration marked failed"
            )
        _findings(preview.risk.findings, indent="    ")
        for statement in preview.statements:
            prefix = "-- reads: " if statement.is_query else ""
            text = statement.sql if statement.sql.endswith(";") else statement.sql + ";"
            for line in (prefix + text).splitlines():
                out.print(f"    [cyan]{line}", markup=True, highlight=False)
        if not preview.statements:
            out.print("    [dim]-- no statements")


def up(result: UpResult, *, as_json: bool) -> None:
    if as_json:
        emit_json(
            {
                "dry_run": result.dry_run,
                "applied": list(result.applied),
                "out_of_order": list(result.out_of_order),
                "plan": [_preview_document(p) for p in result.previews]
                if result.dry_run
                else [s.migration_id for s in result.plan.steps],
                "warnings": [_problem_document(p) for p in result.warnings],
            }
        )
        return
    out = console()
    _problems(result.warnings)
    if result.plan.empty:
        out.print("[green]✅ Database is up to date: nothing to apply.")
        return
    if result.dry_run:
        out.print(
            f"[bold]Dry run: {len(result.plan.steps)} migration(s) would be applied; "
            "nothing was changed.\n"
        )
        _previews(result.previews, "apply")
        return
    if result.out_of_order:
        out.print(
            f"[yellow]Applied out of order (older than the newest applied): "
            f"{', '.join(result.out_of_order)}"
        )
    out.print(f"[green]✅ Applied {len(result.applied)} migration(s).")


def rollback(result: RollbackResult, *, as_json: bool) -> None:
    if as_json:
        emit_json(
            {
                "dry_run": result.dry_run,
                "target": result.plan.target,
                "reverted": list(result.reverted),
                "forced": list(result.forced),
                "plan": [_preview_document(p) for p in result.previews],
            }
        )
        return
    out = console()
    if result.plan.empty:
        out.print(
            f"[green]Nothing to roll back: no applied migration above version {result.plan.target}."
        )
        return
    if result.dry_run:
        out.print(
            f"[bold]Dry run: {len(result.plan.steps)} migration(s) would be reverted "
            f"to reach version {result.plan.target}; nothing was changed.\n"
        )
        _previews(result.previews, "revert")
        if result.risky:
            out.print("\n[bold red]Risky steps: the real run needs --force (and confirmation).")
        return
    out.print(
        f"[green]✅ Rolled back {len(result.reverted)} migration(s) to version "
        f"{result.plan.target}."
    )


# -- health ----------------------------------------------------------------------------------
_HEALTH_STYLE = {"healthy": "green", "degraded": "yellow", "unhealthy": "bold red"}


def health(document: dict[str, Any], *, as_json: bool) -> None:
    if as_json:
        emit_json(document)
        return
    out = console()
    status = document["status"]
    out.print(
        f"[{_HEALTH_STYLE[status]}]{document['component']}: {status}[/] — {document['message']}"
    )
    details = document["details"]
    last = details.get("lastMigration")
    if details.get("totalMigrations") is not None:
        out.print(
            f"  version {details['currentVersion']}, {details['totalMigrations']} migration(s), "
            f"{details['pendingMigrations']} pending"
            + (f", last {last['id']} at {last['applied_at']}" if last else "")
        )
    failure = details.get("lastFailure")
    if failure:
        out.print(
            f"  last failure: {failure['migrationId']} at {failure['at']}: {failure['detail']}"
        )
    if "checkDurationMs" in document:
        out.print(f"  [dim]checked in {document['checkDurationMs']} ms")


# -- lint ------------------------------------------------------------------------------------
def _finding_document(finding: RiskFinding) -> dict[str, Any]:
    return {
        "rule": finding.rule,
        "level": finding.level.label,
        "message": finding.message,
        "suggestion": finding.suggestion,
        "line": finding.line,
        "statement": finding.statement,
        "allowed": finding.suppressed,
    }


def _findings(findings: Sequence[RiskFinding], *, indent: str) -> None:
    out = console()
    for finding in findings:
        where = f" (line {finding.line})" if finding.line else ""
        if finding.suppressed is not None:
            out.print(
                f"{indent}[dim]allowed {finding.rule}{where}: {finding.message} "
                f"— reason: {finding.suppressed}"
            )
            continue
        style = _RISK_STYLE[finding.level.label]
        out.print(
            f"{indent}[{style}]{finding.level.label}[/] {finding.rule}{where}: {finding.message}"
        )
        if finding.suggestion:
            out.print(f"{indent}  [dim]→ {finding.suggestion}")


def _report_document(report: RiskReport) -> dict[str, Any]:
    return {
        "risk": report.level.label if report.level else "low",
        "findings": [_finding_document(f) for f in report.findings],
    }


def lint(result: LintResult, *, as_json: bool, level: RiskLevel) -> None:
    if as_json:
        emit_json(
            {
                "ok": not result.fails(level),
                "level": level.label,
                "migrations": [
                    {
                        "id": e.file.id,
                        "name": e.file.meta.name,
                        "path": str(e.file.path),
                        "up": _report_document(e.up),
                        "down": _report_document(e.down),
                    }
                    for e in result.entries
                ],
                "problems": [_problem_document(p) for p in result.problems],
            }
        )
        return
    out = console()
    _problems(result.problems)
    for entry in result.entries:
        worst = entry.worst()
        label = f"[{_RISK_STYLE[worst.label]}]{worst.label}[/]" if worst else "[green]low[/]"
        out.print(f"[bold]{entry.file.id}[/]  {entry.file.meta.name}  risk: {label}")
        for report in (entry.up, entry.down):
            if report.findings:
                out.print(f"  {report.direction}:")
                _findings(report.findings, indent="    ")
    flagged = sum(1 for e in result.entries if (w := e.worst()) is not None and w >= level)
    style = "bold red" if result.fails(level) else "green"
    out.print(
        f"[{style}]{len(result.entries)} migration(s) linted: {flagged} at or above "
        f"{level.label}, {len(errors_in(result.problems))} that could not be loaded"
    )


def rules(*, as_json: bool) -> None:
    """The rule catalogue, as docs/risk-rules.md describes it."""
    from lamina.risk import CATALOGUE

    if as_json:
        emit_json(
            [
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
        return
    out = console()
    for r in CATALOGUE:
        style = _RISK_STYLE[r.level.label]
        out.print(f"[bold]{r.id}[/] [{style}]{r.level.label}[/] [dim]({', '.join(r.dialects)})[/]")
        out.print(f"    {r.explanation}")
        out.print(f"    [dim]→ {r.alternative}")


# -- backups ---------------------------------------------------------------------------------
def _backup_document(record: BackupRecord) -> dict[str, Any]:
    return record.to_dict()


def backups(
    records: Sequence[BackupRecord], broken: Sequence[BrokenManifest], *, as_json: bool
) -> None:
    if as_json:
        emit_json(
            {
                "backups": [_backup_document(r) for r in records],
                "unreadable": [{"path": str(b.path), "problem": b.problem} for b in broken],
            }
        )
        return
    out = console()
    for item in broken:
        out.print(f"[yellow]warning[/]: {item.path}: {item.problem}")
    if not records:
        out.print("No backups yet.")
        return
    from rich.table import Table

    table = Table(box=None, pad_edge=False, header_style="bold")
    for column in ("id", "taken", "version", "size", "trigger", "database"):
        table.add_column(column, no_wrap=True)
    for r in records:
        table.add_row(
            r.id, _short_time(r.created_at), str(r.schema_version), _bytes(r.size),
            r.trigger or "", r.database,
        )  # fmt: skip
    out.print(table)


def backup_taken(record: BackupRecord, *, as_json: bool) -> None:
    if as_json:
        emit_json(_backup_document(record))
        return
    console().print(
        f"[green]✅ Backup {record.id}[/] ({_bytes(record.size)}, sha256 {record.sha256[:12]}…)"
    )


def restored(record: BackupRecord, *, as_json: bool) -> None:
    if as_json:
        emit_json({"restored": _backup_document(record)})
        return
    console().print(
        f"[green]✅ Restored backup {record.id}[/] (schema version {record.schema_version}, "
        f"taken {_short_time(record.created_at)})."
    )


@contextmanager
def transfer(label: str, *, enabled: bool) -> Iterator[Progress | None]:
    """A progress bar on a terminal for a backup or restore; None elsewhere (no noise in CI)."""
    out = console()
    if not enabled or not out.is_terminal:
        yield None
        return
    from rich.progress import BarColumn, DownloadColumn, TextColumn
    from rich.progress import Progress as Bar

    with Bar(TextColumn(label), BarColumn(), DownloadColumn(), console=out, transient=True) as bar:
        task = bar.add_task(label, total=None)

        def update(done: int, total: int | None) -> None:
            bar.update(task, completed=done, total=total)

        yield update


def _bytes(size: int) -> str:
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{size} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"


# -- verify ----------------------------------------------------------------------------------
_OUTCOME_STYLE = {
    "ok": "green",
    "irreversible": "yellow",
    "not-reversible": "bold red",
    "failed": "bold red",
}


@contextmanager
def verify_progress(*, enabled: bool) -> Iterator[Any]:
    """A progress bar on a terminal; nothing elsewhere (the summary follows)."""
    out = console()
    if not enabled:
        yield None
        return
    if not out.is_terminal:
        yield None  # the summary lists every migration with its times
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    with Progress(TextColumn("verify"), BarColumn(), MofNCompleteColumn(), TextColumn(
        "{task.description}"), console=out, transient=True) as bar:  # fmt: skip
        task = bar.add_task("", total=None)

        def advance(index: int, total: int, step: StepReport) -> None:
            bar.update(task, completed=index, total=total, description=step.migration_id)

        yield advance


def verification(result: VerifyResult, *, as_json: bool) -> None:
    if as_json:
        emit_json(
            {
                "ok": result.ok,
                "engine": result.engine,
                "migrations": [
                    {
                        "id": s.migration_id,
                        "name": s.name,
                        "outcome": s.outcome,
                        "problems": list(s.problems),
                        "notes": list(s.notes),
                        "data": list(s.data),
                        "up_ms": s.up_ms,
                        "down_ms": s.down_ms,
                    }
                    for s in result.steps
                ],
            }
        )
        return
    from rich.markup import escape

    out = console()
    for step in result.steps:
        style = _OUTCOME_STYLE[step.outcome]
        out.print(
            f"[{style}]{step.outcome:<14}[/] {step.migration_id}  [dim]{step.name} "
            f"(up {step.up_ms} ms, down {step.down_ms} ms)"
        )
        for problem in step.problems:
            out.print(_indented(problem), markup=False, highlight=False)
        for note in step.notes:
            out.print(f"    [dim]note: {escape(note)}[/]")
        for note in step.data:
            out.print(f"    [yellow]data[/]: {note}")
    failed = len(result.failed)
    style = "bold red" if failed else "green"
    out.print(
        f"[{style}]{len(result.steps)} migration(s) verified on a scratch {result.engine} "
        f"database: {failed} failed"
    )


def _indented(text: str) -> str:
    """A multi-line problem (a summary, then a unified diff) indented under its step."""
    return "\n".join(f"    {line}" for line in text.splitlines())


# -- diff ------------------------------------------------------------------------------------
_DIFF_WORDS = {"added": "added by hand", "missing": "dropped by hand", "changed": "changed by hand"}


def drift(
    differences: Sequence[Difference] | None, *, as_json: bool, causes: Sequence[str] = ()
) -> None:
    """``lamina diff``: ``causes`` are dirty migrations, whose leftovers these differences are
    (then they are not called changes made by hand)."""
    if as_json:
        emit_json(
            {
                "recorded": differences is not None,
                "left_by": list(causes),
                "differences": [
                    {
                        "kind": d.kind,
                        "object": d.object,
                        "detail": d.detail,
                        "note": d.note,
                        "lines": list(d.lines),
                    }
                    for d in differences or ()
                ],
            }
        )
        return
    from rich.markup import escape

    out = console()
    if differences is None:
        out.print("No schema recorded yet: `lamina up` records one after each run.")
        return
    if not differences:
        out.print("[green]✅ No drift: the schema is what the last lamina run left.")
        return
    if causes:
        out.print(
            f"[bold red]{len(differences)} difference(s) from the schema the last clean run "
            f"left, made by {', '.join(causes)} (failed half-way or still running; see "
            "`lamina status`):"
        )
    else:
        out.print(f"[bold red]{len(differences)} difference(s) from the schema the last run left:")
    for d in differences:
        colour = "yellow" if d.kind == "changed" else "red"
        word = d.kind if causes else _DIFF_WORDS[d.kind]
        out.print(f"  [{colour}]{word}[/]: {escape(str(d))}")
        for line in d.lines:
            out.print(f"      {line}", markup=False, highlight=False)


# -- repair ----------------------------------------------------------------------------------
def repaired(result: RepairResult, *, as_json: bool) -> None:
    if as_json:
        emit_json(
            {
                "id": result.migration_id,
                "marked": result.mark,
                "was": result.was.state,
                "detail": result.was.detail,
            }
        )
        return
    now = "applied" if result.mark == "applied" else "pending again (its row was removed)"
    console().print(f"[green]✅ {result.migration_id} repaired: now {now}.")


def checksums_accepted(accepted: Sequence[ChecksumAccepted], *, as_json: bool) -> None:
    if as_json:
        emit_json(
            {"accepted": [{"id": a.migration_id, "was": a.was, "now": a.now} for a in accepted]}
        )
        return
    out = console()
    for a in accepted:
        out.print(
            f"[green]✅ {a.migration_id}: the edited file is accepted (checksum {a.now[:12]}…, "
            f"was {a.was[:12]}…)."
        )


# -- create ----------------------------------------------------------------------------------
def created(result: CreateResult, *, as_json: bool) -> None:
    """Just the path on stdout, so ``$EDITOR "$(lamina create add_phone)"`` works."""
    if as_json:
        emit_json({"id": result.migration_id, "path": str(result.path)})
    else:
        click.echo(str(result.path))


# -- history ----------------------------------------------------------------------------------
def history(events: Sequence[AuditEvent], *, as_json: bool) -> None:
    if as_json:
        emit_json(
            [
                {
                    "seq": e.seq,
                    "at": e.at,
                    "action": e.action,
                    "migration_id": e.migration_id,
                    "version": e.version,
                    "user": e.applied_by,
                    "host": e.host,
                    "duration_ms": e.duration_ms,
                    "detail": e.detail,
                }
                for e in events
            ]
        )
        return
    out = console()
    if not events:
        out.print("No migration activity recorded yet.")
        return
    from rich.table import Table

    table = Table(box=None, pad_edge=False, header_style="bold")
    for column in ("at", "action", "migration", "by", "took"):
        table.add_column(column, no_wrap=True)
    table.add_column("detail", overflow="fold")
    for e in events:
        style = "bold red" if e.action in ("fail", "force", "repair") else ""
        took = f"{e.duration_ms} ms" if e.duration_ms is not None else ""
        table.add_row(
            _short_time(e.at),
            f"[{style}]{e.action}" if style else e.action,
            e.migration_id or "",
            f"{e.applied_by}@{e.host}",
            took,
            e.detail or "",
        )
    out.print(table)


def _short_time(iso: str | None) -> str:
    """``2026-11-25T13:31:22.114233Z`` → ``2026-11-25 13:31:22`` for tables (JSON keeps all)."""
    return iso[:19].replace("T", " ") if iso else ""
