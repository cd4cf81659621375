"""``history``: the audit log as a table, newest first."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from lamina.cli.render.common import console, short_time

if TYPE_CHECKING:
    from lamina.models import AuditEvent


def history(events: Sequence[AuditEvent]) -> None:
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
            short_time(e.at),
            f"[{style}]{e.action}" if style else e.action,
            e.migration_id or "",
            f"{e.applied_by}@{e.host}",
            took,
            e.detail or "",
        )
    out.print(table)
