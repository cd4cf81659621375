"""Which MySQL statements commit implicitly (the manual's list), and SQL shown on one line
without a ``-- comment`` seeming to swallow what follows it."""

from __future__ import annotations

import pytest

from lamina.errors import ExecutionError, one_line_sql
from lamina.sqltext.implicit_commits import commits_implicitly, runs_in_transaction


@pytest.mark.parametrize(
    "sql",
    [
        "CREATE TABLE t (id INT)",
        "ALTER TABLE t ADD COLUMN c INT",
        "DROP TABLE t",
        "RENAME TABLE a TO b",
        "TRUNCATE TABLE t",
        "CREATE INDEX i ON t (c)",
        "DROP INDEX i ON t",
        "CREATE VIEW v AS SELECT 1",
        "CREATE TRIGGER tr BEFORE INSERT ON t FOR EACH ROW SET NEW.c = 1",
        "CREATE PROCEDURE p() BEGIN END",
        "CREATE DATABASE d",
        "CREATE SEQUENCE s",
        "CREATE USER 'u'@'%'",
        "GRANT SELECT ON d.* TO 'u'@'%'",
        "REVOKE SELECT ON d.* FROM 'u'@'%'",
        "SET PASSWORD FOR 'u'@'%' = 'x'",
        "SET autocommit = 1",
        "SET SESSION autocommit = 1",
        "BEGIN",
        "START TRANSACTION",
        "COMMIT",
        "LOCK TABLES t WRITE",
        "UNLOCK TABLES",
        "ANALYZE TABLE t",
        "OPTIMIZE TABLE t",
        "FLUSH PRIVILEGES",
        "LOAD DATA INFILE 'x' INTO TABLE t",
        "CALL maybe_ddl()",  # unsure counts as committing
        "-- a note\nCREATE TABLE t (id INT)",
        "/* a note */ DROP VIEW v",
    ],
)
def test_statements_that_commit_implicitly(sql: str) -> None:
    assert commits_implicitly(sql)


@pytest.mark.parametrize(
    "sql",
    [
        "INSERT INTO t VALUES (1)",
        "UPDATE t SET c = 1 WHERE id = 2",
        "DELETE FROM t WHERE id = 1",
        "REPLACE INTO t VALUES (1)",
        "SELECT * FROM t",
        "(SELECT 1) UNION (SELECT 2)",
        "WITH x AS (SELECT 1) SELECT * FROM x",
        "SET @n = 1",
        "SET SESSION sql_mode = ''",
        "CREATE TEMPORARY TABLE tmp (id INT)",
        "DROP TEMPORARY TABLE tmp",
        "SAVEPOINT a",
        "-- a note\nINSERT INTO t VALUES (1)",
        "-- nothing but a comment",
        "",
    ],
)
def test_statements_that_run_inside_the_transaction(sql: str) -> None:
    assert not commits_implicitly(sql)


def test_a_step_is_in_transaction_only_if_every_statement_is() -> None:
    assert runs_in_transaction([])
    assert runs_in_transaction(["INSERT INTO t VALUES (1)", "DELETE FROM t"])
    assert not runs_in_transaction(["INSERT INTO t VALUES (1)", "CREATE TABLE u (id INT)"])


def test_one_line_sql_keeps_an_inline_comment_in_its_place() -> None:
    sql = "INSERT INTO t -- the target\nVALUES ('--not a comment', 1); -- done"
    assert one_line_sql(sql) == (
        "INSERT INTO t /* the target */ VALUES ('--not a comment', 1); /* done */"
    )
    assert one_line_sql("SELECT 1 -- odd */ comment\nFROM t") == "SELECT 1 FROM t"
    error = ExecutionError("001_x", "UPDATE t -- note\nSET c = 1", "boom")
    assert "statement: UPDATE t /* note */ SET c = 1" in error.message


def test_a_failed_down_says_what_happened_to_it() -> None:
    undone = ExecutionError("002_y", None, "boom", direction="down")
    assert undone.message.startswith("rollback of migration 002_y failed;")
    assert "still applied" in undone.message
    kept = ExecutionError("002_y", None, "boom", rolled_back=False, direction="down")
    assert "marked failed" in kept.message
