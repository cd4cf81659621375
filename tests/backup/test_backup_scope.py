"""``backup_scope = touched`` on every engine: a run's backup holds just the tables its steps
change (plus lamina's history), and restoring it brings back exactly those tables and the
history, leaving every other table as it is; or it refuses, having changed nothing."""

from __future__ import annotations

import json

import pytest

from lamina import Lamina
from lamina.backup import BackupError
from lamina.backup.scope import HISTORY
from lamina.errors import UsageError

BASE = """
    -- migrate:up
    CREATE TABLE people (id INTEGER PRIMARY KEY, name VARCHAR(50));
    CREATE TABLE orders (id INTEGER PRIMARY KEY, amount DECIMAL(10, 2), label VARCHAR(50));
    CREATE TABLE legacy (id INTEGER PRIMARY KEY, what VARCHAR(20));
    CREATE INDEX legacy_what ON legacy (what);
    INSERT INTO people VALUES (1, 'O''Brien'), (2, 'Zoë');
    INSERT INTO orders VALUES (1, 12.50, 'first'), (2, NULL, NULL), (3, 0.01, 'x');
    INSERT INTO legacy VALUES (1, 'kept'), (2, 'old');
    -- migrate:down
    DROP TABLE legacy;
    DROP TABLE orders;
    DROP TABLE people;
"""
CLEAR_ORDERS = """
    -- migrate:up
    DELETE FROM orders;
    -- migrate:down
    DELETE FROM orders WHERE id < 0;
"""
DROP_LEGACY = """
    -- migrate:up
    DROP TABLE legacy;
    -- migrate:down
    CREATE TABLE legacy (id INTEGER PRIMARY KEY, what VARCHAR(20));
"""
#: A statement each engine runs but sqlglot cannot read.
UNREADABLE = {
    "duckdb": "SUMMARIZE orders",
    "sqlite": "CREATE TRIGGER orders_seen AFTER INSERT ON orders BEGIN SELECT 1; END",
    "postgresql": "DO $$ BEGIN PERFORM 1; END $$",
    "mysql": "DO 1",
}
#: The indexes of a table, per engine (placeholders: the driver's).
INDEXES = {
    "duckdb": "SELECT index_name FROM duckdb_indexes() WHERE table_name = ?",
    "sqlite": "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = ?",
    "postgresql": "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() "
    "AND tablename = %s",
    "mysql": "SELECT DISTINCT index_name FROM information_schema.statistics "
    "WHERE table_schema = DATABASE() AND table_name = %s",
}


def rows(raw_db, table):
    return raw_db.query(f"SELECT * FROM {table} ORDER BY 1")


def log_actions(raw_db):
    return [r[0] for r in raw_db.query("SELECT action FROM lamina_migration_log ORDER BY seq")]


@pytest.fixture
def based(make_migrations, settings_for):
    """people, orders and legacy with rows; the lamina API set to ``backup_scope = touched``."""
    make_migrations({"001_base.sql": BASE})
    lamina = Lamina(settings_for(backup_scope="touched"))
    lamina.up()
    return lamina


def test_a_run_backs_up_just_its_table_and_the_restore_brings_it_and_history_back(
    engine, based, make_migrations, raw_db
) -> None:
    orders, people = rows(raw_db, "orders"), rows(raw_db, "people")
    make_migrations({"002_clear_orders.sql": CLEAR_ORDERS})
    events = []
    based.on_event = events.append
    [backup] = based.up().backups
    assert (backup.scope, backup.scope_note) == ("touched", None)
    assert set(backup.tables) == {"orders", *HISTORY}  # never the server lock table
    assert backup.absent == () and backup.dropped == ()
    notes = [e.detail or "" for e in events if e.kind == "note"]
    assert any("only orders and lamina's history" in n for n in notes)
    manifest = json.loads((based.settings.backup_dir / f"{backup.id}.json").read_text())
    assert (manifest["manifest_version"], manifest["scope"]) == (2, "touched")

    assert rows(raw_db, "orders") == []
    raw_db.execute("UPDATE people SET name = 'renamed after the backup' WHERE id = 1")
    raw_db.execute("INSERT INTO orders VALUES (9, 1.00, 'after the backup')")
    people_later = rows(raw_db, "people")
    assert people_later != people

    based.restore(backup.id, yes=True)
    assert rows(raw_db, "orders") == orders  # exactly the backup's rows
    assert rows(raw_db, "people") == people_later  # not in the backup: left as it was
    assert rows(raw_db, "legacy") == [(1, "kept"), (2, "old")]
    assert raw_db.applied_ids() == ["001_base"]  # history is the backup's
    assert log_actions(raw_db) == ["apply", "restore"]
    assert based.up().applied == ("002_clear_orders",)  # and consistent: the run runs again


def test_a_dropped_table_comes_back_with_its_rows_and_indexes(
    engine, based, make_migrations, raw_db
) -> None:
    legacy = rows(raw_db, "legacy")
    make_migrations({"002_drop_legacy.sql": DROP_LEGACY})
    [backup] = based.up().backups
    assert (set(backup.tables), backup.dropped) == ({"legacy", *HISTORY}, ("legacy",))
    assert "legacy" not in raw_db.tables()

    based.restore(backup.id, yes=True)
    assert rows(raw_db, "legacy") == legacy
    indexes = {str(r[0]) for r in raw_db.query(INDEXES[engine], ("legacy",))}
    assert "legacy_what" in indexes


def test_a_table_the_run_creates_is_dropped_by_the_restore(
    engine, based, make_migrations, raw_db
) -> None:
    make_migrations(
        {
            "002_fresh.sql": """
                -- migrate:up
                CREATE TABLE fresh (id INTEGER PRIMARY KEY);
                INSERT INTO fresh VALUES (1);
                DELETE FROM orders;
                -- migrate:down
                DROP TABLE fresh;
            """
        }
    )
    [backup] = based.up().backups
    assert backup.absent == ("fresh",)
    assert "fresh" not in backup.tables
    based.restore(backup.id, yes=True)
    assert "fresh" not in raw_db.tables()
    assert len(rows(raw_db, "orders")) == 3
    assert based.up().applied == ("002_fresh",)


def test_a_statement_lamina_cannot_read_backs_up_the_whole_database(
    engine, based, make_migrations, raw_db
) -> None:
    sql = UNREADABLE[engine]
    make_migrations({"002_odd.sql": f"-- migrate:up\nDELETE FROM orders;\n{sql};\n"})
    events = []
    based.on_event = events.append
    [backup] = based.up().backups
    assert backup.scope == "database" and backup.tables == ()
    assert "002_odd" in (backup.scope_note or "")
    notes = [e.detail or "" for e in events if e.kind == "note"]
    assert any("the whole database (backup_scope touched fell back" in n for n in notes)
    manifest = json.loads((based.settings.backup_dir / f"{backup.id}.json").read_text())
    assert manifest["manifest_version"] == 1  # readable by lamina releases before scopes
    based.restore(backup.id, yes=True)
    assert len(rows(raw_db, "orders")) == 3


def test_a_table_renamed_since_the_backup_makes_the_restore_refuse(
    engine, based, make_migrations, raw_db
) -> None:
    make_migrations({"002_clear_orders.sql": CLEAR_ORDERS})
    [backup] = based.up().backups
    raw_db.execute("ALTER TABLE orders RENAME TO orders_now")
    raw_db.execute("INSERT INTO orders_now VALUES (7, 7.00, 'kept')")

    with pytest.raises(BackupError) as caught:
        based.restore(backup.id, yes=True)
    assert "orders" in caught.value.message and "nothing was restored" in caught.value.message
    assert "rename them back" in (caught.value.hint or "")
    assert "orders" not in raw_db.tables()
    assert len(rows(raw_db, "orders_now")) == 1
    assert raw_db.applied_ids() == ["001_base", "002_clear_orders"]  # nothing changed

    raw_db.execute("ALTER TABLE orders_now RENAME TO orders")  # what the hint says
    based.restore(backup.id, yes=True)
    assert len(rows(raw_db, "orders")) == 3


def test_the_scope_is_checked_like_every_setting(settings_for, run, make_migrations) -> None:
    with pytest.raises(UsageError) as caught:
        settings_for(backup_scope="tables")
    assert caught.value.exit_code == 2
    assert "--backup-scope" in str(caught.value) and "database or touched" in str(caught.value)

    make_migrations({"001_base.sql": BASE})
    for args, env in (
        (("up", "--backup-scope", "everything"), None),
        (("rollback", "--all", "--backup-scope", "some"), None),
        (("up",), {"LAMINA_BACKUP_SCOPE": "nope"}),
    ):
        result = run(*args, env=env)
        assert result.exit_code == 2, result.output
        assert "--backup-scope" in result.output or "LAMINA_BACKUP_SCOPE" in result.output


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_tables_a_sqlite_trigger_writes_join_the_backup_and_the_trigger_comes_back(
    engine, based, make_migrations, raw_db
) -> None:
    raw_db.execute("CREATE TABLE audit (what TEXT)")
    raw_db.execute(
        "CREATE TRIGGER orders_gone AFTER DELETE ON orders "
        "BEGIN INSERT INTO audit VALUES ('deleted ' || OLD.id); END"
    )
    make_migrations({"002_clear_orders.sql": CLEAR_ORDERS})
    [backup] = based.up().backups
    assert {"orders", "audit"} <= set(backup.tables)
    assert len(rows(raw_db, "audit")) == 3

    based.restore(backup.id, yes=True)
    assert rows(raw_db, "audit") == []
    assert len(rows(raw_db, "orders")) == 3
    triggers = raw_db.query("SELECT name FROM sqlite_master WHERE type = 'trigger'")
    assert triggers == [("orders_gone",)]


@pytest.mark.parametrize("engine", ["postgresql"], indirect=True)
def test_a_postgres_trigger_backs_up_the_whole_schema(
    engine, based, make_migrations, raw_db
) -> None:
    raw_db.execute(
        "CREATE FUNCTION noop() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN OLD; END $$"
    )
    raw_db.execute(
        "CREATE TRIGGER orders_gone AFTER DELETE ON orders FOR EACH ROW EXECUTE FUNCTION noop()"
    )
    make_migrations({"002_clear_orders.sql": CLEAR_ORDERS})
    [backup] = based.up().backups
    assert backup.scope == "database"
    assert "trigger orders_gone" in (backup.scope_note or "")
