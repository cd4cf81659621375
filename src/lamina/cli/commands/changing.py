"""Commands that change the database or the migrations folder: create, up, rollback, redo,
repair."""

from __future__ import annotations

import click

from lamina.cli.commands._shared import CATEGORIES, json_option, migration_ref, open_lamina

#: ``--backup-scope`` of ``up`` and ``rollback``; the value is checked with the other settings.
backup_scope_option = click.option(
    "--backup-scope",
    metavar="database|touched",
    help="What the backup before risky steps holds: the whole database (default), or only "
    "the tables this run changes plus lamina's history (LAMINA_BACKUP_SCOPE).",
)


@click.command()
@click.argument("name")
@click.option("--sql", "as_sql", is_flag=True, help="Write a .sql migration instead of .py.")
@click.option("--category", type=click.Choice(CATEGORIES), default="schema", show_default=True)
@click.option(
    "--depends-on",
    "depends_on",
    multiple=True,
    metavar="ID",
    help="A migration this one needs (id or version); repeatable.",
)
@json_option
@click.pass_context
def create(
    ctx: click.Context,
    name: str,
    as_sql: bool,
    category: str,
    depends_on: tuple[str, ...],
    as_json: bool,
) -> None:
    """Write a new migration template and print its path.

    The version is a UTC timestamp, or the next number when the folder already uses small
    sequential numbers (001, 002, ...).
    """
    from lamina.cli import render

    result = open_lamina(ctx).create(name, sql=as_sql, category=category, depends_on=depends_on)
    if as_json:
        render.emit_json(result.to_document())
    else:
        render.created(result)


@click.command()
@click.option(
    "--to",
    "to_version",
    metavar="VERSION",
    help="Apply only migrations up to this version (inclusive; 4, 004 or an id 004_name). "
    "It need not match a migration exactly.",
)
@click.option("--dry-run", is_flag=True, help="Show the plan and its SQL; change nothing.")
@click.option("--force", is_flag=True, help="Run even though applied migrations were modified.")
@click.option(
    "--yes", "-y", is_flag=True, help="Confirm risky steps (production) without a prompt."
)
@click.option(
    "--strict-order",
    is_flag=True,
    default=None,
    help="Refuse pending migrations older than the newest applied one.",
)
@click.option(
    "--wait-backfills",
    is_flag=True,
    help="Run background backfills to their end before exiting (else a worker runs them).",
)
@backup_scope_option
@json_option
@click.pass_context
def up(
    ctx: click.Context,
    to_version: str | None,
    dry_run: bool,
    force: bool,
    yes: bool,
    strict_order: bool | None,
    wait_backfills: bool,
    backup_scope: str | None,
    as_json: bool,
) -> None:
    """Apply pending migrations, each in its own transaction, showing each step's risk.

    In production (LAMINA_ENV=production) danger-level steps need confirmation, and --force
    needs --yes. Backfills marked `background` run after the rest, in a worker process that
    outlives this one (`lamina status` shows their progress), unless --wait-backfills; on
    DuckDB, which one process opens at a time, always before exiting.
    """
    from lamina.cli import render

    target = migration_ref(to_version, "--to")
    lamina = open_lamina(
        ctx,
        progress=not as_json and not dry_run,
        strict_order=strict_order,
        backup_scope=backup_scope,
    )
    result = lamina.up(
        to_version=target, dry_run=dry_run, force=force, yes=yes, wait_backfills=wait_backfills
    )
    worker = None
    if result.queued:
        from lamina.cli.worker import start_worker

        worker = start_worker(ctx.obj)
    if as_json:
        document = result.to_document()
        if worker is not None:  # the CLI's own: the library starts no process
            document["worker"] = worker.to_dict()
        render.emit_json(document)
    else:
        render.up(result)
        if worker is not None:
            render.console().print(
                f"[cyan]↻ {', '.join(result.queued)} run(s) in the background: worker pid "
                f"{worker.pid}, output in {worker.log}. `lamina status` shows the progress; "
                "`lamina backfill` (or `up --wait-backfills`) runs them to the end here."
            )


@click.command()
@click.argument("version", required=False)
@click.option("--all", "everything", is_flag=True, help="Revert every applied migration (as 0).")
@click.option("--dry-run", is_flag=True, help="Show the plan, its SQL and risks; change nothing.")
@click.option("--force", is_flag=True, help="Run risky steps (data loss possible).")
@click.option("--yes", "-y", is_flag=True, help="Confirm risky steps without a prompt.")
@backup_scope_option
@json_option
@click.pass_context
def rollback(
    ctx: click.Context,
    version: str | None,
    everything: bool,
    dry_run: bool,
    force: bool,
    yes: bool,
    backup_scope: str | None,
    as_json: bool,
) -> None:
    """Revert every applied migration above VERSION, newest first.

    VERSION is a version (3 or 003) or a migration id (003_name). 0 or --all reverts every
    applied migration, version 0 included.
    """
    from lamina.cli import render

    if (version is None) == (not everything):
        raise click.UsageError("give a VERSION to roll back to, or --all (not both)")
    target = migration_ref(version, "VERSION")
    lamina = open_lamina(ctx, progress=not as_json and not dry_run, backup_scope=backup_scope)
    result = lamina.rollback(target, dry_run=dry_run, force=force, yes=yes)
    if as_json:
        render.emit_json(result.to_document())
    else:
        render.rollback(result)


@click.command()
@click.argument("migration_id", metavar="[ID]", required=False)
@click.option(
    "--dry-run", is_flag=True, help="Show both halves, their SQL and risks; change nothing."
)
@click.option(
    "--force",
    is_flag=True,
    help="Redo outside development, or a rollback that is risky (data loss possible).",
)
@click.option("--yes", "-y", is_flag=True, help="Confirm risky steps without a prompt.")
@json_option
@click.pass_context
def redo(
    ctx: click.Context,
    migration_id: str | None,
    dry_run: bool,
    force: bool,
    yes: bool,
    as_json: bool,
) -> None:
    """Roll back the newest applied migration and apply it again: the edit-and-retry loop.

    With ID (an id or a version: 004_name, 004, 4), every applied migration down to and
    including ID is rolled back, then exactly those are applied again. The two halves are
    `lamina rollback` and `lamina up`, with their risk checks, backups and audit log. A file
    edited since it was applied is accepted (its down as it is now undoes it) and named. For
    development: another LAMINA_ENV needs --force, production --force --yes.
    """
    from lamina.api.redo import DEVELOPMENT
    from lamina.cli import render

    target = migration_ref(migration_id, "ID")
    lamina = open_lamina(ctx, progress=not as_json and not dry_run)
    result = lamina.redo(target, dry_run=dry_run, force=force, yes=yes)
    if as_json:
        render.emit_json(result.to_document())
        return
    out = render.console()
    names = ", ".join(result.redone)
    if result.modified:
        out.print(
            f"[cyan]ℹ edited since applied: {', '.join(result.modified)}: redo rolls back with the "
            "down as the file has it now and applies the new up"
        )
    if dry_run:
        out.print(f"[bold]Dry run of redo: {names} would be rolled back and applied again.\n")
        render.rollback(result.rollback)
        out.print()
        render.up(result.up)
        settings = lamina.settings
        if settings.env.lower() not in DEVELOPMENT:
            flags = "--force --yes" if settings.is_production else "--force"
            out.print(f"[yellow]LAMINA_ENV is {settings.env}: the real run needs {flags}.")
        return
    render.rollback(result.rollback)
    render.up(result.up)
    out.print(f"[green]✅ Redone: {names}.")


@click.command()
@click.argument("migration_id", metavar="[ID]", required=False)
@click.option(
    "--mark-applied",
    "mark",
    flag_value="applied",
    help="You finished the migration by hand: record it as applied.",
)
@click.option(
    "--mark-rolled-back",
    "mark",
    flag_value="rolled-back",
    help="You undid what it did: forget it, so it is pending again.",
)
@click.option(
    "--accept-checksum",
    "mark",
    flag_value="accept-checksum",
    help="The applied file was edited harmlessly: record its current checksum.",
)
@click.option(
    "--all", "every", is_flag=True, help="With --accept-checksum: every modified migration."
)
@json_option
@click.pass_context
def repair(
    ctx: click.Context, migration_id: str | None, mark: str | None, every: bool, as_json: bool
) -> None:
    """Resolve a migration that failed half-way, or accept an edited applied file.

    A migration that cannot be rolled back as a whole (MySQL DDL, or one declared
    non-transactional) is recorded as failed when it stops half-way, and nothing else runs
    until you fix the database by hand and tell lamina which way you fixed it
    (--mark-applied, --mark-rolled-back). An applied migration whose file was edited is
    `modified` until the file is restored or you accept the edit (--accept-checksum). ID is
    the migration's id or version (004, 4, 004_name). Every repair is written to the audit
    log with your user and host.
    """
    from lamina.cli import render

    if mark is None:
        raise click.UsageError(
            "say what to do: --mark-applied or --mark-rolled-back (a failed migration), or "
            "--accept-checksum (an edited applied file)"
        )
    if every and mark != "accept-checksum":
        raise click.UsageError("--all goes with --accept-checksum only")
    if every == (migration_id is not None):
        raise click.UsageError("name one migration (ID) or pass --all, not both")
    lamina = open_lamina(ctx)
    if mark == "accept-checksum":
        accepted = lamina.accept_checksum(
            () if migration_id is None else (migration_id,), every=every
        )
        if as_json:
            from lamina.documents import checksums_document

            render.emit_json(checksums_document(accepted))
        else:
            render.checksums_accepted(accepted)
        return
    assert migration_id is not None
    result = lamina.repair(migration_id, "applied" if mark == "applied" else "rolled-back")
    if as_json:
        render.emit_json(result.to_document())
    else:
        render.repaired(result)
