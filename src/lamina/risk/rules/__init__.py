"""The statement rules: each inspects one parsed statement, in the context of the migration.

A rule takes a sqlglot expression and the :class:`~lamina.risk.state.SchemaSoFar` as it
stands before the statement, and yields hits. Rules never see raw SQL text, so no
regular expression ever decides what a statement does. Levels, explanations and alternatives
live in :mod:`lamina.risk.catalogue`; a hit carries only what is specific to the statement.

This package imports sqlglot at the top: only ``lamina.risk.analyze`` imports it, lazily.
"""

from __future__ import annotations

from lamina.risk.rules.base import Context, Hit, Rule
from lamina.risk.rules.data_loss import (
    delete_without_where,
    drop_column,
    drop_schema,
    drop_table,
    truncate,
    update_without_where,
)
from lamina.risk.rules.engines import (
    concurrent_index,
    create_index_not_concurrently,
    drop_index_not_concurrently,
    duckdb_alter_indexed_table,
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

__all__ = ["STATEMENT_RULES", "Context", "Hit"]

#: Every statement rule, in the order their findings are listed.
STATEMENT_RULES: tuple[Rule, ...] = (
    drop_schema,
    drop_table,
    drop_column,
    truncate,
    delete_without_where,
    update_without_where,
    duckdb_alter_indexed_table,
    column_type_change,
    rename_table,
    rename_column,
    add_not_null_column_without_default,
    set_not_null,
    add_foreign_key,
    add_check,
    add_unique_constraint,
    change_primary_key,
    create_index_not_concurrently,
    drop_index_not_concurrently,
    concurrent_index,
)
