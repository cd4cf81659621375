"""``status`` and ``validate``: the status panel, its problems, the validation summary."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from rich.cells import cell_len
from rich.markup import escape

from lamina.cli.render.common import (
    COLUMN_GAP,
    COMPACT_TIME_WIDTH,
    compact_time,
    console,
    print_problems,
    short_time,
)
from lamina.documents import busy_message
from lamina.models import LockOwner, MigrationState, MigrationStatus, StatusReport, errors_in
from lamina.models.status import backfill_progress
from lamina.staticmeta import humanize

if TYPE_CHECKING:
    from rich.table import Table

    from lamina.api import ValidationResult


_STATE_STYLE = {
    MigrationState.APPLIED: "green",
    MigrationState.PENDING: "yellow",
    MigrationState.MODIFIED: "bold red",
    MigrationState.MISSING: "bold red",
    MigrationState.FAILED: "bold red",
    MigrationState.RUNNING: "yellow",
    MigrationState.PAUSED: "yellow",
}


#: Human status lists the most recent applied migrations and at most this many pending ones;
#: ``--json`` always lists every migration.
_RECENT_APPLIED = 10


_BAR = "=" * 60
#: Findings that are news, not problems (a run in progress, a paused backfill).
_INFO_CODES = ("in-progress", "backfill-paused")


_PENDING_SHOWN = 50


def status(report: StatusReport, *, verbose: bool = False) -> None:
    """The status panel. Every problem is listed, and the last line never says "up to date"
    while there is one; warnings that are the same for many files (no down) are summarised
    in one line unless ``verbose`` (``--json`` always lists them all)."""
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
        count = sum(1 for p in report.findings if p.code not in _INFO_CODES) + len(
            errors_in(report.problems)
        )
        out.print(f"[bold red]✗ Database needs attention: {_count(count, 'problem', 'problems')}.")
    elif report.in_progress or report.lock_holder:
        out.print("[yellow]⏳ A migration run is in progress (it holds the migration lock).")
    elif report.paused:
        paused = _count(len(report.paused), "backfill is", "backfills are")
        out.print(f"[yellow]⏸ {paused} paused between batches: `lamina up` resumes.")
    elif report.up_to_date:
        out.print("[green]✅ Database is up to date.")
    out.print(_BAR)


def _status_banners(report: StatusReport) -> None:
    out = console()
    for m in report.dirty:
        mid = escape(m.id)
        out.print(
            f"[bold red]⛔ DIRTY: {mid} stopped half-way"
            + (f" at statement {m.failed_statement}" if m.failed_statement else "")
            + f" ({escape(m.detail or m.state.value)}).[/]\n"
            "   Nothing will run until it is resolved: fix the database by hand, then "
            f"`lamina repair {mid} --mark-applied` (finished) or `lamina repair {mid} "
            "--mark-rolled-back` (undone)."
        )
    for m in report.in_progress:
        holder = report.lock_holder.describe() if report.lock_holder else "a live run"
        out.print(
            f"[bold yellow]⏳ IN PROGRESS: {escape(m.id)} is being applied by the run holding "
            f"the migration lock: {escape(holder)}[/]"
            + (f" ({escape(backfill_text(m.detail) or m.detail)})" if m.detail else "")
        )
    for m in report.paused:
        down = (m.backfill or {}).get("direction") == "down"
        resume = "`lamina rollback` resumes" if down else "`lamina up` or `lamina backfill` resume"
        out.print(
            f"[bold yellow]⏸ BACKFILL PAUSED: {escape(m.id)}, {backfill_text(m.detail)}[/]\n"
            f"   Its progress is kept: {resume} it at the next batch."
        )


def backfill_text(detail: str | None) -> str | None:
    """``1200/5000 rows (24.0%), 30 batches, 1500.0 rows/s, ETA 2.5 s`` from a backfill's
    history detail; None for any other detail."""
    progress = backfill_progress(detail)
    if progress is None:
        return None
    rate = progress["rows_per_second"]
    speed = "" if rate is None else f", {rate} rows/s, ETA {progress['eta_seconds']} s"
    return (
        f"{progress['rows_done']}/{progress['rows_total']} rows ({progress['percent']}%), "
        f"{progress['batches']} batches{speed}"
    )


def _status_counts(report: StatusReport) -> None:
    out = console()
    last = report.last_applied
    out.print(f"Database:           {report.database} ({report.environment})", markup=False)
    out.print(f"Current version:    {report.current_version}")
    out.print(f"Applied migrations: {report.applied_count}")
    if report.dirty:
        out.print(f"Failed migrations:  {len(report.dirty)}")
    if report.in_progress:
        out.print(f"In progress:        {len(report.in_progress)}")
    if report.paused:
        out.print(f"Paused backfills:   {len(report.paused)}")
    out.print(f"Pending migrations: {len(report.pending)}")
    out.print(f"Total migrations:   {len(report.migrations)}")
    if last:
        when = short_time(last.applied_at)
        out.print(f"Last migration:     {last.name} ({when} UTC)", markup=False)
    if report.lock_holder:
        out.print(f"[bold yellow]Migration lock held by {escape(report.lock_holder.describe())}")


def _status_problems(report: StatusReport, *, verbose: bool) -> None:
    out = console()
    irreversible = [p for p in report.problems if p.code == "irreversible"]
    print_problems([p for p in report.problems if verbose or p.code != "irreversible"])
    if irreversible and not verbose:
        which = _count(len(irreversible), "migration has", "migrations have")
        out.print(
            f"[yellow]warning[/]: {which} no down (cannot be rolled back): see --verbose "
            "(`lamina --verbose status` lists them)"
        )
    for problem in report.findings:
        if problem.code in ("modified", "missing"):
            out.print(f"[bold red]✗ {escape(problem.message)}")
    if report.in_state(MigrationState.MODIFIED):
        out.print(
            "   Restore the file, or accept a harmless edit: `lamina repair ID "
            "--accept-checksum` (`lamina repair --all --accept-checksum` for all)."
        )
    if report.leftovers:
        failed = escape(", ".join(m.id for m in report.dirty))
        out.print(
            f"[bold red]✗ left by the failed migration {failed}: {len(report.leftovers)} "
            "change(s) since the last clean run (`lamina diff` lists them):"
        )
        for line in report.leftovers[:10]:
            out.print(f"    {line}", markup=False)
    if report.drift:
        out.print(
            f"[bold red]✗ schema drift: {len(report.drift)} change(s) made outside lamina "
            "(`lamina diff` lists them):"
        )
        for line in report.drift[:10]:
            out.print(f"    {line}", markup=False)


def status_busy(holder: LockOwner, database: str) -> None:
    """Status of a DuckDB file a lamina run holds open: a migration in progress."""
    console().print(f"[bold yellow]⏳ {escape(database)}: {escape(busy_message(holder))}.")


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def _status_table(report: StatusReport) -> None:
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
            MigrationState.PAUSED,
        )
    ]
    if not rows:
        return
    out = console()
    out.print()
    hidden_applied = len(applied) - len(recent)
    if hidden_applied > 0:
        out.print(
            f"[dim]… {hidden_applied} earlier applied migration(s) not shown "
            "(`lamina status --json` lists all)"
        )
    out.print(migrations_table(rows, out.width))
    hidden_pending = len(report.pending) - len(pending_ids)
    if hidden_pending > 0:
        out.print(f"[dim]… and {hidden_pending} more pending migration(s)")


#: The narrowest a wrapped name column gets before it is left out.
_MIN_NAME = 16


def migrations_table(rows: Sequence[MigrationStatus], width: int) -> Table:
    """The migrations as a table that fits ``width``, with nothing cut to an ellipsis.

    The id and the state always show in full, then the date (compact, UTC) unless an id
    is too long to leave room for it; the rest of the width goes, in order, to a name that
    says more than the id, the category, and a name that only repeats the id
    (``add_users`` → ``Add users``), each left out when it does not fit; a name that says
    more wraps rather than be left out. Only an id longer than the whole width is folded
    onto a second line, never cut.
    """
    from rich.table import Table
    from rich.text import Text

    states = [_state_text(m) for m in rows]
    id_width = max(len(m.id) for m in rows)
    state_width = max(len("status"), *map(len, states))
    room = width - (id_width + COLUMN_GAP + state_width)
    # The date goes before an id would have to be folded: `lamina repair ID` wants it whole.
    show_date = room >= COLUMN_GAP + COMPACT_TIME_WIDTH
    if show_date:
        room -= COLUMN_GAP + COMPACT_TIME_WIDTH
    name_width = max(len("name"), *(cell_len(m.name) for m in rows))
    category_width = max(len("category"), *(len(m.category) for m in rows))
    telling = any(m.name != humanize(m.id.partition("_")[2]) for m in rows)
    show_name = wrap_name = show_category = False
    if telling and room >= name_width + COLUMN_GAP:
        show_name, room = True, room - name_width - COLUMN_GAP
    elif telling and room >= _MIN_NAME + COLUMN_GAP:
        show_name = wrap_name = True  # it takes the rest of the room
        room = 0
    if room >= category_width + COLUMN_GAP:
        show_category, room = True, room - category_width - COLUMN_GAP
    if not show_name and room >= name_width + COLUMN_GAP:
        show_name = True

    table = Table(box=None, pad_edge=False, show_header=True, header_style="bold")
    # An id wider than the room left is folded (whole, on two lines), never cut.
    table.add_column("id", no_wrap=room >= 0, overflow="fold")
    if show_name:
        table.add_column("name", no_wrap=not wrap_name, overflow="fold")
    if show_category:
        table.add_column("category", no_wrap=True)
    table.add_column("status", no_wrap=True)
    if show_date:
        table.add_column("applied UTC", no_wrap=True)
    for m, state in zip(rows, states, strict=True):
        # Text, not markup: a name may hold brackets.
        cells = [Text(m.id)]
        if show_name:
            cells.append(Text(m.name))
        if show_category:
            cells.append(Text(m.category))
        cells.append(Text(state, style=_STATE_STYLE[m.state]))
        if show_date:
            cells.append(Text(compact_time(m.applied_at)))
        table.add_row(*cells)
    return table


def _state_text(m: MigrationStatus) -> str:
    """The state word; a pending migration older than the newest applied one is shown as
    ``out of order`` (the line under the table says it is pending, and why)."""
    return "out of order" if m.out_of_order else m.state.value


def validation(result: ValidationResult, *, strict: bool) -> None:
    out = console()
    print_problems(result.problems)
    summary = (
        f"{result.checked} migration file(s) checked: "
        f"{len(result.errors)} error(s), {len(result.warnings)} warning(s)"
    )
    style = "green" if result.ok(strict=strict) else "bold red"
    out.print(f"[{style}]{summary}")
