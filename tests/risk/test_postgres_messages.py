"""What PostgreSQL findings say: the object, the lock from the claims table, the size the live
database knows, the line of the statement that took a lock, and why a statement cannot be
analysed. No server needed: the claims themselves are checked in test_postgres_locks.py."""

from __future__ import annotations

import pytest

from lamina.risk import LiveFacts, RiskLevel, TableFacts
from lamina.risk.grammar import Cluster, parse
from lamina.risk.rules import Context, postgres
from lamina.risk.rules.locks import LOCKS
from lamina.risk.state import SchemaSoFar
from support.risk_cases import fired, report

ORDERS = TableFacts(rows=41_300_000, size_bytes=12 * 1024**3, referenced_by=("order_items",))
FACTS = LiveFacts(
    {"orders": ORDERS, "order_items": TableFacts(referenced_by=("refunds",))}, (15, 4)
)


def test_a_rewrite_names_the_table_and_its_size() -> None:
    sql = ["ALTER TABLE orders ADD COLUMN token uuid DEFAULT gen_random_uuid()"]
    (finding,) = report(sql, "postgres", facts=FACTS).findings
    assert "rewrites orders (≈41.3 M rows, 12 GB) under an ACCESS EXCLUSIVE lock" in (
        finding.message
    )
    assert "gen_random_uuid()" in finding.message


def test_the_lock_in_a_message_is_the_claimed_one() -> None:
    (finding,) = report(["CREATE INDEX orders_note ON orders (note)"], "postgres").findings
    assert f"its {LOCKS['create-index'].mode.title} lock makes writes" in finding.message


def test_a_held_lock_names_the_statement_and_line_that_took_it() -> None:
    sql = ["ALTER TABLE orders ADD COLUMN c int", "SELECT 1", "DELETE FROM orders WHERE c IS NULL"]
    (finding,) = report(sql, "postgres", facts=FACTS).findings
    assert finding.rule == "lock-held-during-long-statement" and finding.line == 3
    assert "ALTER TABLE ... ADD COLUMN (line 1)" in finding.message
    assert "reads and writes of orders wait until the migration commits" in finding.message
    assert "transactional: false" in finding.suggestion


def test_a_lock_follows_a_renamed_table() -> None:
    sql = ["ALTER TABLE orders RENAME TO purchases", "UPDATE purchases SET total = 0"]
    assert "lock-held-during-long-statement" in fired(sql, "postgres")


def test_truncate_cascade_names_every_table_it_reaches() -> None:
    finding = report(["TRUNCATE orders CASCADE"], "postgres", facts=FACTS).findings[-1]
    assert finding.message.endswith(
        "it also empties order_items, refunds, whose foreign keys reach it"
    )
    offline = report(["TRUNCATE orders CASCADE"], "postgres").findings[-1]
    assert "every table with a foreign key to it" in offline.message


@pytest.mark.parametrize(
    ("sql", "kind"),
    [
        ("ALTER TABLE orders ENABLE TRIGGER audit", "ALTER TABLE ... ENABLE TRIGGER"),
        ("ALTER TABLE IF EXISTS app.orders OWNER TO admin", "ALTER TABLE ... OWNER TO"),
        ("CREATE POLICY own ON orders USING (true)", "CREATE POLICY"),
        ("ALTER TYPE mood RENAME VALUE 'a' TO 'b'", "ALTER TYPE ... RENAME VALUE"),
        ("CALL refresh_all()", "CALL"),
    ],
)
def test_an_unparsed_statement_is_named_by_its_kind(sql: str, kind: str) -> None:
    (finding,) = report([sql], "postgres").findings
    assert finding.rule == "unparsed-sql"
    assert f"sqlglot has no grammar for {kind}, and no lamina rule knows it" in finding.message


@pytest.mark.parametrize(
    ("sql", "table", "index"),
    [
        ("CLUSTER orders", "orders", None),
        ("CLUSTER VERBOSE app.orders USING orders_pkey", "orders", "orders_pkey"),
        ("CLUSTER orders_pkey ON orders", "orders", "orders_pkey"),
        ("CLUSTER", None, None),
    ],
)
def test_cluster_is_read_in_all_its_forms(sql: str, table: str | None, index: str | None) -> None:
    (node,) = parse(sql, "postgres") or []
    assert isinstance(node, Cluster)
    assert (node.table.name if node.table else None) == table
    assert (node.index.name if node.index else None) == index


def test_set_not_null_without_a_known_version_says_what_depends_on_it() -> None:
    sql = (
        "ALTER TABLE orders VALIDATE CONSTRAINT amount_not_null",
        "ALTER TABLE orders ALTER COLUMN amount SET NOT NULL",
    )
    (offline,) = report(sql, "postgres").findings
    assert offline.level is RiskLevel.WARNING and "the version is unknown" in offline.message
    (old,) = report(sql, "postgres", facts=LiveFacts(server_version=(11, 9))).findings
    assert old.level is RiskLevel.WARNING and "is scanned" in old.message
    (new,) = report(sql, "postgres", facts=FACTS).findings
    assert new.level is RiskLevel.INFO and "skips the scan" in new.message


def test_detach_advice_depends_on_the_server_version() -> None:
    sql = ["ALTER TABLE events DETACH PARTITION events_2020"]
    (old,) = report(sql, "postgres", facts=LiveFacts(server_version=(13, 1))).findings
    assert "before 14 has no DETACH ... CONCURRENTLY" in old.suggestion
    (new,) = report(sql, "postgres", facts=FACTS).findings
    assert "CONCURRENTLY (PostgreSQL 14+)" in new.suggestion


@pytest.mark.parametrize("dialect", ["duckdb", "sqlite", "mysql"])
@pytest.mark.parametrize(
    "sql", ["LOCK TABLE orders IN SHARE MODE", "REFRESH MATERIALIZED VIEW mv", "VACUUM FULL t"]
)
def test_postgres_rules_stay_silent_on_other_engines(sql: str, dialect: str) -> None:
    """A PostgreSQL rule that read another engine's statement would keep it from being
    reported as unparsed there, and then be dropped itself: none runs off PostgreSQL."""
    state = SchemaSoFar.start(LiveFacts(), [], dialect)
    context = Context(dialect, "up", state, transactional=False)
    for node in parse(sql, dialect) or []:
        assert [hit for rule in postgres.STATEMENT_RULES for hit in rule(node, context)] == []
    postgres_context = Context("postgres", "up", SchemaSoFar.start(LiveFacts(), [], "postgres"))
    (node,) = parse(sql, "postgres") or []
    assert [hit for rule in postgres.STATEMENT_RULES for hit in rule(node, postgres_context)]


def test_truncate_cascade_is_silent_when_the_live_database_knows_nothing_reaches_it() -> None:
    facts = LiveFacts({"sessions": TableFacts(rows=10)}, (15, 4))
    assert fired(["TRUNCATE sessions CASCADE"], "postgres", facts=facts) == ["truncate"]
