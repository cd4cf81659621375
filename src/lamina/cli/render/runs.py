"""``up`` and ``rollback``: progress lines while steps run, plans and dry runs, refusals."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from lamina.cli.render.common import (
    RISK_STYLE,
    Painter,
    console,
    print_findings,
    print_problems,
)

if TYPE_CHECKING:
    from lamina.api import RollbackResult, StepPreview, UpResult
    from lamina.runner import RunEvent


def progress_printer() -> Callable[[RunEvent], None]:
    """An ``on_event`` callback printing one line per finished (or failed) step."""
    out = console()
    painter = Painter(out)
    paint = painter.paint

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
                painter.line(paint("dim", f"{counter} {event.migration_id} …"), end="\r")
            return
        if event.kind == "done":
            late = " " + paint("yellow", "(out of order)") if event.out_of_order else ""
            risk = ""
            if event.risk and event.risk != "low":
                risk = " " + paint(RISK_STYLE[event.risk], f"risk: {event.risk}")
            painter.line(
                f"{paint('green', '✓')} {counter} {verb} {event.migration_id} "
                f"{paint('dim', f'{event.name} ({event.duration_ms} ms)')}{risk}{late}"
            )
        else:
            painter.line(f"{paint('bold red', '✗')} {counter} {event.migration_id} failed")

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


def _previews(previews: Sequence[StepPreview], verb: str) -> None:
    out = console()
    for preview in previews:
        level = preview.risk.level
        risk = f"[{RISK_STYLE[level.label]}]{level.label}[/]" if level else "[green]low[/]"
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
        print_findings(preview.risk.findings, indent="    ")
        for statement in preview.statements:
            prefix = "-- reads: " if statement.is_query else ""
            text = statement.sql if statement.sql.endswith(";") else statement.sql + ";"
            for line in (prefix + text).splitlines():
                out.print(f"    [cyan]{line}", markup=True, highlight=False)
        if not preview.statements:
            out.print("    [dim]-- no statements")


def up(result: UpResult) -> None:
    out = console()
    print_problems(result.warnings)
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


def rollback(result: RollbackResult) -> None:
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
