"""Stop means stop on the file engines: SIGTERM or Ctrl-C during one long SQLite or DuckDB
statement interrupts that statement at once, instead of waiting for it to end.

The statements below run for minutes; Python's own signal handler cannot run while the main
thread is inside one C call, so only the wakeup pipe of :mod:`lamina.signals` can stop them.
"""

from __future__ import annotations

import signal
import subprocess
import time

import pytest

from support import processes
from support.processes import start, wait_for

pytestmark = pytest.mark.slow

FIRST = "-- migrate:up\nCREATE TABLE first (id INTEGER);\n-- migrate:down\nDROP TABLE first;\n"

# Each runs for minutes on these engines (SQLite counts to 2e9 one row at a time; DuckDB
# hashes 1e11 rows).
LONG = """
    import os
    from pathlib import Path

    from lamina import Migration

    LONG = {
        "sqlite": "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
        "WHERE i < 2000000000) SELECT count(*) FROM n",
        "duckdb": "SELECT sum(hash(a.range * b.range)) FROM range(1000000000) a, range(100) b",
    }


    class Long(Migration):
        def up(self):
            self.execute_sql("CREATE TABLE half_done (id INTEGER)")
            if not self.dry_run:
                Path(os.environ["LAMINA_TEST_MARKER"]).write_text("")
            self.fetch_all(LONG[self.dialect])
            self.execute_sql("INSERT INTO half_done VALUES (1)")

        def down(self):
            self.execute_sql("DROP TABLE half_done")
"""

#: Generous: the statement would run for minutes; an interrupted one stops in milliseconds.
STOPPED_WITHIN_S = 10


@pytest.mark.parametrize("engine", ["sqlite", "duckdb"], indirect=True)
@pytest.mark.parametrize(
    ("stop", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)], ids=["sigterm", "sigint"]
)
def test_a_stop_signal_interrupts_a_long_statement_at_once(
    engine, stop, code, make_migrations, db_url, raw_db, tmp_path
):
    folder = make_migrations({"001_first.sql": FIRST, "002_long.py": LONG})
    marker = tmp_path / "in-statement"
    env = processes.lamina_env(
        db_url, folder, BACKUP_ENABLED="false", LAMINA_TEST_MARKER=str(marker)
    )
    proc = start(["up"], env, tmp_path)
    try:
        wait_for(marker)
        time.sleep(0.5)  # inside the long statement by now
        proc.send_signal(stop)
        signalled = time.monotonic()
        try:
            _, err = proc.communicate(timeout=STOPPED_WITHIN_S)
        except subprocess.TimeoutExpired:
            pytest.fail(f"lamina ran on for {STOPPED_WITHIN_S} s after {stop.name}")
        stopped_after = time.monotonic() - signalled
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()

    assert proc.returncode == code, err
    assert stopped_after < STOPPED_WITHIN_S
    # Exactly the one line and its hint: no traceback, no "Exception ignored", no note.
    assert err.splitlines() == [
        f"error: interrupted by {stop.name} during 002_long (rolled back; applied before it: "
        "001_first)",
        "  hint: run the command again to continue; nothing is half-done",
    ]
    assert raw_db.applied_ids() == ["001_first"]
    assert "half_done" not in raw_db.tables()
    fails = raw_db.query(
        "SELECT migration_id, detail FROM lamina_migration_log WHERE action = 'fail'"
    )
    assert fails == [("002_long", f"up: interrupted by {stop.name}")]
