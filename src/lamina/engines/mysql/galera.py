"""MariaDB Galera Cluster: how lamina recognises a node, and what it refuses to run there.

Every node of a Galera cluster accepts writes; a transaction is certified against the others'
at commit, and DDL runs in *total order isolation* (TOI, the default ``wsrep_OSU_method``): the
statement is ordered among all writes and applied on every node at the same point. What that
means for lamina:

- ``GET_LOCK()`` is local to the node it runs on, so session lock mode cannot keep runs on other
  nodes out: lamina refuses it and asks for ``--lock-mode table``, whose lock row is replicated
  (the primary key decides which node's insert wins).
- Connections set ``wsrep_sync_wait`` (:data:`SYNC_WAIT`), so a read sees every write the
  cluster committed before it (a run that just took the lock reads the previous run's history).
- A node outside the primary component (it lost quorum, or is still joining) refuses queries;
  lamina says so on connect instead of failing half-way (:func:`not_ready_problem`).
- Some statements cannot be made safe and are refused before a migration runs
  (:func:`refusal`): non-InnoDB tables (Galera replicates InnoDB only), ``LOCK TABLES`` (its
  locks hold on one node), and switching replication or TOI off for the session
  (``wsrep_on = OFF``, ``wsrep_OSU_method = RSU``), since lamina's history row would then say
  on every node that a migration ran where it ran on one.

Rolling schema upgrade (RSU) is for a long ``ALTER`` that must not stall the whole cluster:
the operator runs it node by node, outside lamina; the migration then repeats it idempotently
(``ADD COLUMN IF NOT EXISTS``), a no-op under TOI that records it in history.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from lamina.engines.base import RefusedInTransaction
from lamina.errors import BackendUnavailableError, ConfigError

__all__ = [
    "GALERA_ERRORS",
    "STATUS_QUERY",
    "SYNC_WAIT",
    "WSREP_QUERY",
    "checked",
    "is_galera",
    "join_session",
    "meaning",
    "not_ready_problem",
    "refusal",
    "session_lock_refused",
]

#: Whether wsrep replication is on (MySQL answers with no row: not Galera).
WSREP_QUERY = "SHOW VARIABLES LIKE 'wsrep\\_on'"
STATUS_QUERY = (
    "SHOW GLOBAL STATUS WHERE Variable_name IN "
    "('wsrep_ready', 'wsrep_cluster_status', 'wsrep_local_state_comment')"
)
#: Causality checks for reads (1), UPDATE/DELETE (2), INSERT/REPLACE (4) and SHOW (8).
SYNC_WAIT = "SET SESSION wsrep_sync_wait = 15"

#: What a Galera error number means, appended to the server's own message.
GALERA_ERRORS: Mapping[int, str] = {
    1213: "on a Galera cluster this is also how a certification conflict shows: another node "
    "committed a conflicting change first, and nothing of this transaction was kept",
    1047: "this Galera node is not part of the cluster's primary component (it lost quorum "
    "or is still joining); point DATABASE_URL at a node that is",
    1180: "a Galera node refused the commit; nothing of this transaction was kept",
}

_RESTRICT_HINT = (
    "change the migration: Galera replicates InnoDB tables only and orders every statement "
    "cluster-wide itself, so no table lock is needed (see README, MariaDB Galera Cluster)"
)
#: Storage engines Galera does not replicate (``ENGINE X`` without ``=`` is read only for
#: these, so a column named ``engine`` is not mistaken for the table option).
_OTHER_ENGINES = frozenset(
    {
        "ARIA", "ARCHIVE", "BLACKHOLE", "COLUMNSTORE", "CONNECT", "CSV", "FEDERATED",
        "FEDERATEDX", "HEAP", "MEMORY", "MERGE", "MRG_MYISAM", "MYISAM", "NDB", "NDBCLUSTER",
        "OQGRAPH", "ROCKSDB", "S3", "SEQUENCE", "SPIDER", "TOKUDB",
    }
)  # fmt: skip
_COMMENTS = re.compile(r"--[^\n]*|#[^\n]*|/\*(?!!)[\s\S]*?\*/")
_STRINGS = re.compile(r"'(?:[^'\\]|\\.|'')*'|\"(?:[^\"\\]|\\.|\"\")*\"|`(?:[^`]|``)*`")
_EXECUTABLE = re.compile(r"/\*!\d*|\*/")
_ENGINE = re.compile(r"\bENGINE\s*(=)?\s*([A-Z_][A-Z0-9_]*)")
_SET_VALUE = r"\s*:?=\s*'?\s*([A-Z0-9_]+)"
_WSREP_ON = re.compile(r"\bWSREP_ON" + _SET_VALUE)
_OSU = re.compile(r"\bWSREP_OSU_METHOD" + _SET_VALUE)
_DEFAULT_ENGINE = re.compile(r"\b(?:DEFAULT_STORAGE_ENGINE|STORAGE_ENGINE)" + _SET_VALUE)


def is_galera(rows: Iterable[tuple[Any, ...]]) -> bool:
    """Whether :data:`WSREP_QUERY`'s rows say wsrep replication is on."""
    return any(str(value).upper() in ("ON", "1") for _name, value in rows)


def not_ready_problem(rows: Iterable[tuple[Any, ...]]) -> str | None:
    """Why a node (:data:`STATUS_QUERY`'s rows) cannot take lamina's work, or None."""
    status = {str(name).lower(): str(value) for name, value in rows}
    if status.get("wsrep_ready", "ON").upper() == "ON":
        return None
    cluster = status.get("wsrep_cluster_status", "unknown")
    state = status.get("wsrep_local_state_comment", "unknown")
    return (
        f"this Galera node is not ready (wsrep_ready=OFF, cluster status {cluster}, "
        f"node state {state}): it is not part of the cluster's primary component"
    )


def _words(sql: str, *, strings: bool) -> str:
    """``sql`` upper-cased on one line, without comments (and without quoted text and
    identifiers unless ``strings``); the inside of ``/*! ... */`` is kept, as MySQL runs it."""
    text = _COMMENTS.sub(" ", sql)
    if not strings:
        text = _STRINGS.sub(" ", text)
    return " ".join(_EXECUTABLE.sub(" ", text).split()).upper()


def refusal(sql: str) -> tuple[str, str] | None:
    """(reason, hint) when ``sql`` cannot run safely on a Galera cluster, else None."""
    bare = _words(sql, strings=False)
    if re.match(r"LOCK\s+TABLES?\b", bare):
        return (
            "LOCK TABLES is refused on a Galera cluster: its locks hold on one node only, "
            "so writes through the other nodes are not kept out",
            _RESTRICT_HINT,
        )
    table_ddl = re.match(r"(CREATE|ALTER)\s+(OR\s+REPLACE\s+)?TABLE\b", bare)
    if table_ddl:
        for found in _ENGINE.finditer(bare):
            engine = found.group(2)
            if engine == "INNODB" or (not found.group(1) and engine not in _OTHER_ENGINES):
                continue
            return (
                f"ENGINE={engine} is refused on a Galera cluster: it replicates only InnoDB "
                "tables, so the table's rows would differ from node to node",
                _RESTRICT_HINT,
            )
    if bare.startswith("SET "):
        quoted = _words(sql, strings=True).replace("@@SESSION.", "").replace("@@", "")
        return _setting_refusal(quoted)
    return None


def _setting_refusal(sql: str) -> tuple[str, str] | None:
    off = _WSREP_ON.search(sql)
    if off and off.group(1) in ("OFF", "0", "FALSE"):
        return (
            "SET wsrep_on = OFF is refused: it stops replication for the session, so the "
            "migration would change one node while lamina's history row says all",
            _RESTRICT_HINT,
        )
    osu = _OSU.search(sql)
    if osu and osu.group(1) != "TOI":
        return (
            f"SET wsrep_OSU_method = {osu.group(1)} is refused: rolling schema upgrade applies "
            "DDL on this node only, while lamina's history row is replicated to every node",
            "run a rolling schema upgrade node by node outside lamina, and let the migration "
            "repeat it idempotently (ADD COLUMN IF NOT EXISTS...) under TOI (see README, "
            "MariaDB Galera Cluster)",
        )
    engine = _DEFAULT_ENGINE.search(sql)
    if engine and engine.group(1) != "INNODB":
        return (
            f"SET default_storage_engine = {engine.group(1)} is refused on a Galera cluster: it "
            "replicates only InnoDB tables",
            _RESTRICT_HINT,
        )
    return None


def join_session(cursor: Any, where: str) -> bool:
    """Whether a fresh connection's server (``where``, for messages) is a Galera node; on
    one, turn causal reads on.

    Raises:
        BackendUnavailableError: the node is not part of the primary component.
    """
    cursor.execute(WSREP_QUERY)
    if not is_galera(cursor.fetchall()):
        return False
    cursor.execute(STATUS_QUERY)
    problem = not_ready_problem(cursor.fetchall())
    if problem is not None:
        raise BackendUnavailableError(
            f"cannot use {where}: {problem}",
            hint="point DATABASE_URL at a node whose wsrep_cluster_status is Primary, or wait "
            "until this node has rejoined the cluster",
        )
    cursor.execute(SYNC_WAIT)
    return True


def meaning(code: int | None, galera: bool) -> str:
    """What error ``code`` means on a Galera node, as a suffix to the server's message."""
    text = GALERA_ERRORS.get(code or 0)
    return f"; {text}" if text and (galera or code == 1047) else ""


def session_lock_refused(where: str) -> ConfigError:
    """Session lock mode on a Galera node: ``GET_LOCK()`` is not cluster-wide."""
    return ConfigError(
        "lock mode",
        "session",
        f"{where} is a node of a Galera cluster, where GET_LOCK() locks one node only and "
        "cannot keep runs on the other nodes out",
        hint="run with --lock-mode table (LAMINA_LOCK_MODE=table): the lock is then a row of "
        "lamina_lock, replicated to every node",
    )


@contextmanager
def checked(statements: Callable[[], Sequence[str]]) -> Iterator[None]:
    """:meth:`MySQLBackend.migration_session` on Galera: refuse the migration, before its
    first statement runs, when one of its statements cannot be made safe there."""
    for sql in statements():
        refused = refusal(sql)
        if refused is not None:
            raise RefusedInTransaction(sql, *refused)
    yield
