"""What the backfill tests share: the ``items`` table whose ``hits`` counter each batch bumps
(so "every row exactly once" is ``hits == 1`` everywhere), and the readings of it."""

from __future__ import annotations

from typing import Any

#: The table the backfills walk; ``hits`` counts how often a batch updated each row.
ITEMS = """
-- migrate:up
CREATE TABLE items (id INTEGER PRIMARY KEY, hits INTEGER NOT NULL DEFAULT 0);
-- migrate:down
DROP TABLE items;
"""


def hits(raw: Any) -> dict[int, int]:
    """How many rows of ``items`` have each ``hits`` count: ``{1: N}`` when every row was
    updated exactly once."""
    return {int(h): int(n) for h, n in raw.query("SELECT hits, COUNT(*) FROM items GROUP BY hits")}


def states(raw: Any) -> dict[str, str]:
    """Each history row's state, by migration id."""
    return {str(i): str(s) for i, s in raw.query("SELECT id, state FROM lamina_migrations")}
