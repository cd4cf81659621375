"""MySQL and MariaDB through PyMySQL (``pip install 'lamina[mysql]'``).

The connection runs in autocommit mode and lamina issues BEGIN/COMMIT itself. Every DDL
statement commits implicitly and ends the transaction (the statements after it then run on
their own), so ``transactional_ddl`` is false and the runner treats such migrations as
non-atomic. ``sql_mode`` is left as the server sets it unless the URL sets it.

Session settings cost a round trip each after the handshake (MySQL has no startup-packet
options): ``SET SESSION TRANSACTION READ ONLY`` for read-only commands, and one ``SET`` of
``lock_wait_timeout`` (metadata locks, what DDL waits on) and ``innodb_lock_wait_timeout`` (row
locks) for the table lock timeout, in whole seconds.

URL query options (:mod:`lamina.backends.mysql_options`, one list shared with the backup
tools) are PyMySQL's own keyword arguments (``charset``, ``connect_timeout``, ``unix_socket``,
``ssl_*``) and a documented set of session variables (``sql_mode``, ``time_zone``...), set by
PyMySQL's ``init_command`` on every connection this backend opens: the migration connection,
the heartbeat's, the one that sends ``KILL QUERY``, and verify's scratch connections. Any other
option is refused, so a typo cannot silently turn TLS verification off.
"""

from __future__ import annotations

import math
import re
import socket
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, suppress
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import pymysql  # untyped: pyproject's mypy override for pymysql.* makes it Any

from lamina.backends.base import BackendOptions, Capabilities, history_tables
from lamina.backends.mysql_options import parse_options
from lamina.backends.server import ServerBackend
from lamina.errors import BackendError, BackendUnavailableError, UsageError
from lamina.models import LockOwner
from lamina.urls import DatabaseURL, URLError

__all__ = ["MySQLBackend"]

#: ER_LOCK_DEADLOCK: the server rolled back the whole transaction.
_DEADLOCK = 1213

#: How long a connection attempt may take, unless the URL sets connect_timeout.
CONNECT_TIMEOUT_S = 10
_DEFAULT_PORT = 3306
#: Database names that need no backticks in the CREATE DATABASE hint.
_PLAIN_NAME = re.compile(r"[A-Za-z0-9_$]+")
#: What getaddrinfo says, on Linux, macOS and Windows, when a host name does not resolve.
_UNKNOWN_HOST = (
    "name or service not known",
    "nodename nor servname",
    "no address associated",
    "temporary failure in name resolution",
    "getaddrinfo failed",
)


class MySQLBackend(ServerBackend):
    """One MySQL or MariaDB database, reached through PyMySQL.

    Example::

        backend = MySQLBackend(parse_url("mysql://app:pw@db/shop?ssl_ca=/etc/ca.pem"))
        backend.connect()
        with backend.transaction():
            backend.execute("INSERT INTO settings VALUES ('theme', 'dark')")
    """

    name: ClassVar[str] = "mysql"
    title: ClassVar[str] = "MySQL"  # MariaDB speaks the same protocol and SQL
    dialect: ClassVar[str] = "mysql"
    capabilities: ClassVar[Capabilities] = Capabilities(transactional_ddl=False)
    param: ClassVar[str] = "%s"
    history_ddl: ClassVar[tuple[str, ...]] = history_tables(
        "seq BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY"
    )
    # Not UNIX_TIMESTAMP(NOW(6)): that converts local time back through the session time zone,
    # which repeats an hour when daylight saving time ends, so lock expiries would jump.
    clock_sql: ClassVar[str] = (
        "TIMESTAMPDIFF(MICROSECOND, '1970-01-01 00:00:00', UTC_TIMESTAMP(6)) / 1e6"
    )

    def __init__(
        self,
        url: DatabaseURL,
        *,
        read_only: bool = False,
        options: BackendOptions | None = None,
    ) -> None:
        super().__init__(url, read_only=read_only, options=options)
        try:
            parsed = parse_options(url)
        except URLError as exc:
            raise UsageError(
                "DATABASE_URL query", "database URL", str(exc), hint=exc.hint
            ) from None
        self._settings: dict[str, object] = dict(parsed.connect)
        self._init_command = parsed.init_command()
        self._conn: pymysql.Connection | None = None
        # Read by interrupt() from another thread, so it never touches the connection itself.
        self._thread_id: int | None = None
        self._transaction_lost = False

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
                for statement in self._session_settings():
                    cursor.execute(statement)
        except pymysql.MySQLError as exc:
            conn.close()
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
        url = self.url
        args: dict[str, Any] = {
            "host": url.host,
            "port": url.port or _DEFAULT_PORT,
            "database": url.database,
            "autocommit": True,
            "charset": "utf8mb4",
            "connect_timeout": CONNECT_TIMEOUT_S,
        }
        if url.username:
            args["user"] = url.username
        if url.password is not None:
            # UTF-8, as the mysql client sends it; PyMySQL would encode a str as Latin-1.
            args["password"] = url.password.encode()
        args.update(self._settings)
        if self._init_command:  # the URL's session variables, on every connection
            args["init_command"] = self._init_command
        conn = pymysql.connect(**args, read_timeout=args["connect_timeout"])
        conn._read_timeout = None  # no public setter; PyMySQL applies it on the next read
        return conn

    def _session_settings(self) -> list[str]:
        statements: list[str] = []
        if self.read_only:
            statements.append("SET SESSION TRANSACTION READ ONLY")
        if self.options.table_lock_timeout_ms:
            # Both take whole seconds; round up, so a limit below one second still waits.
            seconds = max(1, math.ceil(self.options.table_lock_timeout_ms / 1000))
            statements.append(
                f"SET SESSION lock_wait_timeout = {seconds}, "
                f"SESSION innodb_lock_wait_timeout = {seconds}"
            )
        return statements

    # -- statements -----------------------------------------------------------------------------
    def transaction(self) -> AbstractContextManager[None]:
        return self._transaction()

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        # A failed statement rolls back only itself and the transaction stays usable. A
        # deadlock (1213) is the exception: the server rolls back the whole transaction and
        # later statements run in autocommit, so a migration that caught it would commit half
        # its work. execute()/query() note it, and COMMIT is refused, as on PostgreSQL.
        conn = self._connection()
        try:
            conn.begin()
        except pymysql.MySQLError as exc:
            raise BackendError(
                f"cannot begin a transaction on {self.target()}: {self.describe_error(exc)}"
            ) from exc
        self._transaction_lost = False
        try:
            yield
            if self._transaction_lost:
                raise pymysql.err.OperationalError(
                    _DEADLOCK,
                    "the transaction was rolled back by a deadlock earlier in this migration "
                    "(the migration caught the error and went on)",
                )
            conn.commit()
        except BaseException as exc:
            _rollback(conn, exc)
            raise

    def execute(self, sql: str, params: Sequence[object] = ()) -> None:
        # Without parameters PyMySQL sends the text as is, so a literal % (LIKE 'a%') is safe;
        # with them it %-formats the text client-side.
        with self._connection().cursor() as cursor:
            self._run(cursor, sql, params)

    def query(self, sql: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
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
        except pymysql.MySQLError as exc:
            raise BackendError(
                f"cannot look up table {table} in {self.target()}: {self.describe_error(exc)}"
            ) from exc

    def is_driver_error(self, exc: BaseException) -> bool:
        return isinstance(exc, pymysql.MySQLError)

    def describe_error(self, exc: BaseException) -> str:
        """The server's message on one line, then its error number (what the manual indexes)."""
        code, message = _code(exc), _message(exc)
        if not message:
            closed = isinstance(exc, pymysql.InterfaceError)
            message = "the connection to the server is closed" if closed else type(exc).__name__
        return self._mask(f"{message} (MySQL error {code})" if code else message)

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
    def _try_session_lock(self) -> bool:
        rows = self.query("SELECT GET_LOCK(%s, 0)", [self.lock_name()])
        return bool(rows[0][0] == 1)  # 0: held by another session; NULL: an error

    def _release_session_lock(self) -> None:
        self.query("SELECT RELEASE_LOCK(%s)", [self.lock_name()])

    def _session_lock_holder(self) -> int | None:
        rows = self.query("SELECT IS_USED_LOCK(%s)", [self.lock_name()])
        return None if rows[0][0] is None else int(rows[0][0])

    def _session_description(self, session_id: int) -> LockOwner | None:
        """The holder's account and client host. MySQL keeps no connect time: TIME counts
        seconds in the current state, so ``started_at`` is when it last began something."""
        rows = self.query(
            "SELECT USER, HOST, TIME FROM information_schema.PROCESSLIST WHERE ID = %s",
            [session_id],
        )
        if not rows:
            return None  # gone, or another account's, which PROCESSLIST hides without PROCESS
        user, host, seconds = rows[0]
        started = datetime.now(UTC) - timedelta(seconds=int(seconds or 0))
        return LockOwner(
            host=_client_host(str(host or "")) or "unknown",
            pid=0,
            started_at=started.strftime("%Y-%m-%dT%H:%M:%SZ"),
            command=f"{user} (MySQL connection {session_id})",
        )

    def session_id(self) -> int:
        return int(self._connection().thread_id())

    def connected(self) -> bool:
        return self._conn is not None and bool(self._conn.open)

    # -- helpers --------------------------------------------------------------------------------
    def _connection(self) -> pymysql.Connection:
        if self._conn is None:
            raise RuntimeError("MySQLBackend used before connect()")
        return self._conn

    def _where(self) -> str:
        unix_socket = self._settings.get("unix_socket")
        place = unix_socket or f"{self.url.host}:{self.url.port or _DEFAULT_PORT}"
        return f"MySQL database {self.url.database} on {place}"

    def _unreachable(self, exc: pymysql.MySQLError | OSError) -> BackendUnavailableError:
        """One line for a failed connection attempt, naming host and database, never the
        password, with the likeliest fix."""
        code = _code(exc)
        # PyMySQL wraps every socket error as 2003 "Can't connect to MySQL server on 'h' (...)"
        # and keeps the original.
        cause = getattr(exc, "original_exception", None)
        reason = self._mask(_message(exc) or type(exc).__name__)
        lowered = reason.lower()
        database = str(self.url.database)
        hint: str
        if not isinstance(exc, pymysql.MySQLError):  # raised before connecting: TLS files
            reason = f"cannot load the TLS files: {self._mask(str(exc))}"
            hint = "check the ssl_ca, ssl_cert and ssl_key paths in the database URL"
        elif isinstance(cause, ConnectionRefusedError) or "connection refused" in lowered:
            reason, hint = "connection refused", "is the server running? check host and port"
        elif (
            isinstance(cause, socket.gaierror)
            or code == 2005
            or any(text in lowered for text in _UNKNOWN_HOST)
        ):
            reason = f"unknown host {self.url.host}"
            hint = "check the host name in the database URL"
        elif isinstance(cause, FileNotFoundError) and "unix_socket" in self._settings:
            reason = "no server socket at that path"
            hint = "is the server running? check unix_socket in the database URL"
        elif code in (1045, 1698):  # the message names the account: 'user'@'client host'
            hint = (
                "check the user name and password in the database URL, and that the account "
                "may connect from this host"
            )
        elif code == 1044:
            hint = f"grant the account access (GRANT ALL ON {_quoted(database)}.* TO ...)"
        elif code == 1049:
            hint = f"create it (CREATE DATABASE {_quoted(database)}) or fix the database URL"
        elif code == 2026 and "doesn't support" in lowered:
            hint = "the server offers no TLS: remove the ssl_* options from the database URL"
        elif code in (2026, 3159) or any(
            text in lowered for text in ("ssl", "tls", "secure transport", "certificate")
        ):
            hint = "the server requires TLS: set ssl_ca (and ssl_cert, ssl_key) in the database URL"
        elif isinstance(cause, TimeoutError) or "timed out" in lowered:
            seconds = self._settings.get("connect_timeout", CONNECT_TIMEOUT_S)
            reason = f"no answer within {seconds:g} s"
            hint = (
                "check the host, port and firewall, and that a MySQL server listens there "
                "(?connect_timeout=SECONDS waits longer)"
            )
        else:
            hint = "check the database URL"
        return BackendUnavailableError(f"cannot connect to {self._where()}: {reason}", hint=hint)


def _code(exc: BaseException) -> int | None:
    """The MySQL error number: PyMySQL errors carry ``(code, message)`` as their args."""
    args = exc.args
    return args[0] if len(args) >= 2 and isinstance(args[0], int) and args[0] else None


def _message(exc: BaseException) -> str:
    args = exc.args
    text = str(args[1]) if len(args) >= 2 and isinstance(args[0], int) else str(exc)
    return " ".join(text.split())


def _quoted(name: str) -> str:
    return name if _PLAIN_NAME.fullmatch(name) else "`" + name.replace("`", "``") + "`"


def _client_host(host: str) -> str:
    """``10.0.0.7:51234`` -> ``10.0.0.7`` (PROCESSLIST's HOST; a socket is ``localhost``)."""
    head, colon, port = host.rpartition(":")
    return (head if colon and port.isdigit() else host).strip("[]")


def _rollback(conn: pymysql.Connection, exc: BaseException) -> None:
    """Roll back after ``exc`` without hiding it; a dead connection has nothing to roll back
    (the server rolls back when it goes)."""
    if not conn.open:
        return
    try:
        conn.rollback()
    except pymysql.MySQLError as rollback_exc:
        exc.add_note(f"lamina: the rollback failed too: {rollback_exc}")
