"""MySQL's and MariaDB's own rules: how each ALTER runs, and what commits implicitly."""

from __future__ import annotations

from lamina.risk.rules.base import Rule

#: mysql's statement rules, in the order their findings are listed.
STATEMENT_RULES: tuple[Rule, ...] = ()

#: Leading words of statements sqlglot reads only as a Command that are harmless here (see
#: :data:`lamina.risk.rules.UNDERSTOOD`).
UNDERSTOOD: tuple[tuple[str, ...], ...] = ()
