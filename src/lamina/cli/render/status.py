"""``status`` and ``validate``: the status panel, its problems, the validation summary."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from lamina.cli.render.common import (
    COLUMN_GAP,
    COMPACT_TIME_WIDTH,
    cell_len,
    compact_time,
    console,
    print_problems,
    short_time,
)
from lamina.cli.render.plain import Column, Lines, Piece, lines
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
    out = lines(console)
    out.print(_BAR)
    out.print(("📊 MIGRATION STATUS", "bold"))
    out.print(_BAR)
    _status_banners(report, out)
    _status_counts(report, out)
    _status_table(report, out)
    out.print()
    _status_problems(report, out, verbose=verbose)
    if report.pending:
        late = sum(1 for m in report.pending if m.out_of_order)
        note = f" ({late} out of order: older than the newest applied)" if late else ""
        pending = f"⏳ {len(report.pending)} pending migration(s){note}: run `lamina up`."
        out.print((pending, "yellow"))
    if report.needs_attention:
        count = sum(1 for p in report.findings if p.code not in _INFO_CODES) + len(
            errors_in(report.problems)
        )
        problems = _count(count, "problem", "problems")
        out.print((f"✗ Database needs attention: {problems}.", "bold red"))
    elif report.in_progress or report.lock_holder:
        out.print(("⏳ A migration run is in progress (it holds the migration lock).", "yellow"))
    elif report.paused:
        paused = _count(len(report.paused), "backfill is", "backfills are")
        out.print((f"⏸ {paused} paused between batches: `lamina up` resumes.", "yellow"))
    elif report.up_to_date:
        out.print(("✅ Database is up to date.", "green"))
    out.print(_BAR)


def _status_banners(report: StatusReport, out: Lines) -> None:
    for m in report.dirty:
        at = f" at statement {m.failed_statement}" if m.failed_statement else ""
        out.print(
            (f"⛔ DIRTY: {m.id} stopped half-way{at} ({m.detail or m.state.value}).", "bold red"),
            "\n   Nothing will run until it is resolved: fix the database by hand, then "
            f"`lamina repair {m.id} --mark-applied` (finished) or `lamina repair {m.id} "
            "--mark-rolled-back` (undone).",
        )
    for m in report.in_progress:
        holder = report.lock_holder.describe() if report.lock_holder else "a live run"
        out.print(
            (
                f"⏳ IN PROGRESS: {m.id} is being applied by the run holding the migration "
                f"lock: {holder}",
                "bold yellow",
            ),
            f" ({backfill_text(m.detail) or m.detail})" if m.detail else "",
        )
    for m in report.paused:
        down = (m.backfill or {}).get("direction") == "down"
        resume = "`lamina rollback` resumes" if down else "`lamina up` or `lamina backfill` resume"
        out.print(
            (f"⏸ BACKFILL PAUSED: {m.id}, {backfill_text(m.detail)}", "bold yellow"),
            f"\n   Its progress is kept: {resume} it at the next batch.",
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


def _status_counts(report: StatusReport, out: Lines) -> None:
    last = report.last_applied
    out.print(f"Database:           {report.database} ({report.environment})")
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
        out.print(f"Last migration:     {last.name} ({when} UTC)")
    if report.lock_holder:
        out.print((f"Migration lock held by {report.lock_holder.describe()}", "bold yellow"))


def _status_problems(report: StatusReport, out: Lines, *, verbose: bool) -> None:
    irreversible = [p for p in report.problems if p.code == "irreversible"]
    print_problems([p for p in report.problems if verbose or p.code != "irreversible"], out)
    if irreversible and not verbose:
        which = _count(len(irreversible), "migration has", "migrations have")
        out.print(
            ("warning", "yellow"),
            f": {which} no down (cannot be rolled back): see --verbose "
            "(`lamina --verbose status` lists them)",
        )
    for problem in report.findings:
        if problem.code in ("modified", "missing"):
            out.print((f"✗ {problem.message}", "bold red"))
    if report.in_state(MigrationState.MODIFIED):
        out.print(
            "   Restore the file, or accept a harmless edit: `lamina repair ID "
            "--accept-checksum` (`lamina repair --all --accept-checksum` for all)."
        )
    if report.leftovers:
        failed = ", ".join(m.id for m in report.dirty)
        left = (
            f"✗ left by the failed migration {failed}: {len(report.leftovers)} "
            "change(s) since the last clean run (`lamina diff` lists them):"
        )
        out.print((left, "bold red"))
        for line in report.leftovers[:10]:
            out.print(f"    {line}")
    if report.drift:
        drift = (
            f"✗ schema drift: {len(report.drift)} change(s) made outside lamina "
            "(`lamina diff` lists them):"
        )
        out.print((drift, "bold red"))
        for line in report.drift[:10]:
            out.print(f"    {line}")


def status_busy(holder: LockOwner, database: str) -> None:
    """Status of a DuckDB file a lamina run holds open: a migration in progress."""
    from rich.markup import escape

    console().print(f"[bold yellow]⏳ {escape(database)}: {escape(busy_message(holder))}.")


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def _status_table(report: StatusReport, out: Lines) -> None:
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
    out.print()
    hidden_applied = len(applied) - len(recent)
    if hidden_applied > 0:
        earlier = (
            f"… {hidden_applied} earlier applied migration(s) not shown "
            "(`lamina status --json` lists all)"
        )
        out.print((earlier, "dim"))
    columns = migrations_table(rows, out.width)
    if not out.table(columns):
        out.console().print(rich_table(columns))
    hidden_pending = len(report.pending) - len(pending_ids)
    if hidden_pending > 0:
        out.print((f"… and {hidden_pending} more pending migration(s)", "dim"))


#: The narrowest a wrapped name column gets before it is left out.
_MIN_NAME = 16


def migrations_table(rows: Sequence[MigrationStatus], width: int) -> list[Column]:
    """The migrations as a table that fits ``width``, with nothing cut to an ellipsis.

    The id and the state always show in full, then the date (compact, UTC) unless an id
    is too long to leave room for it; the rest of the width goes, in order, to a name that
    says more than the id, the category, and a name that only repeats the id
    (``add_users`` → ``Add users``), each left out when it does not fit; a name that says
    more wraps rather than be left out. Only an id longer than the whole width is folded
    onto a second line, never cut.
    """
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

    # An id wider than the room left is folded (whole, on two lines), never cut.
    columns = [Column("id", [m.id for m in rows], room < 0, "fold")]
    if show_name:
        columns.append(Column("name", [m.name for m in rows], wrap_name, "fold"))
    if show_category:
        columns.append(Column("category", [m.category for m in rows]))
    styled: list[Piece] = [
        (state, _STATE_STYLE[m.state]) for m, state in zip(rows, states, strict=True)
    ]
    columns.append(Column("status", styled))
    if show_date:
        columns.append(Column("applied UTC", [compact_time(m.applied_at) for m in rows]))
    return columns


def rich_table(columns: Sequence[Column]) -> Table:
    """The table rich lays out, where a column wraps (a name given the rest of the room) or
    folds (an id wider than the room), or a cell is not printable ASCII."""
    from rich.table import Table
    from rich.text import Text

    table = Table(box=None, pad_edge=False, show_header=True, header_style="bold")
    for column in columns:
        table.add_column(column.header, no_wrap=not column.wraps, overflow=column.overflow)
    for row in zip(*(column.cells for column in columns), strict=True):
        # Text, not markup: a name may hold brackets.
        table.add_row(*(Text(p) if isinstance(p, str) else Text(*p) for p in row))
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
