"""Rules that only SQLite needs: what its ALTER TABLE and transactions refuse."""

from __future__ import annotations

from lamina.risk.model import RuleInfo

#: sqlite's own rules.
ENTRIES: tuple[RuleInfo, ...] = ()
