"""A rollback is risky only when it really loses data (lamina.losses), on every engine.

The down of a migration that created a table or added a column drops it; that is data loss only
when the table holds rows, or the column values, at rollback time. Counted on the live
database under the migration lock.
"""

from __future__ import annotations

import pytest

from lamina import Lamina, RiskRefusedError
from lamina.losses import COUNT_CAP
from lamina.risk import RiskLevel

ORDERS = {
    "001_orders.sql": """
        -- migrate:up
        CREATE TABLE orders (id INTEGER PRIMARY KEY, total INTEGER);
        -- migrate:down
        DROP TABLE orders;
    """,
}
NOTE = {
    "002_note.sql": """
        -- migrate:up
        ALTER TABLE orders ADD COLUMN note VARCHAR(40);
        -- migrate:down
        ALTER TABLE orders DROP COLUMN note;
    """,
}


def _finding(result, migration_id: str):
    [preview] = [p for p in result.previews if p.step.migration_id == migration_id]
    [finding] = [f for f in preview.risk.findings if f.rule == "down-loses-data"]
    return preview, finding


def test_rolling_back_an_empty_table_its_up_created_needs_no_force(
    make_migrations, settings_for, raw_db
) -> None:
    make_migrations(ORDERS)
    Lamina(settings_for()).up()
    result = Lamina(settings_for()).rollback(0)
    assert result.reverted == ("001_orders",)
    assert result.forced == () and result.backups == ()
    preview, finding = _finding(result, "001_orders")
    assert not preview.risk.risky
    assert finding.level is RiskLevel.INFO
    assert "holds no rows now" in finding.message and "nothing is lost" in finding.message
    assert "orders" not in raw_db.tables()
    log = [row[0] for row in raw_db.query("SELECT action FROM lamina_migration_log")]
    assert "force" not in log and "backup" not in log


def test_a_table_that_holds_rows_keeps_the_refusal_with_its_count(
    make_migrations, settings_for, raw_db
) -> None:
    make_migrations(ORDERS)
    Lamina(settings_for()).up()
    raw_db.execute("INSERT INTO orders (id, total) VALUES (1, 10), (2, 20), (3, 30)")
    with pytest.raises(RiskRefusedError) as caught:
        Lamina(settings_for()).rollback(0)
    assert caught.value.exit_code == 3
    [(step, reasons)] = caught.value.steps
    assert step == "001_orders"
    assert any("holds 3 rows now, lost on rollback" in r for r in reasons)
    assert raw_db.query("SELECT COUNT(*) FROM orders") == [(3,)]
    assert raw_db.applied_ids() == ["001_orders"]


def test_a_count_beyond_the_cap_says_more_than(make_migrations, settings_for, raw_db) -> None:
    make_migrations(ORDERS)
    Lamina(settings_for()).up()
    values = ", ".join(f"({n}, {n})" for n in range(COUNT_CAP + 5))
    raw_db.execute(f"INSERT INTO orders (id, total) VALUES {values}")
    result = Lamina(settings_for()).rollback(0, dry_run=True)
    preview, finding = _finding(result, "001_orders")
    assert preview.risk.risky and finding.level is RiskLevel.DANGER
    assert f"holds more than {COUNT_CAP:,} rows now" in finding.message


def test_a_column_its_up_added_is_weighed_by_the_values_it_holds(
    make_migrations, settings_for, raw_db
) -> None:
    make_migrations({**ORDERS, **NOTE})
    Lamina(settings_for()).up()
    raw_db.execute("INSERT INTO orders (id, total) VALUES (1, 10), (2, 20)")
    # rows, but no value in the new column: nothing of the column's is lost
    preview, finding = _finding(Lamina(settings_for()).rollback(1, dry_run=True), "002_note")
    assert not preview.risk.risky
    assert "holds no value in any row now" in finding.message

    raw_db.execute("UPDATE orders SET note = 'gift' WHERE id = 2")
    with pytest.raises(RiskRefusedError) as caught:
        Lamina(settings_for()).rollback(1)
    [(_, reasons)] = caught.value.steps
    assert any("holds values in 1 row now" in r for r in reasons)
    assert raw_db.query("SELECT note FROM orders WHERE id = 2") == [("gift",)]


def test_a_dry_run_says_why_and_changes_nothing(make_migrations, settings_for, raw_db) -> None:
    make_migrations(ORDERS)
    Lamina(settings_for()).up()
    before = raw_db.query("SELECT COUNT(*) FROM lamina_migration_log")
    result = Lamina(settings_for()).rollback(0, dry_run=True)
    _, finding = _finding(result, "001_orders")
    assert finding.level is RiskLevel.INFO and "counted on the database" in finding.message
    assert result.risky == ()
    assert "orders" in raw_db.tables()
    assert raw_db.query("SELECT COUNT(*) FROM lamina_migration_log") == before


def test_what_cannot_be_counted_stays_risky(make_migrations, settings_for, raw_db) -> None:
    """A table gone from the database (dropped by hand) cannot be counted: unknown is
    never reported as empty."""
    make_migrations(ORDERS)
    Lamina(settings_for()).up()
    raw_db.execute("DROP TABLE orders")
    result = Lamina(settings_for()).rollback(0, dry_run=True)
    preview, finding = _finding(result, "001_orders")
    assert preview.risk.risky and finding.level is RiskLevel.DANGER
    assert "every row written to it since is lost" in finding.message
