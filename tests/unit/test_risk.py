"""The risk rule catalogue (lamina.risk): which rules fire, per dialect, and which do not.

Every rule has a positive and a negative case for every dialect it applies to, and the
positive SQL is checked not to fire on the dialects the rule leaves out. The DuckDB rule is
also checked against the real DuckDB engine, so its claims cannot rot silently.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pytest

from lamina.models import StatementRecord
from lamina.risk import (
    ALL_DIALECTS,
    CATALOGUE,
    RULES,
    LiveFacts,
    RiskFinding,
    RiskLevel,
    RiskReport,
    allowance_errors,
    analyze,
    parse_allowances,
)

DOCS = Path(__file__).parents[2] / "docs" / "risk-rules.md"


def report(
    sql: tuple[str, ...] | list[str],
    dialect: str,
    *,
    direction: str = "up",
    category: str = "schema",
    up: tuple[str, ...] = (),
    **kwargs: Any,
) -> RiskReport:
    statements = [StatementRecord(s, line) for line, s in enumerate(sql, start=1)]
    return analyze(
        "001_test",
        statements,
        dialect=dialect,
        category=category,
        direction=direction,
        up_statements=[StatementRecord(s) for s in up],
        **kwargs,
    )


def fired(sql: tuple[str, ...] | list[str], dialect: str, **kwargs: Any) -> list[str]:
    """The rule ids of every finding, in order."""
    return [f.rule for f in report(sql, dialect, **kwargs).findings]


@dataclass(frozen=True)
class Case:
    """Statements of one migration, and the exact rule ids they fire (positive cases)."""

    rule: str
    sql: tuple[str, ...]
    fires: tuple[str, ...] = ()
    dialects: tuple[str, ...] = ALL_DIALECTS
    kwargs: dict[str, Any] = field(default_factory=dict)

    def label(self, dialect: str) -> str:
        return f"{self.rule}-{dialect}-{' '.join(self.sql)[:40]}"


SERVERS_AND_DUCKDB = ("duckdb", "postgres", "mysql")
PG = ("postgres",)
DOWN = {"direction": "down"}

# SQLite's table rebuild (https://sqlite.org/lang_altertable.html), in every dialect's SQL.
REBUILD = (
    "CREATE TABLE new_users (id INT, name TEXT)",
    "INSERT INTO new_users (id, name) SELECT id, name FROM users",
    "DROP TABLE users",
    "ALTER TABLE new_users RENAME TO users",
)

POSITIVE = (
    Case("drop-table", ("DROP TABLE users",), ("drop-table",)),
    Case("table-rebuild", REBUILD, ("table-rebuild",)),
    Case(
        "table-rebuild",
        (
            "CREATE TABLE users_copy AS SELECT * FROM users",
            "DROP TABLE users",
            "ALTER TABLE users_copy RENAME TO users",
        ),
        ("table-rebuild",),
    ),
    Case("table-rebuild", REBUILD, ("table-rebuild",), kwargs={**DOWN, "up": REBUILD}),
    Case("drop-table", ("DROP TABLE IF EXISTS a, b",), ("drop-table", "drop-table")),
    Case("drop-column", ("ALTER TABLE users DROP COLUMN phone",), ("drop-column",)),
    Case("drop-schema", ("DROP SCHEMA archive CASCADE",), ("drop-schema",), SERVERS_AND_DUCKDB),
    Case("drop-schema", ("DROP DATABASE archive",), ("drop-schema",), ("postgres", "mysql")),
    Case("truncate", ("TRUNCATE TABLE users",), ("truncate",), SERVERS_AND_DUCKDB),
    Case("delete-without-where", ("DELETE FROM users",), ("delete-without-where",)),
    Case("delete-without-where", ("DELETE FROM users WHERE TRUE",), ("delete-without-where",)),
    Case("update-without-where", ("UPDATE users SET status = 'x'",), ("update-without-where",)),
    Case(
        "column-type-change",
        ("ALTER TABLE users ALTER COLUMN age TYPE BIGINT",),
        ("column-type-change",),
        ("duckdb", "postgres"),
    ),
    Case(
        "column-type-change",
        ("ALTER TABLE users MODIFY COLUMN age BIGINT NOT NULL",),
        ("column-type-change",),
        ("mysql",),
    ),
    Case(
        "column-type-change",
        ("ALTER TABLE users CHANGE COLUMN age years BIGINT",),
        ("column-type-change", "rename-column"),
        ("mysql",),
    ),
    Case("rename-table", ("ALTER TABLE users RENAME TO people",), ("rename-table",)),
    Case(
        "rename-table",
        ("ALTER TABLE users RENAME TO people, ALGORITHM=INSTANT",),
        ("rename-table",),
        ("mysql",),
    ),
    Case(
        "rename-column",
        ("ALTER TABLE users RENAME COLUMN name TO full_name",),
        ("rename-column",),
    ),
    Case("rename-column", ("ALTER TABLE users RENAME name TO full_name",), ("rename-column",), PG),
    Case(
        "add-not-null-column-without-default",
        ("ALTER TABLE users ADD COLUMN age INT NOT NULL",),
        ("add-not-null-column-without-default",),
    ),
    Case(
        "set-not-null",
        ("ALTER TABLE users ALTER COLUMN email SET NOT NULL",),
        ("set-not-null",),
        ("duckdb", "postgres"),
    ),
    Case(
        "add-foreign-key",
        (
            "ALTER TABLE orders ADD CONSTRAINT orders_user_fk FOREIGN KEY (user_id) "
            "REFERENCES users (id)",
        ),
        ("add-foreign-key",),
        ("postgres", "mysql"),
    ),
    Case(
        "add-check",
        ("ALTER TABLE orders ADD CONSTRAINT amount_positive CHECK (amount > 0)",),
        ("add-check",),
        ("postgres", "mysql"),
    ),
    Case(
        "create-index-not-concurrently",
        ("CREATE INDEX users_email_idx ON users (email)",),
        ("create-index-not-concurrently",),
        PG,
    ),
    Case(
        "drop-index-not-concurrently",
        ("DROP INDEX users_email_idx",),
        ("drop-index-not-concurrently",),
        PG,
    ),
    Case(
        "concurrent-index",
        ("CREATE INDEX CONCURRENTLY users_email_idx ON users (email)",),
        ("concurrent-index",),
        PG,
    ),
    Case(
        "concurrent-index", ("DROP INDEX CONCURRENTLY users_email_idx",), ("concurrent-index",), PG
    ),
    Case(
        "add-unique-constraint",
        ("CREATE UNIQUE INDEX users_email_key ON users (email)",),
        ("add-unique-constraint",),
        ("duckdb", "sqlite", "mysql"),
    ),
    Case(
        "add-unique-constraint",
        ("CREATE UNIQUE INDEX users_email_key ON users (email)",),
        ("add-unique-constraint", "create-index-not-concurrently"),
        PG,
    ),
    Case(
        "add-unique-constraint",
        ("ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE (email)",),
        ("add-unique-constraint",),
        SERVERS_AND_DUCKDB,
    ),
    Case(
        "change-primary-key",
        ("ALTER TABLE users ADD PRIMARY KEY (id)",),
        ("change-primary-key",),
        SERVERS_AND_DUCKDB,
    ),
    Case(
        "change-primary-key",
        ("ALTER TABLE users DROP CONSTRAINT users_pkey",),
        ("change-primary-key",),
        PG,
    ),
    Case(
        "change-primary-key",
        ("ALTER TABLE users DROP PRIMARY KEY",),
        ("change-primary-key",),
        ("mysql",),
    ),
    Case(
        "duckdb-alter-indexed-table",
        ("ALTER TABLE users RENAME COLUMN name TO full_name",),
        ("duckdb-alter-indexed-table", "rename-column"),
        ("duckdb",),
        {"facts": LiveFacts.of_indexes(["Users"])},
    ),
    Case(
        "duckdb-alter-indexed-table",
        (
            "CREATE INDEX users_name ON users (name)",
            "ALTER TABLE users ALTER COLUMN age SET NOT NULL",
        ),
        ("duckdb-alter-indexed-table", "set-not-null"),
        ("duckdb",),
    ),
    Case(
        "duckdb-alter-indexed-table",
        ("DROP INDEX users_name", "ALTER TABLE users RENAME TO people"),
        ("duckdb-alter-indexed-table", "rename-table"),
        ("duckdb",),
        {"facts": LiveFacts.of_indexes({"users": ["users_name", "users_email"]})},
    ),
    Case("unparsed-sql", ("SELECT FROM WHERE (",), ("unparsed-sql",)),
    Case("unparsed-sql", ("CREATE EXTENSION pgcrypto",), ("unparsed-sql",)),
    Case("unparsed-sql", ("THIS IS NOT SQL",), ("unparsed-sql",)),
    Case("unparsed-sql", ("ALTER TABLE users ADD CHECK (age > 0)",), ("unparsed-sql",)),
    Case(
        "data-migration",
        ("UPDATE users SET a = 1 WHERE id = 2",),
        ("data-migration",),
        kwargs={"category": "data"},
    ),
    Case("missing-down", (), ("missing-down",), kwargs={**DOWN, "reversible": False}),
    Case("empty-down", (), ("empty-down",), kwargs=DOWN),
    Case(
        "empty-down",
        (),
        ("empty-down",),
        kwargs={**DOWN, "reversible": False, "down_defined": True},
    ),
    Case(
        "down-loses-data",
        ("ALTER TABLE users DROP COLUMN phone",),
        ("down-loses-data",),
        kwargs={**DOWN, "up": ("ALTER TABLE users ADD COLUMN phone TEXT",)},
    ),
    Case(
        "down-loses-data",
        ("DROP TABLE audit",),
        ("down-loses-data",),
        kwargs={**DOWN, "up": ("CREATE TABLE audit (id INT, note TEXT)",)},
    ),
)

NEGATIVE = (
    Case("drop-table", ("CREATE TABLE scratch (x INT)", "DROP TABLE scratch")),
    Case("drop-table", REBUILD),
    Case("table-rebuild", ("DROP TABLE users",)),
    Case("table-rebuild", REBUILD[:3]),  # no rename: the rows are gone with the name
    Case("table-rebuild", (REBUILD[0], *REBUILD[2:])),  # nothing copied
    Case("drop-table", ("DROP VIEW active_users",)),
    Case(
        "drop-column",
        ("ALTER TABLE users ADD COLUMN tmp TEXT", "ALTER TABLE users DROP COLUMN tmp"),
    ),
    Case("drop-schema", ("DROP TABLE archive.old",), dialects=SERVERS_AND_DUCKDB),
    Case(
        "truncate",
        ("CREATE TABLE staging (x INT)", "TRUNCATE TABLE staging"),
        dialects=SERVERS_AND_DUCKDB,
    ),
    Case("delete-without-where", ("DELETE FROM users WHERE id = 1",)),
    Case("update-without-where", ("UPDATE users SET status = 'x' WHERE id = 1",)),
    Case(
        "update-without-where",
        ("ALTER TABLE users ADD COLUMN status TEXT", "UPDATE users SET status = 'active'"),
    ),
    Case(
        "column-type-change",
        ("ALTER TABLE users ALTER COLUMN age SET DEFAULT 0",),
        dialects=SERVERS_AND_DUCKDB,
    ),
    Case(
        "column-type-change",
        ("ALTER TABLE users ADD COLUMN age INT", "ALTER TABLE users ALTER COLUMN age TYPE BIGINT"),
        dialects=("duckdb", "postgres"),
    ),
    Case(
        "column-type-change",
        ("ALTER TABLE users ADD COLUMN age INT", "ALTER TABLE users MODIFY COLUMN age BIGINT"),
        dialects=("mysql",),
    ),
    Case("rename-table", ("CREATE TABLE draft (x INT)", "ALTER TABLE draft RENAME TO final")),
    Case("rename-table", ("ALTER TABLE users RENAME COLUMN a TO b",)),
    Case(
        "rename-column",
        ("ALTER TABLE users ADD COLUMN nick TEXT", "ALTER TABLE users RENAME COLUMN nick TO alias"),
    ),
    Case("rename-column", ("ALTER TABLE users CHANGE COLUMN age age BIGINT",), dialects=("mysql",)),
    Case(
        "add-not-null-column-without-default",
        ("ALTER TABLE users ADD COLUMN age INT NOT NULL DEFAULT 0",),
    ),
    Case("add-not-null-column-without-default", ("ALTER TABLE users ADD COLUMN age INT NULL",)),
    Case(
        "add-not-null-column-without-default",
        ("CREATE TABLE pets (id INT)", "ALTER TABLE pets ADD COLUMN age INT NOT NULL"),
    ),
    Case(
        "add-not-null-column-without-default",
        ("ALTER TABLE users ADD COLUMN n BIGSERIAL NOT NULL",),
        dialects=PG,
    ),
    Case(
        "add-not-null-column-without-default",
        ("ALTER TABLE users ADD COLUMN n INT NOT NULL AUTO_INCREMENT",),
        dialects=("mysql",),
    ),
    Case(
        "set-not-null",
        ("ALTER TABLE users ALTER COLUMN email DROP NOT NULL",),
        dialects=("duckdb", "postgres"),
    ),
    Case(
        "set-not-null",
        (
            "ALTER TABLE users ADD COLUMN code TEXT",
            "ALTER TABLE users ALTER COLUMN code SET NOT NULL",
        ),
        dialects=("duckdb", "postgres"),
    ),
    Case(
        "add-foreign-key",
        (
            "ALTER TABLE orders ADD CONSTRAINT orders_user_fk FOREIGN KEY (user_id) "
            "REFERENCES users (id) NOT VALID",
            "ALTER TABLE orders VALIDATE CONSTRAINT orders_user_fk",
        ),
        dialects=PG,
    ),
    Case(
        "add-foreign-key",
        (
            "CREATE TABLE orders (id INT, user_id INT)",
            "ALTER TABLE orders ADD CONSTRAINT orders_user_fk FOREIGN KEY (user_id) "
            "REFERENCES users (id)",
        ),
        dialects=("postgres", "mysql"),
    ),
    Case(
        "add-check",
        ("ALTER TABLE orders ADD CONSTRAINT amount_positive CHECK (amount > 0) NOT VALID",),
        dialects=PG,
    ),
    Case(
        "add-check",
        (
            "CREATE TABLE orders (id INT, amount INT)",
            "ALTER TABLE orders ADD CONSTRAINT amount_positive CHECK (amount > 0)",
        ),
        dialects=("postgres", "mysql"),
    ),
    Case(
        "create-index-not-concurrently",
        ("CREATE INDEX CONCURRENTLY users_email_idx ON users (email)",),
        dialects=PG,
    ),
    Case(
        "create-index-not-concurrently",
        ("CREATE TABLE pets (id INT, name TEXT)", "CREATE INDEX pets_name ON pets (name)"),
        dialects=PG,
    ),
    Case("drop-index-not-concurrently", ("DROP INDEX CONCURRENTLY users_email_idx",), dialects=PG),
    Case(
        "drop-index-not-concurrently",
        ("CREATE INDEX CONCURRENTLY t_idx ON users (email)", "DROP INDEX t_idx"),
        dialects=PG,
    ),
    Case("concurrent-index", ("CREATE INDEX users_email_idx ON users (email)",), dialects=PG),
    Case(
        "add-unique-constraint",
        ("CREATE TABLE pets (id INT, tag TEXT)", "CREATE UNIQUE INDEX pets_tag ON pets (tag)"),
    ),
    Case("add-unique-constraint", ("CREATE INDEX users_email_idx ON users (email)",)),
    Case(
        "change-primary-key",
        ("CREATE TABLE pets (id INT)", "ALTER TABLE pets ADD PRIMARY KEY (id)"),
        dialects=SERVERS_AND_DUCKDB,
    ),
    Case("change-primary-key", ("ALTER TABLE users DROP CONSTRAINT users_email_key",), dialects=PG),
    Case(
        "duckdb-alter-indexed-table",
        (
            "ALTER TABLE users ADD COLUMN nick TEXT DEFAULT 'x'",
            "ALTER TABLE users ALTER COLUMN age SET DEFAULT 0",
        ),
        dialects=("duckdb",),
        kwargs={"facts": LiveFacts.of_indexes(["users"])},
    ),
    Case(
        "duckdb-alter-indexed-table",
        ("DROP INDEX users_name", "ALTER TABLE users RENAME COLUMN name TO full_name"),
        dialects=("duckdb",),
        kwargs={"facts": LiveFacts.of_indexes({"users": ["users_name"]})},
    ),
    Case(
        "duckdb-alter-indexed-table",
        ("ALTER TABLE users RENAME COLUMN name TO full_name",),
        dialects=("duckdb",),
        kwargs={"facts": LiveFacts.of_indexes(["orders"])},
    ),
    Case("unparsed-sql", ("SELECT 1",)),
    Case("unparsed-sql", ("INSERT INTO users (id) VALUES (1)",)),
    Case("unparsed-sql", ("ALTER TABLE orders VALIDATE CONSTRAINT orders_user_fk",), dialects=PG),
    Case("data-migration", ("UPDATE users SET a = 1 WHERE id = 2",)),
    Case("missing-down", ("DROP TABLE users",), kwargs=DOWN),
    Case("missing-down", (), kwargs={**DOWN, "reversible": False, "down_defined": True}),
    Case("empty-down", ("DROP TABLE users",), kwargs=DOWN),
    Case("empty-down", (), kwargs={"direction": "up"}),
    Case("down-loses-data", ("ALTER TABLE users DROP COLUMN phone",), kwargs=DOWN),
    Case(
        "down-loses-data",
        ("ALTER TABLE users DROP COLUMN phone",),
        kwargs={"up": ("ALTER TABLE users ADD COLUMN phone TEXT",)},
    ),
)


def _expand(cases: tuple[Case, ...]) -> list[Any]:
    return [pytest.param(case, d, id=case.label(d)) for case in cases for d in case.dialects]


@pytest.mark.parametrize(("case", "dialect"), _expand(POSITIVE))
def test_rule_fires(case: Case, dialect: str) -> None:
    assert fired(case.sql, dialect, **case.kwargs) == list(case.fires)


@pytest.mark.parametrize(("case", "dialect"), _expand(NEGATIVE))
def test_rule_does_not_fire(case: Case, dialect: str) -> None:
    assert case.rule not in fired(case.sql, dialect, **case.kwargs)


def _off_dialect() -> list[Any]:
    """Positive SQL of a rule, on each dialect the rule leaves out."""
    return [
        pytest.param(case, d, id=case.label(d))
        for case in POSITIVE
        for d in ALL_DIALECTS
        if not RULES[case.rule].applies_to(d) and d not in case.dialects
    ]


@pytest.mark.parametrize(("case", "dialect"), _off_dialect())
def test_rule_is_silent_on_engines_it_does_not_cover(case: Case, dialect: str) -> None:
    assert case.rule not in fired(case.sql, dialect, **case.kwargs)


def test_every_rule_has_a_positive_and_a_negative_case_for_every_dialect_it_covers() -> None:
    for info in CATALOGUE:
        for dialect in info.dialects:
            assert any(c.rule == info.id and dialect in c.dialects for c in POSITIVE), (
                info.id,
                dialect,
            )
            assert any(c.rule == info.id and dialect in c.dialects for c in NEGATIVE), (
                info.id,
                dialect,
            )


def test_postgres_only_index_rules_stay_silent_elsewhere() -> None:
    sql = ("CREATE INDEX users_email_idx ON users (email)", "DROP INDEX users_email_idx")
    for dialect in ("duckdb", "sqlite", "mysql"):
        assert fired(sql, dialect) == []


def test_safe_postgres_foreign_key_in_two_steps_is_clean() -> None:
    """NOT VALID, then VALIDATE CONSTRAINT: the path lamina recommends reports nothing."""
    sql = (
        "ALTER TABLE orders ADD CONSTRAINT fk FOREIGN KEY (user_id) REFERENCES users (id) "
        "NOT VALID",
        "ALTER TABLE orders VALIDATE CONSTRAINT fk",
    )
    assert fired(sql, "postgres") == []


# --------------------------------------------------------------------------------------------
# Findings: levels, messages, statements
# --------------------------------------------------------------------------------------------


def test_findings_carry_catalogue_level_statement_line_and_dialect_suggestion() -> None:
    sql = (
        "CREATE TABLE pets (id INT)",
        "ALTER TABLE orders ADD CONSTRAINT fk FOREIGN KEY (u) REFERENCES users (id)",
    )
    (finding,) = report(sql, "postgres").findings
    assert finding.rule == "add-foreign-key"
    assert finding.level is RiskLevel.WARNING
    assert finding.line == 2
    assert finding.statement == sql[1]
    assert "orders(u)" in finding.message and "users" in finding.message
    assert "NOT VALID" in finding.suggestion
    (mysql,) = report(sql, "mysql").findings
    assert "foreign_key_checks" in mysql.suggestion


def test_messages_name_the_table_and_column() -> None:
    findings = report(["ALTER TABLE app.users DROP COLUMN phone"], "postgres").findings
    assert [f.message for f in findings] == ["drops column app.users.phone and its data"]
    (truncated,) = report(["TRUNCATE TABLE users"], "duckdb").findings
    assert truncated.message == "removes every row of users"


def test_data_migration_is_a_warning_up_and_danger_down() -> None:
    up = report(["UPDATE t SET a = 1 WHERE b = 2"], "sqlite", category="data")
    down = report(["UPDATE t SET a = 2 WHERE b = 2"], "sqlite", category="data", direction="down")
    assert (up.level, up.risky) == (RiskLevel.WARNING, False)
    assert (down.level, down.risky) == (RiskLevel.DANGER, True)
    assert down.danger_rules() == ("data-migration",)


def test_down_loses_data_replaces_the_plain_drop_rules() -> None:
    up = ("CREATE TABLE audit (id INT)", "ALTER TABLE users ADD COLUMN phone TEXT")
    down = ("ALTER TABLE users DROP COLUMN phone", "DROP TABLE audit", "DROP TABLE legacy")
    result = report(down, "sqlite", direction="down", up=up)
    assert [f.rule for f in result.findings] == ["down-loses-data", "down-loses-data", "drop-table"]
    assert result.findings[0].message.startswith("drops column users.phone, which")
    assert result.danger_rules() == ("down-loses-data", "drop-table")


def test_queries_recorded_by_python_migrations_are_not_analysed() -> None:
    statements = [StatementRecord("DELETE FROM users", 1, is_query=True)]
    result = analyze("m", statements, dialect="duckdb", category="schema", direction="up")
    assert result.findings == ()


def test_state_follows_renames_of_new_tables() -> None:
    sql = (
        "CREATE TABLE draft (id INT)",
        "ALTER TABLE draft RENAME TO pets",
        "CREATE INDEX pets_id ON pets (id)",
        "DROP TABLE pets",
    )
    assert fired(sql, "postgres") == []


@pytest.mark.parametrize("dialect", ["sqlite", "postgres", "mysql", "duckdb"])
@pytest.mark.parametrize(
    "sql",
    [
        # The copy keeps only some rows.
        (REBUILD[0], REBUILD[1] + " WHERE id > 10", *REBUILD[2:]),
        (REBUILD[0], REBUILD[1] + " LIMIT 10", *REBUILD[2:]),
        # The copy is renamed to another name, or another table takes the old name.
        (*REBUILD[:3], "ALTER TABLE new_users RENAME TO people"),
        (*REBUILD[:3], "CREATE TABLE other (id INT)", "ALTER TABLE other RENAME TO users"),
        # The copy was made before this migration (it is not new), or the steps are out of order.
        (REBUILD[1], REBUILD[2], REBUILD[3]),
        (REBUILD[0], REBUILD[2], REBUILD[1], REBUILD[3]),
    ],
    ids=["where", "limit", "renamed-elsewhere", "other-table", "old-copy", "dropped-first"],
)
def test_a_drop_table_without_the_whole_copy_and_rename_is_still_danger(sql, dialect) -> None:
    rules = fired(sql, dialect)
    assert "drop-table" in rules
    assert "table-rebuild" not in rules


def test_a_rebuilt_table_is_not_new_for_the_statements_after_it() -> None:
    """After the rename, the table holds the old rows: a NOT NULL column needs a default."""
    sql = (*REBUILD, "ALTER TABLE users ADD COLUMN email TEXT NOT NULL")
    result = report(sql, "sqlite")
    assert [f.rule for f in result.findings] == [
        "table-rebuild",
        "add-not-null-column-without-default",
    ]
    assert result.findings[0].level is RiskLevel.WARNING
    assert result.findings[0].message == (
        "rebuilds table users: its rows were copied into new_users, which takes its name; "
        "columns the copy leaves out are lost"
    )
    assert result.findings[0].line == 3
    assert not result.risky


def test_the_sqlite_recipe_with_its_pragmas_is_a_rebuild_not_a_drop() -> None:
    sql = (
        "PRAGMA foreign_keys = OFF",
        *REBUILD,
        "PRAGMA foreign_key_check",
        "PRAGMA foreign_keys = ON",
    )
    assert fired(sql, "sqlite") == ["table-rebuild"]


def test_several_columns_dropped_in_one_statement_are_reported_each() -> None:
    result = report(["ALTER TABLE users DROP COLUMN a, DROP COLUMN b"], "postgres")
    assert [f.message for f in result.findings] == [
        "drops column users.a and its data",
        "drops column users.b and its data",
    ]


# --------------------------------------------------------------------------------------------
# DuckDB: the claim behind duckdb-alter-indexed-table, checked on the real engine
# --------------------------------------------------------------------------------------------

DUCKDB_ALTERS = (
    "ALTER TABLE t ADD COLUMN c INT",
    "ALTER TABLE t ADD COLUMN c INT DEFAULT 1",
    "ALTER TABLE t ADD COLUMN c INT NOT NULL DEFAULT 0",
    "ALTER TABLE t DROP COLUMN b",
    "ALTER TABLE t ALTER COLUMN b TYPE BIGINT",
    "ALTER TABLE t ALTER COLUMN b SET NOT NULL",
    "ALTER TABLE t ALTER COLUMN b DROP NOT NULL",
    "ALTER TABLE t ALTER COLUMN b SET DEFAULT 5",
    "ALTER TABLE t ALTER COLUMN b DROP DEFAULT",
    "ALTER TABLE t RENAME COLUMN b TO b2",
    "ALTER TABLE t RENAME TO t2",
    "ALTER TABLE t ADD UNIQUE (b)",
    "ALTER TABLE t ADD PRIMARY KEY (id)",
)


@pytest.mark.parametrize("alter", DUCKDB_ALTERS)
def test_duckdb_rule_matches_what_duckdb_refuses(alter: str) -> None:
    """The rule fires exactly for the ALTER forms DuckDB refuses on an indexed table."""
    connection = duckdb.connect()
    connection.execute("CREATE TABLE t (id INT, a INT, b INT)")
    connection.execute("INSERT INTO t VALUES (1, 1, 1)")
    connection.execute("CREATE INDEX t_a ON t (a)")
    try:
        connection.execute(alter)
        refused = False
    except duckdb.Error as exc:
        refused = True
        assert "depend" in str(exc)
    finally:
        connection.close()
    flagged = "duckdb-alter-indexed-table" in fired(
        [alter], "duckdb", facts=LiveFacts.of_indexes(["t"])
    )
    assert flagged == refused


def test_duckdb_rule_forgets_indexes_the_migration_drops() -> None:
    sql = ("CREATE INDEX t_a ON t (a)", "DROP INDEX t_a", "ALTER TABLE t RENAME COLUMN b TO c")
    assert "duckdb-alter-indexed-table" not in fired(sql, "duckdb")


def test_duckdb_rule_names_the_known_indexes() -> None:
    result = report(
        ["ALTER TABLE users DROP COLUMN age"],
        "duckdb",
        facts=LiveFacts.of_indexes({"users": ["users_email", "users_name"]}),
    )
    assert [f.rule for f in result.findings] == ["drop-column", "duckdb-alter-indexed-table"]
    assert "which has an index (users_email, users_name)" in result.findings[1].message


# --------------------------------------------------------------------------------------------
# Suppression
# --------------------------------------------------------------------------------------------


def test_parse_allowances_reads_rule_and_reason_anywhere_in_the_file() -> None:
    text = (
        "-- name: Drop phone\n"
        "-- migrate:up\n"
        "ALTER TABLE users DROP COLUMN phone;\n"
        "  --   lamina:allow   drop-column   unused since release 4.2  \n"
        "-- migrate:down\n"
        "-- lamina:allow DOWN-LOSES-DATA the column never held real data\n"
    )
    allowed, errors = parse_allowances(text)
    assert errors == []
    assert allowed == {
        "drop-column": "unused since release 4.2",
        "down-loses-data": "the column never held real data",
    }


def test_parse_allowances_reports_each_bad_directive_with_its_line() -> None:
    text = (
        "-- lamina:allow drop-column\n"
        "-- lamina:allow drop-colum typo\n"
        "-- lamina:allow\n"
        "-- lamina:allows drop-table reason\n"
        "-- lamina:allow drop-table because\n"
        "-- lamina:allow drop-table again\n"
        "SELECT 1; -- lamina:allow truncate not a comment line\n"
    )
    allowed, errors = parse_allowances(text)
    assert allowed == {"drop-table": "because"}
    assert [line for line, _ in errors] == [1, 2, 3, 4, 6]
    assert "reason is required" in errors[0][1]
    assert "unknown rule 'drop-colum'" in errors[1][1]
    assert "already allowed on line 5" in errors[4][1]


def test_allowance_errors_checks_python_mappings() -> None:
    assert allowance_errors({"drop-table": "archived elsewhere"}) == []
    problems = allowance_errors({"nope": "x", "drop-column": "  "})
    assert len(problems) == 2
    assert "unknown rule 'nope'" in problems[0]
    assert "reason is required" in problems[1]


def test_allowed_findings_stay_visible_but_do_not_count() -> None:
    sql = ("DROP TABLE users", "ALTER TABLE orders RENAME TO purchases")
    result = report(sql, "sqlite", allowed={"drop-table": "moved to the archive database"})
    assert [f.rule for f in result.findings] == ["drop-table", "rename-table"]
    assert result.findings[0].suppressed == "moved to the archive database"
    assert result.findings[1].suppressed is None
    assert result.level is RiskLevel.WARNING
    assert not result.risky
    assert result.reasons() == ()
    assert result.danger_rules() == ()
    assert [f.rule for f in result.suppressed] == ["drop-table"]
    assert [f.rule for f in result.active] == ["rename-table"]


def test_report_without_allowances_counts_everything() -> None:
    finding = RiskFinding("drop-table", RiskLevel.DANGER, "drops table t")
    result = RiskReport("m", "up", (finding,))
    assert result.risky
    assert result.reasons() == ("drops table t",)


# --------------------------------------------------------------------------------------------
# The catalogue and its documentation
# --------------------------------------------------------------------------------------------


def test_catalogue_ids_are_unique_kebab_case_with_known_dialects() -> None:
    ids = [info.id for info in CATALOGUE]
    assert len(ids) == len(set(ids))
    for info in CATALOGUE:
        assert info.id == info.id.lower() and " " not in info.id and "_" not in info.id
        assert info.title and info.explanation and info.alternative
        assert set(info.dialects) <= set(ALL_DIALECTS)
        assert {d for d, _ in info.dialect_alternatives} <= set(info.dialects)


def test_every_rule_has_a_section_in_the_docs() -> None:
    headings = {
        line.removeprefix("## ").strip().strip("`")
        for line in DOCS.read_text(encoding="utf-8").splitlines()
        if line.startswith("## ")
    }
    missing = [info.id for info in CATALOGUE if info.id not in headings]
    assert missing == []


def test_unknown_dialects_get_only_the_rules_for_every_engine() -> None:
    sql = ("CREATE INDEX i ON users (email)", "DROP TABLE users")
    assert fired(sql, "tsql") == ["drop-table"]


def test_importing_risk_does_not_import_sqlglot() -> None:
    code = (
        "import sys\n"
        "from lamina.risk import analyze, CATALOGUE, parse_allowances\n"
        "r = analyze('m', [], dialect='duckdb', category='data', direction='down', "
        "reversible=False)\n"
        "assert [f.rule for f in r.findings] == ['missing-down', 'data-migration']\n"
        "assert 'sqlglot' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
