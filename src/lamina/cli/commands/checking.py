"""Commands that check from outside: verify, diff, health, serve."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from lamina.cli.commands._shared import json_option, open_lamina

if TYPE_CHECKING:
    from lamina.urls import DatabaseURL


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

    differences, causes = open_lamina(ctx).schema_changes()
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
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port", type=click.IntRange(1, 65535), default=8080, show_default=True, help="TCP port."
)
@click.pass_context
def serve(ctx: click.Context, host: str, port: int) -> None:
    """Serve GET /api/health and /api/health/detailed over HTTP, as a sidecar.

    200 when healthy or degraded, 503 when unhealthy. The detailed endpoint needs
    `Authorization: Bearer <LAMINA_HEALTH_TOKEN>` when that token is set. Runs until
    stopped; prints one line when it listens (where, the engine and database, whether the
    details need a token), then only warnings and errors. Needs `pip install 'lamina[server]'`.
    """
    from lamina.config import load_settings
    from lamina.server import serve as run_server

    try:
        run_server(load_settings(ctx.obj), host=host, port=port, on_ready=click.echo)
    except KeyboardInterrupt:
        # uvicorn stopped cleanly on Ctrl+C and re-raised it: the normal way to stop a server,
        # not the "migration interrupted" case the group reports.
        return
