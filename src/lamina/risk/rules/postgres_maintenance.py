"""PostgreSQL's rules for maintenance commands run as migrations: VACUUM FULL, CLUSTER,
REINDEX, REFRESH MATERIALIZED VIEW and LOCK TABLE, each of which holds a lock that readers or
writers notice (and which sqlglot reads only as an opaque command, or not at all)."""

from __future__ import annotations

from collections.abc import Iterator

from sqlglot import exp

from lamina.risk.grammar import Cluster, Recognised, command_words
from lamina.risk.model import RiskLevel
from lamina.risk.rules.base import Context, Hit, RecognisedRule, Rule, _name, _size
from lamina.risk.rules.locks import LOCKS, lock_table_mode, locks_taken
from lamina.risk.rules.postgres_commands import reindex, vacuum

__all__ = ["RECOGNISED_RULES", "STATEMENT_RULES"]


def vacuum_full(node: exp.Expr, ctx: Context) -> Iterator[Hit]:
    """Outside a transaction (inside one it fails: cannot-run-in-transaction)."""
    vacuumed = vacuum(command_words(node, "postgres"))
    if ctx.transactional or vacuumed is None or not vacuumed.full:
        return
    lock = LOCKS["vacuum-full"].mode
    tables = ", ".join(f"{name}{_size(ctx, name)}" for name in vacuumed.names)
    yield Hit(
        "vacuum-full",
        f"VACUUM FULL rewrites {tables or 'every table of the database, one by one,'} under an "
        f"{lock.title} lock, so {lock.blocked} wait until each copy ends",
    )


def cluster(node: Recognised, ctx: Context) -> Iterator[Hit]:
    if not isinstance(node, Cluster):
        return
    lock = LOCKS["cluster"].mode
    if node.table is None:
        if not ctx.transactional:  # inside one it fails: cannot-run-in-transaction
            yield Hit(
                "cluster",
                f"CLUSTER rewrites every table that was clustered before, one by one, each "
                f"under an {lock.title} lock, so {lock.blocked} wait",
            )
        return
    if ctx.state.is_new(node.table):
        return
    yield Hit(
        "cluster",
        f"CLUSTER rewrites {_name(node.table)}{_size(ctx, node.table)} in index order under an "
        f"{lock.title} lock, so {lock.blocked} wait until the copy ends",
    )


def lock_table(node: exp.Expr, ctx: Context) -> Iterator[Hit]:
    words = command_words(node, "postgres")
    if words[:1] != ("LOCK",):
        return
    names = ", ".join(taken.table for taken in locks_taken(node, ctx.state))
    if not ctx.transactional:
        yield Hit(
            "lock-table",
            f"locks {names} outside a transaction: PostgreSQL refuses it ('LOCK TABLE can only "
            "be used in transaction blocks') and the migration fails",
            level=RiskLevel.DANGER,
            suggestion="remove `-- transactional: false`, or drop the LOCK TABLE",
        )
        return
    mode = lock_table_mode(words)
    blocked = mode.blocked or "only schema changes and VACUUM"
    yield Hit(
        "lock-table",
        f"locks {names} in {mode.title} mode until the migration commits: {blocked} wait for "
        "every statement after it",
        level=None if mode.blocked else RiskLevel.INFO,
    )


def reindex_not_concurrently(node: exp.Expr, ctx: Context) -> Iterator[Hit]:
    rebuilt = reindex(command_words(node, "postgres"))
    if rebuilt is None or rebuilt.concurrently:
        return
    if ctx.transactional and rebuilt.kind in {"SCHEMA", "DATABASE", "SYSTEM"}:
        return  # refused in a transaction block: cannot-run-in-transaction says so
    lock = LOCKS["reindex"].mode
    what = f"{rebuilt.kind.lower()} {', '.join(rebuilt.names)}".strip()
    if rebuilt.kind == "TABLE":
        what += "".join(_size(ctx, name) for name in rebuilt.names)
    yield Hit(
        "reindex-not-concurrently",
        f"rebuilds the indexes of {what} without CONCURRENTLY: a {lock.title} lock on each "
        f"table makes {lock.blocked} wait, and an ACCESS EXCLUSIVE lock on each index blocks "
        "the reads that use it",
    )


def refresh_materialized_view_not_concurrently(node: exp.Expr, ctx: Context) -> Iterator[Hit]:
    words = command_words(node, "postgres")
    if words[:3] != ("REFRESH", "MATERIALIZED", "VIEW") or "CONCURRENTLY" in words[3:4]:
        return
    lock = LOCKS["refresh-materialized-view"].mode
    views = ", ".join(taken.table for taken in locks_taken(node, ctx.state))
    yield Hit(
        "refresh-materialized-view-not-concurrently",
        f"refreshes materialized view {views}{_size(ctx, views)} without CONCURRENTLY: its "
        f"{lock.title} lock makes every read of it wait until the refresh ends",
    )


#: The rules of this module for statements sqlglot parsed (or read only as a command), in
#: the order their findings are listed.
STATEMENT_RULES: tuple[Rule, ...] = (
    vacuum_full,
    lock_table,
    reindex_not_concurrently,
    refresh_materialized_view_not_concurrently,
)

#: The rules of this module for statements lamina read from their tokens.
RECOGNISED_RULES: tuple[RecognisedRule, ...] = (cluster,)
