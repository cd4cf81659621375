"""The rule catalogue as data: every rule lamina checks, its level, and the dialects it covers.

The analyzer, the CLI's rule listing, ``lamina:allow`` validation and docs/risk-rules.md all
read this one table, so a rule cannot exist in one place and be missing in another.

Everything lamina knows about one engine's risks lives in that engine's module (``postgres``,
``mysql``, ``sqlite``, ``duckdb``): its own rules (``ENTRIES``), its safer way for a general
rule (``ALTERNATIVES``), and the general rules its own rules replace (``REPLACES``).
``general`` holds the rules of every engine. Nothing here imports sqlglot.
"""

from __future__ import annotations

from dataclasses import replace
from types import ModuleType

from lamina.risk.catalogue import duckdb, general, mysql, postgres, sqlite
from lamina.risk.model import RuleInfo

__all__ = ["CATALOGUE", "RULES", "alternative", "rule"]

#: sqlglot dialect -> the module of what lamina knows about that engine's risks.
_ENGINES: dict[str, ModuleType] = {
    "postgres": postgres,
    "mysql": mysql,
    "sqlite": sqlite,
    "duckdb": duckdb,
}


def _general(info: RuleInfo) -> RuleInfo:
    """A general rule with each engine's alternative, minus the engines that replace it."""
    alternatives = tuple(
        (dialect, module.ALTERNATIVES[info.id])
        for dialect, module in _ENGINES.items()
        if info.id in module.ALTERNATIVES
    )
    replaced = {dialect for dialect, module in _ENGINES.items() if info.id in module.REPLACES}
    # An untouched ALL_DIALECTS also covers dialects lamina does not know; a replaced one not.
    dialects = tuple(d for d in info.dialects if d not in replaced)
    return replace(info, dialects=dialects, dialect_alternatives=alternatives)


#: Every rule, in the order the docs present them: general rules, then each engine's own.
CATALOGUE: tuple[RuleInfo, ...] = (
    *(_general(info) for info in general.ENTRIES),
    *(info for module in _ENGINES.values() for info in module.ENTRIES),
)

#: The catalogue by rule id.
RULES: dict[str, RuleInfo] = {info.id: info for info in CATALOGUE}


def rule(rule_id: str) -> RuleInfo:
    """The catalogue entry of ``rule_id`` (KeyError for an unknown id: a bug in lamina)."""
    return RULES[rule_id]


def alternative(rule_id: str, dialect: str) -> str:
    """The safer alternative for this engine, or the general one."""
    return rule(rule_id).alternative_for(dialect)
