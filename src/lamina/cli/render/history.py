"""``history``: the audit log as a table, newest first, fitted to the console's width."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from lamina.cli.render.common import (
    COLUMN_GAP,
    cell_len,
    compact_time,
    console,
    short_duration,
)

if TYPE_CHECKING:
    from rich.table import Table

    from lamina.models import AuditEvent

#: Actions shown in bold red: a failure, or someone overriding lamina's checks.
_ALARMING = frozenset({"fail", "force", "repair"})
#: The narrowest a wrapped ``by``/``detail`` column gets; below it, it is left out.
_MIN_WRAPPED = 12
#: With less room than this for the detail beside ``by``, the two share one column.
_MIN_DETAIL = 24


def history(events: Sequence[AuditEvent]) -> None:
    out = console()
    if not events:
        out.print("No migration activity recorded yet.")
        return
    out.print(events_table(events, out.width))


def events_table(events: Sequence[AuditEvent], width: int) -> Table:
    """The events as a table that fits ``width``, with nothing cut to an ellipsis.

    The time (compact, UTC), the action and the migration id always show in full, then the
    duration unless an id is too long to leave room for it. ``by`` (user@host) and the
    detail take the rest: side by side when there is room, else in one wrapped column
    (``by: detail``), else, for the events that have a detail (a failure, a repair, a
    forced run), on a line of their own under the migration id; ``by`` alone is left out
    when it does not fit (``--json`` has every field). Only an id longer than the whole
    width is folded, never cut.
    """
    from rich.table import Table
    from rich.text import Text

    took = [short_duration(e.duration_ms) for e in events]
    by = [f"{e.applied_by}@{e.host}" for e in events]
    details = [e.detail or "" for e in events]
    joined = [
        f"{who}: {detail}" if detail else who for who, detail in zip(by, details, strict=True)
    ]
    columns: list[tuple[str, bool, list[str]]] = [
        ("at UTC", True, [compact_time(e.at) for e in events]),
        ("action", True, [e.action for e in events]),
        ("migration", True, [e.migration_id or "" for e in events]),
    ]
    room = width - sum(_width(c) for c in columns) - COLUMN_GAP * (len(columns) - 1)
    # The duration goes before an id would have to be folded.
    if room >= COLUMN_GAP + _width(("took", True, took)):
        columns.append(("took", True, took))
        room -= COLUMN_GAP + _width(columns[-1])
    by_width = _width(("by", True, by))
    below = False  # the detail on a line of its own, under the migration id
    if not any(details):
        if room >= by_width + COLUMN_GAP:
            columns.append(("by", True, by))
        elif room >= _MIN_WRAPPED + COLUMN_GAP:
            columns.append(("by", False, by))
    elif room >= by_width + COLUMN_GAP + _MIN_DETAIL + COLUMN_GAP:
        columns += [("by", True, by), ("detail", False, details)]
    elif room >= _MIN_DETAIL + COLUMN_GAP:
        columns.append(("by: detail", False, joined))
    else:
        below = True
    # The migration column wraps only what is under an id, or an id wider than the room.
    columns[2] = ("migration", room >= 0 and not below, columns[2][2])

    table = Table(box=None, pad_edge=False, header_style="bold")
    for header, no_wrap, _ in columns:
        table.add_column(header, no_wrap=no_wrap, overflow="fold")
    for index, row in enumerate(zip(*(values for _, _, values in columns), strict=True)):
        # Text, not markup: a detail may hold brackets. A failure or an override stands out.
        cells = [Text(cell) for cell in row]
        if row[1] in _ALARMING:
            cells[1].stylize("bold red")
        table.add_row(*cells)
        if below and details[index]:
            under = [Text("")] * len(columns)
            under[2] = Text(joined[index], style="dim")
            table.add_row(*under)
    return table


def _width(column: tuple[str, bool, list[str]]) -> int:
    header, _, values = column
    return max(len(header), *(cell_len(v) for v in values))
