"""Commands that read: status, validate, history, graph, lint."""

from __future__ import annotations

import click

from lamina.cli.commands._shared import json_option, open_lamina


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

    lamina = open_lamina(ctx)
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

    result = open_lamina(ctx).validate()
    if as_json:
        render.emit_json(result.to_document(strict=strict))
    else:
        render.validation(result, strict=strict)
    if not result.ok(strict=strict):
        ctx.exit(1)


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

    events = open_lamina(ctx).history(limit)
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
@json_option
@click.pass_context
def graph(ctx: click.Context, fmt: str, as_json: bool) -> None:
    """Draw the migrations and their dependencies, applied and pending marked.

    Solid arrows are declared dependencies; dotted ones join a migration without any to the
    one before it in the order lamina applies them. Exits 1, naming it, when the dependencies
    form a cycle or name an unknown migration (the graph is drawn all the same). With --json,
    the nodes (each migration, its status and dependencies) and edges instead of a drawing.
    """
    from typing import cast

    from lamina.diagram import Format, render
    from lamina.errors import ValidationError

    report, parents = open_lamina(ctx).graph()
    if as_json:
        from lamina.cli.render import emit_json
        from lamina.documents import graph_document

        document = graph_document(report, parents)
        emit_json(document)
        if not document["ok"]:  # the problems are in the document: no second one
            ctx.exit(1)
        return
    click.echo(render(report, parents, cast(Format, fmt)), nl=False)
    broken = [p for p in report.problems if p.code in ("cycle", "unknown")]
    if broken:  # drawn all the same, so the cycle can be seen; but the graph is not valid
        raise ValidationError(broken)


@click.command()
@click.argument("selection", nargs=-1, metavar="[ID]...")
@click.option(
    "--level",
    type=click.Choice(["info", "warning", "danger"]),
    default="danger",
    show_default=True,
    help="Exit 1 when anything at or above this level is found.",
)
@click.option(
    "--dialect",
    metavar="ENGINE",
    help="Lint offline as this engine's SQL: postgresql, mysql, mariadb, sqlite or duckdb.",
)
@click.option(
    "--server-version",
    metavar="VERSION",
    help="The server version the rules assume (16, 8.0.36, 10.11); default: the database's.",
)
@click.option("--rules", "show_rules", is_flag=True, help="List the rule catalogue and exit.")
@json_option
@click.pass_context
def lint(
    ctx: click.Context,
    selection: tuple[str, ...],
    level: str,
    dialect: str | None,
    server_version: str | None,
    show_rules: bool,
    as_json: bool,
) -> None:
    """Assess the SQL of each migration, up and down, against the risk rules.

    Checks every migration (or the IDs or versions given); nothing is run and no history is
    read. With --dialect no database is needed; otherwise the configured database's engine is
    used, with its live facts (indexes, table sizes, server version) when it can be reached.
    Allow a rule in a migration, with a reason, by a comment `-- lamina:allow RULE-ID reason`
    (or `risk_allow = {...}` in Python). See docs/risk-rules.md.
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
    result = open_lamina(ctx).lint(selection, dialect=dialect, server_version=server_version)
    threshold = RiskLevel[level.upper()]
    if as_json:
        render.emit_json(result.to_document(threshold))
    else:
        render.lint(result, level=threshold)
    if result.fails(threshold):
        ctx.exit(1)
