"""The PostgreSQL hazards the squawk comparison found lamina missing (benchmarks/squawk/
RESULTS.md), each checked on a real server: what the statement locks, scans, rewrites or
refuses, and that lamina's rule fires exactly then (and its advice works)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import psycopg
import pytest
from psycopg import errors

from lamina.risk import RiskLevel
from lamina.risk.rules.locks import LockMode
from support.pgplace import PgPlace, pg_place
from support.risk_cases import fired, report

pytestmark = pytest.mark.server

Connection = psycopg.Connection[tuple[object, ...]]

SETUP = (
    "CREATE TABLE users (id int PRIMARY KEY, email text)",
    "CREATE TABLE orders (id int PRIMARY KEY, user_id int, amount int, status text)",
    "INSERT INTO users SELECT g, 'u' || g FROM generate_series(1, 20) g",
    "INSERT INTO orders SELECT g, 1 + g % 3, g, 'new' FROM generate_series(1, 30) g",
    "CREATE INDEX users_email ON users (email)",
    "CREATE INDEX orders_user ON orders (user_id)",
    "CREATE TYPE mood AS ENUM ('sad', 'ok')",
    "CREATE UNLOGGED TABLE imports (id int)",
    "INSERT INTO imports SELECT generate_series(1, 10)",
    "CREATE TABLE events (id int, year int) PARTITION BY LIST (year)",
    "CREATE TABLE events_2021 (id int, year int)",
    "INSERT INTO events_2021 VALUES (1, 2021)",
)


class Server(PgPlace):
    """A fresh schema with :data:`SETUP` in it; ``session()`` opens another connection."""

    def modes(self, session: Connection, table: str) -> set[LockMode]:
        """The lock modes ``session`` holds on ``table``."""
        rows = self.admin.execute(
            "SELECT mode FROM pg_locks WHERE pid = %s AND relation = %s::regclass",
            (session.info.backend_pid, f'"{self.schema}".{table}'),
        ).fetchall()
        return {m for m in LockMode if m.pg_locks_name in {mode for (mode,) in rows}}

    def scans(self, session: Connection) -> dict[str, int]:
        """Sequential scans of each table in ``session``'s open transaction so far."""
        rows = session.execute(
            "SELECT relname, seq_scan FROM pg_stat_xact_user_tables WHERE schemaname = %s",
            (self.schema,),
        ).fetchall()
        return {str(name): int(str(count)) for name, count in rows}


@pytest.fixture
def server(postgresql_url: str) -> Iterator[Server]:
    with pg_place(Server(postgresql_url), SETUP) as place:
        yield place


def _in_transaction(server: Server, sql: str) -> tuple[dict[str, set[LockMode]], dict[str, int]]:
    """The locks on users and orders, and the scans of each table, that ``sql`` takes."""
    session = server.session()
    session.execute("BEGIN")
    before = server.scans(session)
    session.execute(sql)
    after = server.scans(session)
    locks = {table: server.modes(session, table) for table in ("users", "orders")}
    session.execute("ROLLBACK")
    session.close()
    return locks, {table: after.get(table, 0) - before.get(table, 0) for table in after}


# -- ADD COLUMN ... REFERENCES ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("column", "checked"),
    [
        ("buyer int REFERENCES users (id)", False),
        ("buyer int DEFAULT NULL REFERENCES users (id)", True),
        ("buyer int DEFAULT 1 REFERENCES users (id)", True),
    ],
)
def test_a_column_with_references_checks_the_rows_only_when_it_gives_them_a_value(
    column: str, checked: bool, server: Server
) -> None:
    """Without a DEFAULT the new column is NULL everywhere and PostgreSQL scans nothing; with
    one (even NULL) it scans the table to check the key. Either way the referenced table gets
    SHARE ROW EXCLUSIVE, as with ADD CONSTRAINT ... NOT VALID."""
    sql = f"ALTER TABLE orders ADD COLUMN {column}"
    locks, scans = _in_transaction(server, sql)
    assert LockMode.SHARE_ROW_EXCLUSIVE in locks["users"]
    assert (scans.get("orders", 0) > 0) == checked
    assert ("add-foreign-key" in fired([sql], "postgres")) == checked


def test_a_referencing_default_is_checked_against_every_existing_row(server: Server) -> None:
    sql = "ALTER TABLE orders ADD COLUMN buyer int DEFAULT 999 REFERENCES users (id)"
    (finding, *_) = report([sql], "postgres").findings
    assert finding.rule == "add-foreign-key" and "checks every row" in finding.message
    with pytest.raises(errors.ForeignKeyViolation):
        server.admin.execute(sql)
    # The advice: the column without the DEFAULT checks no row, so nothing fails.
    server.admin.execute("ALTER TABLE orders ADD COLUMN buyer int REFERENCES users (id)")


# -- ADD CHECK without a name ----------------------------------------------------------------


def test_an_unnamed_check_checks_every_row_under_access_exclusive(server: Server) -> None:
    sql = "ALTER TABLE orders ADD CHECK (amount > 5)"
    assert fired([sql], "postgres") == ["add-check"]
    locks, _ = _in_transaction(server, "ALTER TABLE orders ADD CHECK (amount > 0)")
    assert max(locks["orders"]) is LockMode.ACCESS_EXCLUSIVE
    with pytest.raises(errors.CheckViolation):
        server.admin.execute(sql)
    not_valid = "ALTER TABLE orders ADD CHECK (amount > 5) NOT VALID"
    assert fired([not_valid], "postgres") == []
    server.admin.execute(not_valid)  # old rows are not checked


# -- DROP INDEX a, b -------------------------------------------------------------------------


def test_dropping_several_indexes_locks_each_table(server: Server) -> None:
    sql = "DROP INDEX users_email, orders_user"
    findings = report([sql], "postgres").findings
    assert [f.rule for f in findings] == ["drop-index-not-concurrently"] * 2
    assert [f.message.split()[2] for f in findings] == ["users_email", "orders_user"]
    locks, _ = _in_transaction(server, sql)
    assert {table: max(modes) for table, modes in locks.items()} == {
        "users": LockMode.ACCESS_EXCLUSIVE,
        "orders": LockMode.ACCESS_EXCLUSIVE,
    }


def test_dropping_several_indexes_concurrently_is_refused_and_left_unjudged(
    server: Server,
) -> None:
    sql = "DROP INDEX CONCURRENTLY users_email, orders_user"
    assert fired([sql], "postgres", transactional=False) == ["unparsed-sql"]
    with pytest.raises(errors.FeatureNotSupported, match="multiple objects"):
        server.admin.execute(sql)


# -- CREATE UNIQUE INDEX CONCURRENTLY --------------------------------------------------------


def test_a_concurrent_unique_build_lets_writes_through(server: Server) -> None:
    """A writer's open transaction keeps the concurrent build waiting; meanwhile another
    writer is not blocked. The plain build blocks that writer."""
    sql = "CREATE UNIQUE INDEX CONCURRENTLY orders_once ON orders (id, amount)"
    (finding,) = report([sql], "postgres", transactional=False).findings[:1]
    assert (finding.rule, finding.level) == ("add-unique-constraint", RiskLevel.INFO)
    assert "reads and writes go on" in finding.message
    holder = server.session()
    holder.execute("BEGIN")
    holder.execute("UPDATE orders SET status = 'held' WHERE id = 1")
    builder = server.session()
    build = threading.Thread(target=builder.execute, args=(sql,))
    build.start()
    try:
        _wait_for_lock(server, builder, "orders")
        assert not _write_waits(server)
    finally:
        holder.execute("COMMIT")
        build.join()
        holder.close()
        builder.close()
    plain = server.session()
    plain.execute("BEGIN")
    plain.execute("CREATE UNIQUE INDEX orders_twice ON orders (id, amount)")
    assert _write_waits(server)
    plain.execute("ROLLBACK")
    plain.close()


def test_a_concurrent_unique_build_fails_on_duplicates_and_leaves_an_invalid_index(
    server: Server,
) -> None:
    sql = "CREATE UNIQUE INDEX CONCURRENTLY orders_one_per_user ON orders (user_id)"
    assert (
        "fails on any duplicate"
        in report([sql], "postgres", transactional=False).findings[0].message
    )
    with pytest.raises(errors.UniqueViolation):
        server.admin.execute(sql)
    valid = server.admin.execute(
        "SELECT indisvalid FROM pg_index WHERE indexrelid = 'orders_one_per_user'::regclass"
    ).fetchone()
    assert valid == (False,)


def _wait_for_lock(server: Server, session: Connection, table: str) -> None:
    deadline = time.monotonic() + 10
    while not server.modes(session, table) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.modes(session, table), "the build never started"


def _write_waits(server: Server) -> bool:
    writer = server.session()
    writer.execute("SET lock_timeout = '300ms'")
    try:
        writer.execute("UPDATE orders SET status = 'x' WHERE id = 2")
        return False
    except errors.LockNotAvailable:
        return True
    finally:
        writer.close()


# -- not-retry-safe --------------------------------------------------------------------------

#: A statement that fails when run again, and its guarded form that does not.
RETRIES = [
    ("CREATE TABLE pets (id int)", "CREATE TABLE IF NOT EXISTS pets (id int)"),
    (
        "CREATE INDEX CONCURRENTLY orders_status ON orders (status)",
        "CREATE INDEX CONCURRENTLY IF NOT EXISTS orders_status ON orders (status)",
    ),
    (
        "ALTER TABLE orders ADD COLUMN note text",
        "ALTER TABLE orders ADD COLUMN IF NOT EXISTS note text",
    ),
    ("ALTER TABLE orders DROP COLUMN status", "ALTER TABLE orders DROP COLUMN IF EXISTS status"),
    ("DROP INDEX orders_user", "DROP INDEX IF EXISTS orders_user"),
    ("ALTER TYPE mood ADD VALUE 'happy'", "ALTER TYPE mood ADD VALUE IF NOT EXISTS 'happy'"),
    (
        "CREATE VIEW big AS SELECT id FROM orders",
        "CREATE OR REPLACE VIEW big AS SELECT id FROM orders",
    ),
    ("CREATE SEQUENCE ticket", "CREATE SEQUENCE IF NOT EXISTS ticket"),
]


#: How PostgreSQL refuses a statement whose work is already done.
REFUSED_AGAIN = (
    errors.DuplicateTable,
    errors.DuplicateColumn,
    errors.DuplicateObject,
    errors.UndefinedColumn,
    errors.UndefinedObject,
)


@pytest.mark.parametrize(("unguarded", "guarded"), RETRIES)
def test_what_not_retry_safe_reports_fails_when_run_again_and_its_guard_does_not(
    unguarded: str, guarded: str, server: Server
) -> None:
    """Each statement runs on its own (as in a ``-- transactional: false`` migration) twice."""
    later = "UPDATE orders SET amount = amount WHERE id = 1"
    assert fired([unguarded, later], "postgres", transactional=False).count("not-retry-safe") == 1
    assert "not-retry-safe" not in fired([guarded, later], "postgres", transactional=False)
    server.admin.execute(unguarded)
    with pytest.raises(REFUSED_AGAIN):
        server.admin.execute(unguarded)
    server.admin.execute(guarded)
    server.admin.execute(guarded)


def test_an_added_constraint_runs_again_after_drop_constraint_if_exists(server: Server) -> None:
    add = "ALTER TABLE orders ADD CONSTRAINT positive CHECK (amount > 0)"
    drop = "ALTER TABLE orders DROP CONSTRAINT IF EXISTS positive"
    later = "UPDATE orders SET amount = amount WHERE id = 1"
    assert fired([add, later], "postgres", transactional=False) == ["add-check", "not-retry-safe"]
    assert fired([drop, add, later], "postgres", transactional=False) == ["add-check"]
    server.admin.execute(add)
    with pytest.raises(errors.DuplicateObject):
        server.admin.execute(add)
    for _ in range(2):
        server.admin.execute(drop)
        server.admin.execute(add)


def test_a_half_run_migration_cannot_be_run_again_unless_guarded(server: Server) -> None:
    """squawk's prefer-robust-stmts corpus, on the server: the index build fails on
    duplicates after the column was added; the second run fails on the column, unless the
    statements are guarded (and the INVALID index is dropped first)."""
    bad = (
        "ALTER TABLE orders ADD COLUMN code int DEFAULT 1",
        "CREATE UNIQUE INDEX CONCURRENTLY orders_code ON orders (code)",
    )
    assert "not-retry-safe" in fired(bad, "postgres", transactional=False)
    server.admin.execute(bad[0])
    with pytest.raises(errors.UniqueViolation):
        server.admin.execute(bad[1])
    with pytest.raises(errors.DuplicateColumn):
        server.admin.execute(bad[0])
    good = (
        "ALTER TABLE orders ADD COLUMN IF NOT EXISTS code int DEFAULT 1",
        "DROP INDEX CONCURRENTLY IF EXISTS orders_code",
        "CREATE UNIQUE INDEX CONCURRENTLY orders_code ON orders (id, code)",
    )
    assert "not-retry-safe" not in fired(good, "postgres", transactional=False)
    for statement in good:
        server.admin.execute(statement)


# -- SET LOGGED / UNLOGGED -------------------------------------------------------------------


@pytest.mark.parametrize("persistence", ["LOGGED", "UNLOGGED"])
def test_set_logged_rewrites_the_table(persistence: str, server: Server) -> None:
    """A rewrite gives the table a new file (its lock is checked in test_postgres_locks)."""
    if persistence == "UNLOGGED":
        server.admin.execute("ALTER TABLE imports SET LOGGED")
    sql = f"ALTER TABLE imports SET {persistence}"
    assert fired([sql], "postgres") == ["set-logged"]
    before = server.admin.execute("SELECT pg_relation_filenode('imports')").fetchone()
    server.admin.execute(sql)
    assert server.admin.execute("SELECT pg_relation_filenode('imports')").fetchone() != before
    assert fired(["CREATE UNLOGGED TABLE t (id int)", "ALTER TABLE t SET LOGGED"], "postgres") == []


# -- ATTACH PARTITION ------------------------------------------------------------------------


def test_attach_partition_checks_every_row_of_the_partition(server: Server) -> None:
    server.admin.execute("INSERT INTO events_2021 VALUES (2, 2020)")
    sql = "ALTER TABLE events ATTACH PARTITION events_2021 FOR VALUES IN (2021)"
    (finding,) = report([sql], "postgres").findings
    assert finding.rule == "attach-partition-scan" and finding.level is RiskLevel.WARNING
    with pytest.raises(errors.CheckViolation, match="violated by some row"):
        server.admin.execute(sql)


def test_attach_partition_skips_the_scan_after_a_validated_check(server: Server) -> None:
    """The advised way: a CHECK that implies the bound, validated, then ATTACH: PostgreSQL says
    so at DEBUG1, and lamina reports it as info only."""
    check = (
        "ALTER TABLE events_2021 ADD CONSTRAINT in_2021 CHECK (year IS NOT NULL AND year = 2021)"
    )
    sql = "ALTER TABLE events ATTACH PARTITION events_2021 FOR VALUES IN (2021)"
    (finding,) = report([check, sql], "postgres", transactional=False).findings[-1:]
    assert (finding.rule, finding.level) == ("attach-partition-scan", RiskLevel.INFO)
    messages: list[str] = []
    session = server.session()
    session.add_notice_handler(lambda notice: messages.append(str(notice.message_primary)))
    session.execute(check)
    session.execute("SET client_min_messages = debug1")
    session.execute(sql)
    session.close()
    assert any("is implied by existing constraints" in m for m in messages)


# -- ADD COLUMN, then UPDATE ... WHERE -------------------------------------------------------


def test_a_backfill_by_another_column_than_the_key_runs_under_the_add_columns_lock(
    server: Server,
) -> None:
    """squawk's lock-then-long-work: the ALTER's ACCESS EXCLUSIVE lock is held during the
    UPDATE, and a WHERE on a column that is not the key may touch every row: here all 30. A
    WHERE on the key touches at most as many rows as it names."""
    add = "ALTER TABLE orders ADD COLUMN region text"
    by_user = "UPDATE orders SET region = 'north' WHERE user_id IN (1, 2, 3)"
    by_key = "UPDATE orders SET region = 'north' WHERE id IN (1, 2, 3)"
    assert fired([add, by_user], "postgres") == ["lock-held-during-long-statement"]
    assert fired([add, by_key], "postgres") == []
    session = server.session()
    session.execute("BEGIN")
    session.execute(add)
    assert session.execute(by_user).rowcount == 30
    assert session.execute(by_key).rowcount == 3
    assert max(server.modes(session, "orders")) is LockMode.ACCESS_EXCLUSIVE
    session.execute("ROLLBACK")
    session.close()
