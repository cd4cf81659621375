"""Risk assessment of the statements a migration would run.

``analyze`` parses each statement once with sqlglot in the target's dialect and applies the
rule catalogue (:data:`CATALOGUE`, documented in docs/risk-rules.md). A statement the parser
cannot understand is reported, never silently treated as safe. sqlglot is imported only when
there is a statement to parse.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from types import MappingProxyType
from typing import TYPE_CHECKING

from lamina.models import StatementRecord
from lamina.risk.allow import allowance_errors, parse_allowances
from lamina.risk.catalogue import CATALOGUE, RULES, alternative
from lamina.risk.model import (
    ALL_DIALECTS,
    LiveFacts,
    RiskFinding,
    RiskLevel,
    RiskReport,
    RuleInfo,
    TableFacts,
)

if TYPE_CHECKING:
    from lamina.risk.rules import Hit

__all__ = [
    "ALL_DIALECTS",
    "CATALOGUE",
    "RULES",
    "LiveFacts",
    "RiskFinding",
    "RiskLevel",
    "RiskReport",
    "RuleInfo",
    "TableFacts",
    "allowance_errors",
    "analyze",
    "parse_allowances",
]

_NOTHING_ALLOWED: Mapping[str, str] = MappingProxyType({})
_NO_FACTS = LiveFacts()


def analyze(
    migration_id: str,
    statements: Sequence[StatementRecord],
    *,
    dialect: str,
    category: str,
    direction: str,
    reversible: bool = True,
    down_defined: bool | None = None,
    up_statements: Sequence[StatementRecord] = (),
    facts: LiveFacts = _NO_FACTS,
    transactional: bool = True,
    allowed: Mapping[str, str] = _NOTHING_ALLOWED,
) -> RiskReport:
    """Assess one migration in one direction.

    Args:
        statements: what the step would run, as the dry-run recorder captured it, in order.
        dialect: the sqlglot dialect of the target engine.
        category: the migration's category (``data`` migrations are risky to revert).
        direction: ``up`` or ``down``.
        reversible: False when the migration has no down to run (only consulted for ``down``).
        down_defined: whether the migration declares a down at all (a ``-- migrate:down``
            marker or a ``down()`` method), even one without statements. With
            ``reversible=False`` it tells ``empty-down`` (True) from ``missing-down`` (False or
            None). A reversible down that records no statement is ``empty-down`` regardless.
        up_statements: the migration's up, when assessing its down: a down that drops what
            the up created is reported as ``down-loses-data``.
        facts: what the live database says (indexes, foreign keys, sizes, server version);
            empty for an offline lint. Named indexes also let a ``DROP INDEX`` earlier in the
            migration clear a table.
        transactional: the step runs in one transaction (locks are held until its end).
        allowed: rule id → reason, from ``-- lamina:allow`` lines or ``risk_allow``: those
            findings stay in the report, marked, but no longer count towards its level.
    """
    hits: list[RiskFinding] = []
    if direction == "down":
        hits.extend(_down_findings(statements, reversible=reversible, down_defined=down_defined))
    hits.extend(_data_migration(category, direction))
    executed = [record for record in statements if not record.is_query]
    if executed:
        hits.extend(
            _statement_findings(executed, dialect, direction, up_statements, facts, transactional)
        )
    findings = tuple(_with_allowance(f, allowed) for f in hits if RULES[f.rule].applies_to(dialect))
    return RiskReport(migration_id, direction, findings)


def _statement_findings(
    executed: Sequence[StatementRecord],
    dialect: str,
    direction: str,
    up_statements: Sequence[StatementRecord],
    facts: LiveFacts,
    transactional: bool,
) -> Iterable[RiskFinding]:
    """Walk the statements in order, checking each against the schema as it stands then."""
    from lamina.risk.grammar import opaque_reason, parse, tokens_in
    from lamina.risk.rules import STATEMENT_RULES, Context, understood
    from lamina.risk.state import SchemaSoFar, rebuilt_tables

    up_sql = [r.sql for r in up_statements if not r.is_query] if direction == "down" else []
    state = SchemaSoFar.start(facts, up_sql, dialect)
    context = Context(dialect, direction, state, facts, transactional)
    parsed = [(record, parse(record.sql, dialect)) for record in executed]
    # A DROP TABLE is judged with what follows it: a rebuild renames its copy to the name.
    state.rebuilt = rebuilt_tables(node for _, nodes in parsed for node in nodes or [])
    for record, nodes in parsed:
        if nodes is None:
            yield _unparsed(record, dialect, f"sqlglot cannot parse it as {dialect} SQL")
            continue
        if not nodes and tokens_in(record.sql, dialect):
            yield _unparsed(record, dialect, "sqlglot read no statement in it")
        for node in nodes:
            hits = [hit for rule in STATEMENT_RULES for hit in rule(node, context)]
            reason = opaque_reason(node)
            if reason is not None and not hits and not understood(node, dialect):
                yield _unparsed(record, dialect, reason)
            for hit in hits:
                yield _finding(hit, record, dialect)
            state.apply(node)


def _finding(hit: Hit, record: StatementRecord, dialect: str) -> RiskFinding:
    info = RULES[hit.rule]
    return RiskFinding(
        hit.rule,
        hit.level or info.level,
        hit.message,
        hit.suggestion or alternative(hit.rule, dialect),
        statement=record.sql,
        line=record.line,
        reason=hit.reason or info.explanation,
    )


def _unparsed(record: StatementRecord, dialect: str, reason: str) -> RiskFinding:
    return RiskFinding(
        "unparsed-sql",
        RULES["unparsed-sql"].level,
        f"lamina cannot analyse this statement ({reason}), so its risk is unknown",
        alternative("unparsed-sql", dialect),
        statement=record.sql,
        line=record.line,
        reason=RULES["unparsed-sql"].explanation,
    )


def _with_allowance(finding: RiskFinding, allowed: Mapping[str, str]) -> RiskFinding:
    reason = allowed.get(finding.rule)
    if reason is None:
        return finding
    return replace(finding, suppressed=reason)


# --------------------------------------------------------------------------------------------
# Rules about the migration as a whole (no SQL to parse)
# --------------------------------------------------------------------------------------------


def _down_findings(
    statements: Sequence[StatementRecord], *, reversible: bool, down_defined: bool | None
) -> list[RiskFinding]:
    """A down that does not exist, or exists and runs nothing."""
    if not reversible and not down_defined:
        return [_whole("missing-down", "has no down migration: it cannot be rolled back")]
    if not reversible or not any(not record.is_query for record in statements):
        return [
            _whole(
                "empty-down",
                "its down runs no statement: rolling back records it as reverted while its "
                "changes stay",
            )
        ]
    return []


def _data_migration(category: str, direction: str) -> list[RiskFinding]:
    if category != "data":
        return []
    if direction == "down":
        return [
            _whole(
                "data-migration",
                "reverts a data migration: rows it wrote, or changed since, may be lost",
                "take a backup first, or write a forward migration that corrects the data",
            )
        ]
    return [
        _whole(
            "data-migration",
            "changes data: test it on a copy of production-sized data",
            "batch large updates so locks stay short",
            level=RiskLevel.WARNING,
        )
    ]


def _whole(
    rule_id: str, message: str, suggestion: str | None = None, level: RiskLevel | None = None
) -> RiskFinding:
    info = RULES[rule_id]
    return RiskFinding(
        rule_id,
        level or info.level,
        message,
        info.alternative if suggestion is None else suggestion,
        reason=info.explanation,
    )
