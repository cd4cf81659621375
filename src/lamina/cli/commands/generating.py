"""Schema-first commands: generate (the migration from the schema you want) and check-schema
(the CI gate that fails when the migrations do not build it). Their logic is
:mod:`lamina.generate`; this module reads options and prints."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from lamina.cli.commands._shared import json_option

if TYPE_CHECKING:
    from lamina.generate import GenerateResult, SchemaCheck

_SOURCE_HELP = (
    "The schema you want: a .sql file or a folder of them (run in name order), SQLAlchemy "
    "metadata (module:metadata or module:Base), or a database URL of the target's engine."
)


def _renames(values: tuple[str, ...]) -> dict[str, str]:
    """``--rename old:new`` (``users.mail:users.email`` for a column) as a mapping."""
    found: dict[str, str] = {}
    for value in values:
        old, sep, new = value.partition(":")
        if not sep or not old.strip() or not new.strip():
            raise click.BadParameter(
                f"{value!r} is not old:new (users:members, users.mail:users.email)",
                param_hint="--rename",
            )
        found[old.strip()] = new.strip()
    return found


@click.command()
@click.argument("name")
@click.option("--from", "source", required=True, metavar="SOURCE", help=_SOURCE_HELP)
@click.option("--sql", "kind", flag_value="sql", help="Write a .sql migration (the default).")
@click.option("--py", "kind", flag_value="py", help="Write a Python migration (execute_sql).")
@click.option("--dry-run", is_flag=True, help="Print the migration instead of writing it.")
@click.option(
    "--rename",
    "renames",
    multiple=True,
    metavar="OLD:NEW",
    help="A table (users:members) or column (users.mail:users.email) that was renamed, not "
    "dropped and added; repeatable.",
)
@click.option(
    "--safe",
    is_flag=True,
    help="Write the engine's safer forms: PostgreSQL CONCURRENTLY indexes and NOT VALID "
    "constraints validated in a later migration (several files), MySQL/MariaDB ALGORITHM= "
    "clauses; other engines: the plain migration, and a note saying so.",
)
@json_option
@click.pass_context
def generate(
    ctx: click.Context,
    name: str,
    source: str,
    kind: str | None,
    dry_run: bool,
    renames: tuple[str, ...],
    safe: bool,
    as_json: bool,
) -> None:
    """Write the next migration: from the schema the migrations build to the one SOURCE has.

    Both schemas are built on throw-away databases of the target's engine (the target is only
    read, for its risk facts). The new file is numbered as `lamina create` numbers and linted
    at once; "Nothing to do" (exit 0, no file) when the schemas already agree. A database URL
    as SOURCE on a folder that builds nothing yet writes a BASELINE: `lamina up` records it as
    applied on a database that already has exactly that schema (README, "Schema-first").
    """
    from lamina.config import load_settings
    from lamina.generate import generate as run_generate

    result = run_generate(
        load_settings(ctx.obj), name, source, kind=kind, dry_run=dry_run,
        renames=_renames(renames), safe=safe,
    )  # fmt: skip
    if as_json:
        from lamina.cli import render

        render.emit_json(result.to_document())
    else:
        _generated(result)


@click.command(name="check-schema")
@click.option("--from", "source", required=True, metavar="SOURCE", help=_SOURCE_HELP)
@json_option
@click.pass_context
def check_schema(ctx: click.Context, source: str, as_json: bool) -> None:
    """Exit 1 when the migrations do not build the schema SOURCE describes: the CI gate for a
    forgotten `lamina generate`. Lists each difference; the target is never opened."""
    from lamina.config import load_settings
    from lamina.generate import check_schema as run_check

    result = run_check(load_settings(ctx.obj), source)
    if as_json:
        from lamina.cli import render

        render.emit_json(result.to_document())
    else:
        _checked(result)
    if not result.ok:
        ctx.exit(1)


def _generated(result: GenerateResult) -> None:
    from rich.markup import escape

    from lamina.cli import render
    from lamina.risk import RiskLevel

    out = render.console()
    if result.nothing_to_do:
        out.print(f"Nothing to do: the migrations already build the schema of {result.source}.")
        return
    files = result.files or ()
    if result.dry_run:
        for file in files:
            if len(files) > 1:
                click.echo(f"==> {file.path.name} <==")
            click.echo(file.text, nl=False)
        names = ", ".join(str(file.path) for file in files)
        out.print(
            f"[dim]Dry run: {escape(names)} {'were' if len(files) > 1 else 'was'} not written."
        )
    else:
        kind = "baseline " if result.baseline else ""
        for file in files:
            out.print(f"[green]Wrote {kind}{escape(str(file.path))}")
        which = "them, then `lamina up` (in order)" if len(files) > 1 else "it, then `lamina up`"
        out.print(f"Review {which}.")
    for note in result.notes:
        out.print(f"[yellow]note:[/] {escape(note)}")
    if result.lint is not None:
        render.lint(result.lint, level=RiskLevel.DANGER)


def _checked(result: SchemaCheck) -> None:
    from rich.markup import escape

    from lamina.cli import render

    out = render.console()
    failing = [d for d in result.differences if not d.note]
    if not failing:
        out.print(f"[green]✅ The migrations build the schema of {escape(result.source)}.")
    else:
        out.print(
            f"[bold red]{len(failing)} difference(s): the migrations do not build the schema of "
            f"{escape(result.source)} (added: only the migrations build it; missing: only the "
            "source has it). Run `lamina generate NAME --from ...`."
        )
    for d in result.differences:
        style = "dim" if d.note else ("yellow" if d.kind == "changed" else "red")
        out.print(f"  [{style}]{escape(str(d))}[/]" + (" (note)" if d.note else ""))
        for line in d.lines:
            out.print(f"      {line}", markup=False, highlight=False)
