"""``diff``: how the live schema differs from what the last lamina run left (drift)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from lamina.cli.render.common import console

if TYPE_CHECKING:
    from lamina.schema import Difference


_DIFF_WORDS = {"added": "added by hand", "missing": "dropped by hand", "changed": "changed by hand"}


def drift(differences: Sequence[Difference] | None, *, causes: Sequence[str] = ()) -> None:
    """``lamina diff``: ``causes`` are dirty migrations, whose leftovers these differences are
    (then they are not called changes made by hand)."""
    from rich.markup import escape

    out = console()
    if differences is None:
        out.print("No schema recorded yet: `lamina up` records one after each run.")
        return
    if not differences:
        out.print("[green]✅ No drift: the schema is what the last lamina run left.")
        return
    if causes:
        out.print(
            f"[bold red]{len(differences)} difference(s) from the schema the last clean run "
            f"left, made by {', '.join(causes)} (failed half-way or still running; see "
            "`lamina status`):"
        )
    else:
        out.print(f"[bold red]{len(differences)} difference(s) from the schema the last run left:")
    for d in differences:
        colour = "yellow" if d.kind == "changed" else "red"
        word = d.kind if causes else _DIFF_WORDS[d.kind]
        out.print(f"  [{colour}]{word}[/]: {escape(str(d))}")
        for line in d.lines:
            out.print(f"      {line}", markup=False, highlight=False)
