"""``backup list | create | restore``: the table of backups, progress bars, one-line results."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING

from lamina.cli.render.common import console, short_time

if TYPE_CHECKING:
    from lamina.backup import BackupRecord, BrokenManifest, Progress


def backups(records: Sequence[BackupRecord], broken: Sequence[BrokenManifest]) -> None:
    from rich.text import Text

    out = console()
    for item in broken:
        # Text, not markup: a path or a manifest's problem may hold brackets.
        out.print(Text.assemble(("warning", "yellow"), f": {item.path}: {item.problem}"))
    if not records:
        out.print("No backups yet.")
        return
    from rich.table import Table

    table = Table(box=None, pad_edge=False, header_style="bold")
    for column in ("id", "taken", "version", "size", "scope", "taken before", "database"):
        table.add_column(column, no_wrap=True, min_width=8 if column == "scope" else None)
    for r in records:
        table.add_row(
            r.id, short_time(r.created_at), str(r.schema_version), _bytes(r.size), r.scope,
            _before(r), r.database,
        )  # fmt: skip
    out.print(table)
    for line in filter(None, map(_scope, records)):
        out.print(line, soft_wrap=True)


def _scope(record: BackupRecord) -> str | None:
    """What a touched backup holds (``touched: orders (+ history)``), or why a run that asked
    for one got the whole database; None for a plain whole-database backup."""
    from lamina.backup.scope import HISTORY

    if record.touched:
        mine = [t for t in record.tables if t not in HISTORY]
        return f"{record.id} touched: {', '.join(mine) or 'none'} (+ history)"
    if record.scope_note:
        return f"{record.id} database: backup_scope touched fell back: {record.scope_note}"
    return None


def _before(record: BackupRecord) -> str:
    """``003_notes (run; risky: 004_drop)``: the step it precedes and the risky steps it covers."""
    if not record.covers:
        return record.trigger or ""
    return f"{record.trigger} (run; risky: {', '.join(record.covers)})"


def backup_taken(record: BackupRecord) -> None:
    console().print(
        f"[green]✅ Backup {record.id}[/] ({_bytes(record.size)}, sha256 {record.sha256[:12]}…)"
    )


def restored(record: BackupRecord) -> None:
    out = console()
    out.print(
        f"[green]✅ Restored backup {record.id}[/] (schema version {record.schema_version}, "
        f"taken {short_time(record.created_at)})."
    )
    if record.touched:
        out.print(
            f"Only its tables were restored: {', '.join(record.tables)}; every other table "
            "was left as it was."
        )


@contextmanager
def transfer(label: str, *, enabled: bool) -> Iterator[Progress | None]:
    """A progress bar on a terminal for a backup or restore; None elsewhere (no noise in CI)."""
    out = console()
    if not enabled or not out.is_terminal:
        yield None
        return
    from rich.progress import BarColumn, DownloadColumn, TextColumn
    from rich.progress import Progress as Bar

    with Bar(TextColumn(label), BarColumn(), DownloadColumn(), console=out, transient=True) as bar:
        task = bar.add_task(label, total=None)

        def update(done: int, total: int | None) -> None:
            bar.update(task, completed=done, total=total)

        yield update


def _bytes(size: int) -> str:
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{size} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"
