"""What only the server engines have: schemas, connection errors, table locks, lock modes."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from lamina import Lamina
from lamina.engines import BackendOptions, open_backend
from lamina.errors import BackendUnavailableError, ExecutionError, LockLostError, LockTimeoutError
from lamina.models import LockOwner
from lamina.urls import parse_url
from support.texts import USERS

SRC = Path(__file__).resolve().parents[2] / "src"
servers = pytest.mark.parametrize("engine", ["postgresql", "mysql"])


def owner(command: str = "lamina up") -> LockOwner:
    return LockOwner(
        host=socket.gethostname(), pid=os.getpid(), started_at="2026-11-25T10:00:00Z",
        command=command, container="abc123def456",
    )  # fmt: skip


def run_cli(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None):
    return subprocess.run(
        [sys.executable, "-m", "lamina", *args],
        env={**os.environ, "PYTHONPATH": str(SRC), "NO_COLOR": "1", **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=cwd,
    )


# -- PostgreSQL schemas -------------------------------------------------------------------------
@pytest.mark.parametrize("engine", ["postgresql"])
def test_the_schema_is_created_and_holds_every_table(
    engine, make_migrations, settings_for, raw_db, server_database, raw_database
) -> None:
    make_migrations({"001_users.sql": USERS})
    Lamina(settings_for()).up()
    assert {"users", "lamina_migrations", "lamina_migration_log", "lamina_meta"} <= raw_db.tables()
    assert raw_db.schema != "public"
    assert "users" not in raw_database(raw_db.url.split("?")[0] + "?schema=public").tables()
    # Another schema of the same database is a separate lamina target.
    with server_database("postgresql") as other_url:
        other = Lamina(settings_for(database_url=other_url))
        assert [m.id for m in other.status().pending] == ["001_users"]
        other.up()
        assert "users" in raw_database(other_url).tables()
    assert raw_db.applied_ids() == ["001_users"]


def test_a_schema_name_that_is_not_an_identifier_is_refused(postgresql_url) -> None:
    from lamina.errors import ConfigError

    bad = postgresql_url.rsplit("=", 1)[0] + "=x%22%3B%20DROP%20SCHEMA%20public"
    with pytest.raises(ConfigError, match="not a plain schema name"):
        open_backend(parse_url(bad))


# -- connection errors --------------------------------------------------------------------------
PG_FAILURES = [
    ("postgresql://postgres:pw-9f3k@127.0.0.1:1/lamina_test", "connection refused", "running"),
    ("postgresql://postgres:pw-9f3k@nosuchhost.invalid/lamina_test", "unknown host", "host"),
    ("postgresql://postgres:pw-9f3k@127.0.0.1/no_such_db_x", "does not exist", "createdb"),
    ("postgresql://ghost_user:pw-9f3k@127.0.0.1/lamina_test", "authentication failed", "user"),
    (
        "postgresql://postgres:pw-9f3k@127.0.0.1/lamina_test?sslmode=require",
        "SSL",
        "sslmode",
    ),
]


@pytest.mark.parametrize(("url", "reason", "hint"), PG_FAILURES, ids=lambda v: str(v)[:24])
def test_postgresql_connection_errors_are_one_clear_line(postgresql_url, url, reason, hint) -> None:
    backend = open_backend(parse_url(url))
    with pytest.raises(BackendUnavailableError) as caught:
        backend.connect()
    message, advice = caught.value.message, caught.value.hint or ""
    assert "\n" not in message
    assert reason in message
    host = parse_url(url).host
    assert f"on {host}:" in message
    assert f"database {parse_url(url).database}" in message
    assert hint in advice
    assert "pw-9f3k" not in message + advice


def test_connection_errors_on_the_command_line_never_show_the_password(tmp_path) -> None:
    (tmp_path / "migrations").mkdir()
    done = run_cli(
        "--verbose",
        "status",
        env={"DATABASE_URL": "postgresql://postgres:pw-9f3k@127.0.0.1:1/app"},
        cwd=tmp_path,
    )
    assert done.returncode == 1
    assert "pw-9f3k" not in done.stdout + done.stderr
    assert "cannot connect to PostgreSQL database app on 127.0.0.1:1" in done.stderr


@pytest.mark.parametrize("engine", ["postgresql"])
def test_a_password_appears_nowhere_lamina_writes(
    engine, db_url, make_migrations, tmp_path, raw_db
):
    """Trust auth on the PostgreSQL test server ignores the password, so it can be planted
    (the MySQL backend tests use a user with a real password for its error messages)."""
    secret = "Sup3r-S3cret-pw"
    url = db_url.replace("postgres@", f"postgres:{secret}@")
    make_migrations({"001_users.sql": USERS, "002_bad.sql": "-- migrate:up\nSELECT nope;\n"})
    env = {"DATABASE_URL": url, "LAMINA_MIGRATIONS_DIR": str(tmp_path / "migrations")}
    outputs = [
        run_cli("--verbose", "up", env=env, cwd=tmp_path),
        run_cli("status", "--json", env=env, cwd=tmp_path),
        run_cli("history", "--json", env=env, cwd=tmp_path),
        run_cli("--verbose", "--database-url", url, "up", "--dry-run", env=env, cwd=tmp_path),
    ]
    assert outputs[0].returncode == 1  # 002_bad failed: its error went through --verbose
    assert "postgres:***@" in outputs[1].stdout
    stored = [
        raw_db.query(f"SELECT * FROM {table}")
        for table in ("lamina_migrations", "lamina_migration_log", "lamina_meta")
    ]
    everything = json.dumps(stored, default=str) + "".join(o.stdout + o.stderr for o in outputs)
    assert secret not in everything


# -- locks --------------------------------------------------------------------------------------
def test_status_names_the_lock_holder(engine, db_url, settings_for, make_migrations) -> None:
    make_migrations({"001_users.sql": USERS})
    holder = open_backend(parse_url(db_url))
    try:
        with holder.lock(owner(), 5):
            report = Lamina(settings_for()).status()
            assert report.lock_holder is not None
            assert report.lock_holder.pid == os.getpid()
            assert report.lock_holder.command == "lamina up"
            with pytest.raises(LockTimeoutError) as caught:
                Lamina(settings_for(lock_timeout_s=0.2)).up()
            assert f"pid {os.getpid()} on {socket.gethostname()}" in caught.value.message
        assert Lamina(settings_for()).status().lock_holder is None
    finally:
        holder.close()


@servers
def test_postgresql_and_mysql_stop_a_statement_waiting_on_a_busy_table(
    engine, settings_for, make_migrations, raw_db
) -> None:
    make_migrations({"001_users.sql": USERS})
    Lamina(settings_for()).up()
    make_migrations({"002_alter.sql": "-- migrate:up\nALTER TABLE users ADD COLUMN age INTEGER;\n"})
    blocker = raw_db.address.connect(schema=raw_db.schema)
    try:
        if engine == "postgresql":
            blocker.execute("BEGIN")
            blocker.execute("LOCK TABLE users IN ACCESS SHARE MODE")
        else:
            cur = blocker.cursor()
            cur.execute("BEGIN")
            cur.execute("SELECT * FROM users")  # holds a metadata lock until the end
        started = time.monotonic()
        with pytest.raises(ExecutionError) as caught:
            Lamina(settings_for(table_lock_timeout_ms=1000)).up()
        assert time.monotonic() - started < 8
        assert "lock" in caught.value.db_error.lower()
    finally:
        blocker.close()
    assert Lamina(settings_for()).up().applied == ("002_alter",)


@servers
def test_table_mode_names_the_holder_and_takes_over_an_expired_lock(engine, db_url) -> None:
    options = BackendOptions(lock_mode="table", lock_ttl_s=1.0)
    first = open_backend(parse_url(db_url), options=options)
    second = open_backend(parse_url(db_url), options=options)
    try:
        with first.lock(owner("lamina up --first"), 1):
            with pytest.raises(LockTimeoutError) as caught, second.lock(owner("second"), 0.3):
                pass
            assert caught.value.holder is not None
            assert caught.value.holder.command == "lamina up --first"
            assert caught.value.holder.container == "abc123def456"
            time.sleep(1.6)  # past the TTL: the heartbeat kept the row alive
            assert second.lock_holder() is not None
        assert second.lock_holder() is None  # released: the row is gone
        # A holder that died: its row stays, but only until it expires.
        dead = open_backend(parse_url(db_url), options=options)
        lock = dead.lock(owner("dead run"), 1)
        lock.__enter__()
        beat = dead._heartbeat  # type: ignore[attr-defined]
        beat.stop()  # the process "dies": no more heartbeats...
        dead._heartbeat = None  # type: ignore[attr-defined]
        dead.close()  # ...and its connection goes
        started = time.monotonic()
        with second.lock(owner("successor"), 5):
            waited = time.monotonic() - started
            assert 0.3 < waited < 4
            assert second.lock_holder() is not None
            assert second.lock_holder().command == "successor"  # type: ignore[union-attr]
    finally:
        first.close()
        second.close()


@servers
def test_a_run_whose_table_lock_was_taken_over_stops_before_its_next_migration(
    engine, make_migrations, settings_for, raw_db
) -> None:
    make_migrations(
        {
            "001_slow.py": """
                import time
                from lamina import Migration


                class Slow(Migration):
                    def up(self):
                        self.execute_sql("CREATE TABLE one (id INTEGER)")
                        if not self.dry_run:  # the risk check records up() first
                            time.sleep(1.2)  # meanwhile another run decides this one is dead

                    def down(self):
                        self.execute_sql("DROP TABLE one")
            """,
            "002_never.sql": "-- migrate:up\nCREATE TABLE never (id INTEGER);\n",
        }
    )

    def steal() -> None:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:  # until the run holds its lock row
            with contextlib.suppress(Exception):
                if raw_db.query("SELECT COUNT(*) FROM lamina_lock") == [(1,)]:
                    break
            time.sleep(0.05)
        raw_db.execute("UPDATE lamina_lock SET token = 'thief'")

    thief = threading.Thread(target=steal)
    thief.start()
    settings = settings_for(lock_mode="table", lock_ttl_s=2.0, max_migration_time_ms=1500)
    try:
        with pytest.raises(LockLostError, match="taken over"):
            Lamina(settings).up()
    finally:
        thief.join(10)
    assert raw_db.applied_ids() == ["001_slow"]
    assert "never" not in raw_db.tables()


@pytest.mark.parametrize("engine", ["sqlite", "postgresql", "mysql"])  # DuckDB: one process
def test_concurrent_status_reads_do_not_block_a_run(engine, settings_for, make_migrations):
    make_migrations({f"{i:03d}_t{i}.sql": f"-- migrate:up\nCREATE TABLE t{i} (id INTEGER);\n"
                     for i in range(1, 4)})  # fmt: skip
    errors: list[BaseException] = []

    def poll() -> None:
        try:
            for _ in range(5):
                Lamina(settings_for()).status()
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    reader = threading.Thread(target=poll)
    reader.start()
    Lamina(settings_for()).up()
    reader.join(60)
    assert errors == []
    assert Lamina(settings_for()).status().up_to_date
