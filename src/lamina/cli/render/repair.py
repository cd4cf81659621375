"""``repair``: a dirty migration resolved, or edited files accepted."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from lamina.cli.render.common import console

if TYPE_CHECKING:
    from lamina.api import ChecksumAccepted, RepairResult


def repaired(result: RepairResult) -> None:
    now = "applied" if result.mark == "applied" else "pending again (its row was removed)"
    console().print(f"✅ {result.migration_id} repaired: now {now}.", style="green", markup=False)


def checksums_accepted(accepted: Sequence[ChecksumAccepted]) -> None:
    out = console()
    for a in accepted:
        out.print(
            f"[green]✅ {a.migration_id}: the edited file is accepted (checksum {a.now[:12]}…, "
            f"was {a.was[:12]}…)."
        )
