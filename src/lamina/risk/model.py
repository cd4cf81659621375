"""Risk findings: what a step would do that deserves a second look, and how bad it is."""

from __future__ import annotations

import enum
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field

__all__ = [
    "ALL_DIALECTS",
    "LiveFacts",
    "RiskFinding",
    "RiskLevel",
    "RiskReport",
    "RuleInfo",
    "Subject",
    "TableFacts",
]

#: The sqlglot dialects of the engines lamina supports.
ALL_DIALECTS: tuple[str, ...] = ("duckdb", "sqlite", "postgres", "mysql")


class RiskLevel(enum.IntEnum):
    """Ordered, so ``max()`` gives a step's overall level."""

    INFO = 1
    WARNING = 2
    DANGER = 3

    @property
    def label(self) -> str:
        return self.name.lower()


@dataclass(frozen=True, slots=True)
class RuleInfo:
    """One entry of the rule catalogue, as data the CLI and the docs can list.

    Attributes:
        id: stable kebab-case id, used in findings, the audit log and ``lamina:allow``.
        level: the level a finding of this rule has (``data-migration`` is a warning on up).
        title: one line saying what the rule catches.
        explanation: why it is risky.
        alternative: the safer way to do it (findings may carry a dialect-specific one).
        dialects: the sqlglot dialects it applies to; on other engines it never fires.
        dialect_alternatives: ``(dialect, alternative)`` pairs where an engine has a better way.
    """

    id: str
    level: RiskLevel
    title: str
    explanation: str
    alternative: str
    dialects: tuple[str, ...] = ALL_DIALECTS
    dialect_alternatives: tuple[tuple[str, str], ...] = ()

    def alternative_for(self, dialect: str) -> str:
        """The engine's own safer way when it has one, else the general alternative."""
        return dict(self.dialect_alternatives).get(dialect, self.alternative)

    def applies_to(self, dialect: str) -> bool:
        """Rules for every supported engine also apply to dialects lamina does not know."""
        return dialect in self.dialects or self.dialects == ALL_DIALECTS


@dataclass(frozen=True, slots=True)
class Subject:
    """The table (and column) whose data a finding is about, as the statement wrote them.

    ``table`` holds the name's parts (``("app", "orders")``) and ``column`` the column, each
    rendered as SQL of the statement's dialect (quoted where the statement quoted it), so a
    live check can ask the database about exactly what the statement would drop.
    """

    table: tuple[str, ...]
    column: str | None = None
    label: str = ""


@dataclass(frozen=True, slots=True)
class RiskFinding:
    """One rule that fired: stable ``rule`` id, level, why it matters and what to do instead.

    ``reason`` says in one line why the finding matters (the catalogue's explanation unless
    the statement or server version makes it more specific). ``suppressed`` holds the reason
    when the migration allows the rule (``lamina:allow``): the finding is still shown, but no
    longer counts towards the report's level.
    """

    rule: str
    level: RiskLevel
    message: str
    suggestion: str = ""
    statement: str | None = None
    line: int | None = None
    suppressed: str | None = None
    reason: str = ""
    #: What the finding's data loss is about, for the live check of a rollback
    #: (:mod:`lamina.losses`); None when the rule is not about one table's data.
    subject: Subject | None = None

    def to_dict(self) -> dict[str, object]:
        """This finding as an entry of a document's ``findings`` (docs/json.md)."""
        return {
            "rule": self.rule,
            "level": self.level.label,
            "message": self.message,
            "reason": self.reason,
            "suggestion": self.suggestion,
            "line": self.line,
            "statement": self.statement,
            "allowed": self.suppressed,
        }


@dataclass(frozen=True, slots=True)
class RiskReport:
    """Every finding for one migration in one direction."""

    migration_id: str
    direction: str
    findings: tuple[RiskFinding, ...] = ()

    @property
    def active(self) -> tuple[RiskFinding, ...]:
        """The findings that count: those the migration did not allow with a reason."""
        return tuple(f for f in self.findings if f.suppressed is None)

    @property
    def suppressed(self) -> tuple[RiskFinding, ...]:
        """The findings the migration allowed; shown with their reason, never counted."""
        return tuple(f for f in self.findings if f.suppressed is not None)

    @property
    def level(self) -> RiskLevel | None:
        return max((f.level for f in self.active), default=None)

    @property
    def risky(self) -> bool:
        """Danger-level findings make a step risky: it needs --force and confirmation."""
        return self.level is RiskLevel.DANGER

    def reasons(self) -> tuple[str, ...]:
        """The danger-level messages, for people."""
        return tuple(f.message for f in self.active if f.level is RiskLevel.DANGER)

    def danger_rules(self) -> tuple[str, ...]:
        """The danger-level rule ids, for one-line summaries and the audit log."""
        return tuple(dict.fromkeys(f.rule for f in self.active if f.level is RiskLevel.DANGER))

    def to_dict(self) -> dict[str, object]:
        """The level (``low`` when nothing counts) and every finding, allowed ones included."""
        return {
            "risk": self.level.label if self.level else "low",
            "findings": [f.to_dict() for f in self.findings],
        }


@dataclass(frozen=True, slots=True)
class TableFacts:
    """What the live database says about one table, for findings that depend on it.

    Attributes:
        indexes: the names of its indexes (DuckDB refuses most ALTERs of an indexed table).
        indexed: it has an index even when ``indexes`` does not name it.
        referenced_by: the tables whose foreign keys point at it.
        rows: the engine's estimate of its row count, when known.
        size_bytes: its size on disk with indexes, when known.
    """

    indexes: tuple[str, ...] = ()
    indexed: bool = False
    referenced_by: tuple[str, ...] = ()
    rows: int | None = None
    size_bytes: int | None = None

    @property
    def has_index(self) -> bool:
        return self.indexed or bool(self.indexes)


@dataclass(frozen=True, slots=True)
class LiveFacts:
    """The facts of the database a migration will run on; empty for an offline lint.

    Attributes:
        tables: lower-cased table name (``schema.table`` outside the default schema) -> facts.
        server_version: the server's version, ``(16, 4)``; None when unknown (offline without
            ``--server-version``), in which case rules assume the oldest version lamina
            supports.
        flavor: ``mariadb`` or ``mysql`` for the MySQL dialect; None elsewhere or unknown.
    """

    tables: Mapping[str, TableFacts] = field(default_factory=dict)
    server_version: tuple[int, ...] | None = None
    flavor: str | None = None

    def table(self, name: str) -> TableFacts | None:
        """The facts of ``name`` (compared lower-cased), or None when nothing is known."""
        return self.tables.get(name.lower())

    @classmethod
    def of_indexes(cls, indexed: Collection[str] | Mapping[str, Collection[str]]) -> LiveFacts:
        """Facts holding only indexes: table names, or table -> index names."""
        if isinstance(indexed, Mapping):
            tables = {t.lower(): TableFacts(indexes=tuple(n)) for t, n in indexed.items()}
        else:
            tables = {t.lower(): TableFacts(indexed=True) for t in indexed}
        return cls(tables)
