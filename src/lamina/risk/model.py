"""Risk findings: what a step would do that deserves a second look, and how bad it is."""

from __future__ import annotations

import enum
from dataclasses import dataclass

__all__ = ["ALL_DIALECTS", "RiskFinding", "RiskLevel", "RiskReport", "RuleInfo"]

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
class RiskFinding:
    """One rule that fired: stable ``rule`` id, level, why it matters and what to do instead.

    ``suppressed`` holds the reason when the migration allows the rule (``lamina:allow``): the
    finding is still shown, but no longer counts towards the report's level.
    """

    rule: str
    level: RiskLevel
    message: str
    suggestion: str = ""
    statement: str | None = None
    line: int | None = None
    suppressed: str | None = None

    def to_dict(self) -> dict[str, object]:
        """This finding as an entry of a document's ``findings`` (docs/json.md)."""
        return {
            "rule": self.rule,
            "level": self.level.label,
            "message": self.message,
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
