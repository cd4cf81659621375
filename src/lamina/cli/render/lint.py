"""``lint``: each migration's risk, up and down; ``lint --rules``: the rule catalogue."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lamina.cli.render.common import RISK_STYLE, Painter, console, print_findings, print_problems
from lamina.models import errors_in

if TYPE_CHECKING:
    from lamina.api import LintResult
    from lamina.risk import RiskLevel


def lint(result: LintResult, *, level: RiskLevel) -> None:
    out = console()
    painter = Painter(out)
    paint = painter.paint
    if result.target is not None:
        painter.line(paint("dim", result.target.note))
    print_problems(result.problems)
    for entry in result.entries:
        worst = entry.worst()
        label = paint(RISK_STYLE[worst.label], worst.label) if worst else paint("green", "low")
        painter.line(f"{paint('bold', entry.file.id)}  {entry.file.meta.name}  risk: {label}")
        for report in (entry.up, entry.down):
            if report.findings:
                painter.line(f"  {report.direction}:")
                print_findings(report.findings, indent="    ", painter=painter)
    flagged = sum(1 for e in result.entries if (w := e.worst()) is not None and w >= level)
    style = "bold red" if result.fails(level) else "green"
    out.print(
        f"[{style}]{len(result.entries)} migration(s) linted: {flagged} at or above "
        f"{level.label}, {len(errors_in(result.problems))} that could not be loaded"
    )


def rules() -> None:
    """The rule catalogue, as docs/risk-rules.md describes it."""
    from lamina.risk import CATALOGUE

    out = console()
    for r in CATALOGUE:
        style = RISK_STYLE[r.level.label]
        out.print(f"[bold]{r.id}[/] [{style}]{r.level.label}[/] [dim]({', '.join(r.dialects)})[/]")
        out.print(f"    {r.explanation}")
        out.print(f"    [dim]→ {r.alternative}")
