"""MySQL and MariaDB through PyMySQL (``pip install 'lamina[mysql]'``).

The connection runs in autocommit mode and lamina issues BEGIN/COMMIT itself. Every DDL
statement commits implicitly and ends the transaction (the statements after it then run on
their own), so ``transactional_ddl`` is false and the runner treats such migrations as
non-atomic. ``sql_mode`` is left as the server sets it unless the URL sets it.

Session settings cost a round trip each after the handshake (MySQL has no startup-packet
options): ``SET SESSION TRANSACTION READ ONLY`` for read-only commands, and one ``SET`` of
``lock_wait_timeout`` (metadata locks, what DDL waits on) and ``innodb_lock_wait_timeout`` (row
locks) for the table lock timeout, in whole seconds.

On a Galera cluster (:mod:`lamina.engines.mysql.galera`, detected on connect) reads are causal
(``wsrep_sync_wait``), a node outside the primary component is refused at once, the migration
lock must be the table lock, and statements Galera cannot replicate safely are refused.

URL query options (:mod:`lamina.engines.mysql.connect`, one list shared with the backup
tools) are PyMySQL's own keyword arguments (``charset``, ``connect_timeout``, ``unix_socket``,
``ssl_*``) and a documented set of session variables (``sql_mode``, ``time_zone``...), set by
PyMySQL's ``init_command`` on every connection this backend opens: the migration connection,
the heartbeat's, the one that sends ``KILL QUERY``, and verify's scratch connections. Any other
option is refused, so a typo cannot silently turn TLS verification off.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext, suppress
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import pymysql  # untyped: pyproject's mypy override for pymysql.* makes it Any

from lamina.engines import ENGINES
from lamina.engines.base import HistoryTypes
from lamina.engines.mysql import galera
from lamina.engines.mysql.connect import (
    DEFAULT_PORT,
    MySQLOptions,
    driver_args,
    parse_options,
    session_settings,
)
from lamina.engines.mysql.failures import error_code, error_message, unreachable
from lamina.engines.server import ServerBackend
from lamina.errors import BackendError, BackendUnavailableError, StatementError, UsageError
from lamina.models import LockOwner
from lamina.urls import URLError

__all__ = ["MySQLBackend"]

# Nodes of a Galera cluster may create it at once; IF NOT EXISTS makes the loser's a no-op.
_LOCK_TABLE_DDL = ServerBackend.lock_table_ddl.replace("CREATE TABLE", "CREATE TABLE IF NOT EXISTS")

#: ER_LOCK_DEADLOCK: the server rolled back the whole transaction.
_DEADLOCK = 1213


class MySQLBackend(ServerBackend):
    """One MySQL or MariaDB database, reached through PyMySQL.

    Example::

        backend = MySQLBackend(parse_url("mysql://app:pw@db/shop?ssl_ca=/etc/ca.pem"))
        backend.connect()
        with backend.transaction():
            backend.execute("INSERT INTO settings VALUES ('theme', 'dark')")
    """

    name: ClassVar[str] = "mysql"
    # MariaDB speaks the same protocol and SQL: one backend, titled MySQL in messages.
    driver_errors: ClassVar[tuple[type[BaseException], ...]] = (pymysql.MySQLError,)
    scratch_privilege: ClassVar[str] = "CREATE"
    param: ClassVar[str] = "%s"
    history_types: ClassVar[HistoryTypes] = HistoryTypes(
        # TEXT stops at 64 KB: the schema snapshot of a few hundred tables is more
        long_text="LONGTEXT",
        sequence_key="BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY",
        retype="ALTER TABLE {table} MODIFY {definition}",
    )
    # Not UNIX_TIMESTAMP(NOW(6)): that converts local time back through the session time zone,
    # which repeats an hour when daylight saving time ends, so lock expiries would jump.
    clock_sql: ClassVar[str] = (
        "TIMESTAMPDIFF(MICROSECOND, '1970-01-01 00:00:00', UTC_TIMESTAMP(6)) / 1e6"
    )

    _conn: pymysql.Connection | None = None
    # Read by interrupt() from another thread, so it never touches the connection itself.
    _thread_id: int | None = None
    _transaction_lost = False
    #: Whether the server is a Galera cluster node (known once connected).
    galera = False
    lock_table_ddl: ClassVar[str] = _LOCK_TABLE_DDL

    def _configure(self) -> None:
        try:
            parsed = parse_options(self.url)
        except URLError as exc:
            raise UsageError(
                "DATABASE_URL query", "database URL", str(exc), hint=exc.hint
            ) from None
        self._parsed: MySQLOptions = parsed
        self._settings: dict[str, object] = dict(parsed.connect)

    # -- connection -----------------------------------------------------------------------------
    def connect(self, timeout_s: float = 0.0) -> None:
        if self._conn is not None:
            return
        try:
            conn = self._open()
        except (pymysql.MySQLError, OSError) as exc:
            raise self._unreachable(exc) from exc
        except RuntimeError as exc:
            if "cryptography" not in str(exc):
                raise
            raise BackendUnavailableError(
                f"cannot connect to {self._where()}: {exc}",
                hint="pip install cryptography, or connect over TLS (?ssl_ca=...)",
            ) from exc
        try:
            with conn.cursor() as cursor:
                settings = session_settings(self.read_only, self.options.table_lock_timeout_ms)
                for statement in settings:
                    cursor.execute(statement)
                self.galera = galera.join_session(cursor, self._where())
                if self.galera and self.read_only:  # who holds the lock: its row tells
                    self.options = dataclasses.replace(self.options, lock_mode="table")
        except (pymysql.MySQLError, BackendUnavailableError) as exc:
            conn.close()
            if isinstance(exc, BackendUnavailableError):
                raise
            raise BackendError(
                f"cannot set up the session on {self._where()}: {self.describe_error(exc)}"
            ) from exc
        self._conn = conn
        self._thread_id = int(conn.thread_id())

    def close(self) -> None:
        conn, self._conn = self._conn, None
        self._thread_id = None
        if conn is not None and conn.open:
            conn.close()

    def _open(self) -> pymysql.Connection:
        """A new connection; its handshake is bounded as well as its TCP connect.

        PyMySQL's ``connect_timeout`` covers the TCP connect only: a port that accepts and
        never answers (a PostgreSQL or HTTP server) would hang forever. The handshake gets a
        read timeout, lifted once connected, as a migration's statement may run for hours.
        """
        args = driver_args(self.url, self._parsed)
        conn = pymysql.connect(**args, read_timeout=args["connect_timeout"])
        conn._read_timeout = None  # no public setter; PyMySQL applies it on the next read
        return conn

    # -- statements -----------------------------------------------------------------------------
    # A failed statement rolls back only itself and the transaction stays usable. A deadlock
    # (1213) is the exception: the server rolls back the whole transaction and later
    # statements run in autocommit, so a migration that caught it would commit half its work.
    # _run() notes it, and COMMIT is refused, as on PostgreSQL.
    def _begin(self) -> None:
        self._connection().begin()
        self._transaction_lost = False

    def _aborted(self) -> BaseException | None:
        if not self._transaction_lost:
            return None
        lost: BaseException = pymysql.err.OperationalError(
            _DEADLOCK,
            "the transaction was rolled back by a deadlock earlier in this migration "
            "(the migration caught the error and went on)",
        )
        return lost

    def _commit(self) -> None:
        self._connection().commit()

    def _rollback(self, exc: BaseException) -> None:
        """Roll back after ``exc`` without hiding it; a dead connection has nothing to roll
        back (the server rolls back when it goes)."""
        conn = self._connection()
        if not conn.open:
            return
        try:
            conn.rollback()
        except pymysql.MySQLError as rollback_exc:
            exc.add_note(f"lamina: the rollback failed too: {rollback_exc}")

    def _execute(self, sql: str, params: Sequence[object]) -> None:
        # Without parameters PyMySQL sends the text as is, so a literal % (LIKE 'a%') is safe;
        # with them it %-formats the text client-side.
        with self._connection().cursor() as cursor:
            self._run(cursor, sql, params)

    def _query(self, sql: str, params: Sequence[object]) -> list[tuple[Any, ...]]:
        with self._connection().cursor() as cursor:
            self._run(cursor, sql, params)
            return [tuple(row) for row in cursor.fetchall()]

    def _run(self, cursor: Any, sql: str, params: Sequence[object]) -> None:
        try:
            cursor.execute(sql, list(params) if params else None)
        except KeyboardInterrupt:
            # PyMySQL drops the connection, but the server would finish the statement (and
            # commit its DDL) and keep our GET_LOCK until then: stop it there too.
            self.interrupt()
            raise
        except pymysql.MySQLError as exc:
            if exc.args and exc.args[0] == _DEADLOCK:
                self._transaction_lost = True
            raise

    def table_exists(self, table: str) -> bool:
        sql = (
            "SELECT 1 FROM information_schema.tables "
            "WHERE table_schema = DATABASE() AND table_name = %s"
        )
        try:
            return bool(self.query(sql, [table]))
        except StatementError as exc:
            raise BackendError(
                f"cannot look up table {table} in {self.target()}: {exc.detail}"
            ) from exc.original

    def describe_error(self, exc: BaseException) -> str:
        """The server's message on one line, then its error number (what the manual indexes)."""
        code, message = error_code(exc), error_message(exc)
        if not message:
            closed = isinstance(exc, pymysql.InterfaceError)
            message = "the connection to the server is closed" if closed else type(exc).__name__
        text = f"{message} (MySQL error {code})" if code else message
        return self._mask(text + galera.meaning(code, self.galera))

    def migration_session(
        self, statements: Callable[[], Sequence[str]], *, in_transaction: bool
    ) -> AbstractContextManager[None]:
        """On Galera, refuse a migration with a statement that cannot be made safe there."""
        return galera.checked(statements) if self.galera else nullcontext()

    def interrupt(self) -> None:
        """KILL QUERY from a second connection: MySQL cannot cancel on the busy one."""
        thread_id = self._thread_id
        if thread_id is None:
            return
        try:
            killer = self._open()
        except Exception:  # must not raise: the watchdog only asks
            return
        try:
            with killer.cursor() as cursor:
                cursor.execute(f"KILL QUERY {int(thread_id)}")
        except Exception:  # the statement ended meanwhile ("Unknown thread id"): nothing to stop
            return
        finally:
            with suppress(Exception):
                killer.close()

    # -- the migration lock ---------------------------------------------------------------------
    def _refuse_session_lock(self) -> None:
        if self.galera:
            raise galera.session_lock_refused(self._where())

    def _try_session_lock(self) -> bool:
        rows = self.query("SELECT GET_LOCK(%s, 0)", [self.lock_name()])
        return bool(rows[0][0] == 1)  # 0: held by another session; NULL: an error

    def _release_session_lock(self) -> None:
        self.query("SELECT RELEASE_LOCK(%s)", [self.lock_name()])

    def _session_lock_holder(self) -> int | None:
        rows = self.query("SELECT IS_USED_LOCK(%s)", [self.lock_name()])
        return None if rows[0][0] is None else int(rows[0][0])

    def _session_description(self, session_id: int) -> LockOwner | None:
        rows = self.query(_PROCESSLIST, [session_id])
        return _processlist_owner(rows[0], session_id) if rows else None

    def session_id(self) -> int:
        return int(self._connection().thread_id())

    def connected(self) -> bool:
        return self._conn is not None and bool(self._conn.open)

    # -- scratch databases (lamina.scratch) --------------------------------------------------
    def create_database(self, name: str) -> None:
        self.execute(f"CREATE DATABASE {ENGINES[self.name].quote(name)} CHARACTER SET utf8mb4")

    def drop_database(self, name: str) -> None:
        self.execute(f"DROP DATABASE IF EXISTS {ENGINES[self.name].quote(name)}")

    def grant_hint(self, user: str, prefix: str) -> str:
        # The prefix as a LIKE pattern in the grant: "_" matches any character unescaped.
        pattern = prefix.replace("_", "\\_")
        return f"GRANT ALL ON `{pattern}%`.* TO '{user}'@'...'"

    # -- helpers --------------------------------------------------------------------------------
    def _connection(self) -> pymysql.Connection:
        if self._conn is None:
            raise RuntimeError("MySQLBackend used before connect()")
        return self._conn

    def _where(self) -> str:
        unix_socket = self._settings.get("unix_socket")
        place = unix_socket or f"{self.url.host}:{self.url.port or DEFAULT_PORT}"
        return f"MySQL database {self.url.database} on {place}"

    def _unreachable(self, exc: pymysql.MySQLError | OSError) -> BackendUnavailableError:
        return unreachable(exc, self.url, self._settings, self._where(), self._mask)


_PROCESSLIST = "SELECT USER, HOST, TIME FROM information_schema.PROCESSLIST WHERE ID = %s"


def _processlist_owner(row: tuple[Any, ...], session_id: int) -> LockOwner:
    """The lock holder as a PROCESSLIST row (USER, HOST, TIME) describes it: its account and
    client host. MySQL keeps no connect time: TIME counts seconds in the current state, so
    ``started_at`` is when it last began something. (No row: the session is gone, or is
    another account's, which PROCESSLIST hides without PROCESS.)"""
    user, host, seconds = row
    started = datetime.now(UTC) - timedelta(seconds=int(seconds or 0))
    return LockOwner(
        host=_client_host(str(host or "")) or "unknown",
        pid=0,
        started_at=started.strftime("%Y-%m-%dT%H:%M:%SZ"),
        command=f"{user} (MySQL connection {session_id})",
    )


def _client_host(host: str) -> str:
    """``10.0.0.7:51234`` -> ``10.0.0.7`` (PROCESSLIST's HOST; a socket is ``localhost``)."""
    head, colon, port = host.rpartition(":")
    return (head if colon and port.isdigit() else host).strip("[]")
