"""The risk rule catalogue (lamina.risk): which rules fire, per dialect, and which do not.

Every rule has a positive and a negative case for every dialect it applies to, and the
positive SQL is checked not to fire on the dialects the rule leaves out. The DuckDB rule is
also checked against the real DuckDB engine, so its claims cannot rot silently.
"""

from __future__ import annotations

import subprocess
import sys
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
from support.risk_cases import Case, fired, general, mysql, postgres, report, sqlite
from support.risk_cases import duckdb as duckdb_cases
from support.risk_cases.general import REBUILD

DOCS = Path(__file__).parents[2] / "docs" / "risk-rules.md"
CASE_MODULES = (general, postgres, mysql, sqlite, duckdb_cases)


POSITIVE = tuple(case for module in CASE_MODULES for case in module.POSITIVE)
NEGATIVE = tuple(case for module in CASE_MODULES for case in module.NEGATIVE)


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


FK_IN_TWO_STEPS = (
    "ALTER TABLE orders ADD CONSTRAINT fk FOREIGN KEY (user_id) REFERENCES users (id) NOT VALID",
    "ALTER TABLE orders VALIDATE CONSTRAINT fk",
)


def test_safe_postgres_foreign_key_in_two_migrations_is_clean() -> None:
    """NOT VALID, then VALIDATE CONSTRAINT in the next migration (or without a transaction):
    the path lamina recommends reports nothing."""
    assert fired(FK_IN_TWO_STEPS[:1], "postgres") == []
    assert fired(FK_IN_TWO_STEPS[1:], "postgres") == []
    # Without a transaction, a failed VALIDATE leaves the constraint: a second run must not
    # trip on it, hence the DROP CONSTRAINT IF EXISTS the advice asks for.
    retry_safe = ("ALTER TABLE orders DROP CONSTRAINT IF EXISTS fk", *FK_IN_TWO_STEPS)
    assert fired(retry_safe, "postgres", transactional=False) == []
    assert fired(FK_IN_TWO_STEPS, "postgres", transactional=False) == ["not-retry-safe"]


def test_the_two_steps_in_one_transaction_validate_under_the_first_lock() -> None:
    """Until issue 15 this was reported clean: but the ADD's lock is held by the VALIDATE."""
    (finding,) = report(FK_IN_TWO_STEPS, "postgres").findings
    assert finding.rule == "validate-in-same-transaction"
    assert finding.line == 2
    assert "SHARE ROW EXCLUSIVE" in finding.message and "(line 1)" in finding.message
    assert "separate migration" in finding.suggestion


def test_drop_not_null_is_a_note_and_its_rollback_a_warning() -> None:
    """Dropping NOT NULL is instant (info); the hazard is the way back: the down's SET NOT
    NULL scans every row and fails on the NULLs written since."""
    up = ("ALTER TABLE users ALTER COLUMN phone DROP NOT NULL",)
    down = ("ALTER TABLE users ALTER COLUMN phone SET NOT NULL",)
    (finding,) = report(up, "postgres").findings
    assert (finding.rule, finding.level) == ("drop-not-null", RiskLevel.INFO)
    (back,) = report(down, "postgres", direction="down", up=up).findings
    assert (back.rule, back.level) == ("set-not-null", RiskLevel.WARNING)
    assert "fails on any NULL" in back.message


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
    """After the rename, the table holds the old rows: a NOT NULL column needs a default.
    (On PostgreSQL: on SQLite it is sqlite-unsupported, which checks the table's rows.)"""
    sql = (*REBUILD, "ALTER TABLE users ADD COLUMN email TEXT NOT NULL")
    result = report(sql, "postgres")
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


@pytest.mark.parametrize("dialect", ["sqlite", "mysql"])
def test_a_trigger_body_is_part_of_its_create_not_statements_of_the_migration(
    dialect: str,
) -> None:
    """sqlglot cuts ``CREATE TRIGGER ... BEGIN ...; END`` at the body's semicolons; the body's
    DELETE runs later, on the rows the event touches, not when the migration runs."""
    trigger = (
        "CREATE TRIGGER purge AFTER DELETE ON users FOR EACH ROW "
        "BEGIN DELETE FROM sessions; UPDATE stats SET n = n - 1; END"
    )
    assert fired([trigger], dialect) == []


def test_duckdb_checkpoint_outside_a_transaction_is_understood() -> None:
    assert fired(["CHECKPOINT"], "duckdb", transactional=False) == []
    assert fired(["CHECKPOINT"], "duckdb") == ["duckdb-not-in-transaction"]


def test_a_mysql_foreign_key_added_with_checks_off_checks_no_row() -> None:
    add = "ALTER TABLE orders ADD CONSTRAINT fk FOREIGN KEY (user_id) REFERENCES users (id)"
    assert "add-foreign-key" in fired([add], "mysql")
    off_and_on = ["SET foreign_key_checks = 0", add, "SET foreign_key_checks = 1"]
    assert "add-foreign-key" not in fired(off_and_on, "mysql")


def test_a_check_on_mysql_before_8_0_16_is_reported_as_ignored_not_as_a_scan() -> None:
    add = "ALTER TABLE users ADD CONSTRAINT positive CHECK (age > 0)"
    old = report([add], "mysql", facts=LiveFacts(server_version=(5, 7, 40), flavor="mysql"))
    [finding] = [f for f in old.findings if f.rule == "add-check"]
    assert finding.level is RiskLevel.INFO
    assert "ignores" in finding.message
    new = report([add], "mysql", facts=LiveFacts(server_version=(8, 0, 36), flavor="mysql"))
    [checked] = [f for f in new.findings if f.rule == "add-check"]
    assert checked.level is RiskLevel.WARNING
    assert "checking every existing row" in checked.message
