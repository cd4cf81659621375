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
    between batches. One worker runs at a time: a second one leaves at once, naming the first.
    Exit 0 when every backfill finished, or another worker runs them.
    """
    from lamina.cli import render

    run = open_lamina(ctx, progress=not as_json).backfill()
    out = render.console()
    if as_json:
        render.emit_json(run.to_document())
    elif run.other_worker is not None:
        out.print(
            f"[cyan]↻ Another worker runs the backfills under way: {run.other_worker.describe()} "
            "(`lamina status` shows their progress); nothing done here."
        )
    elif run.finished:
        out.print(f"[green]✅ Finished {len(run.finished)} backfill(s): {', '.join(run.finished)}")
    else:
        out.print("[green]Nothing to do: no backfill is under way.")
