"""Which statements control the transaction a migration runs in, and dbmate's marker options."""

from __future__ import annotations

import pytest

from lamina.sqltext import (
    SqlFormatError,
    find_transaction_control,
    is_data_statement,
    parse_sql_migration,
    split_statements,
)
from lamina.staticmeta import MetaError, read_sql_file, read_sql_meta

DIALECTS = ("duckdb", "sqlite", "postgres", "mysql")


def found(script: str, dialect: str) -> str | None:
    statements = split_statements(script, dialect)
    hit = find_transaction_control(((s.sql, s.line) for s in statements), dialect)
    return None if hit is None else hit.sql


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize(
    "statement",
    [
        "COMMIT",
        "commit",
        "COMMIT WORK",
        "BEGIN",
        "BEGIN TRANSACTION",
        "START TRANSACTION",
        "ROLLBACK",
        "ROLLBACK WORK",
        "RELEASE SAVEPOINT not_mine",
        "ROLLBACK TO SAVEPOINT not_mine",
    ],
)
def test_transaction_control_everywhere(statement: str, dialect: str) -> None:
    script = f"CREATE TABLE a (id INT);\n{statement};\nCREATE TABLE b (id INT);"
    assert found(script, dialect) == statement


@pytest.mark.parametrize(
    ("dialect", "statement"),
    [
        ("postgres", "COMMIT AND CHAIN"),
        ("postgres", "END"),
        ("postgres", "ABORT"),
        ("postgres", "BEGIN ISOLATION LEVEL SERIALIZABLE"),
        ("postgres", "PREPARE TRANSACTION 'tx1'"),
        ("postgres", "COMMIT PREPARED 'tx1'"),
        ("sqlite", "END TRANSACTION"),
        ("sqlite", "BEGIN IMMEDIATE"),
        ("mysql", "SET autocommit = 1"),
        ("mysql", "SET @@session.autocommit = 0"),
        ("mysql", "SET SESSION autocommit=0"),
        ("mysql", "START TRANSACTION WITH CONSISTENT SNAPSHOT"),
        ("mysql", "XA START 'x'"),
        ("mysql", "/*!40101 SET autocommit=0 */"),
    ],
)
def test_engine_specific_transaction_control(dialect: str, statement: str) -> None:
    assert found(f"SELECT 1;\n{statement};\nSELECT 2;", dialect) == statement


@pytest.mark.parametrize(
    ("dialect", "script"),
    [
        ("postgres", "SELECT 'COMMIT'; -- COMMIT\n/* BEGIN; */ SELECT 1"),
        ("postgres", 'CREATE TABLE "commit" (id INT)'),
        (
            "postgres",
            "CREATE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS $$\n"
            "BEGIN\n  COMMIT;\nEND\n$$;",
        ),
        ("postgres", "DO $$ BEGIN PERFORM 1; END $$"),
        ("postgres", "CREATE FUNCTION g() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; END"),
        ("postgres", "PREPARE q AS SELECT 1"),
        ("postgres", "SAVEPOINT a; SAVEPOINT b; ROLLBACK TO SAVEPOINT a; RELEASE a"),
        ("sqlite", "CREATE TRIGGER t AFTER INSERT ON x BEGIN UPDATE x SET a = 1; END"),
        ("sqlite", "SAVEPOINT s; RELEASE s"),
        ("mysql", "CREATE PROCEDURE p() BEGIN START TRANSACTION; COMMIT; END"),
        ("mysql", "CREATE TRIGGER t BEFORE INSERT ON x FOR EACH ROW BEGIN SET NEW.a = 1; END"),
        ("mysql", "SET @autocommit = 1; SET @x = 'autocommit'"),
        ("mysql", "BEGIN NOT ATOMIC SELECT 1; END"),
        ("duckdb", "SELECT 'BEGIN'"),
    ],
)
def test_not_transaction_control(dialect: str, script: str) -> None:
    assert found(script, dialect) is None


def test_savepoints_released_are_gone() -> None:
    assert found("SAVEPOINT a; RELEASE a; ROLLBACK TO a", "postgres") == "ROLLBACK TO a"


def test_set_autocommit_is_not_a_data_statement() -> None:
    assert is_data_statement("SET @x = 1")
    assert not is_data_statement("SET autocommit = 1")


# -- dbmate's options on the marker lines --------------------------------------------------


def test_marker_options_per_direction() -> None:
    text = "-- migrate:up transaction:false\nSELECT 1;\n-- migrate:down\nSELECT 2;\n"
    source = parse_sql_migration(text)
    assert (source.transactional(), source.transactional(down=True)) == (False, True)
    meta = read_sql_meta(text, "x")
    assert (meta.transactional, meta.transactional_down) == (False, True)
    flipped = text.replace("up transaction:false", "up").replace(
        "migrate:down", "migrate:down transaction:false"
    )
    meta = read_sql_meta(flipped, "x")
    assert (meta.transactional, meta.transactional_down) == (True, False)


def test_marker_option_overrides_the_header_for_its_section() -> None:
    text = "-- transactional: false\n-- migrate:up transaction:true\nSELECT 1;\n-- migrate:down\n"
    meta = read_sql_meta(text + "SELECT 2;\n", "x")
    assert (meta.transactional, meta.transactional_down) == (True, False)


def test_unknown_options_are_warnings_with_their_line() -> None:
    text = "-- migrate:up transaction:false foo:bar\nSELECT 1;\n-- migrate:down baz\nSELECT 2;\n"
    _, warnings = read_sql_file(text, "x")
    assert [(w.line, w.code) for w in warnings] == [(1, "unknown-option"), (3, "unknown-option")]
    assert "`foo:bar`" in warnings[0].message and "`baz`" in warnings[1].message


@pytest.mark.parametrize("option", ["transaction:maybe", "transaction:false transaction:true"])
def test_bad_transaction_option_is_an_error(option: str) -> None:
    with pytest.raises(SqlFormatError) as caught:
        parse_sql_migration(f"-- migrate:up {option}\nSELECT 1;\n")
    assert caught.value.line == 1


# -- empty sections ------------------------------------------------------------------------


def test_empty_down_is_reversible_and_flagged_empty() -> None:
    meta, warnings = read_sql_file("-- migrate:up\nSELECT 1;\n-- migrate:down\n-- none\n", "x")
    assert meta.reversible and meta.down_empty
    assert [(w.line, w.code) for w in warnings] == [(3, "empty-down")]
    meta = read_sql_meta("-- migrate:up\nSELECT 1;\n", "x")
    assert not meta.reversible and not meta.down_empty


@pytest.mark.parametrize("up", ["", "\n\n", "-- Example: ALTER TABLE t ADD c INT;\n", "/* x; */\n"])
def test_empty_up_is_refused_unless_declared(up: str) -> None:
    with pytest.raises(MetaError) as caught:
        read_sql_meta(f"-- name: x\n-- migrate:up\n{up}-- migrate:down\nSELECT 1;\n", "x")
    assert caught.value.line == 2
    meta = read_sql_meta(f"-- empty: true\n-- migrate:up\n{up}", "x")
    assert meta.name == "X"


def test_mysql_executable_comment_is_not_empty() -> None:
    assert read_sql_meta("-- migrate:up\n/*!40101 SET NAMES utf8 */;\n", "x").name == "X"
