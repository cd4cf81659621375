"""The statement rules: each inspects one parsed statement, in the context of the migration.

A rule takes a sqlglot expression and the :class:`~lamina.risk.rules.base.Context` (engine,
server version, whether the migration runs in one transaction, the schema so far and the live
database's facts) and yields hits. Rules never see raw SQL text, so no regular expression ever
decides what a statement does. Levels, explanations and alternatives live in
:mod:`lamina.risk.catalogue`; a hit carries only what is specific to the statement.

Rules for every engine live in ``data_loss`` and ``rewrites``; each engine's own rules live in
the module named after it, and fire only on that engine (the catalogue says which).

This package imports sqlglot at the top: only ``lamina.risk.analyze`` imports it, lazily.
"""

from __future__ import annotations

from sqlglot import exp

from lamina.risk.grammar import Statement, command_words
from lamina.risk.rules import duckdb, mysql, postgres, sqlite
from lamina.risk.rules.base import Context, Hit, RecognisedRule, Rule
from lamina.risk.rules.data_loss import (
    delete_without_where,
    drop_column,
    drop_schema,
    drop_table,
    truncate,
    update_without_where,
)
from lamina.risk.rules.rewrites import (
    add_check,
    add_foreign_key,
    add_not_null_column_without_default,
    add_unique_constraint,
    change_primary_key,
    column_type_change,
    rename_column,
    rename_table,
    set_not_null,
)

__all__ = ["RECOGNISED_RULES", "STATEMENT_RULES", "Context", "Hit", "check", "understood"]

#: Every rule for the statements sqlglot parsed, in the order their findings are listed.
STATEMENT_RULES: tuple[Rule, ...] = (
    drop_schema,
    drop_table,
    drop_column,
    truncate,
    delete_without_where,
    update_without_where,
    *duckdb.STATEMENT_RULES,
    column_type_change,
    rename_table,
    rename_column,
    add_not_null_column_without_default,
    set_not_null,
    add_foreign_key,
    add_check,
    add_unique_constraint,
    change_primary_key,
    *postgres.STATEMENT_RULES,
    *mysql.STATEMENT_RULES,
    *sqlite.STATEMENT_RULES,
)

#: Every rule for the statements lamina read from their tokens (PostgreSQL's ALTER TABLE ...
#: VALIDATE CONSTRAINT, CLUSTER...), in the order their findings are listed.
RECOGNISED_RULES: tuple[RecognisedRule, ...] = (add_check, *postgres.RECOGNISED_RULES)


def check(node: Statement, ctx: Context) -> list[Hit]:
    """Every hit of the rules for the kind of statement ``node`` is."""
    if isinstance(node, exp.Expr):
        return [hit for rule in STATEMENT_RULES for hit in rule(node, ctx)]
    return [hit for rule in RECOGNISED_RULES for hit in rule(node, ctx)]


#: Leading words of statements sqlglot has no grammar for, that lamina knows take no lock
#: worth reporting and lose nothing, per dialect. A statement that starts with one of them
#: gets no finding; any other opaque statement is ``unparsed-sql``, with its kind named.
UNDERSTOOD: dict[str, tuple[tuple[str, ...], ...]] = {
    "postgres": postgres.UNDERSTOOD,
    "mysql": mysql.UNDERSTOOD,
    "sqlite": sqlite.UNDERSTOOD,
    "duckdb": duckdb.UNDERSTOOD,
}


def understood(node: Statement, dialect: str) -> bool:
    """Whether an opaque statement is one lamina knows to be harmless on ``dialect``."""
    words = command_words(node, dialect)
    return any(words[: len(known)] == known for known in UNDERSTOOD.get(dialect, ()))
