"""What lamina reads of a live PostgreSQL database for its risk rules, and how the findings
use it: sizes in the messages, the tables a TRUNCATE ... CASCADE empties, the table of an
index a DROP INDEX names."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from lamina.engines import open_backend, risk_facts
from lamina.engines.base import Backend
from lamina.risk import LiveFacts
from lamina.urls import parse_url
from support.risk_cases import report

pytestmark = pytest.mark.server

ROWS = 5000
SETUP = (
    "CREATE TABLE users (id int PRIMARY KEY, email text)",
    "CREATE TABLE orders (id int PRIMARY KEY, user_id int REFERENCES users (id), note text)",
    "CREATE TABLE refunds (id int PRIMARY KEY, order_id int REFERENCES orders (id))",
    "CREATE INDEX orders_note ON orders (note)",
    f"INSERT INTO users SELECT g, 'user' || g FROM generate_series(1, {ROWS}) g",
    f"INSERT INTO orders SELECT g, g, repeat('x', 100) FROM generate_series(1, {ROWS}) g",
    "CREATE MATERIALIZED VIEW order_counts AS SELECT user_id, count(*) FROM orders GROUP BY 1",
    "ANALYZE",
)


@pytest.fixture
def backend(postgresql_url: str) -> Iterator[Backend]:
    """Connected on a fresh schema (lamina creates it) holding :data:`SETUP`."""
    with open_backend(parse_url(postgresql_url)) as opened:
        opened.connect(5)
        for statement in SETUP:
            opened.execute(statement)
        yield opened


@pytest.fixture
def facts(backend: Backend) -> LiveFacts:
    return risk_facts(backend)


def test_facts_read_sizes_indexes_foreign_keys_and_version(
    backend: Backend, facts: LiveFacts
) -> None:
    orders, users = facts.table("orders"), facts.table("users")
    assert orders is not None and users is not None
    assert orders.rows == ROWS  # ANALYZE counted them: reltuples is exact on a small table
    size = backend.query("SELECT pg_total_relation_size('orders')")[0][0]
    assert orders.size_bytes == size > 100 * ROWS
    assert set(orders.indexes) == {"orders_pkey", "orders_note"} and orders.has_index
    assert users.referenced_by == ("orders",)
    assert orders.referenced_by == ("refunds",)
    assert facts.table("order_counts") is not None  # materialized views too
    number = int(backend.query("SHOW server_version_num")[0][0])
    assert facts.server_version == (number // 10000, number % 10000)
    assert facts.server_version >= (10,)


def test_tables_of_other_schemas_are_named_with_their_schema(backend: Backend) -> None:
    backend.execute("CREATE SCHEMA IF NOT EXISTS lamina_facts_other")
    try:
        backend.execute("CREATE TABLE lamina_facts_other.orders (id int)")
        facts = risk_facts(backend)
        assert facts.table("lamina_facts_other.orders") is not None
        assert facts.table("orders") is not None
        assert facts.table("orders") != facts.table("lamina_facts_other.orders")
    finally:
        backend.execute("DROP SCHEMA lamina_facts_other CASCADE")


def test_findings_name_sizes_reached_tables_and_index_owners(facts: LiveFacts) -> None:
    rewrite = report(
        ["ALTER TABLE orders ALTER COLUMN note TYPE varchar(200)"], "postgres", facts=facts
    )
    assert f"(≈{ROWS / 1000:.3g} k rows, " in rewrite.findings[0].message
    truncate = report(["TRUNCATE users CASCADE"], "postgres", facts=facts)
    cascade = next(f for f in truncate.findings if f.rule == "truncate-cascade")
    assert "it also empties orders, refunds," in cascade.message
    drop = report(["DROP INDEX orders_note"], "postgres", facts=facts)
    assert "ACCESS EXCLUSIVE lock on orders" in drop.findings[0].message
    held = report(
        ["DROP INDEX orders_note", "UPDATE orders SET note = 'y'"], "postgres", facts=facts
    )
    assert [f.rule for f in held.findings][-1] == "lock-held-during-long-statement"


def test_a_known_server_version_turns_off_the_old_servers_claims(facts: LiveFacts) -> None:
    """ADD COLUMN ... DEFAULT is instant since PostgreSQL 11; offline lamina says it may not be."""
    sql = ["ALTER TABLE orders ADD COLUMN score int DEFAULT 0"]
    assert [f.rule for f in report(sql, "postgres", facts=facts).findings] == []
    (offline,) = report(sql, "postgres").findings
    assert offline.rule == "add-column-rewrite" and offline.level.label == "info"
    assert "the server version is unknown" in offline.message
