"""Rules that only SQLite needs: what its ALTER TABLE and transactions refuse."""

from __future__ import annotations

from lamina.risk.model import RuleInfo

#: sqlite's own rules.
ENTRIES: tuple[RuleInfo, ...] = ()

#: General rules' safer way on this engine, by rule id (merged into the catalogue).
ALTERNATIVES: dict[str, str] = {}

#: General rules that do not apply on this engine, because one of its own rules above judges
#: the same statements with what the engine really does.
REPLACES: frozenset[str] = frozenset()
