"""Risk assessment of the statements a migration would run.

``analyze`` parses each statement once with sqlglot in the target's dialect and applies the
rule catalogue (:data:`CATALOGUE`, documented in docs/risk-rules.md). A statement the parser
cannot understand is reported, never silently treated as safe. sqlglot is imported only when
there is a statement to parse.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from types import MappingProxyType
from typing import TYPE_CHECKING

from lamina.allowances import allowance_errors, parse_allowances
from lamina.models import StatementRecord
from lamina.risk.catalogue import CATALOGUE, RULES, alternative
from lamina.risk.model import (
    ALL_DIALECTS,
    LiveFacts,
    RiskFinding,
    RiskLevel,
    RiskReport,
    RuleInfo,
    Subject,
    TableFacts,
)

if TYPE_CHECKING:
    from lamina.risk.grammar import Parsed, Statement
    from lamina.risk.rules import Context, Hit

__all__ = [
    "ALL_DIALECTS",
    "CATALOGUE",
    "RULES",
    "LiveFacts",
    "ParseCache",
    "RiskFinding",
    "RiskLevel",
    "RiskReport",
    "RuleInfo",
    "Subject",
    "TableFacts",
    "allowance_errors",
    "analyze",
    "parse_allowances",
]

_NOTHING_ALLOWED: Mapping[str, str] = MappingProxyType({})
_NO_FACTS = LiveFacts()


class ParseCache:
    """Parsed statements by SQL text and dialect, for a run that reads the same SQL more than
    once: ``lamina lint`` assesses each migration's up, then its down, which reads the up
    again to know what it created.

    Owned by the caller, for one run; bounded (the entries used longest ago go first). The
    parse trees are shared between the analyses that read the same SQL, so no rule may change
    them.
    """

    def __init__(self, size: int = 2048) -> None:
        self._size = size
        self._entries: OrderedDict[tuple[str, str], Parsed] = OrderedDict()

    def fetch(self, sql: str, dialect: str, parse: Callable[[str, str], Parsed]) -> Parsed:
        """``parse(sql, dialect)``, remembered."""
        key = (sql, dialect)
        if key in self._entries:
            self._entries.move_to_end(key)
            return self._entries[key]
        parsed = self._entries[key] = parse(sql, dialect)
        if len(self._entries) > self._size:
            self._entries.popitem(last=False)
        return parsed


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
    parse_cache: ParseCache | None = None,
    batched: bool = False,
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
        parse_cache: parses to reuse and keep, for a caller that assesses the same SQL again
            (the up, then the down that reads the up); a fresh one when None.
        batched: a batched migration (``lamina.BatchedMigration``, ``-- batch:``): its up runs
            in short transactions, one per key range, so it holds no long lock.
    """
    hits: list[RiskFinding] = []
    if direction == "down":
        hits.extend(_down_findings(statements, reversible=reversible, down_defined=down_defined))
    hits.extend(_data_migration(category, direction, batched))
    executed = [record for record in statements if not record.is_query]
    if executed:
        cache = parse_cache if parse_cache is not None else ParseCache()
        hits.extend(
            _statement_findings(
                executed, dialect, direction, up_statements, facts, transactional, cache
            )
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
    cache: ParseCache,
) -> Iterable[RiskFinding]:
    """Walk the statements in order, checking each against the schema as it stands then."""
    from lamina.risk.grammar import opaque_reason, own_statements, parse, tokens_in
    from lamina.risk.rules import Context, check, understood
    from lamina.risk.state import SchemaSoFar, rebuilt_tables

    up_sql = [r.sql for r in up_statements if not r.is_query] if direction == "down" else []
    state = SchemaSoFar.start(facts, up_sql, dialect, cache)
    context = Context(dialect, direction, state, facts, transactional)
    seen: set[int] = set()
    parsed = [(r, own_statements(parse(r.sql, dialect, cache), seen)) for r in executed]
    state.statements = tuple(node for _, nodes in parsed for node in nodes or [])
    # A DROP TABLE is judged with what follows it: a rebuild renames its copy to the name.
    state.rebuilt = rebuilt_tables(state.statements, dialect)
    for record, nodes in parsed:
        if nodes is None:
            yield _unparsed(record, dialect, f"sqlglot cannot parse it as {dialect} SQL")
            continue
        if not nodes and tokens_in(record.sql, dialect):
            yield _unparsed(record, dialect, "sqlglot read no statement in it")
        for node in nodes:
            hits = check(node, context)
            reason = opaque_reason(node, dialect)
            if reason is not None and not hits and not understood(node, dialect):
                yield _unparsed(record, dialect, reason)
            for hit in hits:
                yield _finding(hit, record, dialect)
            _hold_locks(node, record, context)
            state.apply(node, record.line)


def _hold_locks(node: Statement, record: StatementRecord, context: Context) -> None:
    """Remember the locks a statement takes while the migration's transaction stays open.

    Only PostgreSQL's are known (:data:`lamina.risk.rules.locks.LOCKS`); MySQL commits every
    DDL statement at once, and SQLite holds one database-wide write lock from the first write
    to the commit whatever the statement.
    """
    from lamina.risk.rules.locks import LOCKS, locks_taken
    from lamina.risk.state import Held

    if not context.transactional or context.dialect != "postgres":
        return
    for taken in locks_taken(node, context.state):
        held = Held(taken.mode, LOCKS[taken.kind].statement, record.line)
        context.state.hold(taken.table, held)


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
        subject=hit.subject,
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


def _data_migration(category: str, direction: str, batched: bool = False) -> list[RiskFinding]:
    if category != "data" and not (batched and direction == "up"):
        return []
    if batched and direction == "up":
        return [
            _whole(
                "data-migration",
                "changes data in batches, one short transaction per key range: no lock is held "
                "for the whole backfill, and a stopped run resumes at the next batch",
                "",
                level=RiskLevel.INFO,
            )
        ]
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
            "batch large updates in a migration marked `-- transactional: false`, so each "
            "batch commits: inside one transaction every lock is held until the end",
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
