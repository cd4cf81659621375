"""SQLite's own rules: what its ALTER TABLE and transactions refuse."""

from __future__ import annotations

from lamina.risk.rules.base import Rule

#: sqlite's statement rules, in the order their findings are listed.
STATEMENT_RULES: tuple[Rule, ...] = ()

#: Leading words of statements sqlglot reads only as a Command that are harmless here (see
#: :data:`lamina.risk.rules.UNDERSTOOD`).
UNDERSTOOD: tuple[tuple[str, ...], ...] = ()
