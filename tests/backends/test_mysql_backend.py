"""The MySQL/MariaDB backend on a real server: statements, transactions, connection errors,
the session and table locks, and interrupting a statement.

The server is the one ``LAMINA_TEST_MYSQL_URL`` names (an admin URL; default
``mysql://root@127.0.0.1:3306/mysql``). Each test gets a database ``lamina_mb_<hex>`` of its
own, dropped afterwards. Without a server the module is skipped with the reason, or fails
under ``CI=true``. The fixtures are local to this file on purpose.
"""

from __future__ import annotations

import contextlib
import os
import re
import select
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest

from lamina.engines import BackendOptions, open_backend
from lamina.engines.server import LOCK_TABLE
from lamina.errors import (
    BackendUnavailableError,
    ConfigError,
    LockTimeoutError,
    StatementError,
)
from lamina.history import History
from lamina.models import LockOwner
from lamina.urls import parse_url

pytestmark = pytest.mark.server

SRC = Path(__file__).resolve().parents[2] / "src"
ADMIN_URL = os.environ.get("LAMINA_TEST_MYSQL_URL") or "mysql://root@127.0.0.1:3306/mysql"
_ADMIN = urlsplit(ADMIN_URL)
HOST = _ADMIN.hostname or "127.0.0.1"
PORT = _ADMIN.port or 3306


def admin() -> Any:
    """An autocommit driver connection with the admin account (no lamina involved)."""
    import pymysql

    return pymysql.connect(
        host=HOST,
        port=PORT,
        user=unquote(_ADMIN.username or "root"),
        password=unquote(_ADMIN.password or ""),
        autocommit=True,
        charset="utf8mb4",
        connect_timeout=3,
    )


def _server_problem() -> str | None:
    try:
        import pymysql  # noqa: F401 - the backend's driver, before anything imports it
    except ImportError as exc:
        return f"PyMySQL is not installed ({exc}); pip install -e '.[dev]'"
    try:
        admin().close()
    except Exception as exc:  # any reason at all: it is reported
        return " ".join(str(exc).split()) or type(exc).__name__
    return None


_problem = _server_problem()
if _problem is not None:
    _message = f"MySQL/MariaDB test server not reachable at {HOST}:{PORT}: {_problem}"
    if os.environ.get("CI", "").strip().lower() == "true":
        pytest.fail(f"{_message} (CI=true: set LAMINA_TEST_MYSQL_URL)", pytrace=False)
    pytest.skip(_message, allow_module_level=True)

from lamina.engines.mysql.backend import MySQLBackend  # noqa: E402 - imports PyMySQL, checked above


def run_sql(*statements: str, args: tuple[Any, ...] | None = None) -> list[tuple[Any, ...]]:
    """Run statements as the admin; the last one's rows."""
    con = admin()
    try:
        with con.cursor() as cur:
            for statement in statements:
                cur.execute(statement, args)
            return [tuple(row) for row in cur.fetchall()]
    finally:
        con.close()


def owner(command: str, pid: int = 4242) -> LockOwner:
    return LockOwner(
        host="build-7", pid=pid, started_at="2026-11-25T10:00:00Z", command=command,
        container="abc123def456",
    )  # fmt: skip


# -- fixtures -----------------------------------------------------------------------------------
@pytest.fixture
def database() -> Iterator[str]:
    """A fresh, empty database; dropped (ending any session left in it) after the test."""
    name = f"lamina_mb_{uuid.uuid4().hex[:12]}"
    run_sql(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
    yield name
    con = admin()
    try:
        with con.cursor() as cur:
            cur.execute("SET SESSION lock_wait_timeout = 2")
            try:
                cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
            except Exception:
                cur.execute(
                    "SELECT ID FROM information_schema.PROCESSLIST "
                    "WHERE DB = %s AND ID <> CONNECTION_ID()",
                    (name,),
                )
                for (thread_id,) in cur.fetchall():
                    with contextlib.suppress(Exception):  # it may have ended meanwhile
                        cur.execute(f"KILL {int(thread_id)}")
                cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
    finally:
        con.close()


@pytest.fixture
def db_url(database: str) -> str:
    return f"mysql://{_ADMIN.netloc}/{database}"


Make = Callable[..., MySQLBackend]


@pytest.fixture
def make(db_url: str) -> Iterator[Make]:
    """Open a backend on the test database (not connected); closed after the test."""
    opened: list[MySQLBackend] = []

    def make(url: str = db_url, **kwargs: Any) -> MySQLBackend:
        backend = open_backend(parse_url(url), **kwargs)
        assert isinstance(backend, MySQLBackend)
        opened.append(backend)
        return backend

    yield make
    for backend in opened:
        backend.close()


@pytest.fixture
def backend(make: Make) -> MySQLBackend:
    opened = make()
    opened.connect()
    return opened


class Account:
    """A throwaway account with a real password, so error messages can be checked for it."""

    def __init__(self, database: str) -> None:
        tag = uuid.uuid4().hex[:8]
        self.user = f"lamina_pw_test_{tag}"
        self.password = f"Pw-{tag}-s3cret"
        #: A database the account may use but which does not exist (for "unknown database").
        self.missing = f"{database}_missing"
        self.database = database

    def url(
        self,
        database: str | None = None,
        *,
        password: str | None = None,
        host: str = HOST,
        port: int = PORT,
        query: str = "",
    ) -> str:
        secret = self.password if password is None else password
        return f"mysql://{self.user}:{secret}@{host}:{port}/{database or self.database}{query}"


@pytest.fixture
def account(database: str) -> Iterator[Account]:
    made = Account(database)
    run_sql(
        f"CREATE USER '{made.user}'@'%' IDENTIFIED BY '{made.password}'",
        f"GRANT ALL ON `{database}`.* TO '{made.user}'@'%'",
        f"GRANT ALL ON `{made.missing}`.* TO '{made.user}'@'%'",
    )
    yield made
    run_sql(f"DROP USER IF EXISTS '{made.user}'@'%'")


def free_port() -> int:
    """A local port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# -- statements ---------------------------------------------------------------------------------
def test_connect_execute_and_query(make: Make, database: str) -> None:
    backend = make()
    assert backend.exists()
    assert not backend.connected()
    backend.connect()
    backend.connect()  # idempotent
    assert backend.connected()
    backend.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, label TEXT)")
    backend.execute("INSERT INTO t VALUES (1, 'one'), (2, 'two')")
    assert backend.query("SELECT id, label FROM t ORDER BY id") == [(1, "one"), (2, "two")]
    assert backend.query("SELECT DATABASE()") == [(database,)]
    assert backend.query("UPDATE t SET label = 'x' WHERE id = 3") == []  # no result set
    assert backend.table_exists("t")
    assert not backend.table_exists("nope")
    backend.close()
    backend.close()  # safe twice
    assert not backend.connected()


def test_percent_signs_in_sql_without_params_are_sent_as_is(backend: MySQLBackend) -> None:
    backend.execute("CREATE TABLE t (label VARCHAR(20))")
    backend.execute("INSERT INTO t VALUES ('100%'), ('%s'), ('abc')")
    assert backend.query("SELECT label FROM t WHERE label LIKE '%\\%' ORDER BY label") == [
        ("100%",)
    ]
    assert backend.query("SELECT COUNT(*) FROM t WHERE label LIKE '%s%' OR label LIKE 'a%'") == [
        (2,)
    ]


def test_placeholders_with_params(backend: MySQLBackend) -> None:
    backend.execute("CREATE TABLE t (id INTEGER, label VARCHAR(20), ratio DOUBLE)")
    backend.execute("INSERT INTO t VALUES (%s, %s, %s)", [1, "50% off; 'quoted'", 0.5])
    backend.execute("INSERT INTO t VALUES (%s, %s, %s)", (2, None, None))
    assert backend.query("SELECT id, label, ratio FROM t WHERE id = %s", [1]) == [
        (1, "50% off; 'quoted'", 0.5)
    ]
    assert backend.query("SELECT label FROM t WHERE id = %s", (2,)) == [(None,)]


def test_one_statement_per_call(backend: MySQLBackend) -> None:
    """No multi-statement flag: a second statement is a syntax error, never run."""
    with pytest.raises(StatementError) as caught:
        backend.execute("CREATE TABLE a (id INTEGER); CREATE TABLE b (id INTEGER)")
    assert isinstance(caught.value.original, backend.driver_errors)
    assert not backend.table_exists("a")
    assert not backend.table_exists("b")


def test_transaction_commits(backend: MySQLBackend, make: Make) -> None:
    backend.execute("CREATE TABLE t (id INTEGER PRIMARY KEY)")
    with backend.transaction():
        backend.execute("INSERT INTO t VALUES (1)")
        other = make()
        other.connect()
        assert other.query("SELECT COUNT(*) FROM t") == [(0,)]  # not visible before COMMIT
    assert other.query("SELECT id FROM t") == [(1,)]


def test_rollback_undoes_row_changes_and_reraises_unchanged(backend: MySQLBackend) -> None:
    backend.execute("CREATE TABLE t (id INTEGER PRIMARY KEY)")
    backend.execute("INSERT INTO t VALUES (1)")
    failure = ValueError("migration code failed")
    with pytest.raises(ValueError) as caught, backend.transaction():
        backend.execute("INSERT INTO t VALUES (2)")
        backend.execute("DELETE FROM t WHERE id = 1")
        raise failure
    assert caught.value is failure
    assert backend.query("SELECT id FROM t") == [(1,)]


def test_keyboard_interrupt_rolls_back_too(backend: MySQLBackend) -> None:
    backend.execute("CREATE TABLE t (id INTEGER PRIMARY KEY)")
    with pytest.raises(KeyboardInterrupt), backend.transaction():
        backend.execute("INSERT INTO t VALUES (1)")
        raise KeyboardInterrupt
    assert backend.query("SELECT COUNT(*) FROM t") == [(0,)]


def test_ddl_commits_implicitly_so_rollback_keeps_it_and_what_came_before_it(
    backend: MySQLBackend,
) -> None:
    """MySQL commits before and after DDL and leaves no transaction open: the row inserted
    before the CREATE and the one after it both survive the rollback. Hence
    ``transactional_ddl=False``."""
    assert MySQLBackend.capabilities.transactional_ddl is False
    backend.execute("CREATE TABLE t (id INTEGER PRIMARY KEY)")
    with pytest.raises(RuntimeError), backend.transaction():
        backend.execute("INSERT INTO t VALUES (1)")
        backend.execute("CREATE TABLE created_inside (id INTEGER)")
        backend.execute("INSERT INTO t VALUES (2)")
        raise RuntimeError("fail after the DDL")
    assert backend.table_exists("created_inside")
    assert backend.query("SELECT id FROM t ORDER BY id") == [(1,), (2,)]


def test_a_failed_statement_leaves_the_transaction_usable(backend: MySQLBackend) -> None:
    """No aborted state: only the failed statement is undone, the rest commits."""
    backend.execute("CREATE TABLE t (id INTEGER PRIMARY KEY)")
    with backend.transaction():
        backend.execute("INSERT INTO t VALUES (1)")
        with pytest.raises(StatementError) as caught:
            backend.execute("INSERT INTO t VALUES (1)")
        assert "(MySQL error 1062)" in caught.value.detail
        backend.execute("INSERT INTO t VALUES (2)")
    assert backend.query("SELECT id FROM t ORDER BY id") == [(1,), (2,)]


def test_a_dead_connection_has_nothing_to_roll_back(backend: MySQLBackend) -> None:
    """The server rolls back when the connection goes; the original error comes through."""
    backend.execute("CREATE TABLE t (id INTEGER PRIMARY KEY)")
    with pytest.raises(Exception) as caught, backend.transaction():
        backend.execute("INSERT INTO t VALUES (1)")
        run_sql(f"KILL {backend.session_id()}")
        backend.execute("INSERT INTO t VALUES (2)")
    assert isinstance(caught.value, StatementError)
    assert not backend.connected()
    assert run_sql(f"SELECT COUNT(*) FROM `{backend.url.database}`.t") == [(0,)]


def test_describe_error_is_one_line_with_the_error_number(make: Make, account: Account) -> None:
    backend = make(account.url())
    backend.connect()
    with pytest.raises(Exception) as caught:
        backend.execute(f"SELEC '{account.password}'\nFROM nowhere")
    described = backend.describe_error(caught.value)
    assert described.startswith("You have an error in your SQL syntax")
    assert described.endswith("(MySQL error 1064)")
    assert "\n" not in described
    assert account.password not in described
    assert "***" in described


# -- lamina's tables and session settings ------------------------------------------------------
def test_history_tables_are_created_and_start_empty(backend: MySQLBackend) -> None:
    history = History(backend, user="u", host="h")
    history.ensure()
    assert history.applied() == []
    for table in ("lamina_migrations", "lamina_migration_log", "lamina_meta"):
        assert backend.table_exists(table)
    ddl = backend.query("SHOW CREATE TABLE lamina_migration_log")[0][1]
    assert "AUTO_INCREMENT" in ddl


def test_lock_table_ddl_and_the_clock_give_float_seconds(backend: MySQLBackend) -> None:
    backend.execute(MySQLBackend.lock_table_ddl)
    clock = MySQLBackend.clock_sql
    backend.execute(
        f"INSERT INTO {LOCK_TABLE} (name, token, owner, session_id, mode, acquired_at, "
        f"expires_at) VALUES ('n', 't', '{{}}', 1, 'table', 'now', ({clock}) + %s)",
        [2.5],
    )
    [(now,)] = backend.query(f"SELECT {clock}")
    [(left,)] = backend.query(f"SELECT expires_at - ({clock}) FROM {LOCK_TABLE}")
    assert isinstance(now, float)
    assert abs(now - time.time()) < 5
    assert isinstance(left, float)
    assert 1.5 < left <= 2.5


def test_read_only_sessions_refuse_writes_and_ddl(make: Make) -> None:
    writer = make()
    writer.connect()
    writer.execute("CREATE TABLE t (id INTEGER)")
    reader = make(read_only=True)
    reader.connect()
    assert reader.query("SELECT COUNT(*) FROM t") == [(0,)]
    for statement in ("INSERT INTO t VALUES (1)", "CREATE TABLE u (id INTEGER)"):
        with pytest.raises(Exception) as caught:
            reader.execute(statement)
        assert "(MySQL error 1792)" in reader.describe_error(caught.value)


def test_table_lock_timeout_sets_both_waits_in_whole_seconds_and_keeps_sql_mode(
    make: Make,
) -> None:
    backend = make(options=BackendOptions(table_lock_timeout_ms=1500))
    backend.connect()
    assert backend.query(
        "SELECT @@SESSION.lock_wait_timeout, @@SESSION.innodb_lock_wait_timeout, "
        "@@SESSION.sql_mode = @@GLOBAL.sql_mode"
    ) == [(2, 2, 1)]
    short = make(options=BackendOptions(table_lock_timeout_ms=10))
    short.connect()
    assert short.query("SELECT @@SESSION.lock_wait_timeout") == [(1,)]  # never 0: no wait


# -- connection errors --------------------------------------------------------------------------
def connect_error(url: str) -> BackendUnavailableError:
    backend = open_backend(parse_url(url))
    try:
        with pytest.raises(BackendUnavailableError) as caught:
            backend.connect()
    finally:
        backend.close()
    return caught.value


def check_one_line(error: BackendUnavailableError, where: str, database: str, *secrets: str):
    assert error.message.startswith(f"cannot connect to MySQL database {database} on {where}: ")
    assert "\n" not in error.message
    assert error.hint is not None
    assert "\n" not in error.hint
    for secret in secrets:
        assert secret not in error.message
        assert secret not in error.hint
        assert secret not in str(error)


def test_connection_refused(account: Account) -> None:
    port = free_port()
    error = connect_error(account.url(host="127.0.0.1", port=port))
    check_one_line(error, f"127.0.0.1:{port}", account.database, account.password)
    assert error.message.endswith(": connection refused")
    assert "is the server running" in str(error.hint)


def test_unknown_host(account: Account) -> None:
    error = connect_error(account.url(host="nosuchhost.invalid"))
    check_one_line(error, f"nosuchhost.invalid:{PORT}", account.database, account.password)
    assert error.message.endswith(": unknown host nosuchhost.invalid")
    assert "host name" in str(error.hint)


def test_wrong_password_names_the_user_never_either_password(account: Account) -> None:
    wrong = "Wr0ng-pa55word"
    error = connect_error(account.url(password=wrong))
    check_one_line(error, f"{HOST}:{PORT}", account.database, account.password, wrong)
    assert f"Access denied for user '{account.user}'" in error.message
    assert "user name and password" in str(error.hint)


def test_unknown_database_hints_create_database(account: Account) -> None:
    error = connect_error(account.url(account.missing))
    check_one_line(error, f"{HOST}:{PORT}", account.missing, account.password)
    assert f"Unknown database '{account.missing}'" in error.message
    assert f"CREATE DATABASE {account.missing}" in str(error.hint)


def test_a_database_the_account_may_not_use_hints_grant(account: Account) -> None:
    error = connect_error(account.url("mysql"))
    check_one_line(error, f"{HOST}:{PORT}", "mysql", account.password)
    assert "Access denied" in error.message
    assert "GRANT ALL ON mysql.*" in str(error.hint)


def test_a_server_that_never_answers_times_out(account: Account) -> None:
    """PyMySQL bounds only the TCP connect; the handshake is bounded by lamina."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        port = silent.getsockname()[1]
        started = time.monotonic()
        error = connect_error(account.url(host="127.0.0.1", port=port, query="?connect_timeout=1"))
    assert time.monotonic() - started < 5
    check_one_line(error, f"127.0.0.1:{port}", account.database, account.password)
    assert error.message.endswith(": no answer within 1 s")
    assert "firewall" in str(error.hint)


def test_tls_asked_of_a_server_without_tls(account: Account) -> None:
    [(have_ssl,)] = run_sql("SELECT @@have_ssl")
    if have_ssl == "YES":
        pytest.skip("the test server offers TLS")
    error = connect_error(account.url(query="?ssl_verify_cert=true"))
    check_one_line(error, f"{HOST}:{PORT}", account.database, account.password)
    assert "SSL is required but the server doesn't support it" in error.message
    assert "offers no TLS" in str(error.hint)


def test_tls_files_that_cannot_be_read(account: Account, tmp_path: Path) -> None:
    error = connect_error(account.url(query=f"?ssl_ca={tmp_path / 'missing-ca.pem'}"))
    check_one_line(error, f"{HOST}:{PORT}", account.database, account.password)
    assert "cannot load the TLS files" in error.message
    assert "ssl_ca" in str(error.hint)


def test_a_server_requiring_tls_is_named_in_the_hint(account: Account) -> None:
    """MySQL 8 answers ``require_secure_transport=ON`` with error 3159. The test server has
    no TLS, so it cannot say that: this checks the mapping with MySQL's own error."""
    import pymysql

    backend = MySQLBackend(parse_url(account.url()))
    refused = pymysql.err.OperationalError(
        3159,
        "Connections using insecure transport are prohibited while --require_secure_transport=ON.",
    )
    error = backend._unreachable(refused)
    check_one_line(error, f"{HOST}:{PORT}", account.database, account.password)
    assert "insecure transport" in error.message
    assert "requires TLS" in str(error.hint)


@pytest.mark.parametrize(
    ("query", "problem"),
    [
        ("?sslmode=require", "unknown MySQL option 'sslmode'"),
        ("?ssl_disabled=maybe", "ssl_disabled='maybe' is not true or false"),
        ("?connect_timeout=0", "connect_timeout='0' is not a number of seconds above 0"),
        ("?charset=klingon", "charset='klingon' is not a character set"),
    ],
)
def test_bad_url_options_are_refused_before_connecting(
    account: Account, query: str, problem: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        open_backend(parse_url(account.url(query=query)))
    assert problem in caught.value.message
    assert caught.value.setting == "DATABASE_URL query"
    if "unknown" in problem:
        assert "ssl_ca" in str(caught.value.hint)


def test_url_options_reach_the_driver(make: Make, db_url: str) -> None:
    backend = make(f"{db_url}?charset=utf8mb4&ssl_disabled=true&connect_timeout=5")
    backend.connect()
    assert backend.query("SELECT @@character_set_client") == [("utf8mb4",)]


def test_statements_may_outlast_the_connect_timeout(make: Make, db_url: str) -> None:
    """The handshake's read timeout is lifted once connected."""
    backend = make(f"{db_url}?connect_timeout=1")
    backend.connect()
    assert backend.query("SELECT SLEEP(1.5)") == [(0,)]


# -- the session lock ---------------------------------------------------------------------------
def test_session_lock_names_its_holder_and_is_released(make: Make) -> None:
    first, second = make(), make()
    with first.lock(owner("lamina up --first"), 1):
        with pytest.raises(LockTimeoutError) as caught, second.lock(owner("second"), 0.3):
            pass
        assert caught.value.holder == owner("lamina up --first")
        assert "`lamina up --first` pid 4242 on build-7" in caught.value.message
        assert second.lock_holder() == owner("lamina up --first")
    assert second.lock_holder() is None
    with second.lock(owner("second"), 1):
        assert first.lock_holder() == owner("second")


def test_killing_the_holders_connection_releases_the_lock(make: Make) -> None:
    first, second = make(), make()
    held = first.lock(owner("doomed"), 1)
    held.__enter__()
    run_sql(f"KILL {first.session_id()}")
    started = time.monotonic()
    with second.lock(owner("successor"), 2):
        assert time.monotonic() - started < 1
        assert second.lock_holder() == owner("successor")
    held.__exit__(None, None, None)  # the dead connection's release fails quietly


def test_a_holder_outside_lamina_is_described_from_the_processlist(
    backend: MySQLBackend,
) -> None:
    """No owner row (another client took GET_LOCK): the server says who holds it."""
    con = admin()
    try:
        with con.cursor() as cur:
            cur.execute("SELECT GET_LOCK(%s, 0), CONNECTION_ID()", (backend.lock_name(),))
            [(taken, connection_id)] = cur.fetchall()
            cur.execute(
                "SELECT USER, HOST FROM information_schema.PROCESSLIST WHERE ID = %s",
                (connection_id,),
            )
            [(user, client)] = cur.fetchall()
        assert taken == 1
        holder = backend.lock_holder()
        assert holder is not None
        assert holder.command == f"{user} (MySQL connection {connection_id})"
        assert holder.host == client.rsplit(":", 1)[0]  # without the client's port
        assert holder.pid == 0
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", holder.started_at)
    finally:
        con.close()
    # The connection ended, so did its lock (the server notices the close asynchronously).
    deadline = time.monotonic() + 5
    while backend.lock_holder() is not None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert backend.lock_holder() is None


# -- the table lock -----------------------------------------------------------------------------
TABLE = BackendOptions(lock_mode="table", lock_ttl_s=1.0)

# Runs in a child process: take the table-mode lock on argv[1], say "ready", wait to be killed.
HOLDER = """
import os, sys
from lamina.engines import BackendOptions, open_backend
from lamina.models import LockOwner
from lamina.urls import parse_url

backend = open_backend(parse_url(sys.argv[1]),
                       options=BackendOptions(lock_mode="table", lock_ttl_s=1.0))
me = LockOwner(host="child", pid=os.getpid(), started_at="2026-01-01T00:00:00Z",
               command="lamina up --child")
held = backend.lock(me, 5)
held.__enter__()
print("ready", flush=True)
sys.stdin.read()
"""


def test_table_lock_row_names_the_holder_past_its_ttl(make: Make) -> None:
    first, second = make(options=TABLE), make(options=TABLE)
    with first.lock(owner("lamina up --first"), 1):
        assert first.query(f"SELECT mode, owner LIKE '%%first%%' FROM {LOCK_TABLE}") == [
            ("table", 1)
        ]
        started = time.monotonic()
        with pytest.raises(LockTimeoutError) as caught, second.lock(owner("second"), 1.5):
            pass
        assert time.monotonic() - started >= 1.5  # longer than the TTL: the heartbeat beat
        assert caught.value.holder == owner("lamina up --first")
        assert second.lock_holder() == owner("lamina up --first")
    assert second.lock_holder() is None
    assert second.query(f"SELECT COUNT(*) FROM {LOCK_TABLE}") == [(0,)]


def test_table_lock_of_a_killed_process_is_taken_over_after_expiry(make: Make, db_url: str) -> None:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(SRC), os.environ.get("PYTHONPATH")])),
    }
    child = subprocess.Popen(
        [sys.executable, "-c", HOLDER, db_url],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        ready, _, _ = select.select([child.stdout], [], [], 30)
        line = child.stdout.readline() if ready else ""
        assert line.strip() == "ready", child.stderr.read() if child.stderr else ""
        successor = make(options=TABLE)
        with pytest.raises(LockTimeoutError) as caught, successor.lock(owner("early"), 0.3):
            pass
        assert caught.value.holder is not None
        assert caught.value.holder.pid == child.pid
        os.kill(child.pid, signal.SIGKILL)
        child.wait(10)
        started = time.monotonic()
        with successor.lock(owner("successor"), 5):
            assert time.monotonic() - started < 3  # at most the 1 s TTL, plus polling
            assert successor.lock_holder() == owner("successor")
    finally:
        if child.poll() is None:
            child.kill()
        child.communicate(timeout=10)


def test_an_expired_row_is_taken_over_at_once(make: Make) -> None:
    backend = make(options=TABLE)
    backend.connect()
    backend.execute(MySQLBackend.lock_table_ddl)
    backend.execute(
        f"INSERT INTO {LOCK_TABLE} (name, token, owner, session_id, mode, acquired_at, "
        f"expires_at) VALUES (%s, 'dead', '{{}}', 1, 'table', 'then', "
        f"({MySQLBackend.clock_sql}) - 5)",
        [backend.lock_name()],
    )
    assert backend.lock_holder() is None  # expired rows name nobody
    started = time.monotonic()
    with backend.lock(owner("successor"), 2):
        assert time.monotonic() - started < 1
        assert backend.query(f"SELECT token <> 'dead' FROM {LOCK_TABLE}") == [(1,)]


# -- interrupt ------------------------------------------------------------------------------------
def test_interrupt_stops_the_running_statement(backend: MySQLBackend) -> None:
    timer = threading.Timer(0.5, backend.interrupt)
    timer.start()
    started = time.monotonic()
    try:
        with pytest.raises(Exception) as caught:
            backend.query("SELECT SLEEP(10)")
    finally:
        timer.cancel()
    assert time.monotonic() - started < 2.5
    assert isinstance(caught.value, StatementError)
    described = caught.value.detail
    assert described == "Query execution was interrupted (MySQL error 1317)"
    assert backend.query("SELECT 1") == [(1,)]  # the connection stays usable


def test_interrupt_without_a_statement_harms_nothing(make: Make) -> None:
    idle = make()
    idle.interrupt()  # not connected: nothing to do
    idle.connect()
    idle.interrupt()  # connected but idle: the next statement still runs
    assert idle.query("SELECT 2") == [(2,)]
    idle.close()
    idle.interrupt()
