"""Foreign keys and touched backups, on every engine: a table another table references is
restored without breaking the reference, or the restore refuses and changes nothing.

What each engine does with a key from a table outside the run into one it touches:
PostgreSQL drops the key, restores the table and adds the key back (which checks every row);
SQLite keeps it (by name) and checks the rows (``PRAGMA foreign_key_check``); DuckDB and
MySQL cannot restore the referenced table apart from the referencing one, so that table joins
the backup. A key with ``ON DELETE CASCADE`` lets the run's deletes reach the referencing
table, so it joins the backup on every engine.
"""

from __future__ import annotations

import pytest

from lamina import Lamina
from lamina.backup import BackupError

BASE = """
    -- migrate:up
    CREATE TABLE orders (id INTEGER PRIMARY KEY, label VARCHAR(50));
    CREATE TABLE notes (id INTEGER PRIMARY KEY, order_id INTEGER,
                        FOREIGN KEY (order_id) REFERENCES orders (id){action});
    CREATE TABLE legacy (id INTEGER PRIMARY KEY);
    INSERT INTO orders VALUES (1, 'first'), (3, 'third');
    INSERT INTO notes VALUES (1, 1), (2, 3);
    INSERT INTO legacy VALUES (1);
    -- migrate:down
    DROP TABLE legacy;
    DROP TABLE notes;
    DROP TABLE orders;
"""
RELABEL = """
    -- migrate:up
    UPDATE orders SET label = 'bulk';
    DROP TABLE legacy;
    -- migrate:down
    CREATE TABLE legacy (id INTEGER PRIMARY KEY);
"""
#: Whether ``notes`` has a foreign key, per engine.
KEYS_OF_NOTES = {
    "duckdb": "SELECT COUNT(*) FROM duckdb_constraints() WHERE table_name = 'notes' "
    "AND constraint_type = 'FOREIGN KEY'",
    "sqlite": "SELECT COUNT(*) FROM pragma_foreign_key_list('notes')",
    "postgresql": "SELECT COUNT(*) FROM pg_constraint WHERE contype = 'f' "
    "AND conrelid = 'notes'::regclass",
    "mysql": "SELECT COUNT(*) FROM information_schema.REFERENTIAL_CONSTRAINTS "
    "WHERE CONSTRAINT_SCHEMA = DATABASE() AND TABLE_NAME = 'notes'",
}
#: Engines that restore a referenced table apart from the tables referencing it.
APART = {"postgresql", "sqlite"}


def rows(raw_db, table):
    return raw_db.query(f"SELECT * FROM {table} ORDER BY 1")


@pytest.fixture
def lamina(make_migrations, settings_for):
    make_migrations({"001_base.sql": BASE.format(action="")})
    lamina = Lamina(settings_for(backup_scope="touched"))
    lamina.up()
    make_migrations({"002_relabel.sql": RELABEL})
    return lamina


def test_a_referenced_table_is_restored_and_its_references_still_hold(
    engine, lamina, raw_db
) -> None:
    orders, notes = rows(raw_db, "orders"), rows(raw_db, "notes")
    [backup] = lamina.up().backups
    assert {"orders", "legacy"} <= set(backup.tables)
    assert ("notes" in backup.tables) is (engine not in APART)
    raw_db.execute("INSERT INTO notes VALUES (3, 3)")  # a note added after the backup

    lamina.restore(backup.id, yes=True)
    assert rows(raw_db, "orders") == orders
    assert rows(raw_db, "legacy") == [(1,)]
    expected = [*notes, (3, 3)] if engine in APART else notes
    assert rows(raw_db, "notes") == expected
    assert raw_db.query(KEYS_OF_NOTES[engine]) == [(1,)]


@pytest.mark.parametrize("engine", sorted(APART), indirect=True)
def test_a_restore_that_would_orphan_referencing_rows_changes_nothing(
    engine, lamina, raw_db
) -> None:
    [backup] = lamina.up().backups
    raw_db.execute("INSERT INTO orders VALUES (10, 'new')")
    raw_db.execute("INSERT INTO notes VALUES (3, 10)")  # references a row the backup lacks
    orders, notes = rows(raw_db, "orders"), rows(raw_db, "notes")

    with pytest.raises(BackupError) as caught:
        lamina.restore(backup.id, yes=True)
    text = caught.value.message
    assert "notes" in text and ("nothing was restored" in text or "left as it was" in text)
    assert (rows(raw_db, "orders"), rows(raw_db, "notes")) == (orders, notes)
    assert "legacy" not in raw_db.tables()
    assert raw_db.applied_ids() == ["001_base", "002_relabel"]

    raw_db.execute("DELETE FROM notes WHERE id = 3")
    lamina.restore(backup.id, yes=True)
    assert rows(raw_db, "orders") == [(1, "first"), (3, "third")]
    assert raw_db.query(KEYS_OF_NOTES[engine]) == [(1,)]


@pytest.mark.parametrize("engine", sorted(APART), indirect=True)
def test_a_cascading_key_brings_the_referencing_table_into_the_backup(
    engine, make_migrations, settings_for, raw_db
) -> None:
    make_migrations({"001_base.sql": BASE.format(action=" ON DELETE CASCADE")})
    lamina = Lamina(settings_for(backup_scope="touched"))
    lamina.up()
    notes = rows(raw_db, "notes")
    make_migrations({"002_clear.sql": "-- migrate:up\nDELETE FROM orders;\n"})
    [backup] = lamina.up().backups
    assert {"orders", "notes"} <= set(backup.tables)
    assert rows(raw_db, "notes") == []  # the delete cascaded

    lamina.restore(backup.id, yes=True)
    assert rows(raw_db, "notes") == notes
