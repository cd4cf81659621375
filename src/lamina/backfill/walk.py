"""The walk over a batched migration's key, apart from the transactions around it: whether
the key can drive batches, where the next range ends, how large the next batch is, and the
wait for lagging replicas before it."""

from __future__ import annotations

import re
import time
from collections.abc import Callable

from lamina.engines.base import Backend
from lamina.errors import ExecutionError
from lamina.migration import BatchedMigration

__all__ = ["adapted_size", "key_problem", "next_range", "wait_for_replicas"]

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?")
#: The replicas' lag as the primary shows it, in seconds: PostgreSQL's walsender view (the
#: slowest standby's replay lag; NULL, read as 0, when none is connected or it is idle).
_REPLICA_LAG_SQL = {
    "postgres": "SELECT MAX(EXTRACT(EPOCH FROM replay_lag)) FROM pg_stat_replication",
}
_INTEGER_TYPE = re.compile(r"int|serial|number\(\d+(,\s*0)?\)", re.IGNORECASE)

#: Builds the error that pauses the backfill: ``(sql, message, hint)``.
ErrorFactory = Callable[[str | None, str, str], ExecutionError]


def key_problem(backend: object, table: str, key: str) -> str | None:
    """Why ``key`` cannot drive batches over ``table`` on the live database, or None.

    It must be the primary key or a unique, indexed column (a unique constraint is one),
    of an integer type.
    """
    from lamina.schema.capture import snapshot

    if not (_NAME.fullmatch(table) and _NAME.fullmatch(key)):
        return f"`{table}`.`{key}` is not a plain table and column name"
    found = [t for t in snapshot(backend).tables if t.name.lower() == table.lower()]  # type: ignore[arg-type]
    if not found:
        return f"table {table} does not exist"
    shape = found[0]
    column = next((c for c in shape.columns if c.name.lower() == key.lower()), None)
    if column is None:
        return f"table {table} has no column {key}"
    if not _INTEGER_TYPE.search(column.type):
        return f"{table}.{key} is {column.type}, not an integer type"
    one = (key.lower(),)
    keys = [tuple(c.lower() for c in shape.primary_key)]
    keys += [tuple(c.lower() for c in unique) for unique in shape.uniques]
    keys += [
        tuple(c.lower() for c in index.columns)
        for index in shape.indexes
        if index.unique and not index.where
    ]
    if one not in keys:
        return f"{table}.{key} is neither the primary key nor a unique indexed column"
    return None


def key_at(backend: Backend, table: str, key: str, lo: int, upper: int, offset: int) -> int | None:
    """The ``offset``-th key of ``table`` in ``[lo, upper]`` (0 is the first), or None: where
    a range of ``offset`` rows from ``lo`` ends (the dry run's ranges cut them alike)."""
    found = backend.query(
        backend.sql(
            f"SELECT {key} FROM {table} WHERE {key} >= ? AND {key} <= ? "
            f"ORDER BY {key} LIMIT 1 OFFSET {int(offset)}"
        ),
        (lo, upper),
    )
    return int(found[0][0]) if found else None


def next_range(
    backend: Backend, migration: BatchedMigration, lo: int, upper: int, size: int
) -> tuple[int, int]:
    """``(hi, rows)``: the range ``[lo, hi)`` holds ``rows`` rows, at most ``size``."""
    table, key = migration.table, migration.key
    hi = key_at(backend, table, key, lo, upper, size)
    if hi is not None:
        return hi, size
    counted = backend.query(
        backend.sql(f"SELECT COUNT(*) FROM {table} WHERE {key} >= ? AND {key} <= ?"),
        (lo, upper),
    )
    return upper + 1, int(counted[0][0])


def adapted_size(migration: BatchedMigration, size: int, took_ms: int) -> int:
    """The next batch size: toward ``target_batch_ms``, at most doubling or halving."""
    target = migration.target_batch_ms
    if not target:
        return size
    ratio = min(2.0, max(0.5, target / max(took_ms, 1)))
    low, high = migration.min_batch_size, migration.max_batch_size
    return max(low, min(high, max(1, round(size * ratio))))


def wait_for_replicas(
    backend: Backend, migration: BatchedMigration, rows_done: int, resume: str, error: ErrorFactory
) -> None:
    """With ``max_replica_lag_s``: wait while the replicas lag more than it, at most
    ``max_lag_wait_s``, then stop (paused) rather than let them fall further behind.
    ``resume`` is the command that resumes the backfill, for the hint."""
    ceiling = migration.max_replica_lag_s
    if ceiling is None:
        return
    sql = migration.replica_lag_sql or _REPLICA_LAG_SQL.get(backend.dialect)
    if sql is None:
        raise error(
            None,
            f"max_replica_lag_s is set, but {backend.title} exposes no replica lag on the primary",
            "set `replica_lag_sql` to a query returning the lag in seconds (a heartbeat "
            "table's age), or remove max_replica_lag_s",
        )
    since = time.monotonic()
    while True:
        rows = backend.query(sql)
        lag = float(rows[0][0]) if rows and rows[0][0] is not None else 0.0
        if lag <= ceiling:
            return
        if time.monotonic() - since >= migration.max_lag_wait_s:
            raise error(
                sql,
                f"replicas lag {lag:g} s, more than max_replica_lag_s ({ceiling:g} s), for "
                f"over {migration.max_lag_wait_s:g} s (the {rows_done} rows of earlier "
                "batches stay done)",
                f"the backfill is paused: run `{resume}` again once the replicas caught up",
            )
        time.sleep(min(1.0, migration.max_lag_wait_s / 10))
