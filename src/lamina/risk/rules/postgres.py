"""PostgreSQL's own rules: index builds and drops that block writes or run concurrently, the
statements a transaction block refuses, and (from the modules beside this one) what changes
tables (``postgres_alter``), maintenance commands (``postgres_maintenance``) and the
migration's transaction as a whole (``transaction``)."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from typing import TypeVar

from sqlglot import exp

from lamina.risk.grammar import AddEnumValue, Statement, command_words
from lamina.risk.model import RiskLevel
from lamina.risk.rules import postgres_alter, postgres_maintenance, retry, transaction
from lamina.risk.rules.base import (
    Context,
    Hit,
    RecognisedRule,
    Rule,
    _created_index,
    _drop_kind,
    _name,
    _size,
)
from lamina.risk.rules.locks import LOCKS, refused_in_transaction
from lamina.risk.rules.postgres_commands import reindex


def create_index_not_concurrently(node: exp.Expr, ctx: Context) -> Iterator[Hit]:
    index = _created_index(node)
    if index is None or node.args.get("concurrently"):
        return
    table = index.args.get("table")
    if not ctx.state.is_new(table):
        lock = LOCKS["create-index"].mode
        yield Hit(
            "create-index-not-concurrently",
            f"builds index {_name(index)} on {_name(table)}{_size(ctx, table)} without "
            f"CONCURRENTLY: its {lock.title} lock makes {lock.blocked} to {_name(table)} wait "
            "until the index is built",
        )


def drop_index_not_concurrently(node: exp.Expr, ctx: Context) -> Iterator[Hit]:
    if _drop_kind(node) != "INDEX" or node.args.get("concurrently"):
        return
    lock = LOCKS["drop-index"].mode
    for index in node.args.get("tables") or []:
        if ctx.state.key(index) not in ctx.state.created_indexes:
            owner = ctx.state.index_table(index) or "its table"
            yield Hit(
                "drop-index-not-concurrently",
                f"drops index {_name(index)} without CONCURRENTLY: an {lock.title} lock on "
                f"{owner} makes {lock.blocked} wait, and waits itself behind every open "
                "transaction that uses the table",
            )


def concurrent_index(node: exp.Expr, ctx: Context) -> Iterator[Hit]:
    """Outside a transaction, a concurrent build works but can leave an INVALID index."""
    if ctx.transactional:
        return  # refused there: cannot-run-in-transaction says so
    index = _created_index(node)
    if index is not None and node.args.get("concurrently"):
        yield Hit(
            "concurrent-index",
            f"builds index {_name(index)} CONCURRENTLY: if it fails, an INVALID index stays "
            "behind and still slows every write",
        )
    elif _drop_kind(node) == "INDEX" and node.args.get("concurrently"):
        names = ", ".join(_name(t) for t in node.args.get("tables") or [])
        yield Hit(
            "concurrent-index",
            f"drops index {names} CONCURRENTLY: if it fails, the index stays behind INVALID",
        )
    elif (rebuilt := reindex(command_words(node, "postgres"))) and rebuilt.concurrently:
        yield Hit(
            "concurrent-index",
            f"rebuilds {rebuilt.kind.lower()} {', '.join(rebuilt.names)} CONCURRENTLY: if it "
            "fails, a new INVALID index (named ..._ccnew) stays behind and slows every write",
        )


def cannot_run_in_transaction(node: Statement, ctx: Context) -> Iterator[Hit]:
    """What PostgreSQL refuses inside a transaction block, in a migration that runs in one."""
    if not ctx.transactional:
        return
    refused = refused_in_transaction(node)
    if refused is not None:
        yield Hit(
            "cannot-run-in-transaction",
            f"{refused} cannot run inside a transaction block, and this migration runs in one: "
            "PostgreSQL refuses it and the migration fails",
        )
    elif isinstance(node, AddEnumValue) and not ctx.version_at_least(12):
        known = ctx.version_known
        yield Hit(
            "cannot-run-in-transaction",
            f"ALTER TYPE {_name(node.enum)} ADD VALUE cannot run inside a transaction block "
            "before PostgreSQL 12"
            + ("" if known else " (the server version is unknown: on 12+ it runs)")
            + ", and this migration runs in one",
            level=None if known else RiskLevel.INFO,
        )


_Node = TypeVar("_Node", bound=Statement)


def _on_postgres(
    rule: Callable[[_Node, Context], Iterator[Hit]],
) -> Callable[[_Node, Context], Iterator[Hit]]:
    """``rule``, silent on every other engine: its hits would otherwise be dropped there by
    the catalogue, but still keep an unknown statement from being reported as unparsed."""

    @functools.wraps(rule)
    def checked(node: _Node, ctx: Context) -> Iterator[Hit]:
        if ctx.dialect == "postgres":
            yield from rule(node, ctx)

    return checked


_STATEMENT_RULES: tuple[Rule, ...] = (
    cannot_run_in_transaction,
    create_index_not_concurrently,
    drop_index_not_concurrently,
    concurrent_index,
    *postgres_alter.STATEMENT_RULES,
    *postgres_maintenance.STATEMENT_RULES,
    transaction.lock_held_during_long_statement,
    transaction.new_enum_value_used,
    retry.not_retry_safe,
)
_RECOGNISED_RULES: tuple[RecognisedRule, ...] = (
    cannot_run_in_transaction,
    *postgres_alter.RECOGNISED_RULES,
    *postgres_maintenance.RECOGNISED_RULES,
    transaction.validate_in_same_transaction,
    transaction.lock_held_during_long_statement,
    retry.not_retry_safe,
)

#: PostgreSQL's rules for statements sqlglot parsed, in the order their findings are listed.
STATEMENT_RULES: tuple[Rule, ...] = tuple(_on_postgres(rule) for rule in _STATEMENT_RULES)
#: PostgreSQL's rules for statements lamina read from their tokens (they are PostgreSQL's).
RECOGNISED_RULES: tuple[RecognisedRule, ...] = tuple(
    _on_postgres(rule) for rule in _RECOGNISED_RULES
)

#: Leading words of statements sqlglot reads only as a Command that are harmless here (see
#: :data:`lamina.risk.rules.UNDERSTOOD`): they create or change functions, types, sequences,
#: privileges or session settings, and take no lock on a table that reads or writes notice.
#: Commands the rules above judge are listed too, so the forms they find harmless (plain
#: VACUUM outside a transaction, REFRESH ... CONCURRENTLY) are not reported as unparsed.
UNDERSTOOD: tuple[tuple[str, ...], ...] = (
    ("CREATE", "EXTENSION"),
    ("CREATE", "FUNCTION"),
    ("CREATE", "OR", "REPLACE", "FUNCTION"),
    ("CREATE", "PROCEDURE"),
    ("CREATE", "OR", "REPLACE", "PROCEDURE"),
    ("CREATE", "AGGREGATE"),
    ("CREATE", "OR", "REPLACE", "AGGREGATE"),
    ("CREATE", "TYPE"),
    ("CREATE", "DOMAIN"),
    ("CREATE", "SEQUENCE"),
    ("CREATE", "COLLATION"),
    ("CREATE", "STATISTICS"),
    ("ALTER", "SEQUENCE"),
    ("ALTER", "FUNCTION"),
    ("ALTER", "PROCEDURE"),
    ("ALTER", "DEFAULT", "PRIVILEGES"),
    ("DROP", "DOMAIN"),
    ("DROP", "EXTENSION"),
    ("DROP", "STATISTICS"),
    ("RESET",),
    ("VACUUM",),
    ("REINDEX",),
    ("LOCK",),
    ("REFRESH", "MATERIALIZED", "VIEW"),
)
