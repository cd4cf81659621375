"""A sequence in use is not drift: DuckDB writes a sequence's next value over its start when
it checkpoints, so a recorded ``start 100`` reads back as ``start 102`` after two inserts."""

from __future__ import annotations

import pytest

from lamina import Lamina

ORDERS = """
    -- migrate:up
    CREATE SEQUENCE order_ids START 100;
    CREATE TABLE orders (id BIGINT DEFAULT nextval('order_ids'), note VARCHAR);
    -- migrate:down
    DROP TABLE orders;
    DROP SEQUENCE order_ids;
"""


@pytest.mark.parametrize("engine", ["duckdb"], indirect=True)
def test_a_used_sequence_is_not_drift_but_a_changed_one_is(
    engine, make_migrations, settings_for, raw_db
) -> None:
    make_migrations({"001_orders.sql": ORDERS})
    lamina = Lamina(settings_for())
    lamina.up()
    raw_db.execute("INSERT INTO orders (note) VALUES ('a'), ('b')")
    starts = raw_db.query(
        "SELECT start_value FROM duckdb_sequences() WHERE sequence_name = 'order_ids'"
    )
    assert starts == [(102,)]  # DuckDB's own doing: the reason for this rule
    assert lamina.drift() == []
    report = lamina.status()
    assert report.drift == () and not report.needs_attention
    raw_db.execute("ALTER TABLE orders ALTER COLUMN id DROP DEFAULT")
    raw_db.execute("DROP SEQUENCE order_ids")
    raw_db.execute("CREATE SEQUENCE order_ids START 100 INCREMENT BY 2")
    found = [str(d) for d in lamina.drift() or ()]
    assert any(d.startswith("changed sequence order_ids") and "increment 2" in d for d in found)
