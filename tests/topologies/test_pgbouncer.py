"""lamina through a real PgBouncer in transaction pooling (stock configuration): settings per
transaction, no prepared statements, the table lock, and session locks refused."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from lamina import Lamina
from lamina.errors import ConfigError, ExecutionError
from support.pgbouncer import PgBouncer, TopologyUnavailable, pgbouncer
from support.processes import lamina_env, start
from support.servers import admin_address, under_ci

THIRTY = {
    f"{i:03d}_table_{i}.sql": f"-- migrate:up\nCREATE TABLE t_{i} (id INTEGER PRIMARY KEY);\n"
    f"INSERT INTO t_{i} VALUES ({i});\n-- migrate:down\nDROP TABLE t_{i};\n"
    for i in range(1, 31)
}


@pytest.fixture
def engine() -> str:
    return "postgresql"


def test_eight_runners_through_the_pooler_apply_each_of_thirty_migrations_once(
    pg_bouncer: PgBouncer, make_migrations, db_url, raw_db, tmp_path
) -> None:
    folder = make_migrations(THIRTY)
    env = lamina_env(
        pg_bouncer.url(db_url), folder, LAMINA_LOCK_TIMEOUT="120", LAMINA_LOCK_MODE="table"
    )
    runners = [start(["up"], env, tmp_path) for _ in range(8)]
    outputs = [proc.communicate(timeout=240) for proc in runners]
    for proc, (out, err) in zip(runners, outputs, strict=True):
        assert proc.returncode == 0, err
        assert "Traceback" not in out + err
        assert "prepared statement" not in out + err
    assert sum(out.count("applied 0") for out, _ in outputs) == 30
    # Read on PostgreSQL itself, in the URL's schema: the history and the objects, once each.
    assert raw_db.applied_ids() == [name.removesuffix(".sql") for name in sorted(THIRTY)]
    assert (
        raw_db.query(
            "SELECT migration_id, COUNT(*) FROM lamina_migration_log WHERE action = 'apply' "
            "GROUP BY migration_id HAVING COUNT(*) <> 1"
        )
        == []
    )
    assert {f"t_{i}" for i in range(1, 31)} <= raw_db.tables()
    assert raw_db.query("SELECT COUNT(*) FROM t_30") == [(1,)]


def test_session_lock_mode_through_the_pooler_is_refused(
    pooler: PgBouncer, make_migrations, db_url, raw_db, tmp_path
) -> None:
    folder = make_migrations(THIRTY)
    env = lamina_env(pooler.url(db_url), folder, LAMINA_LOCK_MODE="session")
    proc = start(["up"], env, tmp_path)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == ConfigError.exit_code, out + err
    assert "connection pooler" in err
    assert "--lock-mode table" in err
    assert "Traceback" not in err
    assert not {"t_1", "lamina_migrations"} & raw_db.tables()  # nothing ran unprotected


@pytest.fixture
def dropping_pooler() -> Iterator[PgBouncer]:
    """A PgBouncer with ``ignore_startup_parameters = options``: it accepts the startup
    options and drops them."""
    address = admin_address("postgresql")
    users = [address.user or "postgres"]
    try:
        with pgbouncer(address.host, address.port, users, ignore_startup_parameters="options") as b:
            yield b
    except TopologyUnavailable as exc:
        if under_ci():
            pytest.fail(f"PgBouncer cannot be started here: {exc} (CI=true)", pytrace=False)
        pytest.skip(f"PgBouncer cannot be started here: {exc}")


@pytest.fixture(params=["stock", "ignoring-options"])
def pooler(request: pytest.FixtureRequest) -> PgBouncer:
    """Either PgBouncer: one refuses lamina's startup options, the other drops them."""
    name = "pg_bouncer" if request.param == "stock" else "dropping_pooler"
    return request.getfixturevalue(name)


def test_settings_reach_every_transaction_through_the_pooler(
    pooler: PgBouncer, make_migrations, settings_for, db_url, raw_db
) -> None:
    make_migrations(
        {
            "001_seen.sql": """
                -- migrate:up
                CREATE TABLE seen AS SELECT current_setting('search_path') AS search_path,
                    current_setting('statement_timeout') AS statement_timeout,
                    current_setting('lock_timeout') AS lock_timeout;
            """
        }
    )
    settings = settings_for(
        database_url=pooler.url(db_url),
        lock_mode="table",
        max_migration_time_ms=60_000,
        table_lock_timeout_ms=4000,
    )
    assert Lamina(settings).up().applied == ("001_seen",)
    # The migration's unqualified table is in the URL's schema, under lamina's limits (the
    # statement timeout is the time limit plus lamina's 1 s margin behind its watchdog).
    assert raw_db.query("SELECT * FROM seen") == [(raw_db.schema, "61s", "4s")]
    report = Lamina(settings).status()
    assert [m.id for m in report.migrations if m.applied_at] == ["001_seen"]


def test_the_time_limit_stops_a_statement_through_the_pooler(
    pg_bouncer: PgBouncer, make_migrations, settings_for, db_url, raw_db
) -> None:
    make_migrations(
        {
            "001_fast.sql": "-- migrate:up\nCREATE TABLE fast (id INTEGER);\n",
            "002_slow.sql": "-- category: data\n-- migrate:up\nINSERT INTO fast VALUES (1);\n"
            "SELECT pg_sleep(30);\n",
        }
    )
    settings = settings_for(
        database_url=pg_bouncer.url(db_url), lock_mode="table", max_migration_time_ms=1000
    )
    with pytest.raises(ExecutionError) as caught:
        Lamina(settings).up()
    assert caught.value.migration_id == "002_slow"
    assert "exceeding MAX_MIGRATION_TIME (1000 ms)" in caught.value.message
    assert raw_db.applied_ids() == ["001_fast"]
    assert raw_db.query("SELECT COUNT(*) FROM fast") == [(0,)]
    # The cancelled server connection went back to the pool usable: lamina carries on.
    sleeping = "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep(30)%%'"
    assert raw_db.query(sleeping + " AND state = 'active'") == [(0,)]


def test_a_blocked_statement_is_cancelled_at_the_table_lock_timeout_through_the_pooler(
    pg_bouncer: PgBouncer, make_migrations, settings_for, db_url, raw_db
) -> None:
    make_migrations({"001_users.sql": "-- migrate:up\nCREATE TABLE users (id INTEGER);\n"})
    url = pg_bouncer.url(db_url)
    Lamina(settings_for(database_url=url, lock_mode="table")).up()
    make_migrations({"002_alter.sql": "-- migrate:up\nALTER TABLE users ADD COLUMN age INTEGER;\n"})
    blocker = raw_db.address.connect(schema=raw_db.schema)  # on PostgreSQL itself
    try:
        blocker.execute("BEGIN")
        blocker.execute("LOCK TABLE users IN ACCESS SHARE MODE")
        blocked = settings_for(database_url=url, lock_mode="table", table_lock_timeout_ms=1000)
        with pytest.raises(ExecutionError) as caught:
            Lamina(blocked).up()
        # Cancelled by lock_timeout (SET LOCAL), not by the time limit's watchdog.
        assert "lock timeout" in caught.value.db_error.lower()
    finally:
        blocker.close()
    assert Lamina(settings_for(database_url=url, lock_mode="table")).up().applied == ("002_alter",)


def test_a_statement_that_cannot_run_in_a_transaction_is_refused_through_the_pooler(
    pg_bouncer: PgBouncer, make_migrations, settings_for, db_url, raw_db
) -> None:
    make_migrations(
        {
            "001_users.sql": "-- migrate:up\nCREATE TABLE users (id INTEGER);\n",
            "002_index.sql": "-- migrate:up transaction:false\n"
            "CREATE INDEX CONCURRENTLY users_id ON users (id);\n",
        }
    )
    settings = settings_for(database_url=pg_bouncer.url(db_url), lock_mode="table")
    with pytest.raises(ExecutionError) as caught:
        Lamina(settings).up()
    assert caught.value.migration_id == "002_index"
    assert "DATABASE_URL pointing at PostgreSQL itself" in caught.value.db_error
    assert "users_id" not in {r[0] for r in raw_db.query("SELECT indexname FROM pg_indexes")}
    # Directly against PostgreSQL the same migration runs, outside any transaction.
    assert Lamina(settings_for(lock_mode="table")).up().applied == ("002_index",)
