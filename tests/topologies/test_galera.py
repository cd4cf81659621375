"""lamina on a real three-node MariaDB Galera cluster (the ``galera_cluster`` fixture, started
once per session): the lock is cluster-wide, concurrent runners on every node apply each
migration once, another node's run reads as in progress, what Galera cannot replicate is
refused, and a node killed mid-run leaves the survivors consistent and recoverable.

Each test has a database of its own, made on node 0 (DDL is replicated in total order)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lamina import Lamina
from lamina.config import load_settings
from lamina.engines import open_backend
from lamina.errors import (
    BackendUnavailableError,
    ConfigError,
    DirtyDatabaseError,
    ExecutionError,
)
from lamina.urls import parse_url
from support.galera import GaleraCluster, node_state
from support.processes import lamina_env, start

pytestmark = pytest.mark.server

#: Migration 001 makes a journal every later migration writes one row to: a migration applied
#: twice (on two nodes) would leave two rows, or fail on its CREATE TABLE.
JOURNAL = {
    "001_journal.sql": "-- migrate:up\nCREATE TABLE journal (seq BIGINT AUTO_INCREMENT "
    "PRIMARY KEY, migration VARCHAR(64) NOT NULL);\n-- migrate:down\nDROP TABLE journal;\n"
}
THIRTY = JOURNAL | {
    f"{i:03d}_table_{i}.sql": f"-- migrate:up\nCREATE TABLE t_{i} (id INTEGER PRIMARY KEY);\n"
    f"INSERT INTO journal (migration) VALUES ('{i:03d}');\n-- migrate:down\nDROP TABLE t_{i};\n"
    for i in range(2, 31)
}


@pytest.fixture
def galera_db(galera_cluster: GaleraCluster) -> Iterator[str]:
    """A database of this test's own on the cluster, dropped after."""
    with galera_cluster.database(f"lamina_gal_{uuid.uuid4().hex[:10]}") as name:
        yield name


def user_tables(state: dict[str, Any]) -> set[str]:
    return {name for name in state["tables"] if not name.startswith("lamina_")}


def run(args: list[str], env: dict[str, str], cwd: Path, timeout: float = 240) -> Any:
    proc = start(args, env, cwd)
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out, err


def test_session_lock_mode_on_a_galera_node_is_refused_before_anything_runs(
    galera_cluster: GaleraCluster, galera_db: str, make_migrations, tmp_path
) -> None:
    folder = make_migrations(THIRTY)
    env = lamina_env(galera_cluster.url(1, galera_db), folder)  # the default: session mode
    code, out, err = run(["up"], env, tmp_path)
    assert code == ConfigError.exit_code, out + err
    assert "Galera cluster" in err and "GET_LOCK()" in err
    assert "--lock-mode table" in err
    assert "Traceback" not in err
    for index in range(3):  # nothing ran unprotected, on any node
        assert node_state(galera_cluster, index, galera_db)["tables"] == set()


def test_lamina_reads_causally_on_a_galera_node(
    galera_cluster: GaleraCluster, galera_db: str
) -> None:
    backend = open_backend(parse_url(galera_cluster.url(1, galera_db)), read_only=True)
    try:
        backend.connect()
        assert backend.query("SELECT @@wsrep_sync_wait") == [(15,)]
    finally:
        backend.close()


def test_eight_runners_on_three_nodes_apply_each_of_thirty_migrations_once(
    galera_cluster: GaleraCluster, galera_db: str, make_migrations, tmp_path
) -> None:
    folder = make_migrations(THIRTY)
    runners = [
        start(
            ["up"],
            lamina_env(
                galera_cluster.url(i % 3, galera_db),
                folder,
                LAMINA_LOCK_MODE="table",
                LAMINA_LOCK_TIMEOUT="180",
            ),
            tmp_path,
        )
        for i in range(8)
    ]
    outputs = [proc.communicate(timeout=300) for proc in runners]
    for proc, (out, err) in zip(runners, outputs, strict=True):
        assert proc.returncode == 0, out + err
        assert "Traceback" not in out + err
    ids = sorted(name.removesuffix(".sql") for name in THIRTY)
    # One run applied all thirty; the seven others, let in after it, found nothing to do.
    idle = [out for out, _ in outputs if "up to date: nothing to apply" in out]
    assert len(idle) == 7
    states = [node_state(galera_cluster, index, galera_db) for index in range(3)]
    first = states[0]
    assert first["history"] == [(migration_id, "applied") for migration_id in ids]
    assert first["journal"] == [(f"{i:03d}",) for i in range(2, 31)]  # each applied once
    assert user_tables(first) == {"journal"} | {f"t_{i}" for i in range(2, 31)}
    assert states[1] == first and states[2] == first  # the same schema and history everywhere
    applies = galera_cluster.run_sql(
        2,
        "SELECT migration_id, COUNT(*) FROM lamina_migration_log WHERE action = 'apply' "
        "GROUP BY migration_id HAVING COUNT(*) <> 1",
        database=galera_db,
    )
    assert applies == []


def test_a_run_on_one_node_reads_as_in_progress_on_another(
    galera_cluster: GaleraCluster, galera_db: str, make_migrations, tmp_path
) -> None:
    folder = make_migrations(
        JOURNAL
        | {
            "002_slow.sql": "-- migrate:up\nCREATE TABLE slow (id INTEGER PRIMARY KEY);\n"
            "DO SLEEP(60);\n-- migrate:down\nDROP TABLE slow;\n"
        }
    )
    env = lamina_env(galera_cluster.url(0, galera_db), folder, LAMINA_LOCK_MODE="table")
    runner = start(["up"], env, tmp_path)
    try:
        _until(lambda: ("002_slow", "running") in _history(galera_cluster, 2, galera_db))
        # Node 2, in the default (session) mode: reading needs no lock, and on Galera the
        # lock row names the holder, so the running row is a run in progress, not dirt.
        status_env = lamina_env(galera_cluster.url(2, galera_db), folder)
        code, out, err = run(["status"], status_env, tmp_path)
        assert code == 0, out + err
        assert "in progress" in out.lower()
        assert f"pid {runner.pid}" in out
        assert "DIRTY" not in out
        code, out, err = run(["up", "--dry-run"], status_env, tmp_path)
        assert code == 3, out + err
        assert "002_slow right now" in err
        assert "dirty" not in err.lower()
    finally:
        runner.kill()
        runner.wait(timeout=30)


@pytest.mark.parametrize(
    ("statement", "named"),
    [
        ("CREATE TABLE legacy (id INTEGER PRIMARY KEY) ENGINE=MyISAM;", "ENGINE=MYISAM"),
        ("LOCK TABLES journal WRITE;", "LOCK TABLES"),
        ("SET SESSION wsrep_OSU_method = 'RSU';", "wsrep_OSU_method = RSU"),
        ("SET wsrep_on = OFF;", "wsrep_on = OFF"),
    ],
)
def test_what_galera_cannot_replicate_is_refused_before_the_migration_runs(
    galera_cluster: GaleraCluster,
    galera_db: str,
    make_migrations,
    tmp_path,
    statement: str,
    named: str,
) -> None:
    make_migrations(
        JOURNAL
        | {
            "002_unsafe.sql": "-- migrate:up\nCREATE TABLE before_it (id INTEGER PRIMARY KEY);\n"
            f"{statement}\n-- migrate:down\nDROP TABLE before_it;\n"
        }
    )
    settings = load_settings(
        {
            "database_url": galera_cluster.url(1, galera_db),
            "migrations_dir": str(tmp_path / "migrations"),
            "lock_mode": "table",
        },
        environ={},
        cwd=tmp_path,
    )
    with pytest.raises(ExecutionError) as caught:
        Lamina(settings).up()
    error = caught.value
    assert error.migration_id == "002_unsafe"
    assert named in error.message and "refused" in error.message
    assert error.rolled_back  # nothing of it ran: not even its first statement
    assert "README" in (error.hint or "")
    for index in range(3):
        state = node_state(galera_cluster, index, galera_db)
        assert state["history"] == [("001_journal", "applied")]  # no dirty row left behind
        assert user_tables(state) == {"journal"}
    report = Lamina(settings).status()
    assert report.dirty == () and [m.id for m in report.pending] == ["002_unsafe"]


def test_a_certification_conflict_fails_the_step_clearly_and_leaves_nothing_dirty(
    galera_cluster: GaleraCluster, galera_db: str, make_migrations, tmp_path
) -> None:
    make_migrations(
        {
            "001_counters.sql": "-- migrate:up\nCREATE TABLE counters (id INTEGER PRIMARY KEY, "
            "n INTEGER NOT NULL);\nINSERT INTO counters VALUES (1, 0);\n",
            "002_bump.sql": "-- category: data\n-- migrate:up\n"
            "UPDATE counters SET n = n + 1 WHERE id = 1;\nDO SLEEP(5);\n",
        }
    )
    env = lamina_env(galera_cluster.url(0, galera_db), tmp_path / "migrations")
    env["LAMINA_LOCK_MODE"] = "table"
    code, out, err = run(["up", "--to", "1"], env, tmp_path)
    assert code == 0, out + err
    runner = start(["up"], env, tmp_path)
    try:
        # 002's transaction holds its row change on node 0 (not yet certified) and sleeps;
        # the same row changed on node 1 commits first, so node 0 aborts 002 to apply it.
        _until(lambda: _sleeping(galera_cluster, 0))
        galera_cluster.run_sql(1, "UPDATE counters SET n = 100 WHERE id = 1", galera_db)
        out, err = runner.communicate(timeout=120)
    finally:
        if runner.poll() is None:
            runner.kill()
            runner.wait(timeout=30)
    assert runner.returncode == ExecutionError.exit_code, out + err
    assert "002_bump" in err and "(MySQL error 1213)" in err
    assert "certification conflict" in err and "nothing of this transaction was kept" in err
    assert "Traceback" not in err
    for index in range(3):  # rolled back whole: not applied, not dirty, the other write kept
        assert _history(galera_cluster, index, galera_db) == [("001_counters", "applied")]
        assert galera_cluster.run_sql(index, "SELECT n FROM counters", galera_db) == [(100,)]
    code, out, err = run(["up"], env, tmp_path)  # simply run again
    assert code == 0, out + err
    assert galera_cluster.run_sql(2, "SELECT n FROM counters", galera_db) == [(101,)]


def _sleeping(cluster: GaleraCluster, index: int) -> bool:
    rows = cluster.run_sql(
        index,
        "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE INFO LIKE 'DO SLEEP(5)%'",
    )
    return bool(rows[0][0])


def test_a_node_killed_mid_run_fails_clearly_and_the_survivors_agree(
    galera_cluster: GaleraCluster, galera_db: str, make_migrations, tmp_path
) -> None:
    files = JOURNAL | {
        f"{i:03d}_table_{i}.sql": f"-- migrate:up\nCREATE TABLE t_{i} (id INTEGER PRIMARY KEY);"
        f"\nINSERT INTO journal (migration) VALUES ('{i:03d}');\n"
        for i in range(2, 11)
    }
    # The sixth stops in a statement after its CREATE TABLE, when the node goes away.
    files["006_table_6.sql"] = files["006_table_6.sql"].replace("INSERT", "DO SLEEP(30);\nINSERT")
    folder = make_migrations(files)
    # A short lock life (above the time limit, as lamina requires), so a survivor can take
    # the dead run's lock over soon.
    limits = {"LAMINA_LOCK_MODE": "table", "MAX_MIGRATION_TIME": "8000", "LAMINA_LOCK_TTL": "9"}
    env = lamina_env(galera_cluster.url(2, galera_db), folder, **limits)
    runner = start(["up"], env, tmp_path)
    try:
        _until(lambda: "t_6" in node_state(galera_cluster, 0, galera_db)["tables"])
        galera_cluster.kill(2)
        out, err = runner.communicate(timeout=120)
        assert runner.returncode == ExecutionError.exit_code, out + err
        assert "006_table_6" in err and "Lost connection" in err, err
        assert "Traceback" not in err
        survivors = [node_state(galera_cluster, index, galera_db) for index in (0, 1)]
        assert survivors[0] == survivors[1]  # the two nodes left agree on schema and history
        state = survivors[0]
        applied = [mid for mid, row_state in state["history"] if row_state == "applied"]
        assert applied == ["001_journal"] + [f"{i:03d}_table_{i}" for i in range(2, 6)]
        assert state["history"][-1] == ("006_table_6", "running")  # in doubt: says so
        # History matches schema: every applied migration's work is there, and the only
        # work beyond it is the statement of the migration marked running.
        assert user_tables(state) == {"journal"} | {f"t_{i}" for i in range(2, 7)}
        assert state["journal"] == [(f"{i:03d}",) for i in range(2, 6)]
        # A survivor's run takes the dead run's lock over once its row expired, and refuses
        # the database dirty: nothing more runs until a person decides.
        code, out, err = run(
            ["up"],
            lamina_env(
                galera_cluster.url(0, galera_db), folder, LAMINA_LOCK_TIMEOUT="60", **limits
            ),
            tmp_path,
        )
        assert code == DirtyDatabaseError.exit_code, out + err
        assert "dirty: 006_table_6" in err and "lamina repair 006_table_6" in err
        # The operator checks: 006's table is there, its journal row is not. Finish it by
        # hand, record it, and the rest applies.
        galera_cluster.run_sql(
            1, "INSERT INTO journal (migration) VALUES ('006')", database=galera_db
        )
        survivor_env = lamina_env(galera_cluster.url(1, galera_db), folder, **limits)
        code, out, err = run(["repair", "006_table_6", "--mark-applied"], survivor_env, tmp_path)
        assert code == 0, out + err
        code, out, err = run(["up"], survivor_env, tmp_path)
        assert code == 0, out + err
    finally:
        if runner.poll() is None:
            runner.kill()
            runner.wait(timeout=30)
        galera_cluster.rejoin(2)
    # The rejoined node has what the others have: everything, once each.
    rejoined = node_state(galera_cluster, 2, galera_db)
    assert rejoined == node_state(galera_cluster, 0, galera_db)
    assert rejoined["journal"] == [(f"{i:03d}",) for i in range(2, 11)]
    assert all(row_state == "applied" for _, row_state in rejoined["history"])


def test_a_node_without_quorum_is_refused_on_connect(
    galera_cluster: GaleraCluster, galera_db: str, make_migrations, tmp_path
) -> None:
    folder = make_migrations(JOURNAL)
    env = lamina_env(galera_cluster.url(0, galera_db), folder, LAMINA_LOCK_MODE="table")
    try:
        galera_cluster.kill(1, wait=False)
        galera_cluster.kill(2, wait=False)
        _until(lambda: galera_cluster.nodes[0].status().get("wsrep_ready") == "OFF")
        for command in (["status"], ["up"]):
            code, out, err = run(command, env, tmp_path)
            assert code == BackendUnavailableError.exit_code, out + err
            assert "not part of the cluster's primary component" in err
            assert "non-Primary" in err and "wsrep_cluster_status is Primary" in err
            assert "Traceback" not in err
    finally:
        galera_cluster.bootstrap_survivor(0)
        galera_cluster.rejoin(1)
        galera_cluster.rejoin(2)
    code, out, err = run(["up"], env, tmp_path)  # the cluster whole again: it runs
    assert code == 0, out + err


def _history(cluster: GaleraCluster, index: int, database: str) -> list[tuple[Any, ...]]:
    try:
        return cluster.run_sql(index, "SELECT id, state FROM lamina_migrations", database)
    except Exception:  # the tables are not created yet
        return []


def _until(condition: Any, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the condition never held"
        time.sleep(0.1)
