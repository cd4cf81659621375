"""What the server engines (PostgreSQL, MySQL/MariaDB) share: the migration lock and its owner.

Two lock modes (``LAMINA_LOCK_MODE``):

``session`` (default)
    The engine's own session lock: ``pg_advisory_lock`` or ``GET_LOCK``. The server releases it
    when the holding connection ends, so a crashed or killed run can never leave it stuck. Once
    held, lamina writes who holds it into ``lamina_lock`` (informational: the row of a dead
    holder is ignored because the engine no longer reports its session as the holder).

``table``
    The row in ``lamina_lock`` *is* the lock, for connection poolers that hand each
    transaction a different server connection (PgBouncer in transaction mode), where session
    locks silently stop working. A heartbeat thread, on a connection of its own, pushes the
    row's expiry forward; a row whose expiry passed belongs to a dead run and is taken over.
    The expiry (``lock_ttl_s``) is longer than the migration time limit, so even a run whose
    heartbeat stalled is never overtaken in the middle of a migration. Expiry is computed on
    the database server's clock, so clients with skewed clocks agree on it.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar

from lamina.engines.base import Backend
from lamina.errors import BackendError, LockLostError, LockTimeoutError, StatementError
from lamina.models import LockOwner

__all__ = ["LOCK_TABLE", "ReadOnlyServerError", "Replica", "ServerBackend"]

LOCK_TABLE = "lamina_lock"
#: How often a waiting run retries the lock.
POLL_S = 0.1

_SELECT_ROW = (
    f"SELECT token, owner, session_id, expires_at - ({{clock}}) FROM {LOCK_TABLE} WHERE name = ?"
)
_INSERT_ROW = (
    f"INSERT INTO {LOCK_TABLE} (name, token, owner, session_id, mode, acquired_at, expires_at) "
    "VALUES (?, ?, ?, ?, ?, ?, {expiry})"
)
_DELETE_ROW = f"DELETE FROM {LOCK_TABLE} WHERE name = ? AND token = ?"
_DELETE_ANY = f"DELETE FROM {LOCK_TABLE} WHERE name = ?"
_BEAT = f"UPDATE {LOCK_TABLE} SET expires_at = ({{clock}}) + ? WHERE name = ? AND token = ?"
_MINE = f"SELECT 1 FROM {LOCK_TABLE} WHERE name = ? AND token = ?"


class ReadOnlyServerError(BackendError):
    """The server is a read-only standby (a replica): a command that changes refuses before
    its first statement. Exit 3, like every refusal that leaves the database untouched."""

    exit_code = 3

    def __init__(self, where: str) -> None:
        super().__init__(
            f"this server is a read-only standby; point DATABASE_URL at the primary ({where} is "
            "in recovery: nothing was changed)",
            hint="status, health and diff work on a standby; up, rollback, repair, redo and "
            "backups need the primary",
        )


@dataclass(frozen=True)
class Replica:
    """A standby's replication state, as the health document shows it."""

    lag_s: float | None  # how far replay is behind, None when the server cannot tell


class ServerBackend(Backend):
    """A backend on a database server; subclasses supply the engine's lock primitives.

    Subclasses implement the abstract hooks below plus the :class:`Backend` contract.
    """

    #: SQL expression for "now" in seconds since the epoch, on the server's clock.
    clock_sql: ClassVar[str]
    #: ``CREATE TABLE lamina_lock`` in the engine's dialect.
    lock_table_ddl: ClassVar[str] = (
        f"CREATE TABLE {LOCK_TABLE} ("
        "name VARCHAR(64) NOT NULL PRIMARY KEY, "
        "token VARCHAR(64) NOT NULL, "
        "owner TEXT NOT NULL, "
        "session_id BIGINT, "
        "mode VARCHAR(16) NOT NULL, "
        "acquired_at VARCHAR(32) NOT NULL, "
        "expires_at DOUBLE PRECISION)"
    )

    _lock_token: str | None = None
    _heartbeat: _Heartbeat | None = None

    def exists(self) -> bool:
        return True  # a server database is checked by connecting, which says what is wrong

    def _mask(self, text: str) -> str:
        """``text`` with the URL's password replaced by ``***``: driver messages may echo it."""
        password = self.url.password
        return text.replace(password, "***") if password else text

    # -- hooks --------------------------------------------------------------------------------
    def lock_name(self) -> str:
        """The lock's name: one per database (and schema), never longer than 64 characters."""
        prefix = f"lamina{self.lock_purpose}:"
        name = prefix + self.scope()
        if len(name) > 64:
            name = prefix + hashlib.sha256(self.scope().encode()).hexdigest()[:40]
        return name

    def scope(self) -> str:
        """What one migration lock covers: the database (PostgreSQL adds the schema)."""
        return str(self.url.database)

    def _try_session_lock(self) -> bool:
        raise NotImplementedError

    def _release_session_lock(self) -> None:
        raise NotImplementedError

    def _session_lock_holder(self) -> int | None:
        """The server session id holding the session lock, or None."""
        raise NotImplementedError

    def _session_description(self, session_id: int) -> LockOwner | None:
        """What the server knows of a session (client address, start time)."""
        return None

    def session_id(self) -> int:
        """This connection's server session id (backend pid, connection id)."""
        raise NotImplementedError

    def connected(self) -> bool:
        """Whether a connection is open (the lock is released without one)."""
        raise NotImplementedError

    def _prepare_for_lock(self) -> None:
        """Make sure the lock table's schema exists before table-mode locking (PostgreSQL)."""

    def _refuse_session_lock(self) -> None:
        """Raise when a session lock cannot serialise runs on this connection (a pooler)."""

    def replica(self) -> Replica | None:
        """The standby's state when the connected server is a read-only replica, else None."""
        return None

    # -- scratch databases (lamina.scratch) ---------------------------------------------------
    #: The privilege that lets a user create databases, named in the hint when it is missing.
    scratch_privilege: ClassVar[str]

    def create_database(self, name: str) -> None:
        """Create the empty database ``name`` (a name lamina generated, never input).

        Raises:
            StatementError: the server refused (a missing privilege).
        """
        raise NotImplementedError

    def drop_database(self, name: str) -> None:
        """Drop the database ``name`` if it exists, sessions still in it or not."""
        raise NotImplementedError

    def grant_hint(self, user: str, prefix: str) -> str:
        """The statement that lets ``user`` create databases named ``prefix...``."""
        raise NotImplementedError

    # -- the lock -----------------------------------------------------------------------------
    def lock(self, owner: LockOwner, timeout_s: float) -> AbstractContextManager[None]:
        return self._hold(owner, timeout_s)

    @contextmanager
    def _hold(self, owner: LockOwner, timeout_s: float) -> Iterator[None]:
        self.connect(timeout_s)
        if self._lock_token is not None:
            # Engine session locks are re-entrant, lamina's lock is not: a second lock() on
            # this connection waits like any other run would, then gives up.
            time.sleep(max(timeout_s, 0.0))
            raise LockTimeoutError(self.target(), timeout_s, self.lock_holder())
        token = uuid.uuid4().hex
        if self.options.lock_mode == "table":
            self._acquire_row(owner, token, timeout_s)
            self._heartbeat = _Heartbeat(self, token)
        else:
            self._refuse_session_lock()
            self._acquire_session(timeout_s)
            self._write_owner(owner, token)
        self._lock_token = token
        try:
            yield
        finally:
            self._lock_token = None
            self._release(token)

    def check_lock(self) -> None:
        beat = self._heartbeat
        if beat is not None and beat.lost:
            raise LockLostError(
                f"the migration lock on {self.target()} expired and was taken over by another "
                "run; this run stopped before its next migration",
                hint=f"raise LAMINA_LOCK_TTL (now {self.options.lock_ttl_s:g} s) above the "
                "longest time a run can go without reaching the database",
            )

    def lock_holder(self) -> LockOwner | None:
        try:
            if self.options.lock_mode == "table":
                return self._table_holder()
            return self._session_holder()
        except StatementError:
            return None  # status must not fail because lock details are unreadable

    # -- session mode -------------------------------------------------------------------------
    def _acquire_session(self, timeout_s: float) -> None:
        deadline = time.monotonic() + max(timeout_s, 0.0)
        while not self._try_session_lock():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise LockTimeoutError(self.target(), timeout_s, self.lock_holder())
            time.sleep(min(POLL_S, remaining))

    def _write_owner(self, owner: LockOwner, token: str) -> None:
        """Record who holds the session lock, so others can name it (best effort)."""
        try:
            self._ensure_lock_table()
            self.execute(self.sql(_DELETE_ANY), [self.lock_name()])
            self.execute(
                self.sql(_INSERT_ROW.format(expiry="NULL")),
                [self.lock_name(), token, _dump(owner), self.session_id(), "session", _now()],
            )
        except StatementError:
            # The engine lock is what serialises runs; a read-only lock table only costs
            # other runs the holder's name.
            return

    def _session_holder(self) -> LockOwner | None:
        session = self._session_lock_holder()
        if session is None:
            return None
        row = self._lock_row()
        if row is not None and row[2] is not None and int(row[2]) == session:
            return _load(row[1])
        return self._session_description(session) or LockOwner(
            host="unknown", pid=0, started_at="unknown", command=f"{self.title} session {session}"
        )

    # -- table mode ---------------------------------------------------------------------------
    def _acquire_row(self, owner: LockOwner, token: str, timeout_s: float) -> None:
        self._prepare_for_lock()
        self._ensure_lock_table()
        deadline = time.monotonic() + max(timeout_s, 0.0)
        insert = self.sql(_INSERT_ROW.format(expiry=f"({self.clock_sql}) + ?"))
        values = [self.lock_name(), token, _dump(owner), self.session_id(), "table", _now()]
        refused: StatementError | None = (
            None  # why our last insert failed, if no holder explains it
        )
        while True:
            row = self._lock_row()
            if row is not None and float(row[3]) <= 0:
                # The holder stopped beating past its expiry: it is dead. Delete exactly that
                # row (its token), so two waiters cannot both take over.
                self.execute(self.sql(_DELETE_ROW), [self.lock_name(), str(row[0])])
                row = None
            if row is None:
                try:
                    self.execute(insert, [*values, self.options.lock_ttl_s])
                    return
                except StatementError as exc:
                    # Usually another run inserted first (and may even be done already):
                    # wait and look again, like any waiter.
                    refused = exc
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                holder = self._table_holder()
                if holder is None and refused is not None:
                    raise BackendError(
                        f"cannot take the migration lock in {self.target()}: {refused.detail}"
                    ) from refused.original
                raise LockTimeoutError(self.target(), timeout_s, holder)
            time.sleep(min(POLL_S, remaining))

    def _table_holder(self) -> LockOwner | None:
        row = self._lock_row()
        if row is None or row[3] is None or float(row[3]) <= 0:
            return None
        return _load(row[1])

    # -- shared -------------------------------------------------------------------------------
    def _lock_row(self) -> tuple[Any, ...] | None:
        if not self.table_exists(LOCK_TABLE):
            return None
        rows = self.query(self.sql(_SELECT_ROW.format(clock=self.clock_sql)), [self.lock_name()])
        return rows[0] if rows else None

    def _ensure_lock_table(self) -> None:
        if self.table_exists(LOCK_TABLE):
            return
        try:
            self.execute(self.lock_table_ddl)
        except StatementError as exc:
            if not self.table_exists(LOCK_TABLE):  # not another run creating it meanwhile
                raise BackendError(
                    f"cannot create {LOCK_TABLE} in {self.target()}: {exc.detail}",
                    hint="grant this user CREATE on the target schema",
                ) from exc.original

    def _release(self, token: str) -> None:
        beat, self._heartbeat = self._heartbeat, None
        if beat is not None:
            beat.stop()
        if not self.connected():
            return  # the connection is gone: the session lock went with it; a row expires
        # A refusal here means the connection is gone: the session lock went with it, and a
        # table-mode row expires.
        with suppress(StatementError):
            self.execute(self.sql(_DELETE_ROW), [self.lock_name(), token])
        if self.options.lock_mode == "session":
            with suppress(StatementError):
                self._release_session_lock()


class _Heartbeat:
    """Keeps a table-mode lock row alive from a thread with its own connection."""

    def __init__(self, backend: ServerBackend, token: str) -> None:
        self.lost = False
        self._backend = backend
        self._token = token
        self._stop = threading.Event()
        self._interval = max(backend.options.lock_ttl_s / 4, 0.05)
        self._thread = threading.Thread(target=self._run, name="lamina-lock-heartbeat", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        owner = self._backend
        beater = type(owner)(owner.url, options=owner.options)
        name = owner.lock_name()
        beat = owner.sql(_BEAT.format(clock=owner.clock_sql))
        mine = owner.sql(_MINE)
        last_ok = time.monotonic()
        try:
            while not self._stop.wait(self._interval):
                try:
                    beater.connect(self._interval)
                    beater.execute(beat, [owner.options.lock_ttl_s, name, self._token])
                    if not beater.query(mine, [name, self._token]):
                        self.lost = True
                        return
                    last_ok = time.monotonic()
                except Exception:
                    beater.close()  # reconnect on the next beat
                    if time.monotonic() - last_ok > owner.options.lock_ttl_s:
                        self.lost = True
                        return
        finally:
            beater.close()


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _dump(owner: LockOwner) -> str:
    return json.dumps(owner.to_record())


def _load(text: object) -> LockOwner:
    try:
        record = json.loads(str(text))
    except ValueError:
        record = {}
    return LockOwner.from_record(record)
