"""lamina as real processes: SIGKILL mid-migration, concurrent runs, the installed entry points."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from support.processes import HANGING, SRC, at_a_prompt, child_env, lamina_env, start, wait_for

pytestmark = pytest.mark.slow

EXAMPLES = SRC.parent / "examples" / "migrations"


def test_sigkill_mid_migration_leaves_no_trace_or_the_truth(
    engine, make_migrations, db_url, raw_db, tmp_path
):
    """Killed half-way: an atomic migration vanishes without a trace; on MySQL, where its DDL
    already committed, its history row says ``running`` and blocks the next run until repair."""
    folder = make_migrations(
        {
            "001_first.sql": "-- migrate:up\nCREATE TABLE first (id INTEGER);\n"
            "-- migrate:down\nDROP TABLE first;\n",
            "002_slow.py": HANGING,
        }
    )
    marker = tmp_path / "in-transaction"
    proc = start(["up"], lamina_env(db_url, folder, LAMINA_TEST_MARKER=str(marker)), tmp_path)
    wait_for(marker)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)

    assert "first" in raw_db.tables()
    if engine == "mysql":
        assert "half_done" in raw_db.tables()  # CREATE TABLE committed by itself
        assert raw_db.query("SELECT id, state FROM lamina_migrations ORDER BY id") == [
            ("001_first", "applied"),
            ("002_slow", "running"),
        ]
        blocked = start(["up"], lamina_env(db_url, folder), tmp_path)
        _, err = blocked.communicate(timeout=60)
        assert blocked.returncode == 3
        assert "lamina repair 002_slow" in err
        assert "Traceback" not in err
        raw_db.execute("DROP TABLE half_done")  # the operator undoes the half-run...
        fixed = start(
            ["repair", "002_slow", "--mark-rolled-back"], lamina_env(db_url, folder), tmp_path
        )
        _, err = fixed.communicate(timeout=60)
        assert fixed.returncode == 0, err
    else:
        assert "half_done" not in raw_db.tables()
        assert raw_db.applied_ids() == ["001_first"]

    again = start(["up"], lamina_env(db_url, folder), tmp_path)
    out, err = again.communicate(timeout=60)
    assert again.returncode == 0, err
    assert "002_slow" in out
    assert raw_db.applied_ids() == ["001_first", "002_slow"]
    assert raw_db.query("SELECT COUNT(*) FROM half_done") == [(1,)]


def test_two_concurrent_ups_apply_each_migration_once(make_migrations, db_url, raw_db, tmp_path):
    folder = make_migrations({"001_slow.py": HANGING})
    marker = tmp_path / "first-holds-lock"
    env = lamina_env(db_url, folder, LAMINA_TEST_MARKER=str(marker), LAMINA_TEST_SLEEP="1.5")
    first = start(["up"], env, tmp_path)
    wait_for(marker)
    second = start(["up"], lamina_env(db_url, folder, LAMINA_LOCK_TIMEOUT="30"), tmp_path)
    out1, err1 = first.communicate(timeout=60)
    out2, err2 = second.communicate(timeout=60)

    assert first.returncode == 0, err1
    assert second.returncode == 0, err2
    assert "Traceback" not in err1 + err2
    assert "applied 001_slow" in out1
    assert "up to date" in out2
    assert raw_db.applied_ids() == ["001_slow"]
    assert raw_db.query("SELECT COUNT(*) FROM lamina_migration_log WHERE action = 'apply'") == [
        (1,)
    ]


def test_lock_timeout_names_the_holder(engine, make_migrations, db_url, raw_db, tmp_path):
    folder = make_migrations({"001_slow.py": HANGING})
    marker = tmp_path / "holder"
    holder = start(
        ["up"],
        lamina_env(db_url, folder, LAMINA_TEST_MARKER=str(marker), LAMINA_TEST_SLEEP="5"),
        tmp_path,
    )
    try:
        wait_for(marker)
        waiter = start(["--lock-timeout", "0.5", "up"], lamina_env(db_url, folder), tmp_path)
        _, err = waiter.communicate(timeout=30)
        assert waiter.returncode == 1
        assert "locked by another process" in err
        assert f"pid {holder.pid}" in err
        assert "Traceback" not in err

        status = start(["status"], lamina_env(db_url, folder), tmp_path)
        out, err = status.communicate(timeout=30)
        # DuckDB lets one process open the file, so status reports the holder as an error;
        # SQLite can still be read, so status shows the held lock in its panel.
        assert f"pid {holder.pid}" in out + err
    finally:
        holder.kill()
        holder.wait(timeout=10)
    # Killed mid-migration: nothing applied; on MySQL its row says it was running.
    expected = [("001_slow", "running")] if engine == "mysql" else []
    assert raw_db.query("SELECT id, state FROM lamina_migrations") == expected


def test_killed_lock_holder_does_not_wedge_the_next_run(
    engine, make_migrations, db_url, raw_db, tmp_path
):
    folder = make_migrations({"001_slow.py": HANGING})
    marker = tmp_path / "holder"
    holder = start(["up"], lamina_env(db_url, folder, LAMINA_TEST_MARKER=str(marker)), tmp_path)
    wait_for(marker)
    holder.send_signal(signal.SIGKILL)
    holder.wait(timeout=10)
    nxt = start(["--lock-timeout", "5", "up"], lamina_env(db_url, folder), tmp_path)
    _, err = nxt.communicate(timeout=60)
    assert "locked" not in err  # the dead holder's lock went with its process or connection
    if engine == "mysql":  # the kill left a half-run migration: that, not the lock, stops it
        assert nxt.returncode == 3
        assert "dirty" in err
    else:
        assert nxt.returncode == 0, err
        assert raw_db.applied_ids() == ["001_slow"]


THIRTY = {
    f"{i:03d}_table_{i}.sql": f"-- migrate:up\nCREATE TABLE t_{i} (id INTEGER PRIMARY KEY);\n"
    f"INSERT INTO t_{i} VALUES ({i});\n-- migrate:down\nDROP TABLE t_{i};\n"
    for i in range(1, 31)
}


@pytest.mark.parametrize("lock_mode", ["session", "table"])
@pytest.mark.parametrize("engine", ["postgresql", "mysql"])
def test_eight_replicas_starting_together_apply_each_migration_exactly_once(
    engine, lock_mode, make_migrations, db_url, raw_db, tmp_path
):
    folder = make_migrations(THIRTY)
    env = lamina_env(db_url, folder, LAMINA_LOCK_TIMEOUT="120", LAMINA_LOCK_MODE=lock_mode)
    replicas = [start(["up"], env, tmp_path) for _ in range(8)]
    outputs = [proc.communicate(timeout=180) for proc in replicas]
    results = [
        (proc.returncode, out, err) for proc, (out, err) in zip(replicas, outputs, strict=True)
    ]
    for code, out, err in results:
        assert code == 0, err
        assert "Traceback" not in out + err
    applied_lines = sum(out.count("applied 0") for _, out, _ in results)
    assert applied_lines == 30  # every migration printed as applied by exactly one replica
    assert sum("up to date" in out for _, out, _ in results) >= 1
    assert raw_db.applied_ids() == [name.removesuffix(".sql") for name in sorted(THIRTY)]
    assert (
        raw_db.query(
            "SELECT migration_id, COUNT(*) FROM lamina_migration_log WHERE action = 'apply' "
            "GROUP BY migration_id HAVING COUNT(*) <> 1"
        )
        == []
    )
    assert raw_db.query("SELECT COUNT(*) FROM t_30") == [(1,)]


@pytest.mark.parametrize("entry", ["console-script", "python-m"])
def test_installed_entry_points_run_the_examples_round_trip(entry, tmp_path):
    """The README's main job: the example set up and back down on a fresh DuckDB file."""
    if entry == "console-script":
        script = shutil.which("lamina", path=str(Path(sys.executable).parent))
        if script is None:
            if os.environ.get("CI") == "true":
                pytest.fail("the lamina console script is not installed next to the interpreter")
            pytest.skip("lamina is not installed in this environment (run pip install -e .)")
        command = [script]
    else:
        command = [sys.executable, "-m", "lamina"]
    env = child_env()
    base = [*command, "--migrations-dir", str(EXAMPLES)]

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*base, *args],
            check=False,
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            stdin=subprocess.DEVNULL,
        )

    up = run("up")
    assert up.returncode == 0, up.stderr
    assert (tmp_path / "app.duckdb").exists()  # the embedded default, with zero setup
    status = json.loads(run("status", "--json").stdout)
    assert status["pending"] == 0 and status["applied"] == len(list(EXAMPLES.glob("0*")))
    down = run("rollback", "0", "--force", "--yes")
    assert down.returncode == 0, down.stderr
    assert json.loads(run("status", "--json").stdout)["applied"] == 0
    again = run("up")
    assert again.returncode == 0, again.stderr


def test_status_on_duckdb_imports_no_server_driver(tmp_path):
    """The core must not import a driver it does not use (PostgreSQL's or MySQL's)."""
    code = (
        "import sys\n"
        "from lamina.cli import cli\n"
        "try:\n"
        "    cli.main(['status'], prog_name='lamina')\n"
        "except SystemExit:\n"
        "    pass\n"
        "print('loaded:', sorted(m for m in ('psycopg', 'pymysql') if m in sys.modules))\n"
    )
    env = lamina_env(f"duckdb:///{tmp_path / 'app.duckdb'}", EXAMPLES)
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=tmp_path, capture_output=True, text=True,
        timeout=60, check=False,
    )  # fmt: skip
    assert "MIGRATION STATUS" in done.stdout, done.stderr
    assert "loaded: []" in done.stdout


@pytest.mark.parametrize("answer", ["y", "n"])
def test_production_asks_on_a_terminal_before_a_risky_step(
    engine, answer, make_migrations, db_url, raw_db, tmp_path
):
    folder = make_migrations({"001_t.sql": "-- migrate:up\nCREATE TABLE t (id INTEGER);\n"})
    assert start(["up"], lamina_env(db_url, folder), tmp_path).wait(60) == 0
    make_migrations({"002_drop.sql": "-- migrate:up\nDROP TABLE t;\n"})
    production = lamina_env(db_url, folder, LAMINA_ENV="production")
    with at_a_prompt(["up"], production, tmp_path) as (proc, controller, prompt):
        assert b"Apply 1 risky step(s) in production (002_drop (drop-table))" in prompt
        os.write(controller, f"{answer}\n".encode())
        _, err = proc.communicate(timeout=60)
    if answer == "y":
        assert proc.returncode == 0, err
        assert raw_db.applied_ids() == ["001_t", "002_drop"]
        assert "t" not in raw_db.tables()
    else:
        assert proc.returncode == 3
        assert "cancelled, nothing was changed" in err
        assert "t" in raw_db.tables()


STARTUP = """
import json, lamina
result = lamina.startup()
print(json.dumps({"status": result.status, "applied": list(result.applied)}))
"""


@pytest.mark.parametrize("engine", ["postgresql"])
def test_three_replicas_starting_together_migrate_once_and_all_start(
    engine, make_migrations, db_url, raw_db, tmp_path
):
    folder = make_migrations(THIRTY)
    env = lamina_env(db_url, folder, AUTO_MIGRATE="true", LAMINA_LOCK_TIMEOUT="120")
    replicas = [
        subprocess.Popen(
            [sys.executable, "-c", STARTUP],
            env=env,
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    outputs = [proc.communicate(timeout=180) for proc in replicas]
    results = []
    for proc, (out, err) in zip(replicas, outputs, strict=True):
        assert proc.returncode == 0, err
        results.append(json.loads(out))
    assert [r["status"] for r in results] == ["ready"] * 3
    assert (
        sorted(len(r["applied"]) for r in results) in ([0, 0, 30], [0, 1, 29])
        or sum(len(r["applied"]) for r in results) == 30
    )
    assert sum(len(r["applied"]) for r in results) == 30  # each migration applied once
    assert raw_db.applied_ids() == [name.removesuffix(".sql") for name in sorted(THIRTY)]
