"""What every renderer shares: the consoles, ``emit_json``, problems, findings, times.

Human output uses rich (colour on a terminal, plain text in a pipe, none with ``NO_COLOR``;
``status`` in a pipe writes rich's bytes without importing it: :mod:`lamina.cli.render.plain`);
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

    from lamina.cli.render.plain import Lines
    from lamina.models import Problem
    from lamina.risk import RiskFinding

RISK_STYLE = {"info": "cyan", "warning": "yellow", "danger": "bold red"}


#: Width for output that is not a terminal (pipes, CI logs): wide enough that ids and
#: timestamps are never cut, unless COLUMNS says otherwise.
PIPE_WIDTH = 160


@cache
def console() -> Console:
    from rich.console import Console

    out = Console(highlight=False, soft_wrap=True)
    if not out.is_terminal and "COLUMNS" not in os.environ:
        out = Console(highlight=False, soft_wrap=True, width=PIPE_WIDTH)
    return out


class Painter:
    """Lines written without rich's markup parser and layout, for output with a line per
    step or finding.

    A run of 1,000 steps prints 1,000 lines, and a lint of 1,000 migrations several per
    migration: through ``Console.print`` each costs about half a millisecond, a tenth of a
    trivial step. These lines are plain text with a few coloured words, so they are written
    straight to the console's file, with the ANSI codes of each style worked out once (none
    when the console has no colour: a pipe, ``NO_COLOR``).
    """

    def __init__(self, out: Console) -> None:
        self.out = out
        self.colour = out.color_system if out.is_terminal and not out.no_color else None
        self._codes: dict[str, tuple[str, str]] = {}

    def paint(self, style: str, text: str) -> str:
        if self.colour is None:
            return text
        codes = self._codes.get(style)
        if codes is None:
            from rich.color import ColorSystem
            from rich.style import Style

            system = {"256": ColorSystem.EIGHT_BIT}.get(self.colour) or ColorSystem[
                self.colour.upper()
            ]
            rendered = Style.parse(style).render("\0", color_system=system)
            before, _, after = rendered.partition("\0")
            codes = self._codes[style] = (before, after)
        return f"{codes[0]}{text}{codes[1]}"

    def line(self, text: str, end: str = "\n") -> None:
        file = self.out.file
        file.write(text + end)
        file.flush()


def emit_json(document: Mapping[str, object]) -> None:
    """Print a document (:mod:`lamina.documents`) as it is: the one way ``--json`` prints."""
    click.echo(json.dumps(document, indent=2, default=str))


def print_problems(problems: Sequence[Problem], out: Lines | None = None) -> None:
    """Each problem on its line; its text is the user's (paths, names), never markup."""
    from lamina.cli.render.plain import Lines

    out = out or Lines(console, None)
    for problem in problems:
        style = "bold red" if problem.severity.value == "error" else "yellow"
        out.print((problem.severity.value, style), f": {problem.render()}")


def cell_len(text: str) -> int:
    """The columns ``text`` takes, as rich counts them; rich is imported only for text
    beyond printable ASCII."""
    if text.isascii() and text.isprintable():
        return len(text)
    from rich.cells import cell_len as rich_cell_len

    return rich_cell_len(text)


def print_findings(
    findings: Sequence[RiskFinding], *, indent: str, painter: Painter | None = None
) -> None:
    """Each finding on its line, then why it matters and what to do instead."""
    painter = painter or Painter(console())
    paint = painter.paint
    for finding in findings:
        where = f" (line {finding.line})" if finding.line else ""
        if finding.suppressed is not None:
            painter.line(
                indent
                + paint(
                    "dim",
                    f"allowed {finding.rule}{where}: {finding.message} "
                    f"— reason: {finding.suppressed}",
                )
            )
            continue
        label = paint(RISK_STYLE[finding.level.label], finding.level.label)
        painter.line(f"{indent}{label} {finding.rule}{where}: {finding.message}")
        if finding.reason:
            painter.line(f"{indent}  " + paint("dim", f"why: {finding.reason}"))
        if finding.suggestion:
            painter.line(f"{indent}  " + paint("dim", f"→ {finding.suggestion}"))


def short_time(iso: str | None) -> str:
    """``2026-11-25T13:31:22.114233Z`` → ``2026-11-25 13:31:22`` for tables (JSON keeps all)."""
    return iso[:19].replace("T", " ") if iso else ""


#: How wide :func:`compact_time` is at most (``12-03 18:45``), so a table can budget for it.
COMPACT_TIME_WIDTH = 11

#: The space rich puts between two columns of a table with ``box=None``.
COLUMN_GAP = 2


def compact_time(iso: str | None, *, year: int | None = None) -> str:
    """A UTC timestamp in at most 11 characters, for tables that must fit 80 columns:
    ``12-03 18:45`` in the current year (``year``, default now's), ``2025-12-03`` before it.
    The full timestamp stays in ``--json``."""
    if not iso or len(iso) < 16:
        return iso or ""
    if year is None:
        from datetime import UTC, datetime

        year = datetime.now(UTC).year
    if iso[:4] != str(year):
        return iso[:10]
    return f"{iso[5:10]} {iso[11:16]}"


def short_duration(ms: int | None) -> str:
    """``840 ms``, ``12.4 s``, ``3 min 05 s``, ``2 h 10 min``: a duration that stays narrow."""
    if ms is None:
        return ""
    if ms < 1000:
        return f"{ms} ms"
    if ms < 60_000:
        return f"{ms / 1000:.1f} s"
    seconds = ms // 1000
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"
