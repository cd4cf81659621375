"""Every lock lamina claims a PostgreSQL statement takes, observed on a real server.

Session 1 opens a transaction and runs the statement on a real table; session 2 reads the
strongest lock session 1 then holds on each relation from ``pg_locks``. The claims are the data
the findings quote (``lamina.risk.rules.locks.LOCKS``): a claim without an example here fails,
and an example the rules read as another kind of statement fails too. The statements
PostgreSQL refuses inside a transaction block (``REFUSED_IN_TRANSACTION``) are run inside one.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import psycopg
import pytest
from psycopg import errors

from lamina.risk import LiveFacts
from lamina.risk.grammar import command_words, parse
from lamina.risk.rules.locks import (
    LOCKS,
    REFUSED_IN_TRANSACTION,
    LockMode,
    claimed_kinds,
    lock_table_mode,
    refused_in_transaction,
)
from lamina.risk.state import SchemaSoFar
from support.pgplace import PgPlace, pg_place

pytestmark = pytest.mark.server

SETUP = (
    "CREATE TABLE users (id int PRIMARY KEY, email text)",
    "CREATE TABLE orders (id int PRIMARY KEY, user_id int, amount int NOT NULL, note text)",
    "INSERT INTO users SELECT g, 'u' || g FROM generate_series(1, 50) g",
    "INSERT INTO orders SELECT g, g, g, NULL FROM generate_series(1, 50) g",
    "CREATE INDEX orders_amount ON orders (amount)",
    "ALTER TABLE orders ADD CONSTRAINT orders_user_fk FOREIGN KEY (user_id) "
    "REFERENCES users (id) NOT VALID",
    "CREATE MATERIALIZED VIEW order_totals AS SELECT id, amount FROM orders",
    "CREATE UNIQUE INDEX order_totals_id ON order_totals (id)",
    "CREATE TABLE events (id int, year int) PARTITION BY LIST (year)",
    "CREATE TABLE events_2020 PARTITION OF events FOR VALUES IN (2020)",
    "CREATE DOMAIN posint AS int",
    "CREATE TABLE scores (id int, value posint)",
    "INSERT INTO scores VALUES (1, 5)",
    "CREATE TYPE mood AS ENUM ('sad', 'ok')",
    "CREATE UNLOGGED TABLE imports (id int)",
    "INSERT INTO imports VALUES (1)",
    "CREATE TABLE events_2021 (id int, year int)",
    "INSERT INTO events_2021 VALUES (1, 2021)",
)

#: Kind of statement -> an example, and the relations that must hold the claimed lock.
EXAMPLES: dict[str, tuple[str, tuple[str, ...]]] = {
    "add-column": ("ALTER TABLE orders ADD COLUMN c int", ("orders",)),
    "alter-table": ("ALTER TABLE orders RENAME COLUMN note TO remark", ("orders",)),
    "alter-column-type": ("ALTER TABLE orders ALTER COLUMN note TYPE varchar(100)", ("orders",)),
    "set-not-null": ("ALTER TABLE orders ALTER COLUMN user_id SET NOT NULL", ("orders",)),
    "drop-not-null": ("ALTER TABLE orders ALTER COLUMN amount DROP NOT NULL", ("orders",)),
    "add-check": ("ALTER TABLE orders ADD CONSTRAINT positive CHECK (amount > 0)", ("orders",)),
    "add-unique": ("ALTER TABLE orders ADD CONSTRAINT orders_once UNIQUE (id)", ("orders",)),
    "add-foreign-key": (
        "ALTER TABLE orders ADD CONSTRAINT fk2 FOREIGN KEY (user_id) REFERENCES users (id)",
        ("orders", "users"),
    ),
    "validate-constraint": ("ALTER TABLE orders VALIDATE CONSTRAINT orders_user_fk", ("orders",)),
    "set-storage-parameter": ("ALTER TABLE orders SET (fillfactor = 70)", ("orders",)),
    "set-tablespace": ("ALTER TABLE orders SET TABLESPACE pg_default", ("orders",)),
    "set-logged": ("ALTER TABLE imports SET LOGGED", ("imports",)),
    "detach-partition": (
        "ALTER TABLE events DETACH PARTITION events_2020",
        ("events", "events_2020"),
    ),
    "attach-partition": (
        "ALTER TABLE events ATTACH PARTITION events_2021 FOR VALUES IN (2021)",
        ("events",),
    ),
    "attached-partition": (
        "ALTER TABLE events ATTACH PARTITION events_2021 FOR VALUES IN (2021)",
        ("events_2021",),
    ),
    "create-index": ("CREATE INDEX orders_note ON orders (note)", ("orders",)),
    "drop-index": ("DROP INDEX orders_amount", ("orders",)),
    "reindex": ("REINDEX INDEX orders_amount", ("orders",)),
    "create-trigger": (
        "CREATE TRIGGER t BEFORE UPDATE ON orders FOR EACH ROW "
        "EXECUTE FUNCTION suppress_redundant_updates_trigger()",
        ("orders",),
    ),
    "truncate": ("TRUNCATE orders", ("orders",)),
    "cluster": ("CLUSTER orders USING orders_pkey", ("orders",)),
    "vacuum-full": ("VACUUM FULL orders", ("orders",)),
    "refresh-materialized-view": ("REFRESH MATERIALIZED VIEW order_totals", ("order_totals",)),
    "refresh-materialized-view-concurrently": (
        "REFRESH MATERIALIZED VIEW CONCURRENTLY order_totals",
        ("order_totals",),
    ),
    "lock-table": ("LOCK TABLE orders", ("orders",)),
    "alter-domain-constraint": (
        "ALTER DOMAIN posint ADD CONSTRAINT positive CHECK (VALUE > 0)",
        ("scores",),
    ),
}

#: Statements PostgreSQL refuses inside a transaction block, as its error names them.
REFUSED_EXAMPLES: dict[str, str] = {
    "CREATE INDEX CONCURRENTLY": "CREATE INDEX CONCURRENTLY orders_note ON orders (note)",
    "DROP INDEX CONCURRENTLY": "DROP INDEX CONCURRENTLY orders_amount",
    "REINDEX CONCURRENTLY": "REINDEX TABLE CONCURRENTLY orders",
    "REINDEX SCHEMA": "REINDEX SCHEMA {schema}",
    "REINDEX DATABASE": "REINDEX DATABASE {database}",
    "REINDEX SYSTEM": "REINDEX SYSTEM {database}",
    "ALTER TABLE ... DETACH CONCURRENTLY": (
        "ALTER TABLE events DETACH PARTITION events_2020 CONCURRENTLY"
    ),
    "VACUUM": "VACUUM orders",
    "CLUSTER": "CLUSTER",
    "CREATE DATABASE": "CREATE DATABASE lamina_never_created",
    "DROP DATABASE": "DROP DATABASE IF EXISTS lamina_never_created",
    "CREATE TABLESPACE": "CREATE TABLESPACE lamina_never LOCATION '/nonexistent'",
    "DROP TABLESPACE": "DROP TABLESPACE IF EXISTS lamina_never",
    "ALTER SYSTEM": "ALTER SYSTEM SET work_mem = '4MB'",
}


class Server(PgPlace):
    """A fresh schema with :data:`SETUP` in it, and sessions that work there."""

    def strongest_locks(self, pid: int, relations: tuple[str, ...]) -> dict[str, LockMode]:
        """The strongest lock ``pid`` holds (or waits for) on each relation."""
        found = {}
        for relation in relations:
            rows = self.admin.execute(
                "SELECT mode FROM pg_locks WHERE pid = %s AND relation = %s::regclass",
                (pid, f'"{self.schema}".{relation}'),
            ).fetchall()
            modes = [m for m in LockMode if m.pg_locks_name in {mode for (mode,) in rows}]
            found[relation] = max(modes) if modes else None
        return found


@pytest.fixture
def server(postgresql_url: str) -> Iterator[Server]:
    with pg_place(Server(postgresql_url), SETUP) as place:
        yield place


def _kinds(sql: str) -> set[str]:
    """How the rules read ``sql``: the kinds of lock they say it takes."""
    state = SchemaSoFar.start(
        LiveFacts.of_indexes({"orders": ["orders_amount", "orders_pkey"]}), [], "postgres"
    )
    return {kind for node in parse(sql, "postgres") or [] for kind in claimed_kinds(node, state)}


def test_every_claimed_lock_has_an_example() -> None:
    assert EXAMPLES.keys() == LOCKS.keys()
    assert REFUSED_EXAMPLES.keys() == set(REFUSED_IN_TRANSACTION)


@pytest.mark.parametrize("kind", sorted(EXAMPLES))
def test_the_lock_lamina_claims_is_the_lock_postgresql_takes(kind: str, server: Server) -> None:
    sql, relations = EXAMPLES[kind]
    assert kind in _kinds(sql)
    claimed = LOCKS[kind].mode
    if kind == "vacuum-full":
        observed = _waiting_lock(server, sql, relations)
    else:
        session = server.session()
        session.execute("BEGIN")
        session.execute(sql)
        observed = server.strongest_locks(session.info.backend_pid, relations)
        session.execute("ROLLBACK")
        session.close()
    assert observed == dict.fromkeys(relations, claimed)


def _waiting_lock(server: Server, sql: str, relations: tuple[str, ...]) -> dict[str, LockMode]:
    """The lock a statement that cannot run in a transaction asks for: it waits behind a
    reader holding ACCESS SHARE, and ``pg_locks`` shows the mode it waits for."""
    reader = server.session()
    reader.execute("BEGIN")
    reader.execute(f"SELECT count(*) FROM {relations[0]}")
    runner = server.session()
    pid = runner.info.backend_pid
    thread = threading.Thread(target=runner.execute, args=(sql,))
    thread.start()
    try:
        deadline = time.monotonic() + 10
        observed = server.strongest_locks(pid, relations)
        while None in observed.values() and time.monotonic() < deadline:
            time.sleep(0.05)
            observed = server.strongest_locks(pid, relations)
    finally:
        reader.execute("ROLLBACK")
        thread.join()
        reader.close()
        runner.close()
    return observed


@pytest.mark.parametrize("mode", list(LockMode))
def test_lock_table_takes_the_mode_it_names_and_blocks_what_lamina_says(
    mode: LockMode, server: Server
) -> None:
    sql = f"LOCK TABLE orders IN {mode.title} MODE"
    assert lock_table_mode(command_words(parse(sql, "postgres")[0], "postgres")) is mode
    holder = server.session()
    holder.execute("BEGIN")
    holder.execute(sql)
    assert server.strongest_locks(holder.info.backend_pid, ("orders",)) == {"orders": mode}
    other = server.session()
    other.execute("SET lock_timeout = '200ms'")
    blocked = {
        "reads": _waits(other, "SELECT count(*) FROM orders"),
        "writes": _waits(other, "UPDATE orders SET note = 'x' WHERE id = 1"),
    }
    holder.execute("ROLLBACK")
    holder.close()
    other.close()
    assert blocked == {"reads": mode.blocks_reads, "writes": mode.blocks_writes}


def _waits(session: psycopg.Connection[tuple[object, ...]], sql: str) -> bool:
    try:
        session.execute(sql)
    except errors.LockNotAvailable:
        return True
    return False


@pytest.mark.parametrize("name", sorted(REFUSED_EXAMPLES))
def test_what_lamina_says_cannot_run_in_a_transaction_fails_in_one(
    name: str, server: Server
) -> None:
    sql = REFUSED_EXAMPLES[name].format(schema=server.schema, database=server.database)
    (node,) = parse(sql, "postgres") or []
    assert refused_in_transaction(node) == name
    session = server.session()
    session.execute("BEGIN")
    with pytest.raises(errors.ActiveSqlTransaction, match=f"{name} cannot run inside a"):
        session.execute(sql)
    session.close()


@pytest.mark.parametrize(
    "sql",
    [
        "REFRESH MATERIALIZED VIEW CONCURRENTLY order_totals",
        "ALTER TYPE mood ADD VALUE 'happy'",
        "REINDEX TABLE orders",
        "CLUSTER orders USING orders_pkey",
    ],
)
def test_what_lamina_lets_run_in_a_transaction_runs_in_one(sql: str, server: Server) -> None:
    """PostgreSQL 12+ (the test server is newer) runs these inside a transaction block."""
    (node,) = parse(sql, "postgres") or []
    assert refused_in_transaction(node) is None
    session = server.session()
    session.execute("BEGIN")
    session.execute(sql)
    session.execute("ROLLBACK")
    session.close()


def test_lock_table_outside_a_transaction_fails(server: Server) -> None:
    session = server.session()
    with pytest.raises(errors.NoActiveSqlTransaction, match="LOCK TABLE can only be used"):
        session.execute("LOCK TABLE orders IN SHARE MODE")
    session.close()
