"""PostgreSQL: statements a migration without a transaction cannot run a second time.

A migration marked ``-- transactional: false`` commits each statement as it runs. If one
fails, those before it stay applied and lamina marks the migration failed (see README, "Dirty
state and repair"). The quickest way out is to run it again (``lamina repair <id>
--mark-rolled-back``, then ``lamina up``), which works only when every statement that already
ran can run twice: ``IF NOT EXISTS``, ``IF EXISTS``, ``OR REPLACE``, or a ``DROP CONSTRAINT IF
EXISTS`` just before an ``ADD CONSTRAINT``. The last statement is not reported: when it fails,
the ones before it are all that stays (an INVALID index left by a failed concurrent build is
``concurrent-index``'s).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from sqlglot import exp

from lamina.risk.grammar import AddEnumValue, Statement
from lamina.risk.rules.base import (
    Context,
    Hit,
    _alter_actions,
    _drop_kind,
    _name,
    split_at,
    trees,
)

__all__ = ["not_retry_safe"]

#: What ``CREATE <kind> IF NOT EXISTS`` guards on PostgreSQL.
_CREATE_IF_NOT_EXISTS = frozenset({"TABLE", "INDEX", "SCHEMA", "SEQUENCE"})
_RERUN = "running the migration again skips what the first run made"


def not_retry_safe(node: Statement, ctx: Context) -> Iterator[Hit]:
    """An unguarded statement followed by others, in a migration without a transaction."""
    if ctx.transactional:
        return
    split = split_at(node, ctx)
    if split is None or not split[1]:
        return
    for what, error, guard in _unguarded(node, split[0], ctx):
        yield Hit(
            "not-retry-safe",
            f"{what} runs without a transaction before other statements: if one of them fails, "
            f"this one stays applied, and running the migration again fails here ('{error}')",
            suggestion=guard,
        )


Unguarded = tuple[str, str, str]  # what the statement does, the re-run's error, the guard


def _unguarded(node: Statement, earlier: Sequence[Statement], ctx: Context) -> Iterator[Unguarded]:
    if isinstance(node, AddEnumValue) and not node.if_not_exists:
        yield (
            f"ALTER TYPE {_name(node.enum)} ADD VALUE '{node.value}'",
            "already exists",
            f"write ADD VALUE IF NOT EXISTS '{node.value}', so {_RERUN}",
        )
    if not isinstance(node, exp.Expr):
        return
    if isinstance(node, exp.Create):
        yield from _create(node)
    elif isinstance(node, exp.Drop) and not node.args.get("exists"):
        kind = _drop_kind(node)
        names = ", ".join(_name(target) for target in node.args.get("tables") or [])
        yield f"DROP {kind} {names}", "does not exist", f"write DROP {kind} IF EXISTS, so {_RERUN}"
    yield from _alter(node, earlier, ctx)


def _create(node: exp.Create) -> Iterator[Unguarded]:
    if node.args.get("exists") or node.args.get("replace"):
        return
    kind = str(node.args.get("kind") or "").upper()
    materialized = node.find(exp.MaterializedProperty) is not None
    target = node.this.args.get("table") if isinstance(node.this, exp.Index) else node.this
    name = _name(node.this.this if isinstance(node.this, exp.Schema) else node.this)
    if kind == "VIEW" and not materialized:
        yield f"CREATE VIEW {name}", "already exists", f"write CREATE OR REPLACE VIEW, so {_RERUN}"
    elif kind in _CREATE_IF_NOT_EXISTS or materialized:
        kind = "MATERIALIZED VIEW" if materialized else kind
        guard = f"write CREATE {kind} IF NOT EXISTS, so {_RERUN}"
        if node.args.get("concurrently"):
            guard += (
                "; a concurrent build that failed leaves an INVALID index, which IF NOT EXISTS "
                "keeps: drop it (DROP INDEX CONCURRENTLY IF EXISTS) before running again"
            )
        on = f" on {_name(target)}" if kind == "INDEX" else ""
        yield f"CREATE {kind} {name}{on}", "already exists", guard


def _alter(node: exp.Expr, earlier: Sequence[Statement], ctx: Context) -> Iterator[Unguarded]:
    table, actions = _alter_actions(node)
    for action in actions:
        if isinstance(action, exp.ColumnDef) and not action.args.get("exists"):
            yield (
                f"ADD COLUMN {_name(table)}.{_name(action.this)}",
                "already exists",
                f"write ADD COLUMN IF NOT EXISTS, so {_RERUN}",
            )
        elif _drop_kind(action) in {"COLUMN", "CONSTRAINT"} and not action.args.get("exists"):
            kind = _drop_kind(action)
            names = ", ".join(_name(target) for target in action.args.get("tables") or [])
            yield (
                f"DROP {kind} {names} of {_name(table)}",
                "does not exist",
                f"write DROP {kind} IF EXISTS, so {_RERUN}",
            )
        elif isinstance(action, exp.AddConstraint):
            for constraint in action.expressions:
                name = constraint.name if isinstance(constraint, exp.Constraint) else ""
                if name and not _dropped_before(table, name, earlier, ctx):
                    yield (
                        f"ADD CONSTRAINT {name} on {_name(table)}",
                        "already exists",
                        f"run ALTER TABLE {_name(table)} DROP CONSTRAINT IF EXISTS {name} just "
                        "before it, so running the migration again adds it afresh",
                    )


def _dropped_before(
    table: exp.Expr | None, name: str, earlier: Sequence[Statement], ctx: Context
) -> bool:
    """Whether an earlier statement ran ``ALTER TABLE <table> DROP CONSTRAINT IF EXISTS name``."""
    key = ctx.state.key(table)
    for statement in trees(earlier):
        other, actions = _alter_actions(statement)
        if ctx.state.key(other) != key:
            continue
        for action in actions:
            dropped = [t.name.lower() for t in action.args.get("tables") or []]
            guarded = _drop_kind(action) == "CONSTRAINT" and action.args.get("exists")
            if guarded and name.lower() in dropped:
                return True
    return False
