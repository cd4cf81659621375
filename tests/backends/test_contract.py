"""One contract, every engine: connection, transactions, history and locking.

Each test taking ``engine``/``db_url`` (or a fixture built on them) runs on DuckDB and SQLite
files and on the PostgreSQL and MariaDB test servers; tests about database *files* run on the
file engines only. Lock tests use real second processes.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lamina.engines import ENGINES, REGISTRY, dialect_for, open_backend, spec_for
from lamina.engines.base import Backend
from lamina.engines.filelock import LOCK_SUFFIX, hold, read_holder
from lamina.errors import (
    BackendError,
    BackendUnavailableError,
    HistoryError,
    LockTimeoutError,
    StatementError,
)
from lamina.history import History
from lamina.models import AppliedMigration, AuditAction, LockOwner
from lamina.urls import FILE_SCHEMES, SERVER_SCHEMES, DatabaseURL, parse_url

Spawn = Callable[[str, str], subprocess.Popen[str]]  # the spawn_holder fixture
RunPython = Callable[..., subprocess.CompletedProcess[str]]  # the python_child fixture
Connect = Callable[[str], Backend]  # the connected fixture

pytestmark = pytest.mark.filterwarnings("error::pytest.PytestUnraisableExceptionWarning")


def applied_row(migration_id: str, version: int, applied_at: str) -> AppliedMigration:
    return AppliedMigration(
        id=migration_id,
        version=version,
        name=f"migration {version}",
        category="schema",
        checksum="sha256:" + "0" * 64,
        applied_at=applied_at,
        execution_ms=12,
        applied_by="tester",
        host="test-host",
    )


#: Tests about database files (creation, sidecar lock file, :memory:) run on these engines.
file_engines = pytest.mark.parametrize("engine", ["duckdb", "sqlite"])


def file_of(url: DatabaseURL) -> Path:
    assert url.path is not None
    return Path(url.path)


# -- connection ---------------------------------------------------------------------------------
@file_engines
def test_connect_creates_the_file(url: DatabaseURL) -> None:
    backend = open_backend(url)
    assert not backend.exists()
    backend.connect()
    backend.connect()  # idempotent
    try:
        assert backend.exists()
        assert file_of(url).is_file()
    finally:
        backend.close()
        backend.close()  # safe twice


@file_engines
def test_read_only_connect_reads_an_existing_file(url: DatabaseURL) -> None:
    with open_backend(url) as writer:
        writer.connect()
        writer.execute("CREATE TABLE t (id INTEGER)")
        writer.execute("INSERT INTO t VALUES (1)")
    with open_backend(url, read_only=True) as reader:
        reader.connect()
        assert reader.query("SELECT id FROM t") == [(1,)]
        with pytest.raises(StatementError) as refused:
            reader.execute("INSERT INTO t VALUES (2)")
        assert isinstance(refused.value.original, reader.driver_errors)


@file_engines
def test_read_only_connect_never_creates_the_file(url: DatabaseURL) -> None:
    with (
        open_backend(url, read_only=True) as reader,
        pytest.raises(BackendUnavailableError, match="does not exist"),
    ):
        reader.connect()
    assert not file_of(url).exists()


@file_engines
def test_a_file_that_is_not_a_database_is_unavailable(url: DatabaseURL) -> None:
    file_of(url).write_text("just some text, certainly not a database header\n" * 200)
    for read_only in (False, True):
        with open_backend(url, read_only=read_only) as backend:
            with pytest.raises(BackendUnavailableError) as caught:
                backend.connect()
            assert str(file_of(url)) in caught.value.message
            assert "not a" in caught.value.message
            assert "\n" not in caught.value.message


@file_engines
def test_a_missing_folder_is_unavailable(engine: str, tmp_path: Path) -> None:
    url = parse_url(f"{engine}:///{tmp_path / 'no' / 'such' / 'folder' / 'db.file'}")
    with open_backend(url) as backend, pytest.raises(BackendUnavailableError) as caught:
        backend.connect()
    assert str(tmp_path / "no" / "such" / "folder") in caught.value.message
    owner = LockOwner(host="h", pid=1, started_at="now")
    with (
        pytest.raises(BackendUnavailableError, match="does not exist"),
        open_backend(url).lock(owner, 0),
    ):
        pass


@file_engines
def test_in_memory_databases_work_without_a_lock(engine: str, owner: LockOwner) -> None:
    with open_backend(parse_url(f"{engine}:///:memory:")) as backend:
        assert backend.exists()
        backend.connect()
        with backend.lock(owner, 0), backend.lock(owner, 0):  # nothing to contend for
            history = History(backend, user="u", host="h")
            history.ensure()
            assert history.applied() == []
        assert backend.lock_holder() is None


# -- statements and transactions ----------------------------------------------------------------
def test_query_returns_lists_of_tuples(backend: Backend) -> None:
    backend.execute("CREATE TABLE t (id INTEGER, label VARCHAR(10))")
    backend.execute(backend.sql("INSERT INTO t VALUES (?, ?)"), (1, "one"))
    backend.execute(backend.sql("INSERT INTO t VALUES (?, ?)"), [2, None])
    assert backend.query("SELECT id, label FROM t ORDER BY id") == [(1, "one"), (2, None)]
    assert backend.query(backend.sql("SELECT id FROM t WHERE id > ?"), (5,)) == []
    assert all(type(row) is tuple for row in backend.query("SELECT * FROM t"))


def test_table_exists(backend: Backend) -> None:
    assert not backend.table_exists("widgets")
    backend.execute("CREATE TABLE widgets (id INTEGER)")
    assert backend.table_exists("widgets")
    assert not backend.table_exists("widget")


def test_transaction_commits(backend: Backend, url: DatabaseURL) -> None:
    with backend.transaction():
        backend.execute("CREATE TABLE t (id INTEGER)")
        backend.execute("INSERT INTO t VALUES (1)")
    backend.close()
    with open_backend(url, read_only=True) as again:
        again.connect()
        assert again.query("SELECT id FROM t") == [(1,)]


@pytest.mark.parametrize("interruption", [RuntimeError("boom"), KeyboardInterrupt()])
def test_transaction_rolls_back_ddl_and_dml(backend: Backend, interruption: BaseException) -> None:
    backend.execute("CREATE TABLE kept (id INTEGER)")
    backend.execute("INSERT INTO kept VALUES (1)")
    with pytest.raises(type(interruption)) as caught, backend.transaction():
        backend.execute("INSERT INTO kept VALUES (2)")
        backend.execute("UPDATE kept SET id = 10 WHERE id = 1")
        if backend.capabilities.transactional_ddl:
            # DuckDB refuses CREATE INDEX on a table with uncommitted changes: index first.
            backend.execute("CREATE TABLE dropped (id INTEGER)")
            backend.execute("CREATE INDEX dropped_id ON dropped (id)")
        raise interruption
    assert caught.value is interruption
    assert backend.query("SELECT id FROM kept") == [(1,)]
    assert not backend.table_exists("dropped")
    with backend.transaction():  # the connection is usable again, and the DDL was undone
        backend.execute("CREATE TABLE dropped (id INTEGER)")
        backend.execute("CREATE INDEX dropped_id ON dropped (id)")
    assert backend.table_exists("dropped")


def test_ddl_commits_implicitly_where_the_engine_says_so(backend: Backend) -> None:
    """The capability the runner trusts to decide what is atomic is the engine's truth."""
    with pytest.raises(RuntimeError), backend.transaction():
        backend.execute("CREATE TABLE t (id INTEGER)")
        raise RuntimeError("after the DDL")
    assert backend.table_exists("t") is not backend.capabilities.transactional_ddl


def test_a_failed_statement_is_a_statement_error_described_on_one_line(backend: Backend) -> None:
    """Driver errors are mapped where they leave the backend: one lamina type, carrying the
    statement, the engine's description and the driver's exception (also the cause)."""
    backend.execute("CREATE TABLE t (id INTEGER PRIMARY KEY)")
    for bad in ("SELEC 1", "SELECT * FROM nowhere WHERE x = 1", "INSERT INTO t VALUES (1), (1)"):
        for run in (backend.execute, backend.query):
            with pytest.raises(StatementError) as caught:
                run(bad)
            error = caught.value
            assert isinstance(error, BackendError)
            assert error.sql == bad
            assert isinstance(error.original, backend.driver_errors)
            assert error.__cause__ is error.original
            described = error.detail
            assert described == backend.describe_error(error.original) == error.message
            assert "\n" not in described
            assert "LINE 1" not in described
            assert "^" not in described


# -- history ------------------------------------------------------------------------------------
def test_history_reads_nothing_before_ensure(history: History, backend: Backend) -> None:
    assert not history.exists()
    assert history.applied() == []
    assert history.events() == []
    assert not backend.table_exists("lamina_migrations")  # reading creates nothing


def test_history_ensure_creates_the_tables_once(history: History, backend: Backend) -> None:
    history.ensure()
    history.ensure()
    for table in ("lamina_migrations", "lamina_migration_log", "lamina_meta"):
        assert backend.table_exists(table)
    assert backend.query("SELECT name, value FROM lamina_meta") == [
        ("layout_version", str(History.LAYOUT_VERSION))
    ]
    History(backend, user="other", host="elsewhere").ensure()  # a fresh instance checks again
    assert backend.query("SELECT COUNT(*) FROM lamina_meta") == [(1,)]
    assert history.exists()


def test_history_records_and_orders_applied_migrations(history: History, backend: Backend) -> None:
    history.ensure()
    rows = [
        applied_row("3_c", 3, "2026-01-02T00:00:00.000000Z"),
        applied_row("2_b", 2, "2026-01-01T00:00:00.000000Z"),
        applied_row("1_a", 1, "2026-01-02T00:00:00.000000Z"),  # same time: version decides
    ]
    with backend.transaction():
        for row in rows:
            history.record_apply(row)
    assert history.applied() == [rows[1], rows[2], rows[0]]

    with backend.transaction():
        history.record_rollback("3_c")
    assert [row.id for row in History(backend, user="u", host="h").applied()] == ["2_b", "1_a"]


def test_history_rows_roll_back_with_the_migration(history: History, backend: Backend) -> None:
    history.ensure()
    with pytest.raises(RuntimeError), backend.transaction():
        backend.execute("INSERT INTO lamina_meta (name, value) VALUES ('scratch', 'x')")
        history.record_apply(applied_row("1_a", 1, History.now()))
        history.audit(AuditAction.APPLY, migration_id="1_a", version=1)
        raise RuntimeError("the migration failed after all")
    assert history.applied() == []
    assert history.events() == []
    assert backend.query("SELECT name FROM lamina_meta") == [("layout_version",)]


def test_history_audit_log_is_newest_first_and_limited(history: History) -> None:
    history.ensure()
    history.audit(AuditAction.APPLY, migration_id="1_a", version=1, duration_ms=5)
    history.audit(AuditAction.FAIL, migration_id="2_b", version=2, detail="up: no such table")
    history.audit(AuditAction.FORCE)
    history.audit(AuditAction.ROLLBACK, migration_id="1_a", version=1, duration_ms=0)

    events = history.events()
    assert [event.action for event in events] == ["rollback", "force", "fail", "apply"]
    assert [event.seq for event in events] == sorted((event.seq for event in events), reverse=True)
    assert [event.action for event in history.events(limit=2)] == ["rollback", "force"]
    assert history.events(limit=0) == []

    fail, force = events[2], events[1]
    assert (fail.migration_id, fail.version, fail.detail) == ("2_b", 2, "up: no such table")
    assert (fail.applied_by, fail.host, fail.duration_ms) == ("tester", "test-host", None)
    assert (force.migration_id, force.version, force.detail) == (None, None, None)
    assert events[0].duration_ms == 0
    with pytest.raises(ValueError):
        history.events(limit=-1)


def test_history_now_is_fixed_width_utc() -> None:
    first = History.now()
    time.sleep(0.001)
    second = History.now()
    assert len(first) == len("2026-11-25T13:45:01.123456Z")
    assert first.endswith("Z")
    assert first < second


def test_history_written_by_a_newer_lamina_is_refused(history: History, backend: Backend) -> None:
    history.ensure()
    backend.execute("UPDATE lamina_meta SET value = '4' WHERE name = 'layout_version'")
    for call in (History.ensure, History.applied, History.events):
        with pytest.raises(HistoryError, match=r"newer lamina \(layout 4\); upgrade lamina"):
            call(History(backend, user="u", host="h"))


@pytest.mark.parametrize(
    ("damage", "expected"),
    [
        ("UPDATE lamina_meta SET value = 'one' WHERE name = 'layout_version'", "unreadable"),
        ("DELETE FROM lamina_meta", "no layout_version"),
        ("DROP TABLE lamina_meta", "incomplete: lamina_meta missing"),
    ],
)
def test_damaged_layout_metadata_is_diagnosed(
    history: History, backend: Backend, damage: str, expected: str
) -> None:
    history.ensure()
    backend.execute(damage)
    with pytest.raises(HistoryError, match=expected) as caught:
        History(backend, user="u", host="h").ensure()
    assert caught.value.hint


def test_a_dropped_history_column_is_a_history_error(history: History, backend: Backend) -> None:
    history.ensure()
    with backend.transaction():
        history.record_apply(applied_row("1_a", 1, History.now()))
    backend.execute("ALTER TABLE lamina_migrations DROP COLUMN host")

    for call in (History.ensure, History.applied):
        with pytest.raises(
            HistoryError, match=r"lamina_migrations .* has no column host"
        ) as caught:
            call(History(backend, user="u", host="h"))
        assert caught.value.hint
        assert "CREATE TABLE lamina_migrations" in caught.value.hint

    # An instance that verified the tables earlier still reports a HistoryError, not raw SQL.
    with pytest.raises(HistoryError) as caught, backend.transaction():
        history.record_apply(applied_row("2_b", 2, History.now()))
    assert isinstance(caught.value.__cause__, backend.driver_errors)
    with pytest.raises(HistoryError):
        history.applied()


def test_ensure_refuses_a_history_without_its_main_table(
    history: History, backend: Backend
) -> None:
    history.ensure()
    with backend.transaction():  # a history with something in it
        history.audit(AuditAction.APPLY, migration_id="1_a", version=1)
    backend.execute("DROP TABLE lamina_migrations")
    with pytest.raises(HistoryError, match="incomplete: lamina_migrations missing"):
        History(backend, user="u", host="h").ensure()


def test_a_creation_cut_short_is_finished_where_ddl_commits_by_itself(
    history: History, backend: Backend
) -> None:
    """On MySQL each CREATE commits: a run killed between them leaves the log and meta
    tables, empty. Nothing was ever recorded, so the next run finishes the job; engines with
    transactional DDL never get there (and call a lone log table damage)."""
    history.ensure()
    backend.execute("DROP TABLE lamina_migrations")
    again = History(backend, user="u", host="h")
    if backend.capabilities.transactional_ddl:
        with pytest.raises(HistoryError, match="incomplete"):
            again.ensure()
    else:
        again.ensure()
        assert again.applied() == []
        assert backend.query("SELECT value FROM lamina_meta") == [(str(History.LAYOUT_VERSION),)]


# -- the migration lock -------------------------------------------------------------------------
CONTEND = """
import json, sys, time
from lamina.engines import open_backend
from lamina.errors import LockTimeoutError
from lamina.models import LockOwner
from lamina.urls import parse_url

backend = open_backend(parse_url(sys.argv[1]))
me = LockOwner(host="child", pid=0, started_at="now")
started = time.monotonic()
try:
    with backend.lock(me, float(sys.argv[2])):
        result = {"acquired": True}
except LockTimeoutError as exc:
    holder = exc.holder
    result = {"acquired": False, "message": exc.message,
              "holder": None if holder is None else [holder.pid, holder.host, holder.command]}
result["elapsed"] = time.monotonic() - started
print(json.dumps(result))
"""


def contend(run_python: RunPython, url: str, timeout_s: float) -> dict[str, object]:
    done = run_python(CONTEND, url, str(timeout_s))
    assert done.returncode == 0, done.stderr
    result: dict[str, object] = json.loads(done.stdout)
    return result


def test_lock_times_out_in_another_process_naming_the_holder(
    db_url: str, backend: Backend, owner: LockOwner, python_child: RunPython
) -> None:
    with backend.lock(owner, 0):
        result = contend(python_child, db_url, 0.3)
    assert result["acquired"] is False
    assert result["holder"] == [os.getpid(), socket.gethostname(), "pytest"]
    assert f"pid {os.getpid()} on {socket.gethostname()}" in str(result["message"])
    assert float(str(result["elapsed"])) >= 0.3
    assert contend(python_child, db_url, 0)["acquired"] is True  # released on leaving the block


def test_lock_holder_reports_the_holder_until_release(
    db_url: str, backend: Backend, spawn_holder: Spawn
) -> None:
    assert backend.lock_holder() is None
    child = spawn_holder(db_url, "lock")
    holder = backend.lock_holder()
    assert holder is not None
    assert (holder.pid, holder.command) == (child.pid, "lamina up")
    assert child.stdin is not None
    child.stdin.close()  # the child leaves its `with` normally
    child.wait(30)
    assert backend.lock_holder() is None


def test_lock_is_released_when_its_holder_is_killed(
    db_url: str, backend: Backend, owner: LockOwner, spawn_holder: Spawn
) -> None:
    child = spawn_holder(db_url, "lock")
    with pytest.raises(LockTimeoutError) as caught, backend.lock(owner, 0.1):
        pass
    assert caught.value.holder is not None
    assert caught.value.holder.pid == child.pid
    child.send_signal(signal.SIGKILL)
    child.wait(30)
    assert backend.lock_holder() is None  # the stale record does not count
    with backend.lock(owner, 0):
        assert backend.lock_holder() == owner


@file_engines
def test_lock_file_is_private_and_survives_release(
    url: DatabaseURL, backend: Backend, owner: LockOwner
) -> None:
    sidecar = Path(str(file_of(url)) + LOCK_SUFFIX)
    with backend.lock(owner, 0):
        assert stat.S_IMODE(sidecar.stat().st_mode) == 0o600
        assert json.loads(sidecar.read_text())["pid"] == os.getpid()
    assert sidecar.exists()
    assert sidecar.read_text() == ""


def test_lock_is_not_reentrant_and_timeout_zero_tries_once(
    backend: Backend, owner: LockOwner
) -> None:
    with backend.lock(owner, 0):
        started = time.monotonic()
        with pytest.raises(LockTimeoutError, match="gave up after 0 s"), backend.lock(owner, 0):
            pass
        assert time.monotonic() - started < 0.5


@file_engines
def test_an_uncreatable_lock_file_is_a_backend_error(
    url: DatabaseURL, backend: Backend, owner: LockOwner
) -> None:
    sidecar = Path(str(file_of(url)) + LOCK_SUFFIX)
    sidecar.mkdir()  # stands in for any path that cannot be opened for writing
    with pytest.raises(BackendError) as caught, backend.lock(owner, 0):
        pass
    assert str(sidecar) in caught.value.message
    assert caught.value.hint and "writable" in caught.value.hint


@settings(
    max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    record=st.one_of(
        st.binary(max_size=300),
        st.dictionaries(
            st.sampled_from(["host", "pid", "started_at", "command", "container"]),
            st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=20)),
        ).map(lambda record: json.dumps(record).encode()),
    )
)
def test_read_holder_tolerates_any_lock_record(tmp_path: Path, record: bytes) -> None:
    path = str(tmp_path / "db.lamina.lock")
    owner = LockOwner(host="h", pid=7, started_at="now")
    with hold(path, owner, 0, target="t"):
        Path(path).write_bytes(record)  # whatever a foreign or broken writer left
        holder = read_holder(path)  # flock is per open file: this fd contends like a process
        assert holder is not None
        assert holder.pid >= 0
        assert isinstance(holder.host, str) and isinstance(holder.started_at, str)
    assert read_holder(path) is None


# -- engine specifics ---------------------------------------------------------------------------
def test_duckdb_commit_refuses_an_aborted_transaction(connected: Connect, duckdb_url: str) -> None:
    """DuckDB aborts a transaction on any error, and its COMMIT then silently rolls back."""
    backend = connected(duckdb_url)
    backend.execute("CREATE TABLE t (id INTEGER)")
    with pytest.raises(StatementError) as caught, backend.transaction():
        backend.execute("INSERT INTO t VALUES (1)")
        with contextlib.suppress(Exception):  # a Python migration swallowing the failure
            backend.execute("SELECT * FROM nowhere")
    assert caught.value.sql == "COMMIT"
    assert "earlier statement" in caught.value.detail
    assert backend.query("SELECT COUNT(*) FROM t") == [(0,)]


def test_sqlite_execute_runs_exactly_one_statement(connected: Connect, sqlite_url: str) -> None:
    backend = connected(sqlite_url)
    with pytest.raises(StatementError) as caught:
        backend.execute("CREATE TABLE a (id INTEGER); CREATE TABLE b (id INTEGER)")
    assert isinstance(caught.value.original, backend.driver_errors)
    assert not backend.table_exists("b")


def test_sqlite_enforces_foreign_keys(connected: Connect, sqlite_url: str) -> None:
    backend = connected(sqlite_url)
    backend.execute("CREATE TABLE parent (id INTEGER PRIMARY KEY)")
    backend.execute("CREATE TABLE child (parent_id INTEGER REFERENCES parent (id))")
    with pytest.raises(StatementError, match="FOREIGN KEY") as caught:
        backend.execute("INSERT INTO child VALUES (42)")
    assert isinstance(caught.value.original, backend.driver_errors)


def test_duckdb_waits_for_the_file_then_names_its_holder(
    duckdb_url: str, spawn_holder: Spawn
) -> None:
    db_url = duckdb_url
    child = spawn_holder(db_url, "connect")
    for read_only in (False, True):
        backend = open_backend(parse_url(db_url), read_only=read_only)
        started = time.monotonic()
        with pytest.raises(LockTimeoutError) as caught:
            backend.connect(0.4)
        assert time.monotonic() - started >= 0.4
        holder = caught.value.holder
        assert holder is not None
        assert holder.pid == child.pid
        assert holder.host == socket.gethostname()
        assert os.path.basename(sys.executable).split(".")[0] in holder.command
        assert f"pid {child.pid}" in caught.value.message
        if sys.platform == "linux":  # the start time comes from /proc
            assert holder.started_at.startswith("20")
    assert child.stdin is not None
    child.stdin.close()
    child.wait(30)
    with open_backend(parse_url(db_url)) as backend:
        backend.connect(0)


def test_duckdb_names_the_lamina_run_holding_the_file(duckdb_url: str, spawn_holder: Spawn) -> None:
    child = spawn_holder(duckdb_url, "lamina")
    with pytest.raises(LockTimeoutError) as caught:
        open_backend(parse_url(duckdb_url), read_only=True).connect(0)
    assert caught.value.holder is not None
    assert (caught.value.holder.pid, caught.value.holder.command) == (child.pid, "lamina up")


def test_sqlite_waits_for_a_writer_then_times_out(sqlite_url: str, spawn_holder: Spawn) -> None:
    db_url = sqlite_url
    with open_backend(parse_url(db_url)) as backend:
        backend.connect()
        backend.execute("CREATE TABLE t (id INTEGER)")
    spawn_holder(db_url, "write")
    with open_backend(parse_url(db_url)) as backend:
        backend.connect(0.3)
        started = time.monotonic()
        with pytest.raises(LockTimeoutError), backend.transaction():
            pass
        assert time.monotonic() - started >= 0.3
        assert backend.query("SELECT COUNT(*) FROM t") == [(0,)]  # reading still works


# -- registry -----------------------------------------------------------------------------------
def test_importing_the_registry_imports_no_driver(python_child: RunPython) -> None:
    done = python_child(
        "import sys, lamina.engines, lamina.history\n"
        "print(sorted(m for m in ('duckdb', 'sqlite3', '_sqlite3', 'psycopg', 'pymysql')"
        " if m in sys.modules))"
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_open_backend_picks_the_class_by_scheme(engine: str, db_url: str) -> None:
    backend = open_backend(parse_url(db_url), read_only=True)
    assert backend.name == engine
    assert backend.read_only
    assert dialect_for(parse_url(db_url)) == backend.dialect
    assert dialect_for(parse_url("postgresql://u@h/db")) == "postgres"


@pytest.mark.parametrize(("scheme", "extra"), [("postgresql", "postgres"), ("mysql", "mysql")])
def test_a_missing_backend_module_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch, scheme: str, extra: str
) -> None:
    # Point the entry at a module that is certainly absent, whether or not the real one exists.
    monkeypatch.setitem(REGISTRY, scheme, "lamina.engines._absent_driver:Backend")
    with pytest.raises(BackendUnavailableError) as caught:
        open_backend(parse_url(f"{scheme}://user:secret@localhost/app"))
    assert caught.value.hint == f"pip install 'lamina[{extra}]'"
    assert "secret" not in caught.value.message


# -- the engine registry ------------------------------------------------------------------------
def test_every_url_scheme_reaches_exactly_one_registered_engine() -> None:
    """urls (level 0) spells the schemes; the registry must serve every one of them, as a
    file or a server engine alike."""
    served = {scheme: spec for spec in ENGINES.values() for scheme in spec.schemes}
    assert set(served) == set(FILE_SCHEMES) | set(SERVER_SCHEMES)
    for scheme, spec in served.items():
        assert (spec.scratch == "file") == (scheme in FILE_SCHEMES)
        assert spec.name == SERVER_SCHEMES.get(scheme, scheme)
        assert (spec.default_port is None) == (spec.scratch == "file")


def test_a_backend_class_agrees_with_its_engine_spec(backend: Backend) -> None:
    spec = spec_for(backend.url)
    assert (backend.name, backend.dialect) == (spec.name, spec.dialect)
    assert backend.capabilities is spec.capabilities
    assert dialect_for(backend.url) == spec.dialect


def test_quote_doubles_the_engine_quote_character(backend: Backend) -> None:
    name = 'odd"name`with quotes'
    backend.execute(f"CREATE TABLE {spec_for(backend.url).quote(name)} (id INTEGER)")
    assert backend.table_exists(name)
