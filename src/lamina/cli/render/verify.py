"""``verify``: a progress bar on a terminal, then each migration's round trip."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from lamina.cli.render.common import console

if TYPE_CHECKING:
    from lamina.verify import StepReport, VerifyResult


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


def verification(result: VerifyResult) -> None:
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
