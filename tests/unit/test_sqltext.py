"""The .sql migration format and statement splitting (lamina.sqltext): no database needed."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import lamina.sqltext
from lamina.sqltext import (
    SqlFormatError,
    SqlHeaders,
    SqlSection,
    Statement,
    has_statements,
    parse_sql_migration,
    split_segments,
    split_statements,
)
from lamina.sqltext.splitting import _fast_split, _token_split

DIALECTS = ("duckdb", "sqlite", "postgres", "mysql")


def sql(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


def texts(script: str, dialect: str) -> list[str]:
    return [statement.sql for statement in split_statements(script, dialect)]


# --------------------------------------------------------------------------------------------
# parse_sql_migration
# --------------------------------------------------------------------------------------------

FULL = sql(
    """
    -- name: Create users
    -- description: The users table
    -- category: schema
    -- depends: 001_init, 2
    -- transactional: false

    -- migrate:up
    CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL);

    -- migrate:down
    DROP TABLE users;
    """
)


def test_full_file() -> None:
    source = parse_sql_migration(FULL)
    assert source.headers == SqlHeaders(
        name="Create users",
        description="The users table",
        category="schema",
        depends=("001_init", "2"),
        transactional=False,
    )
    assert source.up == SqlSection(
        "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL);\n\n", 8
    )
    assert source.down == SqlSection("DROP TABLE users;\n", 11)
    assert FULL.splitlines()[source.up.first_line - 1].startswith("CREATE TABLE")
    assert FULL.splitlines()[source.down.first_line - 1].startswith("DROP TABLE")


def test_minimal_file_has_default_headers_and_no_down() -> None:
    source = parse_sql_migration("-- migrate:up\nCREATE TABLE t (id INT);\n")
    assert source.headers == SqlHeaders()
    assert source.up == SqlSection("CREATE TABLE t (id INT);\n", 2)
    assert source.down is None


def test_sections_keep_their_exact_text() -> None:
    text = "-- migrate:up\n\n  SELECT 1;  \n-- a comment\n-- migrate:down\n\n/* x */\n"
    source = parse_sql_migration(text)
    assert source.up.sql == "\n  SELECT 1;  \n-- a comment\n"
    assert source.down == SqlSection("\n/* x */\n", 6)


def test_marker_on_the_last_line_gives_an_empty_section() -> None:
    source = parse_sql_migration("-- migrate:up\nSELECT 1;\n-- migrate:down")
    assert source.down == SqlSection("", 4)
    source = parse_sql_migration("-- migrate:up")
    assert source.up == SqlSection("", 2)


@pytest.mark.parametrize("down", ["", "\n\n", "\n-- nothing to undo\n", "\n/* irreversible; */\n"])
def test_empty_down_section_has_no_statements(down: str) -> None:
    source = parse_sql_migration(f"-- migrate:up\nSELECT 1;\n-- migrate:down{down}")
    assert source.down is not None
    assert source.down.sql == down.removeprefix("\n")
    for dialect in DIALECTS:
        assert not has_statements(source.down.sql, dialect)


def test_up_section_without_statements_is_accepted() -> None:
    source = parse_sql_migration("-- migrate:up\n-- todo\n-- migrate:down\nSELECT 1;\n")
    assert source.up.sql == "-- todo\n"
    assert not has_statements(source.up.sql, "duckdb")


@pytest.mark.parametrize(
    "marker",
    [
        "-- migrate:up",
        "--migrate:up",
        "--   migrate:up",
        "-- MIGRATE:UP",
        "-- Migrate:Up",
        "   -- migrate:up   ",
        "-- migrate:up transaction:false",
        "\t-- migrate:up\t",
    ],
)
def test_marker_spellings(marker: str) -> None:
    source = parse_sql_migration(f"{marker}\nSELECT 1;\n")
    assert (source.up.sql, source.up.first_line) == ("SELECT 1;\n", 2)
    assert source.up.unknown_options == ()


@pytest.mark.parametrize(
    "line",
    ["-- migrate:upgrade", "-- migrate: up", "- migrate:up", "migrate:up", "/* migrate:up */"],
)
def test_not_markers(line: str) -> None:
    with pytest.raises(SqlFormatError, match="no `-- migrate:up` section") as caught:
        parse_sql_migration(f"{line}\nSELECT 1;\n")
    assert caught.value.line is None


def test_missing_up_marker() -> None:
    for text in ["", "CREATE TABLE t (id INT);\n", "-- migrate:down\nDROP TABLE t;\n"]:
        with pytest.raises(SqlFormatError) as caught:
            parse_sql_migration(text)
        assert caught.value.line is None
        assert str(caught.value) == (
            "no `-- migrate:up` section; a .sql migration needs `-- migrate:up` "
            "and usually `-- migrate:down`"
        )


def test_two_up_markers() -> None:
    with pytest.raises(SqlFormatError, match=r"second `-- migrate:up`.*line 1") as caught:
        parse_sql_migration("-- migrate:up\nSELECT 1;\n-- migrate:up\nSELECT 2;\n")
    assert caught.value.line == 3


def test_two_down_markers() -> None:
    text = "-- migrate:up\nSELECT 1;\n-- migrate:down\nSELECT 2;\n\n-- migrate:down\n"
    with pytest.raises(SqlFormatError, match=r"second `-- migrate:down`.*line 3") as caught:
        parse_sql_migration(text)
    assert caught.value.line == 6


def test_down_before_up() -> None:
    text = "-- name: x\n-- migrate:down\nDROP TABLE t;\n-- migrate:up\nCREATE TABLE t (a INT);\n"
    with pytest.raises(SqlFormatError, match="before `-- migrate:up`") as caught:
        parse_sql_migration(text)
    assert caught.value.line == 2


def test_sql_before_up() -> None:
    text = "-- name: x\n\nCREATE TABLE t (a INT);\n-- migrate:up\nSELECT 1;\n"
    with pytest.raises(SqlFormatError, match="SQL before `-- migrate:up`") as caught:
        parse_sql_migration(text)
    assert caught.value.line == 3


def test_comments_before_up_are_allowed() -> None:
    text = sql(
        """
        -- A free comment: with a colon in it
        -- NOTE: unknown keys are just comments
        # a hash comment
        /* a block comment; with SQL words: SELECT 1 */
        /*
           spanning
           lines -- migrate
        */ -- and a trailing comment
        /* one */ /* two */ -- three

        -- name: Still a header
        -- migrate:up
        SELECT 1;
        """
    )
    source = parse_sql_migration(text)
    assert source.headers.name == "Still a header"
    assert source.up.first_line == 13


def test_sql_after_a_block_comment_before_up() -> None:
    with pytest.raises(SqlFormatError, match="SQL before") as caught:
        parse_sql_migration("/* a\n b */ SELECT 1;\n-- migrate:up\n")
    assert caught.value.line == 2


def test_headers_after_up_are_sql_comments() -> None:
    text = "-- migrate:up\n-- name: Not a header\n-- category: bogus\nSELECT 1;\n"
    source = parse_sql_migration(text)
    assert source.headers == SqlHeaders()
    assert source.up.sql == "-- name: Not a header\n-- category: bogus\nSELECT 1;\n"


@pytest.mark.parametrize("value", ["schema", "data", "index", "constraint", "DATA", " Index "])
def test_valid_categories(value: str) -> None:
    source = parse_sql_migration(f"-- category: {value}\n-- migrate:up\n")
    assert source.headers.category == value.strip().lower()


@pytest.mark.parametrize("value", ["", "schemas", "ddl", "data, index"])
def test_invalid_category(value: str) -> None:
    with pytest.raises(SqlFormatError, match="invalid category") as caught:
        parse_sql_migration(f"-- name: x\n-- category: {value}\n-- migrate:up\n")
    assert caught.value.line == 2
    assert "schema, data, index, constraint" in str(caught.value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("true", True),
        ("yes", True),
        ("on", True),
        ("TRUE", True),
        ("Yes", True),
        ("false", False),
        ("no", False),
        ("off", False),
        ("False", False),
        ("OFF", False),
    ],
)
def test_transactional_values(value: str, expected: bool) -> None:
    source = parse_sql_migration(f"-- transactional: {value}\n-- migrate:up\n")
    assert source.headers.transactional is expected


@pytest.mark.parametrize("value", ["", "maybe", "1", "0", "t", "nope"])
def test_invalid_transactional(value: str) -> None:
    with pytest.raises(SqlFormatError, match="invalid transactional value") as caught:
        parse_sql_migration(f"\n\n-- transactional: {value}\n-- migrate:up\n")
    assert caught.value.line == 3


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("001_init, 2", ("001_init", "2")),
        ("a b c", ("a", "b", "c")),
        ("a,b,,c", ("a", "b", "c")),
        (" 20260101_x ,  20260102_y ", ("20260101_x", "20260102_y")),
        ("", ()),
    ],
)
def test_depends_values(value: str, expected: tuple[str, ...]) -> None:
    source = parse_sql_migration(f"-- depends: {value}\n-- migrate:up\n")
    assert source.headers.depends == expected


@pytest.mark.parametrize("spelling", ["depends-on", "depends_on", "Depends", "DEPENDS-ON"])
def test_depends_spellings(spelling: str) -> None:
    source = parse_sql_migration(f"-- {spelling}: 1 2\n-- migrate:up\n")
    assert source.headers.depends == ("1", "2")


def test_header_key_and_value_spacing() -> None:
    source = parse_sql_migration("--name:Tight\n--   description :  Loose  \n-- migrate:up\n")
    assert source.headers.name == "Tight"
    assert source.headers.description == "Loose"


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("-- name: a", "-- name: b"),
        ("-- description: a", "-- DESCRIPTION: a"),
        ("-- category: data", "-- category: data"),
        ("-- depends: 1", "-- depends-on: 2"),
        ("-- transactional: true", "-- transactional: false"),
    ],
)
def test_duplicate_header(first: str, second: str) -> None:
    with pytest.raises(SqlFormatError, match=r"given twice \(first on line 2\)") as caught:
        parse_sql_migration(f"-- intro\n{first}\n\n{second}\n-- migrate:up\n")
    assert caught.value.line == 4


def test_errors_are_reported_in_line_order() -> None:
    text = "-- category: nope\nSELECT 1;\n-- migrate:up\n-- migrate:up\n"
    with pytest.raises(SqlFormatError) as caught:
        parse_sql_migration(text)
    assert caught.value.line == 1


def test_bom_is_dropped() -> None:
    source = parse_sql_migration("\ufeff-- name: Bom\n-- migrate:up\nSELECT 1;\n")
    assert source.headers.name == "Bom"
    assert source.up == SqlSection("SELECT 1;\n", 3)


@pytest.mark.parametrize("newline", ["\r\n", "\r"])
def test_crlf_and_cr_line_endings(newline: str) -> None:
    text = FULL.replace("\n", newline)
    source = parse_sql_migration(text)
    expected = parse_sql_migration(FULL)
    assert source == expected
    assert "\r" not in source.up.sql


def test_line_numbers_survive_crlf_in_errors() -> None:
    with pytest.raises(SqlFormatError) as caught:
        parse_sql_migration("-- a\r\n-- b\r\nDROP TABLE x;\r\n-- migrate:up\r\n")
    assert caught.value.line == 3


def test_sql_format_error_shape() -> None:
    error = SqlFormatError("boom", 7)
    assert isinstance(error, ValueError)
    assert (str(error), error.message, error.line) == ("boom", "boom", 7)
    assert SqlFormatError("whole file").line is None


def test_section_line_maps_statement_lines_to_file_lines() -> None:
    text = sql(
        """
        -- migrate:up
        CREATE TABLE a (id INT);

        -- make b
        CREATE TABLE b (
            id INT
        );
        -- migrate:down
        DROP TABLE b;
        DROP TABLE a;
        """
    )
    source = parse_sql_migration(text)
    file_lines = text.splitlines()
    for section in (source.up, source.down):
        assert section is not None
        for statement in split_statements(section.sql, "sqlite"):
            line = section.first_line + statement.line - 1
            assert file_lines[line - 1].startswith(statement.sql.splitlines()[0])


# --------------------------------------------------------------------------------------------
# split_statements: quoting and comments
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dialect", DIALECTS)
def test_semicolons_in_single_quoted_strings(dialect: str) -> None:
    script = "INSERT INTO t VALUES ('a;b', 'it''s; fine');\nSELECT ';';"
    assert texts(script, dialect) == [
        "INSERT INTO t VALUES ('a;b', 'it''s; fine')",
        "SELECT ';'",
    ]


@pytest.mark.parametrize("dialect", ["duckdb", "sqlite", "postgres"])
def test_semicolons_in_double_quoted_identifiers(dialect: str) -> None:
    script = 'CREATE TABLE "odd;name" ("col;1" INT, "say ""hi"";" TEXT); SELECT 1'
    assert texts(script, dialect) == [
        'CREATE TABLE "odd;name" ("col;1" INT, "say ""hi"";" TEXT)',
        "SELECT 1",
    ]


def test_mysql_double_quotes_and_backslash_escapes() -> None:
    script = "INSERT INTO t VALUES (\"a;b\", 'it\\'s;', 'c\\\\');\nSELECT 2"
    assert texts(script, "mysql") == [
        "INSERT INTO t VALUES (\"a;b\", 'it\\'s;', 'c\\\\')",
        "SELECT 2",
    ]


@pytest.mark.parametrize("dialect", ["mysql", "sqlite"])
def test_semicolons_in_backtick_identifiers(dialect: str) -> None:
    script = "CREATE TABLE `a;b` (`c;d` INT);\nDROP TABLE `a;b`;"
    assert texts(script, dialect) == ["CREATE TABLE `a;b` (`c;d` INT)", "DROP TABLE `a;b`"]


def test_sqlite_bracket_identifiers() -> None:
    assert texts("SELECT [a;b] FROM [t;];SELECT 2", "sqlite") == [
        "SELECT [a;b] FROM [t;]",
        "SELECT 2",
    ]


def test_postgres_backslash_is_not_an_escape_but_e_strings_have_escapes() -> None:
    script = "SELECT 'a\\'; SELECT E'b\\';c'; SELECT 3"
    assert texts(script, "postgres") == ["SELECT 'a\\'", "SELECT E'b\\';c'", "SELECT 3"]


@pytest.mark.parametrize("dialect", DIALECTS)
def test_semicolons_in_comments(dialect: str) -> None:
    script = sql(
        """
        -- leading; comment
        SELECT 1 /* inner; comment */ + 2; -- trailing; comment
        /* block;
           comment; */
        SELECT 3
        -- final; comment
        """
    )
    assert texts(script, dialect) == ["SELECT 1 /* inner; comment */ + 2", "SELECT 3"]


def test_mysql_hash_comments() -> None:
    script = "SELECT 1; # a; comment\nSELECT 2 # another;\n;"
    assert texts(script, "mysql") == ["SELECT 1", "SELECT 2"]


@pytest.mark.parametrize("dialect", ["postgres", "duckdb"])
def test_dollar_quoted_bodies(dialect: str) -> None:
    script = sql(
        """
        CREATE FUNCTION bump() RETURNS trigger AS $$
        BEGIN
            NEW.n := NEW.n + 1;
            RETURN NEW;
        END;
        $$ LANGUAGE plpgsql;
        SELECT $tag$ a; b $$ c; $tag$;
        SELECT 3;
        """
    )
    statements = texts(script, dialect)
    assert len(statements) == 3
    assert statements[0].startswith("CREATE FUNCTION bump()")
    assert statements[0].endswith("$$ LANGUAGE plpgsql")
    assert statements[1] == "SELECT $tag$ a; b $$ c; $tag$"
    assert statements[2] == "SELECT 3"


def test_postgres_do_block_and_parameters() -> None:
    script = "DO $$BEGIN PERFORM 1; END$$;\nPREPARE p AS SELECT $1;\nSELECT 2;"
    assert texts(script, "postgres") == [
        "DO $$BEGIN PERFORM 1; END$$",
        "PREPARE p AS SELECT $1",
        "SELECT 2",
    ]


# --------------------------------------------------------------------------------------------
# split_statements: BEGIN ... END bodies and transactions
# --------------------------------------------------------------------------------------------

SQLITE_TRIGGER = sql(
    """
    CREATE TRIGGER users_touch AFTER UPDATE ON users
    FOR EACH ROW WHEN NEW.email IS NOT NULL
    BEGIN
        UPDATE users SET updated = CASE WHEN 1 THEN 'x;' END WHERE id = NEW.id;
        INSERT INTO audit (msg) VALUES ('touched; ok');
    END;
    """
)


def test_sqlite_trigger_body_is_one_statement() -> None:
    script = f"CREATE TABLE audit (msg TEXT);\n{SQLITE_TRIGGER}SELECT 1;\n"
    statements = split_statements(script, "sqlite")
    assert [s.sql for s in statements] == [
        "CREATE TABLE audit (msg TEXT)",
        SQLITE_TRIGGER.strip().removesuffix(";"),
        "SELECT 1",
    ]
    assert [s.line for s in statements] == [1, 2, 8]


@pytest.mark.parametrize(
    "head",
    [
        "CREATE TEMP TRIGGER t",
        "CREATE TEMPORARY TRIGGER t",
        "CREATE TRIGGER IF NOT EXISTS t",
        "create trigger t",
        'CREATE TRIGGER "main"."t"',
    ],
)
def test_sqlite_trigger_variants(head: str) -> None:
    script = f"{head} AFTER INSERT ON x BEGIN DELETE FROM y; DELETE FROM z; END;\nSELECT 1"
    assert len(texts(script, "sqlite")) == 2


def test_trigger_body_with_nested_case_and_raise() -> None:
    script = sql(
        """
        CREATE TRIGGER guard BEFORE INSERT ON t
        BEGIN
            SELECT CASE
                WHEN NEW.a < 0 THEN RAISE(ABORT, 'negative; no')
                WHEN NEW.a > 9 THEN CASE WHEN 1 THEN RAISE(ABORT, 'big') END
            END;
            SELECT 1;
        END;
        INSERT INTO t VALUES (1);
        """
    )
    assert len(texts(script, "sqlite")) == 2


MYSQL_TRIGGER = sql(
    """
    CREATE DEFINER=`root`@`%` TRIGGER clamp BEFORE INSERT ON t FOR EACH ROW
    BEGIN
        IF NEW.a < 0 THEN
            SET NEW.a = 0;
        ELSEIF NEW.a > 9 THEN
            SET NEW.a = IF(NEW.b, 9, 8);
        ELSE
            IF NEW.c IS NULL THEN SET NEW.c = REPEAT('x', 3); END IF;
        END IF;
        CASE NEW.kind WHEN 1 THEN SET NEW.k = 'one'; ELSE SET NEW.k = 'other'; END CASE;
    END
    """
).strip()


def test_mysql_trigger_body_is_one_statement() -> None:
    script = f"DROP TRIGGER IF EXISTS clamp;\n{MYSQL_TRIGGER};\nINSERT INTO t VALUES (1);"
    assert texts(script, "mysql") == [
        "DROP TRIGGER IF EXISTS clamp",
        MYSQL_TRIGGER,
        "INSERT INTO t VALUES (1)",
    ]


def test_mysql_trigger_without_begin() -> None:
    script = (
        "CREATE TRIGGER t1 BEFORE INSERT ON t FOR EACH ROW "
        "IF NEW.a < 0 THEN SET NEW.a = 0; END IF;\nSELECT 1;"
    )
    assert len(texts(script, "mysql")) == 2
    script = "CREATE TRIGGER t2 BEFORE INSERT ON t FOR EACH ROW SET NEW.a = 1;\nSELECT 1;"
    assert len(texts(script, "mysql")) == 2


def test_mysql_procedure_with_loops_and_labels() -> None:
    body = sql(
        """
        CREATE PROCEDURE fill(IN n INT)
        main: BEGIN
            DECLARE i INT DEFAULT 0;
            DECLARE CONTINUE HANDLER FOR NOT FOUND SET i = n;
            IF n IS NULL THEN LEAVE main; END IF;
            outer_loop: LOOP
                SET i = i + 1;
                IF i > n THEN LEAVE outer_loop; END IF;
            END LOOP outer_loop;
            WHILE i > 0 DO
                SET i = i - 1;
            END WHILE;
            REPEAT
                SET i = i + 1;
            UNTIL i >= n END REPEAT;
            inner_block: BEGIN
                SELECT CASE WHEN i > 0 THEN 'pos;' ELSE 'neg' END;
            END inner_block;
        END main
        """
    ).strip()
    script = f"{body};\nCALL fill(3);\nCREATE FUNCTION one() RETURNS INT DETERMINISTIC RETURN 1;"
    assert texts(script, "mysql") == [
        body,
        "CALL fill(3)",
        "CREATE FUNCTION one() RETURNS INT DETERMINISTIC RETURN 1",
    ]


def test_mysql_event_body() -> None:
    script = (
        "CREATE EVENT purge ON SCHEDULE EVERY 1 DAY DO BEGIN DELETE FROM a; DELETE FROM b; END;"
        "\nSELECT 1"
    )
    assert len(texts(script, "mysql")) == 2


def test_postgres_begin_atomic_body() -> None:
    script = (
        "CREATE FUNCTION add(a int, b int) RETURNS int LANGUAGE sql\n"
        "BEGIN ATOMIC\n  SELECT a + b;\nEND;\nSELECT add(1, 2);"
    )
    assert texts(script, "postgres") == [
        "CREATE FUNCTION add(a int, b int) RETURNS int LANGUAGE sql\n"
        "BEGIN ATOMIC\n  SELECT a + b;\nEND",
        "SELECT add(1, 2)",
    ]


@pytest.mark.parametrize("dialect", DIALECTS)
def test_transaction_statements_split(dialect: str) -> None:
    script = "BEGIN;\nINSERT INTO t VALUES (1);\nCOMMIT;\nBEGIN TRANSACTION;\nEND;\nSELECT 1"
    assert texts(script, dialect) == [
        "BEGIN",
        "INSERT INTO t VALUES (1)",
        "COMMIT",
        "BEGIN TRANSACTION",
        "END",
        "SELECT 1",
    ]


@pytest.mark.parametrize("dialect", DIALECTS)
def test_case_and_keywords_outside_bodies_do_not_join_statements(dialect: str) -> None:
    script = (
        "SELECT CASE WHEN a THEN 1 END FROM t;\n"
        "CREATE TABLE trigger_log (id INT);\n"
        "CREATE INDEX procedure_idx ON trigger_log (id);\n"
        "UPDATE t SET a = CASE b WHEN 1 THEN 2 ELSE 3 END;\n"
        "SELECT 5"
    )
    assert len(texts(script, dialect)) == 5


def test_table_with_keyword_column_names() -> None:
    script = "CREATE TABLE events (begin INT, event TEXT, trigger TEXT);\nSELECT 1;"
    assert len(texts(script, "sqlite")) == 2


def test_unbalanced_trigger_runs_to_the_end() -> None:
    script = "CREATE TRIGGER t AFTER INSERT ON x BEGIN DELETE FROM y;\nSELECT 1;"
    assert texts(script, "sqlite") == [script]  # the last ";" is inside the open body


# --------------------------------------------------------------------------------------------
# split_statements: shapes, positions, edge cases
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dialect", DIALECTS)
def test_trailing_statement_without_semicolon(dialect: str) -> None:
    assert texts("SELECT 1;\nSELECT 'two'\n", dialect) == ["SELECT 1", "SELECT 'two'"]


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize(
    "script",
    ["", "   \n\t", ";", ";;\n;", "-- only a comment;", "/* a; */\n-- b;\n", "-- a\n;\n-- b\n"],
)
def test_scripts_without_statements(dialect: str, script: str) -> None:
    assert split_statements(script, dialect) == []
    assert not has_statements(script, dialect)
    assert "".join(split_segments(script, dialect)) == script


@pytest.mark.parametrize("dialect", DIALECTS)
def test_empty_statements_are_dropped(dialect: str) -> None:
    assert texts(";;SELECT 1;;;SELECT 2;", dialect) == ["SELECT 1", "SELECT 2"]


@pytest.mark.parametrize("dialect", DIALECTS)
def test_statement_positions_and_lines(dialect: str) -> None:
    script = (
        "\n\n  -- first\n  CREATE TABLE a (\n    id INT\n  );\nINSERT INTO a VALUES (1); SELECT\n1"
    )
    statements = split_statements(script, dialect)
    expected = [("CREATE TABLE a (\n    id INT\n  )", 4), ("INSERT INTO a VALUES (1)", 7)]
    expected.append(("SELECT\n1", 7))
    assert statements == [
        Statement(text, line, script.index(text), script.index(text) + len(text))
        for text, line in expected
    ]


def test_statement_keeps_inner_comments_only() -> None:
    script = "/* lead */ -- lead\nSELECT /* in; */ 1 -- in\n + 2 -- trail\n/* trail */;"
    assert split_statements(script, "duckdb") == [
        Statement("SELECT /* in; */ 1 -- in\n + 2", 2, 19, 48)
    ]


@pytest.mark.parametrize("dialect", DIALECTS)
def test_segments_partition_the_script(dialect: str) -> None:
    script = "SELECT 1; -- a\nSELECT ';'; ;\n-- tail"
    assert split_segments(script, dialect) == ["SELECT 1;", " -- a\nSELECT ';';", " ;", "\n-- tail"]
    assert split_segments("SELECT 1;", dialect) == ["SELECT 1;"]
    assert split_segments("", dialect) == []


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize(
    "script", ["SELECT 'unterminated; x", "SELECT 1; /* open comment; SELECT 2"]
)
def test_tokenizer_errors_give_the_whole_script(dialect: str, script: str) -> None:
    assert texts(f"\n {script} \n", dialect) == [script]
    assert split_segments(script, dialect) == [script]


def test_tokenizer_error_fallback_is_one_statement() -> None:
    script = "\nSELECT 1;\nSELECT 'oops;\n"
    assert split_statements(script, "duckdb") == [Statement("SELECT 1;\nSELECT 'oops;", 2, 1, 24)]
    assert split_segments(script, "duckdb") == [script]


def test_mysql_executable_comments_are_statements() -> None:
    script = sql(
        """
        -- MySQL dump
        /*!40101 SET @OLD_CHARACTER_SET_CLIENT=@@CHARACTER_SET_CLIENT */;
        /* an ordinary comment; */;
        /*M!100101 SET NOTE_VERBOSITY=0 */;
        -- see /*!50001 this is only a comment */
        ;
        SELECT /*+ MAX_EXECUTION_TIME(1) */ 1;
        """
    )
    statements = split_statements(script, "mysql")
    assert [(s.sql, s.line) for s in statements] == [
        ("/*!40101 SET @OLD_CHARACTER_SET_CLIENT=@@CHARACTER_SET_CLIENT */", 2),
        ("/*M!100101 SET NOTE_VERBOSITY=0 */", 4),
        ("SELECT /*+ MAX_EXECUTION_TIME(1) */ 1", 7),
    ]
    # Other dialects read them as the comments they are there.
    assert texts(script, "postgres") == ["SELECT /*+ MAX_EXECUTION_TIME(1) */ 1"]


def test_unknown_dialect_is_reported_when_the_tokenizer_is_needed() -> None:
    with pytest.raises(ValueError, match="nope"):
        split_statements("SELECT 'x'", "nope")


# --------------------------------------------------------------------------------------------
# The fast path
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "script",
    [
        "ALTER TABLE users ADD COLUMN phone VARCHAR(20)",
        "ALTER TABLE users ADD COLUMN phone VARCHAR(20);\n",
        "CREATE TABLE t (id INTEGER PRIMARY KEY);\nCREATE INDEX i ON t (id);\nDROP TABLE u;",
        "BEGIN;\nUPDATE t SET a = 1 WHERE b > 2;\nCOMMIT;",
        "",
        "  \n",
        "-- nothing to undo\n--\n\n-- really; nothing\n",
    ],
)
def test_fast_path_applies(script: str) -> None:
    assert _fast_split(script) is not None


@pytest.mark.parametrize(
    "script",
    [
        "SELECT 'a'",
        'SELECT "a"',
        "SELECT `a`",
        "SELECT [a]",
        "SELECT $$a$$",
        "SELECT 1 # c",
        "SELECT 1 -- c",
        "SELECT 1 /* c */",
        "SELECT 1 {# c #}",
        "SELECT 'é'",
        "SELECT é",
        "CREATE TRIGGER t AFTER INSERT ON x BEGIN DELETE FROM y; END;",
        "--x\nSELECT 1",
        "-- a\rSELECT 1",
    ],
)
def test_fast_path_declines(script: str) -> None:
    assert _fast_split(script) is None


def test_fast_path_does_not_import_sqlglot() -> None:
    src = Path(lamina.__file__).resolve().parents[1]
    code = (
        "import sys\n"
        "from lamina.sqltext import has_statements, parse_sql_migration, split_statements\n"
        "source = parse_sql_migration('-- migrate:up\\nCREATE TABLE t (a INT);\\n"
        "CREATE INDEX i ON t (a);\\n-- migrate:down\\n-- irreversible\\n')\n"
        "assert len(split_statements(source.up.sql, 'duckdb')) == 2\n"
        "assert not has_statements(source.down.sql, 'duckdb')\n"
        "assert 'sqlglot' not in sys.modules, 'sqlglot was imported'\n"
        "split_statements(\"SELECT 'x'\", 'duckdb')\n"
        "assert 'sqlglot' in sys.modules\n"
    )
    env = {**os.environ, "PYTHONPATH": str(src)}
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr


FAST_WORDS = st.sampled_from(
    [
        "SELECT", "1", "2.5", "1e5", "0x1F", "0b1", "x", "t", "(", ")", ",", ".", "*", "+", "=",
        "<>", ">=", "@", "@@x", ":", "::", "?", "%", "!", "|", "&", "^", "~", "]", "<=>",
        "BEGIN", "END", "CASE", "WHEN", "THEN", "IF", "LOOP", "CREATE", "TABLE", "INDEX",
        "REPLACE", "SHOW", "EXECUTE", "VACUUM", "LOCK", "COMMIT", "END IF", "_a1", "e",
        ";", ";", ";", " ", "  ", "\n", "\t", "\r\n", "\r",
    ]
)  # fmt: skip


@settings(max_examples=200)
@given(words=st.lists(FAST_WORDS, max_size=25), dialect=st.sampled_from(DIALECTS))
@example(words=["REPLACE", " ", "x", " ", ";", " ", "SELECT"], dialect="sqlite")
@example(words=["SHOW", " ", ";", "x"], dialect="postgres")
def test_fast_path_agrees_with_the_tokenizer(words: list[str], dialect: str) -> None:
    script = " ".join(words) if len(words) % 2 else "".join(words)
    fast = _fast_split(script)
    assert fast is not None  # the vocabulary never names a trigger, procedure or function
    assert fast == _token_split(script, dialect)


@settings(max_examples=100)
@given(
    lines=st.lists(
        st.one_of(
            st.text(st.characters(exclude_categories=["Cs"]), max_size=20).map(
                lambda text: "-- " + text
            ),
            st.sampled_from(["", "  ", "--", "\t-- x;y", "--\t'"]),
        ),
        max_size=6,
    ),
    newline=st.sampled_from(["\n", "\r\n"]),
    dialect=st.sampled_from(DIALECTS),
)
def test_comment_fast_path_agrees_with_the_tokenizer(
    lines: list[str], newline: str, dialect: str
) -> None:
    script = newline.join(lines)
    fast = _fast_split(script)
    if fast is not None:
        assert fast == _token_split(script, dialect)


# --------------------------------------------------------------------------------------------
# Properties
# --------------------------------------------------------------------------------------------


@settings(max_examples=200)
@given(script=st.text(), dialect=st.sampled_from(DIALECTS))
@example(script="/* a", dialect="sqlite")
@example(script="'", dialect="mysql")
@example(script="$a$", dialect="postgres")
@example(script="x'zz'", dialect="sqlite")
@example(script="CREATE TRIGGER ; END IF CASE ; END ;", dialect="mysql")
def test_segments_always_partition_the_script(script: str, dialect: str) -> None:
    segments = split_segments(script, dialect)
    assert "".join(segments) == script
    assert all(segments)
    statements = split_statements(script, dialect)
    position = 0
    for statement in statements:
        assert position <= statement.start < statement.end <= len(script)
        assert script[statement.start : statement.end] == statement.sql
        assert statement.sql == statement.sql.strip()
        assert statement.line == script.count("\n", 0, statement.start) + 1
        position = statement.end
    assert has_statements(script, dialect) == bool(statements)


@st.composite
def string_literals(draw: st.DrawFn, dialect: str) -> str:
    text = draw(st.text(st.characters(exclude_categories=["Cs"]), max_size=15))
    if dialect == "mysql":
        text = text.replace("\\", "\\\\")
    return "'" + text.replace("'", "''") + "'"


def comment_text(draw: st.DrawFn) -> str:
    alphabet = st.characters(exclude_categories=["Cs"], exclude_characters="\n\r")
    return draw(st.text(alphabet, max_size=15))


@st.composite
def script_pieces(draw: st.DrawFn, dialect: str) -> tuple[str, str]:
    """One statement as written (with comments around it) and the statement sql expected."""
    kind = draw(st.sampled_from(["insert", "line_comment", "block_comment", "plain"]))
    if kind == "insert":
        values = draw(st.lists(string_literals(dialect), min_size=1, max_size=3))
        core = f"INSERT INTO t VALUES ({', '.join(values)})"
        return core, core
    if kind == "line_comment":
        core = f"SELECT {draw(st.integers(0, 99))}"
        return f"{core} -- {comment_text(draw)}\n", core
    if kind == "block_comment":
        body = comment_text(draw).replace("*/", "* /").replace("/*", "/ *")
        core = f"SELECT {draw(st.integers(0, 99))}"
        return f"/* {body} */ {core}", core
    core = draw(st.sampled_from(["SELECT 1", "CREATE TABLE x (a INT)", "COMMIT", "BEGIN"]))
    return core, core


@settings(max_examples=200)
@given(data=st.data(), dialect=st.sampled_from(DIALECTS), trailing=st.booleans())
def test_built_scripts_split_into_their_pieces(
    data: st.DataObject, dialect: str, trailing: bool
) -> None:
    pieces = data.draw(st.lists(script_pieces(dialect), min_size=1, max_size=6))
    script = ";\n".join(written for written, _ in pieces) + (";" if trailing else "")
    statements = split_statements(script, dialect)
    assert [s.sql for s in statements] == [expected.strip() for _, expected in pieces]
    assert len(split_segments(script, dialect)) == len(pieces)
