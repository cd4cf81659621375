"""Draw the migration graph for docs and reviews: Mermaid, Graphviz DOT, or plain text.

Solid arrows are declared dependencies (``depends``); a dotted arrow joins a migration that
declares none to the one before it in lamina's order, so the drawing shows the order lamina
applies them in. Each migration is marked applied, pending, or in trouble (modified, missing,
failed). Pure: a status report and the dependency edges in, text out.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Literal

from lamina.models import MigrationState, MigrationStatus, StatusReport

__all__ = ["FORMATS", "Format", "render"]

Format = Literal["mermaid", "dot", "text"]
FORMATS: tuple[Format, ...] = ("mermaid", "dot", "text")

_CLASS = {
    MigrationState.APPLIED: "applied",
    MigrationState.PENDING: "pending",
    MigrationState.MODIFIED: "problem",
    MigrationState.MISSING: "problem",
    MigrationState.FAILED: "problem",
    MigrationState.RUNNING: "pending",
}
_COLOURS = {  # fill, stroke
    "applied": ("#d4edda", "#28a745"),
    "pending": ("#fff3cd", "#d39e00"),
    "problem": ("#f8d7da", "#dc3545"),
}


def render(report: StatusReport, parents: Mapping[str, Sequence[str]], fmt: Format) -> str:
    """The graph of ``report``'s migrations in ``fmt``; ``parents`` maps id -> dependencies."""
    edges = _edges(report.migrations, parents)
    if fmt == "mermaid":
        return _mermaid(report.migrations, edges)
    if fmt == "dot":
        return _dot(report.migrations, edges)
    return _text(report.migrations, parents)


def _edges(
    migrations: Sequence[MigrationStatus], parents: Mapping[str, Sequence[str]]
) -> list[tuple[str, str, bool]]:
    """(from, to, declared) edges: declared dependencies, else the previous one in order."""
    edges: list[tuple[str, str, bool]] = []
    known = {m.id for m in migrations}
    previous: str | None = None
    for migration in migrations:
        declared = [p for p in parents.get(migration.id, ()) if p in known]
        edges.extend((parent, migration.id, True) for parent in declared)
        if not declared and previous is not None:
            edges.append((previous, migration.id, False))
        previous = migration.id
    return edges


def _mermaid(migrations: Sequence[MigrationStatus], edges: list[tuple[str, str, bool]]) -> str:
    ids = {m.id: f"m{index}" for index, m in enumerate(migrations)}
    lines = ["flowchart TD"]
    for m in migrations:
        label = f"{m.id}<br/>{_mermaid_text(m.name)}<br/><i>{m.state.value}</i>"
        lines.append(f'    {ids[m.id]}["{label}"]:::{_CLASS[m.state]}')
    for parent, child, declared in edges:
        arrow = "-->" if declared else "-.->"
        lines.append(f"    {ids[parent]} {arrow} {ids[child]}")
    for name, (fill, stroke) in _COLOURS.items():
        lines.append(f"    classDef {name} fill:{fill},stroke:{stroke}")
    return "\n".join(lines) + "\n"


def _mermaid_text(text: str) -> str:
    """Mermaid labels cannot hold double quotes or angle brackets: use entities."""
    return text.replace('"', "#quot;").replace("<", "#lt;").replace(">", "#gt;")


def _dot(migrations: Sequence[MigrationStatus], edges: list[tuple[str, str, bool]]) -> str:
    lines = [
        "digraph migrations {",
        "    rankdir=TB;",
        '    node [shape=box, style="rounded,filled", fontname="Helvetica"];',
    ]
    for m in migrations:
        fill, stroke = _COLOURS[_CLASS[m.state]]
        label = _dot_string(f"{m.id}\n{m.name}\n({m.state.value})")
        lines.append(
            f'    {_dot_string(m.id)} [label={label}, fillcolor="{fill}", color="{stroke}"];'
        )
    for parent, child, declared in edges:
        style = "" if declared else " [style=dashed]"
        lines.append(f"    {_dot_string(parent)} -> {_dot_string(child)}{style};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _dot_string(text: str) -> str:
    """A DOT double-quoted string (JSON's escaping of quotes, backslashes and newlines)."""
    return json.dumps(text)


def _text(migrations: Sequence[MigrationStatus], parents: Mapping[str, Sequence[str]]) -> str:
    marks = {"applied": "●", "pending": "○", "problem": "✗"}
    width = max((len(m.id) for m in migrations), default=0)
    lines = []
    for m in migrations:
        mark = marks[_CLASS[m.state]]
        needs = parents.get(m.id, ())
        after = f"  ← {', '.join(needs)}" if needs else ""
        lines.append(f"{mark} {m.id.ljust(width)}  {_one_line(m.name)}  [{m.state.value}]{after}")
    return "\n".join(lines) + ("\n" if lines else "")


def _one_line(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()
