"""The ``backup`` group: list, create, restore."""

from __future__ import annotations

import click

from lamina.cli.commands._shared import json_option, open_lamina


@click.group()
def backup() -> None:
    """Back up the database, list backups, restore one (all or nothing).

    Backups go to LAMINA_BACKUP_DIR (default ./.lamina/backups), readable by the owner only,
    each with a manifest: database, schema version, time, size, SHA-256, and what triggered
    it. lamina also takes one before each run that has risky steps (BACKUP_ENABLED, default true).
    """


@backup.command(name="list")
@json_option
@click.pass_context
def backup_list(ctx: click.Context, as_json: bool) -> None:
    """List backups, newest first."""
    from lamina.cli import render

    records, broken = open_lamina(ctx).backups()
    if as_json:
        from lamina.documents import backups_document

        render.emit_json(backups_document(records, broken))
    else:
        render.backups(records, broken)


@backup.command(name="create")
@json_option
@click.pass_context
def backup_create(ctx: click.Context, as_json: bool) -> None:
    """Take a backup now (pg_dump / mysqldump must be installed for the servers)."""
    from lamina.cli import render

    with render.transfer("Backing up", enabled=not as_json) as progress:
        record = open_lamina(ctx).backup(progress=progress)
    if as_json:
        from lamina.documents import backup_document

        render.emit_json(backup_document(record))
    else:
        render.backup_taken(record)


@backup.command(name="restore")
@click.argument("backup_id", metavar="ID")
@click.option("--yes", "-y", is_flag=True, help="Replace the database without a prompt.")
@json_option
@click.pass_context
def backup_restore(ctx: click.Context, backup_id: str, yes: bool, as_json: bool) -> None:
    """Replace the database with backup ID, after verifying its checksum.

    All or nothing: if anything fails, the database is left exactly as it was.
    """
    from lamina.cli import render

    with render.transfer("Restoring", enabled=not as_json) as progress:
        record = open_lamina(ctx).restore(backup_id, yes=yes, progress=progress)
    if as_json:
        from lamina.documents import restore_document

        render.emit_json(restore_document(record))
    else:
        render.restored(record)
