"""Risk findings: what a step would do that deserves a second look, and how bad it is."""

from __future__ import annotations

import enum
from dataclasses import dataclass

__all__ = ["RiskFinding", "RiskLevel", "RiskReport"]


class RiskLevel(enum.IntEnum):
    """Ordered, so ``max()`` gives a step's overall level."""

    INFO = 1
    WARNING = 2
    DANGER = 3

    @property
    def label(self) -> str:
        return self.name.lower()


@dataclass(frozen=True, slots=True)
class RiskFinding:
    """One rule that fired: stable ``rule`` id, level, why it matters and what to do instead."""

    rule: str
    level: RiskLevel
    message: str
    suggestion: str = ""
    statement: str | None = None
    line: int | None = None


@dataclass(frozen=True, slots=True)
class RiskReport:
    """Every finding for one migration in one direction."""

    migration_id: str
    direction: str
    findings: tuple[RiskFinding, ...] = ()

    @property
    def level(self) -> RiskLevel | None:
        return max((f.level for f in self.findings), default=None)

    @property
    def risky(self) -> bool:
        """Danger-level findings make a step risky: it needs --force and confirmation."""
        return self.level is RiskLevel.DANGER

    def reasons(self) -> tuple[str, ...]:
        """The danger-level messages, for people."""
        return tuple(f.message for f in self.findings if f.level is RiskLevel.DANGER)

    def danger_rules(self) -> tuple[str, ...]:
        """The danger-level rule ids, for one-line summaries and the audit log."""
        return tuple(dict.fromkeys(f.rule for f in self.findings if f.level is RiskLevel.DANGER))
