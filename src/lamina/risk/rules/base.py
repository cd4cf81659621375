"""What every statement rule shares: the hit it yields, the context it reads, and helpers
that read the sqlglot tree."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from sqlglot import exp

from lamina.risk.grammar import Recognised, Statement
from lamina.risk.model import LiveFacts, RiskLevel, Subject
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
    subject: Subject | None = None


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

    def version_below(self, *version: int) -> bool:
        """Whether the server is older than ``version``; False when it is unknown."""
        known = self.facts.server_version
        return known is not None and known < version

    @property
    def version_known(self) -> bool:
        return self.facts.server_version is not None

    @property
    def down(self) -> bool:
        return self.direction == "down"


#: A rule for the statements sqlglot parsed into a tree.
Rule = Callable[[exp.Expr, Context], Iterator[Hit]]
#: A rule for the statements lamina read from their tokens (:mod:`lamina.risk.recognised`).
RecognisedRule = Callable[[Recognised, Context], Iterator[Hit]]


def split_at(
    node: Statement, ctx: Context
) -> tuple[Sequence[Statement], Sequence[Statement]] | None:
    """The migration's statements before ``node`` and after it (found by identity), or None
    when ``node`` is not among them."""
    statements = ctx.state.statements
    for index, statement in enumerate(statements):
        if statement is node:
            return statements[:index], statements[index + 1 :]
    return None


def trees(statements: Iterable[Statement]) -> list[exp.Expr]:
    """The statements sqlglot parsed, leaving out those lamina read from their tokens."""
    return [statement for statement in statements if isinstance(statement, exp.Expr)]


def _name(node: exp.Expr | None) -> str:
    """A table or column as people write it: qualified, unquoted."""
    if node is None:
        return "?"
    if isinstance(node, exp.Table):
        return ".".join(part.name for part in node.parts) or "?"
    return node.name or "?"


def _size(ctx: Context, table: exp.Expr | str | None) -> str:
    """`` (≈41 M rows, 12 GB)`` from the live facts, or ``""`` when they say nothing."""
    key = table if isinstance(table, str) else ctx.state.key(table)
    known = ctx.facts.table(key)
    if known is None:
        return ""
    parts = []
    if known.rows is not None:
        parts.append(f"≈{_count(known.rows)} rows")
    if known.size_bytes is not None:
        parts.append(_bytes(known.size_bytes))
    return f" ({', '.join(parts)})" if parts else ""


def _count(rows: int) -> str:
    for size, unit in ((10**9, " billion"), (10**6, " M"), (10**3, " k")):
        if rows >= size:
            return f"{rows / size:.3g}{unit}"
    return str(rows)


def _bytes(size: int) -> str:
    for power, unit in ((4, "TB"), (3, "GB"), (2, "MB"), (1, "kB")):
        if size >= 1024**power:
            return f"{size / 1024**power:.3g} {unit}"
    return f"{size} bytes"


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
