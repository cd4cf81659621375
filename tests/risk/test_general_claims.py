"""The claims of the general rules, run on every engine they name (docs/risk-rules.md).

Each test sets up a table with the rows that make the difference and runs the statement the
rule reports through the raw driver: what the catalogue says the engine does, it must do.
"""

from __future__ import annotations

from typing import Any

import pytest

from lamina.models import StatementRecord
from lamina.risk import RULES, analyze

DIALECT = {"duckdb": "duckdb", "sqlite": "sqlite", "postgresql": "postgres", "mysql": "mysql"}


def prepared(raw_db: Any, engine: str, *rows: str) -> None:
    """Table ``t (id, v)`` with ``rows`` (SQL value lists) in it."""
    if engine == "postgresql":
        raw_db.execute(f'CREATE SCHEMA IF NOT EXISTS "{raw_db.schema}"')
    raw_db.execute("CREATE TABLE t (id INTEGER, v VARCHAR(20))")
    for values in rows:
        raw_db.execute(f"INSERT INTO t VALUES {values}")


def fires(rule: str, sql: str, engine: str) -> bool:
    report = analyze(
        "001_claim",
        [StatementRecord(sql)],
        dialect=DIALECT[engine],
        category="schema",
        direction="up",
    )
    return rule in {finding.rule for finding in report.findings}


def test_a_not_null_column_without_default_is_refused_or_filled_once_there_is_a_row(
    engine: str, raw_db: Any
) -> None:
    """PostgreSQL, SQLite and DuckDB refuse it; MySQL fills the row with the type's implicit
    default (0), so the old rows hold a value nobody wrote."""
    prepared(raw_db, engine, "(1, 'a')")
    add = "ALTER TABLE t ADD COLUMN c INTEGER NOT NULL"
    if engine == "mysql":
        raw_db.execute(add)
        assert raw_db.query("SELECT c FROM t") == [(0,)]
    else:
        with pytest.raises(Exception, match=r"(?i)null|default"):
            raw_db.execute(add)
    # The general rule says so where it applies; SQLite's own rule replaces it there.
    if RULES["add-not-null-column-without-default"].applies_to(DIALECT[engine]):
        assert fires("add-not-null-column-without-default", add, engine)


def test_a_unique_index_fails_on_the_first_duplicate(engine: str, raw_db: Any) -> None:
    prepared(raw_db, engine, "(1, 'a')", "(2, 'a')")
    unique = "CREATE UNIQUE INDEX t_v ON t (v)"
    with pytest.raises(Exception, match=r"(?i)duplicate|unique|constraint"):
        raw_db.execute(unique)
    assert fires("add-unique-constraint", unique, engine)


@pytest.mark.parametrize("rows", [("(1, 'a')", "(1, 'b')"), ("(1, 'a')", "(NULL, 'b')")])
@pytest.mark.parametrize("engine", ["duckdb", "postgresql", "mysql"], indirect=True)
def test_a_new_primary_key_fails_on_duplicates_or_nulls(
    engine: str, raw_db: Any, rows: tuple[str, ...]
) -> None:
    """(SQLite has no ALTER TABLE ... ADD PRIMARY KEY: sqlite-unsupported covers it.)"""
    prepared(raw_db, engine, *rows)
    add = "ALTER TABLE t ADD PRIMARY KEY (id)"
    with pytest.raises(Exception, match=r"(?i)duplicate|unique|null|constraint|primary|truncated"):
        raw_db.execute(add)
    assert fires("change-primary-key", add, engine)


@pytest.mark.parametrize("engine", ["duckdb", "postgresql"], indirect=True)
def test_a_type_change_fails_on_a_value_that_does_not_convert(engine: str, raw_db: Any) -> None:
    prepared(raw_db, engine, "(1, 'not a number')")
    change = "ALTER TABLE t ALTER COLUMN v TYPE INTEGER" + (
        " USING v::integer" if engine == "postgresql" else ""
    )
    with pytest.raises(Exception, match=r"(?i)convert|invalid|cast"):
        raw_db.execute(change)
    assert fires("column-type-change", change, engine)
