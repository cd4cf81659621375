"""lamina's session settings on PostgreSQL, directly or through a connection pooler.

Directly, the settings (``search_path``, ``statement_timeout``, ``lock_timeout``,
``default_transaction_read_only``) travel in the startup packet as ``options``, with a marker
(``lamina.direct=on``). A pooler such as PgBouncer either refuses ``options`` (stock
configuration: ``unsupported startup parameter: options``) or drops it
(``ignore_startup_parameters = options``); in transaction pooling no session state survives a
transaction anyway. lamina tells the two apart on connecting: the startup packet was refused,
or the marker did not arrive. Through a pooler every transaction lamina opens starts with
``SET LOCAL`` of the same settings, and a statement lamina runs outside a transaction of its
own is wrapped in one (``BEGIN; SET LOCAL ...; statement; COMMIT``): each transaction carries
what it needs, whichever server connection the pooler hands it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg.pq import TransactionStatus

from lamina.engines.base import BackendOptions
from lamina.errors import ConfigError

__all__ = [
    "MARKER",
    "NOT_THROUGH_A_POOLER",
    "Probe",
    "SessionSettings",
    "options_refused",
    "own_transaction",
    "probe",
    "session_lock_refused",
]

#: A custom setting sent with the others; present on the server connection only when the
#: startup packet's ``options`` reached PostgreSQL itself.
MARKER = "lamina.direct"

#: The statement timeout is the time limit plus this: a backstop behind the runner's watchdog,
#: a little later so the two never race (the watchdog's cancel stops a migration at its limit).
STATEMENT_TIMEOUT_MARGIN_MS = 1000
#: Added to the error of a statement PostgreSQL refuses inside a transaction, through a pooler.
NOT_THROUGH_A_POOLER = (
    " (through a connection pooler lamina runs every statement in a transaction, to give it "
    "search_path and the timeouts: run this migration with DATABASE_URL pointing at "
    "PostgreSQL itself, not the pooler)"
)

#: One round trip after connecting: did the options arrive, is this a standby, how far behind.
_PROBE = (
    f"SELECT current_setting('{MARKER}', true), pg_is_in_recovery(), "
    "CASE WHEN NOT pg_is_in_recovery() THEN NULL "
    "WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0.0 "
    "ELSE EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp())::float8 END"
)


@dataclass(frozen=True)
class SessionSettings:
    """What every lamina statement must run under, whichever way it reaches the server."""

    schema: str | None
    read_only: bool
    statement_timeout_ms: int | None
    lock_timeout_ms: int | None

    @classmethod
    def of(cls, schema: str | None, read_only: bool, options: BackendOptions) -> SessionSettings:
        limit = options.statement_timeout_ms
        return cls(
            schema=schema,
            read_only=read_only,
            statement_timeout_ms=int(limit) + STATEMENT_TIMEOUT_MARGIN_MS if limit else None,
            lock_timeout_ms=options.table_lock_timeout_ms or None,
        )

    def startup(self) -> list[str]:
        """``-c name=value`` options for a direct connection's startup packet."""
        found = [f"-c {name}={value}" for name, value in self._pairs()]
        if self.read_only:
            found.append("-c default_transaction_read_only=on")
        return [*found, f"-c {MARKER}=on"]

    def begin(self) -> str:
        """``BEGIN`` and the settings as ``SET LOCAL``: one simple query, one round trip."""
        begin = "BEGIN READ ONLY" if self.read_only else "BEGIN"
        return "; ".join([begin, *(f"SET LOCAL {name} = {value}" for name, value in self._pairs())])

    def _pairs(self) -> list[tuple[str, str]]:
        pairs = []
        if self.schema is not None:
            # A plain identifier (checked when the URL is read), unquoted as it always was.
            pairs.append(("search_path", self.schema))
        if self.statement_timeout_ms:
            pairs.append(("statement_timeout", str(int(self.statement_timeout_ms))))
        if self.lock_timeout_ms:
            pairs.append(("lock_timeout", str(int(self.lock_timeout_ms))))
        return pairs


@dataclass(frozen=True)
class Probe:
    """What the server said right after connecting."""

    direct: bool  # the startup options reached PostgreSQL (no pooler dropped them)
    standby: bool  # pg_is_in_recovery(): a hot standby, read-only
    lag_s: float | None  # replay lag of a standby, None when unknown or on a primary


def session_lock_refused(where: str) -> ConfigError:
    """Session locks through a pooler: refused rather than run unserialised."""
    return ConfigError(
        "lock mode",
        "session",
        f"{where} is reached through a connection pooler (PgBouncer?), where a session lock "
        "is not held across transactions, so runs would not be serialised",
        hint="use --lock-mode table (LAMINA_LOCK_MODE=table), the lock that works through a pooler",
    )


def options_refused(exc: BaseException) -> bool:
    """Whether a failed connection is a pooler refusing the startup ``options``."""
    return "unsupported startup parameter" in str(exc)


def probe(conn: psycopg.Connection[Any]) -> Probe:
    """Ask the server the :class:`Probe` questions (autocommit: any server connection)."""
    row = conn.execute(_PROBE, prepare=False).fetchone()
    if row is None:  # pragma: no cover - a SELECT without FROM always has its row
        return Probe(direct=False, standby=False, lag_s=None)
    marker, standby, lag = row
    return Probe(
        direct=marker == "on", standby=bool(standby), lag_s=None if lag is None else float(lag)
    )


@contextmanager
def own_transaction(conn: psycopg.Connection[Any], settings: SessionSettings) -> Iterator[None]:
    """Run the block in a transaction that starts with the settings, when the connection is
    not in one already (through a pooler, a statement outside a transaction would run on
    a server connection without them)."""
    if not _idle(conn):
        yield
        return
    conn.execute(settings.begin(), prepare=False)
    try:
        yield
    except BaseException:
        if not conn.closed and not _idle(conn):
            with suppress(psycopg.Error):  # the statement's own error is the one to report
                conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def _idle(conn: psycopg.Connection[Any]) -> bool:
    """Outside a transaction (asked anew each time: the statement may have changed it)."""
    return conn.info.transaction_status == TransactionStatus.IDLE
