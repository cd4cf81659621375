"""MAX_MIGRATION_TIME: a migration over its limit is stopped, rolled back and reported."""

from __future__ import annotations

import time

import pytest

from lamina import Lamina
from lamina.errors import ExecutionError

#: A statement that runs far longer than the 1 s limit, per engine (DuckDB and SQLite count an
#: endless recursive sequence; the servers sleep).
SLOW = {
    "duckdb": "SELECT count(*) FROM range(1000000000000)",
    "sqlite": (
        "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n) SELECT count(*) FROM n"
    ),
    "postgresql": "SELECT pg_sleep(10)",
    "mysql": "SELECT SLEEP(10)",
}


def test_a_slow_statement_is_stopped_at_the_limit_and_rolled_back(
    engine, make_migrations, settings_for, raw_db
) -> None:
    make_migrations(
        {
            "001_fast.sql": "-- migrate:up\nCREATE TABLE fast (id INTEGER);\n",
            "002_slow.sql": f"""
                -- category: data
                -- migrate:up
                INSERT INTO fast VALUES (1);
                {SLOW[engine]};
            """,
        }
    )
    lamina = Lamina(settings_for(max_migration_time_ms=1000))
    started = time.monotonic()
    with pytest.raises(ExecutionError) as caught:
        lamina.up()
    elapsed = time.monotonic() - started
    assert elapsed < 6, f"stopped after {elapsed:.1f} s, the limit is 1 s"
    error = caught.value
    assert error.migration_id == "002_slow"
    assert "exceeding MAX_MIGRATION_TIME (1000 ms)" in error.message
    assert error.rolled_back is True
    assert error.applied == ("001_fast",)
    assert raw_db.applied_ids() == ["001_fast"]
    assert raw_db.query("SELECT COUNT(*) FROM fast") == [(0,)]  # the insert went with it
    failure = lamina.history(1)[0]
    assert (failure.action, failure.migration_id) == ("fail", "002_slow")
    assert "MAX_MIGRATION_TIME" in (failure.detail or "")


def test_python_code_over_the_limit_is_stopped_at_its_next_statement(
    make_migrations, settings_for, raw_db
) -> None:
    make_migrations(
        {
            "001_table.sql": "-- migrate:up\nCREATE TABLE t (id INTEGER);\n",
            "002_dawdle.py": """
                import time

                from lamina import Migration


                class Dawdle(Migration):
                    category = "data"

                    def up(self):
                        self.execute_sql("INSERT INTO t VALUES (1)")
                        time.sleep(1.5)
                        self.execute_sql("INSERT INTO t VALUES (2)")

                    def down(self):
                        self.execute_sql("DELETE FROM t")
            """,
        }
    )
    with pytest.raises(ExecutionError, match="MAX_MIGRATION_TIME") as caught:
        Lamina(settings_for(max_migration_time_ms=500)).up()
    assert caught.value.statement == "INSERT INTO t VALUES (2)"
    assert caught.value.rolled_back is True  # row changes roll back on every engine
    assert raw_db.applied_ids() == ["001_table"]
    assert raw_db.query("SELECT COUNT(*) FROM t") == [(0,)]


def test_migrations_within_the_limit_are_untouched(make_migrations, settings_for, raw_db) -> None:
    files = {
        f"{i:03d}_t{i}.sql": f"-- migrate:up\nCREATE TABLE t{i} (id INTEGER);\n"
        for i in range(1, 6)
    }
    make_migrations(files)
    result = Lamina(settings_for(max_migration_time_ms=5000)).up()
    assert len(result.applied) == 5
    assert raw_db.applied_ids() == [name.removesuffix(".sql") for name in sorted(files)]
