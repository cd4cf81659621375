"""SQLite's table rebuild with foreign keys off, and the settings the file engines ignore or
refuse inside a migration's transaction (README: "SQLite: rebuilding a table").

SQLite ignores ``PRAGMA foreign_keys`` inside a transaction, so a rebuild run in the
migration's transaction would drop the old table with foreign keys on, and ``ON DELETE
CASCADE`` would empty the child tables. lamina turns them off before ``BEGIN`` instead, checks
them before ``COMMIT`` and turns them on again afterwards.
"""

from __future__ import annotations

import sqlite3

import pytest

from lamina import Lamina
from lamina.engines import open_backend
from lamina.errors import ExecutionError
from lamina.urls import parse_url

sqlite_only = pytest.mark.parametrize("engine", ["sqlite"], indirect=True)

SCHEMA = """
    -- migrate:up
    CREATE TABLE parent (id INTEGER PRIMARY KEY, name TEXT);
    CREATE TABLE child (
        id INTEGER PRIMARY KEY,
        parent_id INTEGER NOT NULL REFERENCES parent (id) ON DELETE CASCADE
    );
    INSERT INTO parent VALUES (1, 'a'), (2, 'b');
    INSERT INTO child VALUES (10, 1), (11, 1), (12, 2);
    -- migrate:down
    DROP TABLE child;
    DROP TABLE parent;
"""

# The recipe of https://sqlite.org/lang_altertable.html, up and down.
REBUILD = """
    -- migrate:up
    PRAGMA foreign_keys = OFF;
    CREATE TABLE new_parent (id INTEGER PRIMARY KEY, name TEXT NOT NULL DEFAULT '');
    INSERT INTO new_parent (id, name) SELECT id, COALESCE(name, '') FROM parent;
    DROP TABLE parent;
    ALTER TABLE new_parent RENAME TO parent;
    PRAGMA foreign_key_check;
    PRAGMA foreign_keys = ON;
    -- migrate:down
    PRAGMA foreign_keys = OFF;
    CREATE TABLE old_parent (id INTEGER PRIMARY KEY, name TEXT);
    INSERT INTO old_parent (id, name) SELECT id, name FROM parent;
    DROP TABLE parent;
    ALTER TABLE old_parent RENAME TO parent;
    PRAGMA foreign_keys = ON;
"""

PYTHON_REBUILD = """
    from lamina import Migration


    class Rebuild(Migration):
        def up(self):
            self.execute_sql("PRAGMA foreign_keys = OFF")
            self.execute_sql(
                "CREATE TABLE new_parent (id INTEGER PRIMARY KEY, name TEXT NOT NULL DEFAULT '')"
            )
            self.execute_sql("INSERT INTO new_parent SELECT id, COALESCE(name, '') FROM parent")
            self.execute_sql("DROP TABLE parent")
            self.execute_sql("ALTER TABLE new_parent RENAME TO parent")
            self.execute_sql("PRAGMA foreign_keys = ON")

        def down(self):
            self.execute_sql("PRAGMA foreign_keys = OFF")
            self.execute_sql("CREATE TABLE old_parent (id INTEGER PRIMARY KEY, name TEXT)")
            self.execute_sql("INSERT INTO old_parent SELECT id, name FROM parent")
            self.execute_sql("DROP TABLE parent")
            self.execute_sql("ALTER TABLE old_parent RENAME TO parent")
            self.execute_sql("PRAGMA foreign_keys = ON")
"""

# A later migration that only works with foreign keys on: the orphan row must be refused.
ORPHAN = """
    -- migrate:up
    INSERT INTO child VALUES (99, 12345);
    -- migrate:down
    DELETE FROM child WHERE id = 99;
"""

CHILDREN = [(10, 1), (11, 1), (12, 2)]


def children(raw_db) -> list[tuple[int, int]]:
    return [tuple(row) for row in raw_db.query("SELECT id, parent_id FROM child ORDER BY id")]


@sqlite_only
@pytest.mark.parametrize("rebuild", [REBUILD, PYTHON_REBUILD], ids=["sql", "python"])
def test_the_documented_rebuild_keeps_every_child_row_up_and_down(
    rebuild, make_migrations, settings_for, raw_db
):
    suffix = "sql" if rebuild is REBUILD else "py"
    make_migrations({"001_schema.sql": SCHEMA, f"002_rebuild.{suffix}": rebuild})
    lamina = Lamina(settings_for(backup_enabled=False))

    lamina.up()
    assert raw_db.applied_ids() == ["001_schema", "002_rebuild"]
    assert children(raw_db) == CHILDREN  # ON DELETE CASCADE did not fire on DROP TABLE parent
    assert raw_db.query("SELECT name FROM parent ORDER BY id") == [("a",), ("b",)]
    assert raw_db.query("SELECT sql FROM sqlite_master WHERE name = 'parent'")[0][0].count(
        "NOT NULL"
    )

    lamina.rollback("001_schema", force=True, yes=True)
    assert raw_db.applied_ids() == ["001_schema"]
    assert children(raw_db) == CHILDREN

    # Foreign keys are on again for what runs next in the same process.
    make_migrations({"003_orphan.sql": ORPHAN})
    with pytest.raises(ExecutionError, match="FOREIGN KEY constraint failed"):
        lamina.up()
    assert children(raw_db) == CHILDREN


BREAKS_A_KEY = """
    -- migrate:up
    PRAGMA foreign_keys = OFF;
    CREATE TABLE new_parent (id INTEGER PRIMARY KEY, name TEXT);
    INSERT INTO new_parent SELECT id, name FROM parent WHERE id = 1;
    DROP TABLE parent;
    ALTER TABLE new_parent RENAME TO parent;
    PRAGMA foreign_keys = ON;
    -- migrate:down
    SELECT 1;
"""


@sqlite_only
def test_a_rebuild_that_breaks_a_foreign_key_fails_names_the_row_and_rolls_back(
    make_migrations, settings_for, raw_db
):
    make_migrations({"001_schema.sql": SCHEMA, "002_breaks.sql": BREAKS_A_KEY})
    lamina = Lamina(settings_for(backup_enabled=False))

    with pytest.raises(ExecutionError) as caught:
        lamina.up()

    assert "child rowid 12 has no matching row in parent" in caught.value.db_error
    assert caught.value.rolled_back
    assert raw_db.applied_ids() == ["001_schema"]
    assert raw_db.query("SELECT id FROM parent ORDER BY id") == [(1,), (2,)]
    assert "new_parent" not in raw_db.tables()
    assert children(raw_db) == CHILDREN
    fails = raw_db.query("SELECT detail FROM lamina_migration_log WHERE action = 'fail'")
    assert len(fails) == 1
    assert "FOREIGN KEY check failed" in fails[0][0]
    # Foreign keys are on again after the failure.
    make_migrations({"003_orphan.sql": ORPHAN})
    make_migrations({"002_breaks.sql": "-- migrate:up\nSELECT 1;\n-- migrate:down\nSELECT 1;\n"})
    with pytest.raises(ExecutionError, match="FOREIGN KEY constraint failed"):
        lamina.up(force=True)


HIDDEN_PRAGMA = """
    from lamina import Migration


    class Hidden(Migration):
        def up(self):
            if not self.dry_run:
                self.execute_sql("PRAGMA foreign_keys = OFF")
            self.execute_sql("DROP TABLE parent")

        def down(self):
            pass
"""


@sqlite_only
def test_foreign_keys_turned_off_only_on_the_real_run_are_refused_not_ignored(
    make_migrations, settings_for, raw_db
):
    """Too late to turn them off before BEGIN: rather than let DROP TABLE cascade, fail."""
    make_migrations({"001_schema.sql": SCHEMA, "002_hidden.py": HIDDEN_PRAGMA})
    with pytest.raises(ExecutionError) as caught:
        Lamina(settings_for(backup_enabled=False)).up(force=True, yes=True)
    assert "where SQLite ignores it" in caught.value.db_error
    assert "not under `if not self.dry_run:`" in str(caught.value.hint)
    assert raw_db.applied_ids() == ["001_schema"]
    assert children(raw_db) == CHILDREN


@sqlite_only
@pytest.mark.parametrize(
    ("statement", "reason"),
    [
        ("PRAGMA journal_mode = WAL", "SQLite ignores PRAGMA journal_mode inside a transaction"),
        ("PRAGMA synchronous = OFF", "SQLite refuses to change PRAGMA synchronous"),
        ("PRAGMA page_size = 8192", "PRAGMA page_size takes effect only at the next VACUUM"),
        ("PRAGMA auto_vacuum = FULL", "PRAGMA auto_vacuum takes effect"),
        ("PRAGMA encoding = 'UTF-16'", "SQLite ignores PRAGMA encoding"),
        ("PRAGMA wal_checkpoint(TRUNCATE)", "SQLite cannot checkpoint its log"),
        ("VACUUM", "SQLite cannot VACUUM inside a transaction"),
    ],
)
def test_settings_sqlite_ignores_or_refuses_in_a_transaction_are_refused_first(
    statement, reason, make_migrations, settings_for, raw_db
):
    make_migrations(
        {
            "001_setting.sql": f"-- migrate:up\nCREATE TABLE t (id INTEGER);\n{statement};\n"
            "-- migrate:down\nDROP TABLE t;\n"
        }
    )
    with pytest.raises(ExecutionError) as caught:
        Lamina(settings_for(backup_enabled=False)).up()
    assert caught.value.db_error.startswith(reason)
    assert caught.value.statement == statement
    assert "transactional: false" in str(caught.value.hint)
    assert "t" not in raw_db.tables()  # refused before anything ran
    assert raw_db.applied_ids() == []


@sqlite_only
def test_a_setting_refused_in_a_transaction_works_in_a_non_transactional_migration(
    make_migrations, settings_for, raw_db
):
    make_migrations(
        {
            "001_wal.sql": "-- transactional: false\n-- migrate:up\nPRAGMA journal_mode = WAL;\n"
            "-- migrate:down\nPRAGMA journal_mode = DELETE;\n"
        }
    )
    Lamina(settings_for(backup_enabled=False)).up()
    assert raw_db.applied_ids() == ["001_wal"]
    assert raw_db.query("PRAGMA journal_mode") == [("wal",)]


FLAGS = (
    "legacy_alter_table",
    "recursive_triggers",
    "ignore_check_constraints",
    "writable_schema",
    "trusted_schema",
    "defer_foreign_keys",
)

FLAG_SET = """
    -- migrate:up
    PRAGMA legacy_alter_table = ON;
    PRAGMA recursive_triggers = ON;
    PRAGMA ignore_check_constraints = ON;
    PRAGMA writable_schema = ON;
    PRAGMA trusted_schema = OFF;
    PRAGMA defer_foreign_keys = ON;
    CREATE TABLE t (id INTEGER);
    -- migrate:down
    DROP TABLE t;
"""

FLAG_READ = f"""
    from lamina import Migration

    FLAGS = {FLAGS!r}


    class Read(Migration):
        def up(self):
            self.execute_sql("CREATE TABLE seen (name TEXT, value INTEGER)")
            if not self.dry_run:
                for name in (*FLAGS, "foreign_keys"):
                    value = self.fetch_all(f"PRAGMA {{name}}")[0][0]
                    self.execute_sql(f"INSERT INTO seen VALUES ('{{name}}', {{value}})")

        def down(self):
            self.execute_sql("DROP TABLE seen")
"""


@sqlite_only
def test_connection_flags_a_migration_sets_do_not_leak_into_the_next_one(
    make_migrations, settings_for, raw_db
):
    make_migrations({"001_flags.sql": FLAG_SET, "002_read.py": FLAG_READ})
    Lamina(settings_for(backup_enabled=False)).up()
    before = dict(raw_db.query("SELECT name, value FROM seen"))
    # What a fresh lamina connection has: foreign keys on, the rest SQLite's defaults.
    assert before == {
        "foreign_keys": 1,
        "legacy_alter_table": 0,
        "recursive_triggers": 0,
        "ignore_check_constraints": 0,
        "writable_schema": 0,
        "trusted_schema": sqlite3.connect(":memory:")
        .execute("PRAGMA trusted_schema")
        .fetchone()[0],
        "defer_foreign_keys": 0,
    }


@pytest.mark.parametrize("engine", ["duckdb"], indirect=True)
@pytest.mark.parametrize("statement", ["CHECKPOINT", "FORCE CHECKPOINT"])
def test_duckdb_checkpoint_in_a_transaction_is_refused_first(
    statement, make_migrations, settings_for, raw_db
):
    make_migrations(
        {
            "001_checkpoint.sql": f"-- migrate:up\nCREATE TABLE t (id INTEGER);\n{statement};\n"
            "-- migrate:down\nDROP TABLE t;\n"
        }
    )
    with pytest.raises(ExecutionError) as caught:
        Lamina(settings_for(backup_enabled=False)).up()
    assert caught.value.db_error == "DuckDB cannot CHECKPOINT inside a transaction that has changes"
    assert "transactional: false" in str(caught.value.hint)
    assert "t" not in raw_db.tables()
    assert raw_db.applied_ids() == []


@pytest.mark.parametrize("engine", ["sqlite", "duckdb"], indirect=True)
def test_interrupting_a_closed_connection_does_not_raise(db_url):
    """The watchdog or a stop signal may come as the connection closes."""
    backend = open_backend(parse_url(db_url))
    backend.connect()
    backend.close()
    backend.interrupt()
