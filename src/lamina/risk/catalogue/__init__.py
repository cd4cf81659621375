"""The rule catalogue as data: every rule lamina checks, its level, and the dialects it covers.

The analyzer, the CLI's rule listing, ``lamina:allow`` validation and docs/risk-rules.md all
read this one table, so a rule cannot exist in one place and be missing in another. Rules that
concern one engine live in that engine's module (``postgres``, ``mysql``, ``sqlite``,
``duckdb``); ``general`` holds the rest. Nothing here imports sqlglot.
"""

from __future__ import annotations

from lamina.risk.catalogue import duckdb, general, mysql, postgres, sqlite
from lamina.risk.model import RuleInfo

__all__ = ["CATALOGUE", "RULES", "alternative", "rule"]

#: Every rule, in the order the docs present them: general rules, then each engine's own.
CATALOGUE: tuple[RuleInfo, ...] = (
    *general.ENTRIES,
    *postgres.ENTRIES,
    *mysql.ENTRIES,
    *sqlite.ENTRIES,
    *duckdb.ENTRIES,
)

#: The catalogue by rule id.
RULES: dict[str, RuleInfo] = {info.id: info for info in CATALOGUE}


def rule(rule_id: str) -> RuleInfo:
    """The catalogue entry of ``rule_id`` (KeyError for an unknown id: a bug in lamina)."""
    return RULES[rule_id]


def alternative(rule_id: str, dialect: str) -> str:
    """The safer alternative for this engine, or the general one."""
    return rule(rule_id).alternative_for(dialect)
