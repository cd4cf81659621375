"""PostgreSQL through psycopg 3 (``pip install 'lamina[postgres]'``).

The connection runs in autocommit mode and lamina issues BEGIN/COMMIT itself, so a migration
marked non-transactional (``CREATE INDEX CONCURRENTLY``) really runs outside a transaction.
Session settings travel in the connection's startup packet (``options=-c ...``): the target
schema as ``search_path``, ``statement_timeout`` (the migration time limit), ``lock_timeout``
and, for read-only commands, ``default_transaction_read_only``. Through a connection pooler
(PgBouncer) they go with every transaction instead, as ``SET LOCAL``
(:mod:`lamina.engines.postgresql.pooling`), and session locks are refused. Statements are
never prepared (``prepare_threshold=None``): a pooler hands the next statement to another
server connection, where a prepared statement does not exist.

A hot standby (``pg_is_in_recovery()``) serves reads; a connection that would change
anything refuses at once, before any statement (:class:`ReadOnlyServerError`).

``?schema=NAME`` in the URL puts lamina's tables and every unqualified name of the migrations
in that schema, and nothing else: ``search_path`` is exactly that schema, so an unqualified
``DROP TABLE users`` can never reach a ``users`` table in ``public``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from contextlib import nullcontext
from typing import Any, ClassVar

import psycopg
from psycopg import errors as pg_errors
from psycopg.pq import TransactionStatus

from lamina.engines import ENGINES
from lamina.engines.postgresql.connect import DEFAULT_PORT, IDENTIFIER, driver_args, unreachable
from lamina.engines.postgresql.pooling import (
    NOT_THROUGH_A_POOLER,
    Probe,
    SessionSettings,
    options_refused,
    own_transaction,
    probe,
    session_lock_refused,
)
from lamina.engines.server import ReadOnlyServerError, Replica, ServerBackend
from lamina.errors import BackendError, BackendUnavailableError, ConfigError, StatementError
from lamina.models import LockOwner

__all__ = ["PostgresBackend"]

#: PostgreSQL 13 can drop a database that still has sessions (``WITH (FORCE)``).
_FORCE_DROP_VERSION = 130000


class PostgresBackend(ServerBackend):
    """One PostgreSQL database (and schema), reached through psycopg 3.

    Example::

        backend = PostgresBackend(parse_url("postgresql://app@db/app?schema=billing"))
        backend.connect()
        with backend.transaction():
            backend.execute("CREATE TABLE invoices (id BIGINT PRIMARY KEY)")
    """

    name: ClassVar[str] = "postgresql"
    driver_errors: ClassVar[tuple[type[BaseException], ...]] = (psycopg.Error,)
    scratch_privilege: ClassVar[str] = "CREATEDB"
    param: ClassVar[str] = "%s"
    clock_sql: ClassVar[str] = "EXTRACT(EPOCH FROM clock_timestamp())::float8"
    #: A step's history row and audit row go in one statement, ``WITH change AS (INSERT ...)
    #: INSERT INTO lamina_migration_log ...`` (lamina.history.store): one round trip, not two.
    data_modifying_ctes: ClassVar[bool] = True

    _conn: psycopg.Connection[Any] | None = None
    #: What the server said on connecting; ``direct`` is False through a pooler.
    _probe: Probe | None = None

    def _configure(self) -> None:
        self.schema = self.url.option("schema")
        if self.schema is not None and not IDENTIFIER.fullmatch(self.schema):
            raise ConfigError(
                "schema",
                "database URL",
                f"{self.schema!r} is not a plain schema name",
                hint="use letters, digits and underscores, starting with a letter (max 63)",
            )

    # -- connection -----------------------------------------------------------------------------
    def connect(self, timeout_s: float = 0.0) -> None:
        if self._conn is not None:
            return
        settings = self._settings()
        try:
            try:
                conn = self._open(settings.startup())
            except psycopg.OperationalError as exc:
                if not options_refused(exc):
                    raise
                conn = self._open([])  # a pooler that refuses startup options: SET LOCAL
            found = probe(conn)
        except psycopg.Error as exc:
            raise self._unreachable(exc) from exc
        self._conn, self._probe = conn, found
        if found.standby and not self.read_only:
            self.close()
            raise ReadOnlyServerError(self._where())
        if self.schema is not None and not self.read_only:
            self._create_schema()

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()

    def _open(self, startup: list[str]) -> psycopg.Connection[Any]:
        args = driver_args(self.url, startup)
        return psycopg.connect(**args, autocommit=True, prepare_threshold=None)

    def _settings(self) -> SessionSettings:
        return SessionSettings.of(self.schema, self.read_only, self.options)

    def pooled(self) -> bool:
        """Whether a connection pooler stands between lamina and PostgreSQL (connected)."""
        return self._probe is not None and not self._probe.direct

    def replica(self) -> Replica | None:
        found = self._probe
        return None if found is None or not found.standby else Replica(lag_s=found.lag_s)

    def _create_schema(self) -> None:
        try:
            self.execute(f'CREATE SCHEMA IF NOT EXISTS "{self.schema}"')
        except StatementError as exc:
            # Two runs creating it at once: one wins, the other sees a duplicate (not an error).
            if isinstance(exc.original, pg_errors.UniqueViolation | pg_errors.DuplicateSchema):
                return
            raise BackendError(
                f"cannot create schema {self.schema} in {self.target()}: {exc.detail}",
                hint=f"create it yourself (CREATE SCHEMA {self.schema}) or grant this user "
                "CREATE on the database",
            ) from exc

    # -- statements -----------------------------------------------------------------------------
    def _begin(self) -> None:
        if self.pooled():
            self._connection().execute(self._settings().begin(), prepare=False)
        else:
            self._connection().execute("BEGIN")

    def _aborted(self) -> BaseException | None:
        # PostgreSQL answers COMMIT of an aborted transaction with ROLLBACK, not an error:
        # a migration that caught a failed statement would look applied. The client
        # library knows the state without a round trip.
        if self._connection().info.transaction_status != TransactionStatus.INERROR:
            return None
        return pg_errors.InFailedSqlTransaction(
            "current transaction is aborted (an earlier statement in this "
            "transaction failed and the migration caught the error)"
        )

    def _commit(self) -> None:
        self._connection().execute("COMMIT")

    def _rollback(self, exc: BaseException) -> None:
        """Roll back after ``exc`` without hiding it; a dead connection has nothing to roll
        back."""
        conn = self._connection()
        if conn.closed or conn.info.transaction_status == TransactionStatus.IDLE:
            return
        try:
            conn.execute("ROLLBACK")
        except psycopg.Error as rollback_exc:
            exc.add_note(f"lamina: the rollback failed too: {rollback_exc}")

    def _execute(self, sql: str, params: Sequence[object]) -> None:
        self._query(sql, params, rows=False)

    def _query(
        self, sql: str, params: Sequence[object], *, rows: bool = True
    ) -> list[tuple[Any, ...]]:
        conn = self._connection()
        with own_transaction(conn, self._settings()) if self.pooled() else nullcontext():
            cursor = conn.execute(sql, list(params) if params else None, prepare=False)
            return [tuple(row) for row in cursor.fetchall()] if rows else []

    def table_exists(self, table: str) -> bool:
        schema = "%s" if self.schema is not None else "current_schema()"
        sql = f"SELECT 1 FROM pg_catalog.pg_tables WHERE schemaname = {schema} AND tablename = %s"
        params = [self.schema, table] if self.schema is not None else [table]
        try:
            return bool(self.query(sql, params))
        except StatementError as exc:
            raise BackendError(
                f"cannot look up table {table} in {self.target()}: {exc.detail}"
            ) from exc.original

    def describe_error(self, exc: BaseException) -> str:
        """The server's message on one line (without the caret drawing), and its DETAIL."""
        lines = str(exc).strip().splitlines()
        text = lines[0].strip() if lines else type(exc).__name__
        diag = getattr(exc, "diag", None)
        detail = getattr(diag, "message_detail", None) if diag is not None else None
        if detail:
            text += f" ({' '.join(detail.split())})"
        if isinstance(exc, pg_errors.InFailedSqlTransaction) and "earlier statement" not in text:
            text += " (an earlier statement in this transaction failed)"
        if isinstance(exc, pg_errors.ActiveSqlTransaction) and self.pooled():
            text += NOT_THROUGH_A_POOLER
        return self._mask(text)

    def interrupt(self) -> None:
        conn = self._conn
        if conn is None:
            return
        try:
            conn.cancel_safe(timeout=5)
        except Exception:  # must not raise: the watchdog only asks
            return

    # -- the migration lock ---------------------------------------------------------------------
    def scope(self) -> str:
        return f"{self.url.database}/{self.schema or 'default schema'}"

    def _lock_key(self) -> int:
        digest = hashlib.sha256(f"lamina{self.lock_purpose}:{self.scope()}".encode()).digest()
        return int.from_bytes(digest[:8], "big", signed=True)

    def _refuse_session_lock(self) -> None:
        if self.pooled():
            raise session_lock_refused(self._where())

    def _try_session_lock(self) -> bool:
        rows = self.query("SELECT pg_try_advisory_lock(%s)", [self._lock_key()])
        return bool(rows[0][0])

    def _release_session_lock(self) -> None:
        self.query("SELECT pg_advisory_unlock(%s)", [self._lock_key()])

    def _session_lock_holder(self) -> int | None:
        key = self._lock_key() & 0xFFFFFFFFFFFFFFFF
        rows = self.query(
            "SELECT pid FROM pg_catalog.pg_locks WHERE locktype = 'advisory' AND granted "
            "AND classid::bigint = %s AND objid::bigint = %s AND objsubid = 1 "
            "AND database = (SELECT oid FROM pg_catalog.pg_database "
            "WHERE datname = current_database())",
            [key >> 32, key & 0xFFFFFFFF],
        )
        return int(rows[0][0]) if rows else None

    def _session_description(self, session_id: int) -> LockOwner | None:
        rows = self.query(
            "SELECT coalesce(client_hostname, host(client_addr), 'local socket'), "
            "to_char(backend_start AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), "
            "application_name FROM pg_catalog.pg_stat_activity WHERE pid = %s",
            [session_id],
        )
        if not rows:
            return None
        host, started, application = rows[0]
        return LockOwner(
            host=str(host),
            pid=0,
            started_at=str(started),
            command=f"{application or 'a client'} (PostgreSQL backend pid {session_id})",
        )

    def session_id(self) -> int:
        return int(self._connection().info.backend_pid)

    def connected(self) -> bool:
        return self._conn is not None and not self._conn.closed

    def _prepare_for_lock(self) -> None:
        if self.schema is not None and self.read_only:
            raise BackendError("a read-only connection cannot take the migration lock")

    # -- scratch databases (lamina.scratch) --------------------------------------------------
    def create_database(self, name: str) -> None:
        self.execute(f"CREATE DATABASE {ENGINES[self.name].quote(name)}")

    def drop_database(self, name: str) -> None:
        version = int(self.query("SHOW server_version_num")[0][0])
        force = " WITH (FORCE)" if version >= _FORCE_DROP_VERSION else ""
        self.execute(f"DROP DATABASE IF EXISTS {ENGINES[self.name].quote(name)}{force}")

    def grant_hint(self, user: str, prefix: str) -> str:
        return f'ALTER ROLE "{user}" {self.scratch_privilege}'

    # -- helpers --------------------------------------------------------------------------------
    def _connection(self) -> psycopg.Connection[Any]:
        if self._conn is None:
            raise RuntimeError("PostgresBackend used before connect()")
        return self._conn

    def _where(self) -> str:
        return (
            f"PostgreSQL database {self.url.database} on {self.url.host}:"
            f"{self.url.port or DEFAULT_PORT}"
        )

    def _unreachable(self, exc: psycopg.Error) -> BackendUnavailableError:
        return unreachable(str(exc), self.url, self._where(), self._mask)
