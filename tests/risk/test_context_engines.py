"""Why lock-held-during-long-statement covers PostgreSQL only, checked on the embedded engines:
SQLite blocks other writers from a transaction's first write whatever the statement, so an
earlier ALTER adds nothing a backfill does not already hold; DuckDB does not queue at all: after
an ALTER, other connections still read the table and their writes fail at once."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import duckdb
import pytest

from support.risk_cases import fired

BACKFILL = ("ALTER TABLE t ADD COLUMN c INT", "UPDATE t SET c = 0")


def test_sqlite_blocks_writers_from_the_first_write_alter_or_not(tmp_path: Path) -> None:
    path = tmp_path / "x.sqlite3"
    setup = sqlite3.connect(path)
    setup.execute("CREATE TABLE t (id INT, a INT)")
    setup.commit()
    setup.close()
    for statements in (BACKFILL, ("UPDATE t SET a = 0",)):  # with the ALTER, and without
        migration = sqlite3.connect(path, isolation_level=None, timeout=0.1)
        other = sqlite3.connect(path, isolation_level=None, timeout=0.1)
        migration.execute("BEGIN")
        for statement in statements:
            migration.execute(statement)
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            other.execute("INSERT INTO t (id, a) VALUES (1, 1)")
        migration.execute("ROLLBACK")
        migration.close()
        other.close()
    assert "lock-held-during-long-statement" not in fired(BACKFILL, "sqlite")


def test_duckdb_fails_other_writers_after_an_alter_instead_of_queueing_them(
    tmp_path: Path,
) -> None:
    database = duckdb.connect(str(tmp_path / "x.duckdb"))
    database.execute("CREATE TABLE t (id INT, a INT)")
    database.execute("INSERT INTO t SELECT range, range FROM range(100)")
    migration, other = database.cursor(), database.cursor()
    migration.execute("BEGIN")
    for statement in BACKFILL:
        migration.execute(statement)
    assert other.execute("SELECT count(*) FROM t").fetchall() == [(100,)]
    with pytest.raises(duckdb.TransactionException, match="altered"):
        other.execute("INSERT INTO t (id, a) VALUES (1, 1)")
    migration.execute("ROLLBACK")
    database.close()
    assert "lock-held-during-long-statement" not in fired(BACKFILL, "duckdb")
