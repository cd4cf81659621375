"""Risk assessment of the statements a migration would run.

``analyze`` parses each statement with sqlglot in the target's dialect and applies the rule
catalogue in :mod:`lamina.risk.rules`. A statement the parser cannot understand is reported,
never silently treated as safe.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from lamina.models import StatementRecord
from lamina.risk import rules
from lamina.risk.model import RiskFinding, RiskLevel, RiskReport

__all__ = ["RiskFinding", "RiskLevel", "RiskReport", "analyze"]


def analyze(
    migration_id: str,
    statements: Sequence[StatementRecord],
    *,
    dialect: str,
    category: str,
    direction: str,
    reversible: bool = True,
) -> RiskReport:
    """Assess one migration in one direction.

    Args:
        statements: what the step would run, as the dry-run recorder captured it.
        dialect: the sqlglot dialect of the target engine.
        category: the migration's category (``data`` migrations are risky to revert).
        direction: ``up`` or ``down``.
        reversible: False when the migration has no down (only consulted for ``down``).
    """
    findings: list[RiskFinding] = []
    if direction == "down" and not reversible:
        findings.extend(rules.missing_down())
    findings.extend(rules.data_migration(category, direction))
    for record in statements:
        if record.is_query:
            continue
        findings.extend(_statement_findings(record, dialect))
    return RiskReport(migration_id, direction, tuple(findings))


def _statement_findings(record: StatementRecord, dialect: str) -> list[RiskFinding]:
    import sqlglot
    from sqlglot.errors import SqlglotError

    # sqlglot logs a warning for every statement it falls back to parsing as a command.
    logging.getLogger("sqlglot").setLevel(logging.ERROR)
    try:
        expressions = sqlglot.parse(record.sql, read=dialect)
    except SqlglotError:
        return [
            RiskFinding(
                "unparsed-sql",
                RiskLevel.WARNING,
                "lamina could not parse this statement, so its risk is unknown",
                "review it by hand",
                statement=record.sql,
                line=record.line,
            )
        ]
    found: list[RiskFinding] = []
    for expression in expressions:
        if expression is None:
            continue
        for rule in rules.STATEMENT_RULES:
            for finding in rule(expression):
                found.append(
                    RiskFinding(
                        finding.rule,
                        finding.level,
                        finding.message,
                        finding.suggestion,
                        statement=record.sql,
                        line=record.line,
                    )
                )
    return found
