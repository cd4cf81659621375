"""What every renderer shares: the consoles, ``emit_json``, problems, findings, times.

Human output uses rich (colour on a terminal, plain text in a pipe, none with ``NO_COLOR``);
``--json`` output is a document of :mod:`lamina.documents`, printed by :func:`emit_json` as
plain ``json.dumps`` through click, with no markup, on stdout.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from functools import cache
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from rich.console import Console

    from lamina.models import Problem
    from lamina.risk import RiskFinding

RISK_STYLE = {"info": "cyan", "warning": "yellow", "danger": "bold red"}


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


def emit_json(document: Mapping[str, object]) -> None:
    """Print a document (:mod:`lamina.documents`) as it is: the one way ``--json`` prints."""
    click.echo(json.dumps(document, indent=2, default=str))


def print_problems(problems: Sequence[Problem]) -> None:
    out = console()
    for problem in problems:
        style = "bold red" if problem.severity.value == "error" else "yellow"
        out.print(f"[{style}]{problem.severity.value}[/]: {problem.render()}", markup=True)


def print_findings(findings: Sequence[RiskFinding], *, indent: str) -> None:
    out = console()
    for finding in findings:
        where = f" (line {finding.line})" if finding.line else ""
        if finding.suppressed is not None:
            out.print(
                f"{indent}[dim]allowed {finding.rule}{where}: {finding.message} "
                f"— reason: {finding.suppressed}"
            )
            continue
        style = RISK_STYLE[finding.level.label]
        out.print(
            f"{indent}[{style}]{finding.level.label}[/] {finding.rule}{where}: {finding.message}"
        )
        if finding.reason:
            out.print(f"{indent}  [dim]why: {finding.reason}")
        if finding.suggestion:
            out.print(f"{indent}  [dim]→ {finding.suggestion}")


def short_time(iso: str | None) -> str:
    """``2026-11-25T13:31:22.114233Z`` → ``2026-11-25 13:31:22`` for tables (JSON keeps all)."""
    return iso[:19].replace("T", " ") if iso else ""
