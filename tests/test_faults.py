"""Faults a real ``lamina`` process meets: signals, kills, dropped connections, a server that is
not there, read-only files, a full disk, a migrations folder that changes under a run.

Every test starts real processes against real databases; nothing is mocked. Each one checks
the same three things: what the user is told (exit code, one line, no traceback), what the
database holds afterwards (nothing half-applied, or a dirty row telling the truth), and that
the next run gets on with it.
"""

from __future__ import annotations

import ctypes
import json
import os
import random
import signal
import socket
import stat
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from support import processes
from support.processes import HANGING, start, wait_for

pytestmark = pytest.mark.slow

FIRST = "-- migrate:up\nCREATE TABLE first (id INTEGER);\n-- migrate:down\nDROP TABLE first;\n"


def lamina_env(db_url: str, folder: Path, **extra: str) -> dict[str, str]:
    """The shared environment, with backups off: these tests are about stopping, not saving."""
    return processes.lamina_env(db_url, folder, **{"BACKUP_ENABLED": "false", **extra})


def run(args: list[str], env: dict[str, str], cwd: Path, **kwargs: object) -> tuple[int, str, str]:
    proc = start(args, env, cwd, **kwargs)  # type: ignore[arg-type]
    out, err = proc.communicate(timeout=60)
    return proc.returncode, out, err


def one_error_line(err: str) -> str:
    """The single ``error:`` line of stderr; there must be exactly one, and no traceback."""
    assert "Traceback" not in err, err
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, err
    return lines[0]


def repair_dirty(raw_db, folder: Path, tmp_path: Path, db_url: str) -> list[str]:
    """What an operator does after a half-run MySQL migration: drop what it made, then tell
    lamina it was rolled back. Returns the ids repaired."""
    dirty = raw_db.query("SELECT id FROM lamina_migrations WHERE state <> 'applied' ORDER BY id")
    for (migration_id,) in dirty:
        table = TABLE_OF.get(str(migration_id), "half_done")
        if table in raw_db.tables():
            raw_db.execute(f"DROP TABLE {table}")
        code, _, err = run(
            ["repair", str(migration_id), "--mark-rolled-back"],
            lamina_env(db_url, folder),
            tmp_path,
        )
        assert code == 0, err
    return [str(row[0]) for row in dirty]


# -- SIGTERM and Ctrl-C -------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("stop", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)], ids=["sigterm", "sigint"]
)
def test_a_stop_signal_rolls_back_releases_the_lock_and_says_where_it_stopped(
    engine, stop, code, make_migrations, db_url, raw_db, tmp_path
):
    """SIGTERM (143) and Ctrl-C (130) mid-migration: the step is rolled back (MySQL: marked
    failed, since its CREATE TABLE committed), the ``fail`` row is written, the lock is given
    back by lamina itself (table mode: the lock row is deleted, which a killed process would
    leave behind), and the message names the signal and the step."""
    folder = make_migrations({"001_first.sql": FIRST, "002_slow.py": HANGING})
    marker = tmp_path / "in-transaction"
    # Table mode on the servers: only an orderly exit deletes the lock row, so an empty lock
    # table proves the `with` blocks ran (a session lock would go with any dead session).
    mode = {"LAMINA_LOCK_MODE": "table"} if engine in ("postgresql", "mysql") else {}
    env = lamina_env(db_url, folder, LAMINA_TEST_MARKER=str(marker), **mode)
    proc = start(["up"], env, tmp_path)
    wait_for(marker)
    proc.send_signal(stop)
    _, err = proc.communicate(timeout=30)

    assert proc.returncode == code, err
    line = one_error_line(err)
    name = stop.name
    assert f"interrupted by {name} during 002_slow (" in line
    assert "applied before it: 001_first" in line
    fail = raw_db.query(
        "SELECT detail FROM lamina_migration_log WHERE action = 'fail' AND migration_id = %s"
        if engine in ("postgresql", "mysql")
        else "SELECT detail FROM lamina_migration_log WHERE action = 'fail' AND migration_id = ?",
        ("002_slow",),
    )
    assert fail == [(f"up: interrupted by {name}",)]
    if engine in ("postgresql", "mysql"):
        assert raw_db.query("SELECT COUNT(*) FROM lamina_lock") == [(0,)]
    else:
        lock_file = Path(raw_db.path + ".lamina.lock")
        assert lock_file.read_bytes() == b""  # the owner record is cleared on release

    if engine == "mysql":
        assert "(after statement 2; what ran cannot be rolled back, so it is marked failed;" in line
        assert "lamina repair 002_slow" in err
        assert raw_db.query(
            "SELECT id, state, failed_statement, detail FROM lamina_migrations ORDER BY id"
        ) == [
            ("001_first", "applied", None, None),
            ("002_slow", "failed", 2, f"up interrupted by {name} after statement 2"),
        ]
        assert raw_db.query("SELECT COUNT(*) FROM half_done") == [(1,)]  # the truth: it ran
        blocked, _, err = run(["--lock-timeout", "0", "up"], lamina_env(db_url, folder), tmp_path)
        assert blocked == 3, err  # it got the lock at once; the dirty row is what stops it
        assert "locked" not in err
        assert repair_dirty(raw_db, folder, tmp_path, db_url) == ["002_slow"]
    else:
        assert f"interrupted by {name} during 002_slow (rolled back; " in line
        assert "half_done" not in raw_db.tables()
        assert raw_db.applied_ids() == ["001_first"]

    again, out, err = run(["--lock-timeout", "0", "up"], lamina_env(db_url, folder), tmp_path)
    assert again == 0, err
    assert "applied 002_slow" in out
    assert raw_db.applied_ids() == ["001_first", "002_slow"]


# Catches the interrupt and takes its time before re-raising it: a slow rollback, during
# which the test sends more signals.
SLOW_TO_STOP = """
    import os
    import time
    from pathlib import Path

    from lamina import Migration


    class SlowToStop(Migration):
        def up(self):
            self.execute_sql("CREATE TABLE half_done (id INTEGER)")
            if self.dry_run:
                return
            Path(os.environ["LAMINA_TEST_MARKER"]).write_text("sleeping")
            try:
                time.sleep(60)
            except KeyboardInterrupt:
                Path(os.environ["LAMINA_TEST_MARKER"] + ".stopping").write_text("stopping")
                time.sleep(1.5)
                raise

        def down(self):
            self.execute_sql("DROP TABLE half_done")
"""


def test_signals_during_the_rollback_are_ignored_until_it_finished(make_migrations, tmp_path):
    """A second (and third) signal while lamina stops would cut the rollback or the audit row
    short: they are ignored with a note, and the first signal decides the exit code."""
    db_url = f"sqlite:///{tmp_path / 'app.sqlite3'}"
    folder = make_migrations({"001_slow.py": SLOW_TO_STOP})
    marker = tmp_path / "marker"
    proc = start(["up"], lamina_env(db_url, folder, LAMINA_TEST_MARKER=str(marker)), tmp_path)
    wait_for(marker)
    proc.send_signal(signal.SIGTERM)
    wait_for(Path(f"{marker}.stopping"))
    proc.send_signal(signal.SIGINT)
    time.sleep(0.1)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)

    assert proc.returncode == 143, err
    assert "lamina: SIGINT ignored: already stopping after SIGTERM" in err
    assert "lamina: SIGTERM ignored: already stopping after SIGTERM" in err
    line = one_error_line(err)
    assert line == (
        "error: interrupted by SIGTERM during 001_slow (rolled back; applied before it: none)"
    )
    import sqlite3

    with sqlite3.connect(tmp_path / "app.sqlite3") as con:
        tables = {row[0] for row in con.execute("SELECT name FROM sqlite_master")}
        fails = con.execute("SELECT detail FROM lamina_migration_log WHERE action = 'fail'")
        assert fails.fetchall() == [("up: interrupted by SIGTERM",)]
    con.close()
    assert "half_done" not in tables


# Runs one long statement inside its transaction (about 1-2 s on the embedded engines), so
# the signal comes while the driver waits for the database rather than in Python code.
IN_FLIGHT = """
    import os
    from pathlib import Path

    from lamina import Migration

    LONG = {
        "postgres": "SELECT pg_sleep(30)",
        "mysql": "DO SLEEP(2)",
        "sqlite": "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
        "WHERE i < 8000000) SELECT count(*) FROM n",
        "duckdb": "SELECT sum(hash(a.range * b.range)) FROM range(100000000) a, range(3) b",
    }


    class InFlight(Migration):
        def up(self):
            self.execute_sql("CREATE TABLE half_done (id INTEGER)")
            if not self.dry_run:
                Path(os.environ["LAMINA_TEST_MARKER"]).write_text("")
            self.fetch_all(LONG[self.dialect])
            self.execute_sql("INSERT INTO half_done VALUES (1)")

        def down(self):
            self.execute_sql("DROP TABLE half_done")
"""


def test_a_stop_signal_during_a_long_statement_is_still_reported_as_the_signal(
    engine, make_migrations, db_url, raw_db, tmp_path
):
    """PostgreSQL cancels the statement at once; SQLite and DuckDB finish it first (DuckDB
    even turns the signal into its own "Query interrupted" error, which must not be reported
    as the migration's fault); MySQL's driver drops the connection, so the row stays
    ``running`` and the message says history could not be updated. Always exit 143."""
    folder = make_migrations({"001_first.sql": FIRST, "002_in_flight.py": IN_FLIGHT})
    marker = tmp_path / "in-statement"
    proc = start(["up"], lamina_env(db_url, folder, LAMINA_TEST_MARKER=str(marker)), tmp_path)
    wait_for(marker)
    time.sleep(0.3)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)

    assert proc.returncode == 143, err
    line = one_error_line(err)
    assert "interrupted by SIGTERM during 002_in_flight (" in line
    assert "applied before it: 001_first" in line
    if engine == "mysql":
        assert "history could not be brought up to date: its row stays dirty" in line
        assert raw_db.query("SELECT id, state FROM lamina_migrations ORDER BY id") == [
            ("001_first", "applied"),
            ("002_in_flight", "running"),
        ]
        # The server finishes the statement of the dropped session, then frees its lock.
        code, _, err = run(["--lock-timeout", "10", "up"], lamina_env(db_url, folder), tmp_path)
        assert code == 3, err
        assert repair_dirty(raw_db, folder, tmp_path, db_url) == ["002_in_flight"]
    else:
        assert "(rolled back; " in line
        assert "half_done" not in raw_db.tables()
        assert raw_db.applied_ids() == ["001_first"]
        fails = raw_db.query("SELECT detail FROM lamina_migration_log WHERE action = 'fail'")
        assert fails == [("up: interrupted by SIGTERM",)]


# What an application's own Ctrl-C looks like to lamina: a KeyboardInterrupt mid-migration.
CTRL_C = """
    from lamina import Migration


    class CtrlC(Migration):
        def up(self):
            self.execute_sql("CREATE TABLE half_done (id INTEGER)")
            if not self.dry_run:
                raise KeyboardInterrupt

        def down(self):
            self.execute_sql("DROP TABLE half_done")
"""


def test_the_library_leaves_signal_handlers_alone_and_says_where_it_stopped(
    make_migrations, tmp_path
):
    """Inside an application the signals are the application's: the API installs nothing,
    yet an interrupt still rolls the step back and carries where the run stopped. The CLI's
    handlers are gone once a command returns."""
    from click.testing import CliRunner

    from lamina import Lamina, load_settings
    from lamina.cli import cli
    from lamina.signals import StopPoint, describe, stop_point

    handled = (signal.SIGTERM, signal.SIGINT)
    before = {signum: signal.getsignal(signum) for signum in handled}
    folder = make_migrations({"001_first.sql": FIRST, "002_ctrl_c.py": CTRL_C})
    database = tmp_path / "app.sqlite3"
    settings = load_settings(
        {"database_url": f"sqlite:///{database}", "migrations_dir": str(folder)},
        environ={},
        cwd=tmp_path,
    )
    with pytest.raises(KeyboardInterrupt) as caught:
        Lamina(settings).up()
    assert {signum: signal.getsignal(signum) for signum in handled} == before
    assert stop_point(caught.value) == StopPoint("up", ("001_first",), "002_ctrl_c", "rolled back")
    assert describe(caught.value)[0] == (
        "interrupted by SIGINT during 002_ctrl_c (rolled back; applied before it: 001_first)"
    )
    import sqlite3

    with sqlite3.connect(database) as con:
        tables = {row[0] for row in con.execute("SELECT name FROM sqlite_master")}
        fails = con.execute("SELECT detail FROM lamina_migration_log WHERE action = 'fail'")
        assert fails.fetchall() == [("up: interrupted (Ctrl-C)",)]
    con.close()
    assert "half_done" not in tables and "first" in tables

    env = {"DATABASE_URL": f"sqlite:///{database}", "LAMINA_MIGRATIONS_DIR": str(folder)}
    result = CliRunner().invoke(cli, ["status"], env=env)
    assert result.exit_code == 0, result.output
    assert {signum: signal.getsignal(signum) for signum in handled} == before


def test_a_signal_just_after_the_commit_is_not_reported_as_a_rollback(
    engine, make_migrations, settings_for, raw_db, monkeypatch
):
    """The window no timing can aim at: the step's COMMIT went through and the signal lands
    before the runner hears back. History is read back, so the step counts as applied and no
    ``fail`` row contradicts it. (In-process: the interrupt is raised right after the step.)"""
    from lamina import Lamina
    from lamina.runner import Runner
    from lamina.signals import describe, stop_point

    make_migrations(
        {
            "001_first.sql": FIRST,
            "002_second.sql": FIRST.replace("first", "second"),
            "003_third.sql": FIRST.replace("first", "third"),
        }
    )
    original = Runner._execute

    def signal_after_commit(self, step, *args):
        original(self, step, *args)
        if step.migration_id == "002_second":
            raise KeyboardInterrupt

    monkeypatch.setattr(Runner, "_execute", signal_after_commit)
    with pytest.raises(KeyboardInterrupt) as caught:
        Lamina(settings_for()).up()
    point = stop_point(caught.value)
    assert point is not None
    assert (point.outcome, point.migration_id, point.done) == (
        "completed",
        "002_second",
        ("001_first", "002_second"),
    )
    assert describe(caught.value)[0] == (
        "interrupted by SIGINT as 002_second finished "
        "(it was applied; applied: 001_first, 002_second)"
    )
    assert raw_db.applied_ids() == ["001_first", "002_second"]
    assert raw_db.query("SELECT COUNT(*) FROM lamina_migration_log WHERE action = 'fail'") == [(0,)]
    assert {"first", "second"} <= raw_db.tables() and "third" not in raw_db.tables()


# -- SIGKILL at random points -------------------------------------------------------------------
PAUSING = """
    import os
    import time
    from pathlib import Path

    from lamina import Migration


    def pause(migration, what):
        progress = os.environ.get("LAMINA_TEST_PROGRESS")
        if progress and not migration.dry_run:
            with open(progress, "a") as f:
                f.write(what + "\\n")
            time.sleep(float(os.environ.get("LAMINA_TEST_PAUSE", "0.03")))


    class Step{n}(Migration):
        def up(self):
            pause(self, "up {n} started")
            self.execute_sql("CREATE TABLE t_{n} (id INTEGER PRIMARY KEY)")
            pause(self, "up {n} created")
            self.execute_sql("INSERT INTO t_{n} VALUES ({n})")
            pause(self, "up {n} inserted")

        def down(self):
            pause(self, "down {n} started")
            self.execute_sql("DROP TABLE t_{n}")
            pause(self, "down {n} dropped")
"""
TWENTY = {
    (f"{i:03d}_step_{i}.sql" if i % 2 else f"{i:03d}_step_{i}.py"): (
        f"-- migrate:up\nCREATE TABLE t_{i} (id INTEGER PRIMARY KEY);\n"
        f"INSERT INTO t_{i} VALUES ({i});\n-- migrate:down\nDROP TABLE t_{i};\n"
        if i % 2
        else textwrap.dedent(PAUSING).replace("{n}", str(i))
    )
    for i in range(1, 21)
}
TABLE_OF = {name.rsplit(".", 1)[0]: f"t_{int(name[:3])}" for name in TWENTY}


def check_invariant(engine: str, raw_db, context: str) -> dict[str, str]:
    """Every table a migration creates exists iff its migration has a history row; an
    ``applied`` row means the whole migration is there (its row inserted). On MySQL, whose DDL
    commits by itself, a ``running``/``failed`` row may stand next to the table or not.
    Returns migration id -> state."""
    tables = raw_db.tables()
    states = {str(i): str(s) for i, s in raw_db.query("SELECT id, state FROM lamina_migrations")}
    for migration_id, table in TABLE_OF.items():
        state = states.get(migration_id)
        if state in ("running", "failed"):
            assert engine == "mysql", f"{context}: {migration_id} is {state} on {engine}"
            continue
        assert (table in tables) == (state == "applied"), (
            f"{context}: {migration_id} is {state or 'not in history'}, table {table} "
            f"{'exists' if table in tables else 'is missing'}"
        )
        if state == "applied":
            n = int(migration_id[:3])
            assert raw_db.query(f"SELECT id FROM {table}") == [(n,)], context
    return states


def kill_at(proc: subprocess.Popen[str], progress: Path, event: str | None, delay: float) -> None:
    """SIGKILL ``proc`` ``delay`` seconds after ``event`` shows in the progress file (after
    its start when ``event`` is None), or let it finish if it ends first."""
    if event is not None:
        deadline = time.monotonic() + 30
        while proc.poll() is None and not (
            progress.exists() and event in progress.read_text().splitlines()
        ):
            assert time.monotonic() < deadline, f"{event} never happened"
            time.sleep(0.005)
    time.sleep(delay)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)


def test_sigkill_at_random_points_never_breaks_history(
    engine, make_migrations, db_url, raw_db, tmp_path
):
    """Killed anywhere in `up` or `rollback` (starting, inside a statement, between a statement
    and its history row, between migrations), history and schema still agree, and the next run
    (after `repair` where MySQL left a dirty row) finishes the job."""
    seed = int(os.environ.get("LAMINA_TEST_SEED") or time.time())
    rng = random.Random(seed)
    folder = make_migrations(TWENTY)
    progress = tmp_path / "progress"
    env = lamina_env(db_url, folder, LAMINA_TEST_PROGRESS=str(progress))
    plain = lamina_env(db_url, folder)
    repaired: list[str] = []

    def kill_runs(args: list[str], events: list[str | None]) -> None:
        for event in events:
            delay = rng.uniform(0.1, 0.3) if event is None else rng.uniform(0.0, 0.12)
            proc = start(args, env, tmp_path)
            kill_at(proc, progress, event, delay)
            context = f"seed {seed}, {args[0]} killed {delay:.3f} s after {event or 'start'}"
            # A kill while lamina creates its own tables leaves some of them (MySQL commits
            # each CREATE); the next run finishes the job. Until then there is no history.
            if "lamina_migrations" not in raw_db.tables():
                assert not set(TABLE_OF.values()) & raw_db.tables(), context
                continue
            check_invariant(engine, raw_db, context)
            if engine == "mysql":
                repaired.extend(repair_dirty(raw_db, folder, tmp_path, db_url))

    kill_runs(["up"], [None, "up 2 started", "up 6 created", "up 10 started", "up 14 created",
                       "up 18 inserted"])  # fmt: skip
    code, _, err = run(["up"], plain, tmp_path)
    assert code == 0, f"seed {seed}: {err}"
    states = check_invariant(engine, raw_db, f"seed {seed}, after the final up")
    assert states == dict.fromkeys(TABLE_OF, "applied")

    kill_runs(["rollback", "0", "--force", "--yes"],
              [None, "down 18 started", "down 12 dropped", "down 6 started"])  # fmt: skip
    code, _, err = run(["rollback", "0", "--force", "--yes"], plain, tmp_path)
    assert code == 0, f"seed {seed}: {err}"
    assert check_invariant(engine, raw_db, f"seed {seed}, after the final rollback") == {}
    assert not any(table in raw_db.tables() for table in TABLE_OF.values())
    if engine != "mysql":
        assert repaired == []


# -- the server connection drops ------------------------------------------------------------------
@pytest.mark.parametrize("engine", ["postgresql", "mysql"])
def test_a_connection_killed_by_the_server_fails_cleanly(
    engine, make_migrations, db_url, raw_db, tmp_path
):
    """The DBA kills lamina's session mid-migration: one line, exit 1, nothing half-applied
    (PostgreSQL) or the truth in history (MySQL), the lock gone with the session."""
    folder = make_migrations({"001_first.sql": FIRST, "002_slow.py": HANGING})
    marker = tmp_path / "in-transaction"
    env = lamina_env(db_url, folder, LAMINA_TEST_MARKER=str(marker), LAMINA_TEST_SLEEP="1")
    proc = start(["up"], env, tmp_path)
    wait_for(marker)
    ((session,),) = raw_db.query("SELECT session_id FROM lamina_lock")
    if engine == "postgresql":
        rows = raw_db.query(
            "SELECT pid FROM pg_stat_activity WHERE application_name = 'lamina' "
            "AND state = 'idle in transaction' AND pid = %s",
            (session,),
        )
        assert rows == [(session,)]
        raw_db.query("SELECT pg_terminate_backend(%s)", (session,))
    else:
        address = raw_db.address
        rows = raw_db.query(
            "SELECT id FROM information_schema.processlist WHERE db = %s AND id = %s",
            (address.database, session),
        )
        assert rows == [(session,)]
        raw_db.execute(f"KILL {int(session)}")
    _, err = proc.communicate(timeout=60)

    assert proc.returncode == 1, err
    line = one_error_line(err)
    assert "002_slow" in line
    if engine == "postgresql":
        assert "terminat" in line or "closed" in line, line
        assert "half_done" not in raw_db.tables()
        assert raw_db.applied_ids() == ["001_first"]
    else:
        assert "lost connection" in line.lower() or "gone away" in line.lower(), line
        assert raw_db.query("SELECT id, state FROM lamina_migrations ORDER BY id") == [
            ("001_first", "applied"),
            ("002_slow", "running"),  # nobody could write more: running is the truth
        ]
    again, _, err = run(["--lock-timeout", "0", "up"], lamina_env(db_url, folder), tmp_path)
    assert "locked" not in err  # the killed session took its lock with it
    if engine == "mysql":
        assert again == 3, err
        assert repair_dirty(raw_db, folder, tmp_path, db_url) == ["002_slow"]
        again, _, err = run(["up"], lamina_env(db_url, folder), tmp_path)
    assert again == 0, err
    assert raw_db.applied_ids() == ["001_first", "002_slow"]


@pytest.mark.parametrize("engine", ["postgresql", "mysql"])
def test_a_server_that_is_not_there_is_named_in_one_line(engine, tmp_path):
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    scheme, user = ("postgresql", "postgres") if engine == "postgresql" else ("mysql", "root")
    url = f"{scheme}://{user}@127.0.0.1:{port}/lamina_absent"
    folder = tmp_path / "migrations"
    folder.mkdir()
    (folder / "001_first.sql").write_text(FIRST)
    code, _, err = run(["up"], lamina_env(url, folder), tmp_path)
    assert code == 1, err
    line = one_error_line(err)
    assert f"127.0.0.1:{port}" in line
    assert "lamina_absent" in line
    assert "connection refused" in line


# -- read-only files ----------------------------------------------------------------------------
_PR_CAPBSET_DROP = 24
#: CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER: what lets root ignore file modes.
_FILE_MODE_CAPABILITIES = (1, 2, 3)


def _drop_file_capabilities() -> None:
    """In the child, before exec: take away what lets root ignore file modes, so chmod means
    for root what it means for anyone else."""
    libc = ctypes.CDLL(None, use_errno=True)
    for capability in _FILE_MODE_CAPABILITIES:
        if libc.prctl(_PR_CAPBSET_DROP, capability, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


@pytest.fixture
def as_plain_user(tmp_path: Path) -> Callable[[], None] | None:
    """How to start a child for which file modes apply: as it is, unless this runs as root,
    which ignores them (CAP_DAC_OVERRIDE). Root's children then run without those
    capabilities; where they cannot be dropped, the test is skipped saying so."""
    if os.geteuid() != 0:
        return None
    probe = tmp_path / "probe"
    probe.write_text("")
    probe.chmod(0o444)
    try:
        done = subprocess.run(
            [sys.executable, "-c", f"open({str(probe)!r}, 'a')"],
            preexec_fn=_drop_file_capabilities,
            capture_output=True,
            check=False,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        pytest.skip(f"running as root, and CAP_DAC_OVERRIDE cannot be dropped: {exc}")
    if b"PermissionError" not in done.stderr:
        pytest.skip("running as root, and root still writes a 0444 file without its "
                    "file capabilities: chmod cannot make anything read-only here")  # fmt: skip
    return _drop_file_capabilities


@pytest.mark.parametrize("engine", ["sqlite", "duckdb"])
@pytest.mark.parametrize("folder_writable", [False, True], ids=["ro-folder", "rw-folder"])
def test_a_read_only_database_file_refuses_up_and_still_shows_status(
    engine, folder_writable, as_plain_user, make_migrations, tmp_path
):
    """chmod 0444 on the file (and, first, 0555 on its folder, so the lock file cannot be
    created either): `up` exits 1 with one line naming the problem; `status` still reads."""
    data = tmp_path / "data"
    data.mkdir()
    suffix = {"sqlite": "sqlite3", "duckdb": "duckdb"}[engine]
    database = data / f"app.{suffix}"
    db_url = f"{engine}:///{database}"
    folder = make_migrations({"001_first.sql": FIRST})
    code, _, err = run(["up"], lamina_env(db_url, folder), tmp_path)
    assert code == 0, err
    make_migrations({"002_second.sql": FIRST.replace("first", "second")})
    Path(f"{database}.lamina.lock").unlink()
    database.chmod(0o444)
    data.chmod(0o777 if folder_writable else 0o555)
    try:
        env = lamina_env(db_url, folder)
        code, _, err = run(["up"], env, tmp_path, preexec_fn=as_plain_user)
        assert code == 1, err
        line = one_error_line(err)
        if folder_writable:
            assert "read" in line.lower() or "permission denied" in line.lower(), line
        else:
            assert f"cannot create the migration lock file {database}.lamina.lock" in line
            assert "Permission denied" in line
        code, out, err = run(["status"], env, tmp_path, preexec_fn=as_plain_user)
        assert code == 0, err
        assert "001_first" in out and "002_second" in out
        assert "Traceback" not in err
    finally:
        data.chmod(0o755)
        database.chmod(0o644)
    assert database.stat().st_mode & stat.S_IWUSR


# -- a full disk --------------------------------------------------------------------------------
BIG_INSERT = {
    "sqlite": "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20000) "
    "INSERT INTO big (id, payload) SELECT i, hex(randomblob(100)) FROM n;",
    "duckdb": "INSERT INTO big SELECT i, md5(random()::VARCHAR) || md5(random()::VARCHAR) "
    "|| md5(random()::VARCHAR) FROM range(200000) t(i);",
}


@pytest.mark.parametrize("engine", ["sqlite", "duckdb"])
def test_a_full_disk_fails_the_migration_cleanly(engine, make_migrations, raw_database, tmp_path):
    """`ulimit -f` stands in for a full disk (SIGXFSZ ignored, so writes fail with EFBIG as
    they would with ENOSPC): exit 1, one line naming the migration and the write error, the
    failed migration not recorded, the earlier one intact, and a run with room succeeds."""
    suffix = {"sqlite": "sqlite3", "duckdb": "duckdb"}[engine]
    database = tmp_path / f"app.{suffix}"
    db_url = f"{engine}:///{database}"
    folder = make_migrations({"001_first.sql": FIRST})
    code, _, err = run(["up"], lamina_env(db_url, folder), tmp_path)
    assert code == 0, err
    make_migrations(
        {
            "002_big.sql": "-- migrate:up\n"
            "CREATE TABLE big (id INTEGER PRIMARY KEY, payload VARCHAR(300));\n"
            f"{BIG_INSERT[engine]}\n-- migrate:down\nDROP TABLE big;\n"
        }
    )
    limit_kib = database.stat().st_size // 1024 + 512
    script = f"trap '' XFSZ; ulimit -f {limit_kib}; exec \"$@\""
    prefix = ["bash", "-c", script, "bash", sys.executable, "-m", "lamina"]
    code, _, err = run(["up"], lamina_env(db_url, folder), tmp_path, prefix=prefix)

    assert code == 1, err
    line = one_error_line(err)
    assert "migration 002_big failed" in line
    # SQLite reports EFBIG as an I/O error (ENOSPC would be "database or disk is full").
    assert {"sqlite": "disk I/O error", "duckdb": "File too large"}[engine] in line, line
    raw = raw_database(db_url)
    assert raw.applied_ids() == ["001_first"]
    assert raw.tables() & {"first", "big"} == {"first"}

    code, out, err = run(["status", "--json"], lamina_env(db_url, folder), tmp_path)
    assert code == 0, err
    status = json.loads(out)
    assert (status["applied"], status["pending"]) == (1, 1)
    code, out, err = run(["up"], lamina_env(db_url, folder), tmp_path)
    assert code == 0, err
    assert "applied 002_big" in out


# -- the folder changes under a run -------------------------------------------------------------
def test_files_added_or_edited_during_a_run_wait_for_the_next_one(make_migrations, tmp_path):
    """A run applies the plan it made, from the files as it read them; a file added meanwhile
    waits for the next run, and one edited meanwhile is reported as modified."""
    db_url = f"sqlite:///{tmp_path / 'app.sqlite3'}"
    folder = make_migrations(
        {
            "001_slow.py": HANGING,
            "002_planned.sql": "-- migrate:up\nCREATE TABLE planned (id INTEGER);\n",
        }
    )
    marker = tmp_path / "running"
    env = lamina_env(db_url, folder, LAMINA_TEST_MARKER=str(marker), LAMINA_TEST_SLEEP="1")
    proc = start(["up"], env, tmp_path)
    wait_for(marker)
    make_migrations(
        {
            "003_added.sql": "-- migrate:up\nCREATE TABLE added (id INTEGER);\n",
            "002_planned.sql": "-- migrate:up\nCREATE TABLE edited (id INTEGER);\n",
        }
    )
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "applied 001_slow" in out and "applied 002_planned" in out
    assert "003_added" not in out

    import sqlite3

    def tables() -> set[str]:
        with sqlite3.connect(tmp_path / "app.sqlite3") as con:
            found = {row[0] for row in con.execute("SELECT name FROM sqlite_master")}
        con.close()
        return found

    assert {"half_done", "planned"} <= tables()
    assert not {"edited", "added"} & tables()
    code, _, err = run(["up"], lamina_env(db_url, folder), tmp_path)
    assert code == 3, err  # 002 ran as planned, then its file changed: a checksum mismatch
    assert "002_planned" in one_error_line(err)
    (folder / "002_planned.sql").write_text("-- migrate:up\nCREATE TABLE planned (id INTEGER);\n")
    code, out, err = run(["up"], lamina_env(db_url, folder), tmp_path)
    assert code == 0, err
    assert "applied 003_added" in out
    assert "added" in tables()
