"""``lamina backfill``: run the backfills under way to their end (those ``up`` queued to run
in the background, and paused ones); also what the worker ``up`` starts runs."""

from __future__ import annotations

import click

from lamina.cli.commands._shared import json_option, open_lamina


@click.command()
@json_option
@click.pass_context
def backfill(ctx: click.Context, as_json: bool) -> None:
    """Run every backfill under way to its end, oldest first.

    Each batch takes the migration lock only while it runs, so deploys and other runs go on
    between batches. Exit 0 when every backfill finished.
    """
    from lamina.cli import render
    from lamina.documents import backfill_document

    finished = open_lamina(ctx, progress=not as_json).backfill()
    if as_json:
        render.emit_json(backfill_document(finished))
    elif finished:
        render.console().print(
            f"[green]✅ Finished {len(finished)} backfill(s): {', '.join(finished)}"
        )
    else:
        render.console().print("[green]Nothing to do: no backfill is under way.")
