"""One function per command: read options, make one :class:`~lamina.api.Lamina` call, render.

No SQL and no business rules live here. Imports of the API and renderer happen inside each
command so that ``--help`` does not pay for them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:
    from lamina.api import Lamina
    from lamina.urls import DatabaseURL

F = TypeVar("F", bound=Callable[..., Any])

CATEGORIES = ("schema", "data", "index", "constraint")


def _migration_ref(value: str | None, param: str) -> str | None:
    """A version (``4``, ``004``) or a migration id (``004_name``), checked for its form
    before anything is read; which migration it names is resolved by the API."""
    if value is None:
        return None
    text = value.strip()
    head, _, rest = text.partition("_")
    if not head.isdigit() or (_ and not rest):
        raise click.BadParameter(
            f"{value!r} is neither a version (4, 004) nor a migration id (004_name)",
            param_hint=param,
        )
    return text


def json_option(func: F) -> F:
    return click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")(func)


def _lamina(ctx: click.Context, *, progress: bool = False, **overrides: Any) -> Lamina:
    """Build the API object from the global options plus command-specific overrides."""
    from lamina.api import Lamina
    from lamina.config import load_settings

    settings = load_settings({**ctx.obj, **overrides})
    on_event = None
    if progress:
        from lamina.cli.render import progress_printer

        on_event = progress_printer()
    from lamina.cli.confirm import terminal_confirm

    return Lamina(settings, on_event=on_event, confirm=terminal_confirm())


@click.command()
@json_option
@click.pass_context
def status(ctx: click.Context, as_json: bool) -> None:
    """Show applied, pending, modified, missing, failed and in-progress migrations, and the
    lock holder.

    Exits 1 when there is a problem: an applied migration was modified or its file is
    missing, one failed half-way (a dirty database), the schema drifted or holds a failed
    migration's leftovers, or the migration files are invalid. A migration in progress (its
    run holds the lock) is not a problem. With the global --verbose, every migration without
    a down is listed instead of counted.
    """
    from lamina.cli import render
    from lamina.errors import LockTimeoutError

    lamina = _lamina(ctx)
    try:
        report = lamina.status()
    except LockTimeoutError:
        run = lamina.migration_run()  # DuckDB: is it a lamina run that holds the file?
        if run is None:
            raise  # another program: the error names it
        database = lamina.settings.database_url.redacted()
        if as_json:
            from lamina.documents import status_busy_document

            render.emit_json(status_busy_document(run, database))
        else:
            render.status_busy(run, database)
        return
    verbose = bool(ctx.find_root().params.get("verbose"))
    if as_json:
        render.emit_json(report.to_document())
    else:
        render.status(report, verbose=verbose)
    if report.needs_attention:
        ctx.exit(1)


@click.command()
@json_option
@click.option("--strict", is_flag=True, help="Treat warnings as errors.")
@click.pass_context
def validate(ctx: click.Context, as_json: bool, strict: bool) -> None:
    """Check migration files: names, headers, imports, dependencies, checksums.

    Imports each Python migration without running up() or down(). Exits 1 on any error
    (or any warning with --strict).
    """
    from lamina.cli import render

    result = _lamina(ctx).validate()
    if as_json:
        render.emit_json(result.to_document(strict=strict))
    else:
        render.validation(result, strict=strict)
    if not result.ok(strict=strict):
        ctx.exit(1)


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

    result = _lamina(ctx).create(name, sql=as_sql, category=category, depends_on=depends_on)
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
@json_option
@click.pass_context
def up(
    ctx: click.Context,
    to_version: str | None,
    dry_run: bool,
    force: bool,
    yes: bool,
    strict_order: bool | None,
    as_json: bool,
) -> None:
    """Apply pending migrations, each in its own transaction, showing each step's risk.

    In production (LAMINA_ENV=production) danger-level steps need confirmation, and --force
    needs --yes.
    """
    from lamina.cli import render

    target = _migration_ref(to_version, "--to")
    lamina = _lamina(ctx, progress=not as_json and not dry_run, strict_order=strict_order)
    result = lamina.up(to_version=target, dry_run=dry_run, force=force, yes=yes)
    if as_json:
        render.emit_json(result.to_document())
    else:
        render.up(result)


@click.command()
@click.argument("version", required=False)
@click.option("--all", "everything", is_flag=True, help="Revert every applied migration (as 0).")
@click.option("--dry-run", is_flag=True, help="Show the plan, its SQL and risks; change nothing.")
@click.option("--force", is_flag=True, help="Run risky steps (data loss possible).")
@click.option("--yes", "-y", is_flag=True, help="Confirm risky steps without a prompt.")
@json_option
@click.pass_context
def rollback(
    ctx: click.Context,
    version: str | None,
    everything: bool,
    dry_run: bool,
    force: bool,
    yes: bool,
    as_json: bool,
) -> None:
    """Revert every applied migration above VERSION, newest first.

    VERSION is a version (3 or 003) or a migration id (003_name). 0 or --all reverts every
    applied migration, version 0 included.
    """
    from lamina.cli import render

    if (version is None) == (not everything):
        raise click.UsageError("give a VERSION to roll back to, or --all (not both)")
    target = _migration_ref(version, "VERSION")
    lamina = _lamina(ctx, progress=not as_json and not dry_run)
    result = lamina.rollback(target, dry_run=dry_run, force=force, yes=yes)
    if as_json:
        render.emit_json(result.to_document())
    else:
        render.rollback(result)


@click.command()
@click.option(
    "--limit",
    type=click.IntRange(min=1),
    default=50,
    show_default=True,
    help="How many entries to show.",
)
@json_option
@click.pass_context
def history(ctx: click.Context, limit: int, as_json: bool) -> None:
    """Show the audit log (applies, rollbacks, failures, forced actions), newest first."""
    from lamina.cli import render

    events = _lamina(ctx).history(limit)
    if as_json:
        from lamina.documents import history_document

        render.emit_json(history_document(events))
    else:
        render.history(events)


@click.command()
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["mermaid", "dot", "text"]),
    default="text",
    show_default=True,
    help="mermaid for Markdown docs, dot for Graphviz.",
)
@click.pass_context
def graph(ctx: click.Context, fmt: str) -> None:
    """Draw the migrations and their dependencies, applied and pending marked.

    Solid arrows are declared dependencies; dotted ones join a migration without any to the
    one before it in the order lamina applies them. Exits 1, naming it, when the dependencies
    form a cycle or name an unknown migration (the graph is drawn all the same).
    """
    from typing import cast

    from lamina.diagram import Format, render
    from lamina.errors import ValidationError

    report, parents = _lamina(ctx).graph()
    click.echo(render(report, parents, cast(Format, fmt)), nl=False)
    broken = [p for p in report.problems if p.code in ("cycle", "unknown")]
    if broken:  # drawn all the same, so the cycle can be seen; but the graph is not valid
        raise ValidationError(broken)


@click.command()
@click.option(
    "--data", is_flag=True, help="Seed rows before data migrations; show what downs lose."
)
@click.option(
    "--scratch-url",
    metavar="URL",
    help="Create the throw-away database on this server instead of the target's "
    "(PostgreSQL, MySQL).",
)
@click.option(
    "--strict-column-order", is_flag=True, help="Fail when a down changes the column order."
)
@json_option
@click.pass_context
def verify(
    ctx: click.Context,
    data: bool,
    scratch_url: str | None,
    strict_column_order: bool,
    as_json: bool,
) -> None:
    """Prove each down undoes its up, on a throw-away database (never the target).

    Applies every migration in order on a new database of the same engine (a temporary file,
    or a database created on the server and dropped afterwards), and for each: up, down,
    compare the whole schema with before, up again. The target is not opened. Exits 1 when one
    does not round-trip or fails, 3 when a migration would reach outside the throw-away
    database (nothing runs).
    """
    from lamina.cli import render
    from lamina.config import load_settings
    from lamina.verify import verify as run_verify

    settings = load_settings(ctx.obj)
    server = _scratch_server(scratch_url) if scratch_url else None
    with render.verify_progress(enabled=not as_json) as progress:
        result = run_verify(
            settings,
            data=data,
            progress=progress,
            scratch_url=server,
            strict_column_order=strict_column_order,
        )
    if as_json:
        render.emit_json(result.to_document())
    else:
        render.verification(result)
    if not result.ok:
        ctx.exit(1)


def _scratch_server(text: str) -> DatabaseURL:
    """``--scratch-url`` parsed; a malformed URL is a usage error naming the option."""
    from lamina.urls import URLError, parse_url

    try:
        url = parse_url(text)
        from lamina.engines import check_url

        check_url(url)  # the same option list as DATABASE_URL's
    except URLError as exc:
        hint = f" ({exc.hint})" if exc.hint else ""
        raise click.BadParameter(f"{exc}{hint}", param_hint="--scratch-url") from None
    return url


@click.command(name="diff")
@json_option
@click.pass_context
def diff_command(ctx: click.Context, as_json: bool) -> None:
    """Show how the live schema differs from what the last lamina run left (drift).

    Exits 1 when something was added, dropped or changed outside lamina.
    """
    from lamina.cli import render

    differences, causes = _lamina(ctx).schema_changes()
    if as_json:
        from lamina.documents import drift_document

        render.emit_json(drift_document(differences, causes))
    else:
        render.drift(differences, causes=causes)
    if differences:
        ctx.exit(1)


@click.command()
@click.option("--detailed", is_flag=True, help="Add every migration, the lock, failures, backups.")
@json_option
@click.pass_context
def health(ctx: click.Context, detailed: bool, as_json: bool) -> None:
    """Print the health document (what GET /api/health answers).

    Exits 0 when healthy or degraded (pending migrations, a run in progress), 1 when
    unhealthy (a failed or modified migration, invalid files, an unreachable database).
    """
    from lamina import health as health_check
    from lamina.cli import render
    from lamina.config import load_settings

    document = health_check.check(load_settings(ctx.obj), detailed=detailed)
    if as_json:
        render.emit_json(document)  # the seed's camelCase document, key for key
    else:
        render.health(document)
    if document["status"] == "unhealthy":
        ctx.exit(1)


@click.command()
@click.argument("selection", nargs=-1, metavar="[ID]...")
@click.option(
    "--level",
    type=click.Choice(["info", "warning", "danger"]),
    default="danger",
    show_default=True,
    help="Exit 1 when anything at or above this level is found.",
)
@click.option("--rules", "show_rules", is_flag=True, help="List the rule catalogue and exit.")
@json_option
@click.pass_context
def lint(
    ctx: click.Context, selection: tuple[str, ...], level: str, show_rules: bool, as_json: bool
) -> None:
    """Assess the SQL of each migration, up and down, against the risk rules.

    Checks every migration (or the IDs or versions given) for the target's dialect; nothing
    is run and no history is read. Allow a rule in a migration, with a reason, by a comment
    `-- lamina:allow RULE-ID reason` (or `risk_allow = {...}` in Python). See
    docs/risk-rules.md.
    """
    from lamina.cli import render
    from lamina.risk import RiskLevel

    if show_rules:
        if as_json:
            from lamina.documents import rules_document

            render.emit_json(rules_document())
        else:
            render.rules()
        return
    result = _lamina(ctx).lint(selection)
    threshold = RiskLevel[level.upper()]
    if as_json:
        render.emit_json(result.to_document(threshold))
    else:
        render.lint(result, level=threshold)
    if result.fails(threshold):
        ctx.exit(1)


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
    lamina = _lamina(ctx)
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


@click.group()
def backup() -> None:
    """Back up the database, list backups, restore one (all or nothing).

    Backups go to LAMINA_BACKUP_DIR (default ./.lamina/backups), readable by the owner only,
    each with a manifest: database, schema version, time, size, SHA-256, and what triggered
    it. lamina also takes one before every risky step (BACKUP_ENABLED, default true).
    """


@backup.command(name="list")
@json_option
@click.pass_context
def backup_list(ctx: click.Context, as_json: bool) -> None:
    """List backups, newest first."""
    from lamina.cli import render

    records, broken = _lamina(ctx).backups()
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
        record = _lamina(ctx).backup(progress=progress)
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
        record = _lamina(ctx).restore(backup_id, yes=yes, progress=progress)
    if as_json:
        from lamina.documents import restore_document

        render.emit_json(restore_document(record))
    else:
        render.restored(record)


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port", type=click.IntRange(1, 65535), default=8080, show_default=True, help="TCP port."
)
@click.pass_context
def serve(ctx: click.Context, host: str, port: int) -> None:
    """Serve GET /api/health and /api/health/detailed over HTTP, as a sidecar.

    200 when healthy or degraded, 503 when unhealthy. The detailed endpoint needs
    `Authorization: Bearer <LAMINA_HEALTH_TOKEN>` when that token is set. Runs until
    stopped and prints only warnings and errors. Needs `pip install 'lamina[server]'`.
    """
    from lamina.config import load_settings
    from lamina.server import serve as run_server

    try:
        run_server(load_settings(ctx.obj), host=host, port=port)
    except KeyboardInterrupt:
        # uvicorn stopped cleanly on Ctrl+C and re-raised it: the normal way to stop a server,
        # not the "migration interrupted" case the group reports.
        return


COMMANDS = (
    status,
    validate,
    lint,
    create,
    up,
    rollback,
    history,
    repair,
    backup,
    health,
    graph,
    verify,
    diff_command,
    serve,
)
