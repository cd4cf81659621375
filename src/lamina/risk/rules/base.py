"""What every statement rule shares: the hit it yields, the context it reads, and helpers
that read the sqlglot tree."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

from sqlglot import exp

from lamina.risk.model import LiveFacts, RiskLevel
from lamina.risk.state import SchemaSoFar


@dataclass(frozen=True, slots=True)
class Hit:
    """A rule that fired on a statement, with the message naming what it touches.

    ``level``, ``reason`` and ``suggestion`` replace the catalogue's when the statement or the
    server version makes them different (an ALTER that MySQL 8.0 runs INSTANT is not the one
    5.7 copies).
    """

    rule: str
    message: str
    level: RiskLevel | None = None
    reason: str | None = None
    suggestion: str | None = None


@dataclass(frozen=True, slots=True)
class Context:
    """What a rule may consult besides the statement.

    Attributes:
        dialect: the sqlglot dialect of the target engine.
        direction: ``up`` or ``down``.
        state: the schema as the migration has left it so far.
        facts: the live database's facts (empty offline), server version included.
        transactional: the step runs in one transaction, so a lock taken by an earlier
            statement is held until its end (False for ``-- transactional: false``).
    """

    dialect: str
    direction: str
    state: SchemaSoFar
    facts: LiveFacts = field(default_factory=LiveFacts)
    transactional: bool = True

    def version_at_least(self, *version: int) -> bool:
        """Whether the server is at least ``version``; False when it is unknown."""
        known = self.facts.server_version
        return known is not None and known >= version

    @property
    def down(self) -> bool:
        return self.direction == "down"


Rule = Callable[[exp.Expr, Context], Iterator[Hit]]


def _name(node: exp.Expr | None) -> str:
    """A table or column as people write it: qualified, unquoted."""
    if node is None:
        return "?"
    if isinstance(node, exp.Table):
        return ".".join(part.name for part in node.parts) or "?"
    return node.name or "?"


def _alter_actions(node: exp.Expr) -> tuple[exp.Expr | None, Sequence[exp.Expr]]:
    """The table and actions of an ``ALTER TABLE``; no actions for anything else."""
    if isinstance(node, exp.Alter) and node.args.get("kind") == "TABLE":
        return node.this, node.args.get("actions") or []
    return None, ()


def _drop_kind(node: exp.Expr) -> str:
    return str(node.args.get("kind") or "").upper() if isinstance(node, exp.Drop) else ""


def _column_constraints(column: exp.ColumnDef) -> list[exp.Expr]:
    return [c.args["kind"] for c in column.args.get("constraints") or [] if c.args.get("kind")]


def _has_where(node: exp.Expr) -> bool:
    """A WHERE clause or a join restricts the rows; ``WHERE TRUE`` does not."""
    where = node.args.get("where")
    if where is not None:
        return not (isinstance(where.this, exp.Boolean) and where.this.this is True)
    target = node.this
    return isinstance(target, exp.Table) and bool(target.args.get("joins"))


def _constraints_added(node: exp.Expr) -> Iterator[exp.Expr]:
    """Every constraint an ``ALTER TABLE ... ADD [CONSTRAINT]`` adds, named or not."""
    for action in _alter_actions(node)[1]:
        if isinstance(action, exp.AddConstraint):
            for item in action.expressions:
                if isinstance(item, exp.Constraint):
                    yield from item.expressions
                else:
                    yield item


def _constraint_name(node: exp.Expr) -> str:
    """The name given with ``ADD CONSTRAINT name``, for messages."""
    parent = node.parent
    return f" {parent.name}" if isinstance(parent, exp.Constraint) and parent.name else ""


def _created_index(node: exp.Expr) -> exp.Index | None:
    if isinstance(node, exp.Create) and node.args.get("kind") == "INDEX":
        index = node.this
        return index if isinstance(index, exp.Index) else None
    return None
