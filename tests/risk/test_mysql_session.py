"""What outlives a MySQL statement, proven on MariaDB with lamina itself running the migrations.

mysql-foreign-key-checks-off: a ``SET`` survives a rollback, and lamina runs the next migration
of the run on the same connection, which then writes orphan rows. mysql-lock-tables: LOCK
TABLES commits the open transaction, and without UNLOCK TABLES lamina cannot write its history
row (ERROR 1100). mysql-not-atomic: after a DDL statement a failure leaves the earlier row
changes in place. Each rule is also checked to fire on the migration that shows the hazard
and not on its safe form.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from lamina import Lamina
from lamina.config import load_settings
from lamina.errors import ExecutionError
from support.risk_cases import fired

pytestmark = pytest.mark.server

TABLES = """
-- migrate:up
CREATE TABLE parent (id INT PRIMARY KEY);
CREATE TABLE child (id INT PRIMARY KEY, parent_id INT,
                    FOREIGN KEY (parent_id) REFERENCES parent (id));
INSERT INTO parent VALUES (1);
-- migrate:down
DROP TABLE child;
DROP TABLE parent;
"""
CHECKS_OFF = "SET foreign_key_checks = 0;\nUPDATE parent SET id = id WHERE id = 1;\n"
ORPHAN = "-- category: data\n-- migrate:up\nINSERT INTO child VALUES (1, 999);\n"


@pytest.fixture
def lamina_on(mysql_url: str, tmp_path: Path, make_migrations: Any) -> Callable[..., Lamina]:
    def make(files: dict[str, str]) -> Lamina:
        make_migrations(files)
        settings = {
            "database_url": mysql_url,
            "migrations_dir": str(tmp_path / "migrations"),
            "lock_timeout_s": 5,
        }
        return Lamina(load_settings(settings, environ={}, cwd=tmp_path))

    return make


@pytest.fixture
def sql(mysql_url: str) -> Iterator[Callable[[str], list[tuple[Any, ...]]]]:
    from support.servers import ServerAddress

    with closing(ServerAddress.parse(mysql_url).connect()) as con:

        def run(statement: str) -> list[tuple[Any, ...]]:
            with con.cursor() as cur:
                cur.execute(statement)
                return list(cur.fetchall())

        yield run


def _up(body: str) -> tuple[str, ...]:
    return tuple(s.strip() for s in body.split(";") if s.strip())


# -- foreign_key_checks ----------------------------------------------------------------------


def test_checks_left_off_let_the_next_migration_of_the_run_write_orphans(lamina_on, sql) -> None:
    lamina = lamina_on(
        {
            "001_tables.sql": TABLES,
            "002_checks_off.sql": f"-- migrate:up\n{CHECKS_OFF}-- migrate:down\nSELECT 1;\n",
            "003_orphan.sql": ORPHAN,
        }
    )
    lamina.up()
    assert sql("SELECT parent_id FROM child") == [(999,)]


def test_restored_checks_refuse_the_orphan(lamina_on) -> None:
    restored = f"{CHECKS_OFF}SET foreign_key_checks = 1;\n"
    lamina = lamina_on(
        {
            "001_tables.sql": TABLES,
            "002_checks_off.sql": f"-- migrate:up\n{restored}-- migrate:down\nSELECT 1;\n",
            "003_orphan.sql": ORPHAN,
        }
    )
    with pytest.raises(ExecutionError, match="foreign key constraint fails"):
        lamina.up()


def test_a_rollback_does_not_turn_the_checks_back_on(sql) -> None:
    sql("SET autocommit = 0")
    sql("SET foreign_key_checks = 0")
    sql("ROLLBACK")
    assert sql("SELECT @@foreign_key_checks") == [(0,)]


def test_the_rule_fires_on_checks_left_off_only() -> None:
    assert fired(_up(CHECKS_OFF), "mysql") == ["mysql-foreign-key-checks-off"]
    restored = (*_up(CHECKS_OFF), "SET foreign_key_checks = 1")
    assert "mysql-foreign-key-checks-off" not in fired(restored, "mysql")


# -- LOCK TABLES -----------------------------------------------------------------------------

T = "-- migrate:up\nCREATE TABLE t (id INT PRIMARY KEY);\n-- migrate:down\nDROP TABLE t;\n"
LOCKED = "LOCK TABLES t WRITE;\nINSERT INTO t VALUES (1);\n"


def test_without_unlock_lamina_cannot_record_the_migration(lamina_on, sql) -> None:
    lamina = lamina_on({"001_t.sql": T, "002_lock.sql": f"-- migrate:up\n{LOCKED}"})
    with pytest.raises(ExecutionError, match="1100"):
        lamina.up()
    assert sql("SELECT id FROM t") == [(1,)]  # applied, although recorded as failed


def test_with_unlock_the_migration_is_recorded(lamina_on) -> None:
    unlocked = f"-- migrate:up\n{LOCKED}UNLOCK TABLES;\n"
    lamina_on({"001_t.sql": T, "002_lock.sql": unlocked}).up()


def test_lock_tables_commits_the_open_transaction(sql) -> None:
    sql("CREATE TABLE a (id INT PRIMARY KEY)")
    sql("CREATE TABLE b (id INT PRIMARY KEY)")
    sql("START TRANSACTION")
    sql("INSERT INTO a VALUES (1)")
    sql("LOCK TABLES b WRITE")
    sql("ROLLBACK")
    sql("UNLOCK TABLES")
    assert sql("SELECT id FROM a") == [(1,)]


def test_the_rule_is_danger_without_unlock_and_a_warning_with_it() -> None:
    from support.risk_cases import report

    alone = report(_up(LOCKED), "mysql").findings
    paired = report((*_up(LOCKED), "UNLOCK TABLES"), "mysql").findings
    assert [f.level.label for f in alone if f.rule == "mysql-lock-tables"] == ["danger"]
    assert [f.level.label for f in paired if f.rule == "mysql-lock-tables"] == ["warning"]


# -- implicit commits ------------------------------------------------------------------------

MIXED = (
    "INSERT INTO t VALUES (5);\n"
    "ALTER TABLE t ADD COLUMN note TEXT;\n"
    "INSERT INTO t VALUES (5, 'again');\n"  # a duplicate key: fails
)


def test_a_failure_after_ddl_leaves_the_earlier_rows_changed(lamina_on, sql) -> None:
    lamina = lamina_on({"001_t.sql": T, "002_mixed.sql": f"-- migrate:up\n{MIXED}"})
    with pytest.raises(ExecutionError, match="Duplicate"):
        lamina.up()
    assert sql("SELECT id FROM t") == [(5,)]
    assert sql("SHOW COLUMNS FROM t LIKE 'note'") != []


def test_the_rule_fires_on_the_mixed_migration_only() -> None:
    assert "mysql-not-atomic" in fired(_up(MIXED), "mysql")
    assert "mysql-not-atomic" not in fired(_up(MIXED)[::2], "mysql")  # the rows alone
