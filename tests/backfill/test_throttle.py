"""Throttling a backfill: the batch size adapting toward a target duration within its
bounds, and the replica-lag ceiling (a paused backfill while replicas lag too far)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from click.testing import Result

CREATE = """
-- migrate:up
CREATE TABLE items (id INTEGER PRIMARY KEY, hits INTEGER NOT NULL DEFAULT 0);
CREATE TABLE ranges (lo INTEGER, hi INTEGER);
CREATE TABLE fake_lag (seconds INTEGER);
INSERT INTO fake_lag VALUES (100);
-- migrate:down
DROP TABLE fake_lag;
DROP TABLE ranges;
DROP TABLE items;
"""

# Every batch takes far less than half the (huge) target, so each next size doubles, capped.
GROWING = """
from lamina import BatchedMigration


class Grow(BatchedMigration):
    table = "items"
    key = "id"
    batch_size = 3
    target_batch_ms = 1_000_000
    max_batch_size = 40

    def batch(self, lo, hi):
        self.execute_sql("UPDATE items SET hits = hits + 1 WHERE id >= ? AND id < ?", (lo, hi))
        self.execute_sql("INSERT INTO ranges (lo, hi) VALUES (?, ?)", (lo, hi))
"""

LAGGING = """
from lamina import BatchedMigration


class Lagging(BatchedMigration):
    table = "items"
    key = "id"
    batch_size = 50
    max_replica_lag_s = 5
    replica_lag_sql = "SELECT seconds FROM fake_lag"
    max_lag_wait_s = 0

    def batch(self, lo, hi):
        self.execute_sql("UPDATE items SET hits = hits + 1 WHERE id >= ? AND id < ?", (lo, hi))
"""


def _setup(run: Callable[..., Result], make: Any, raw_database: Any, db_url: str) -> Any:
    make({"001_items.sql": CREATE})
    assert run("up").exit_code == 0
    raw = raw_database(db_url)
    raw.execute(f"INSERT INTO items (id) VALUES {', '.join(f'({n})' for n in range(1, 151))}")
    return raw


def test_batch_size_grows_toward_the_target_within_its_bound(
    run: Callable[..., Result], make_migrations: Any, raw_database: Any, db_url: str
) -> None:
    raw = _setup(run, make_migrations, raw_database, db_url)
    make_migrations({"002_grow.py": GROWING})
    result = run("up")
    assert result.exit_code == 0, result.output
    sizes = [int(hi) - int(lo) for lo, hi in raw.query("SELECT lo, hi FROM ranges ORDER BY lo")]
    assert sizes == [3, 6, 12, 24, 40, 40, 25]
    assert raw.query("SELECT MIN(hits), MAX(hits) FROM items")[0] == (1, 1)


def test_lagging_replicas_pause_the_backfill_until_they_catch_up(
    run: Callable[..., Result], make_migrations: Any, raw_database: Any, db_url: str
) -> None:
    raw = _setup(run, make_migrations, raw_database, db_url)
    make_migrations({"002_lagging.py": LAGGING})
    stopped = run("up")
    assert stopped.exit_code == 1, stopped.output
    assert "replicas lag 100 s, more than max_replica_lag_s (5 s)" in stopped.output
    entry = json.loads(run("status", "--json").output)["migrations"][1]
    assert entry["status"] == "paused" and entry["backfill"]["rows_done"] == 0
    assert raw.query("SELECT MAX(hits) FROM items")[0][0] == 0

    raw.execute("UPDATE fake_lag SET seconds = 2")
    assert run("up").exit_code == 0
    assert raw.query("SELECT MIN(hits), MAX(hits) FROM items")[0] == (1, 1)


@pytest.mark.parametrize("engine", ["postgresql", "mysql"], indirect=True)
def test_the_lag_ceiling_reads_the_server_or_asks_for_a_query(
    engine: str, run: Callable[..., Result], make_migrations: Any, raw_database: Any, db_url: str
) -> None:
    """PostgreSQL's primary shows its standbys' replay lag (none here: no lag, it runs);
    MySQL's does not, so without ``replica_lag_sql`` lamina says so before any batch."""
    raw = _setup(run, make_migrations, raw_database, db_url)
    make_migrations(
        {
            "002_lagging.py": LAGGING.replace(
                '    replica_lag_sql = "SELECT seconds FROM fake_lag"\n', ""
            )
        }
    )
    result = run("up")
    if engine == "postgresql":
        assert result.exit_code == 0, result.output
        assert raw.query("SELECT MIN(hits) FROM items")[0][0] == 1
    else:
        assert result.exit_code == 1
        assert "exposes no replica lag on the primary" in result.output
        assert "replica_lag_sql" in result.output
