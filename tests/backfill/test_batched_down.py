"""Batched downs on every engine: a rollback walks the key as the up did, one transaction per
range with its progress (direction ``down``); a stopped one is paused, ``up`` refuses to run
and ``rollback`` resumes it; at the end history is as after any rollback. A batched
migration's ordinary down is unchanged."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from click.testing import Result

CREATE = """
-- migrate:up
CREATE TABLE items (
    id INTEGER PRIMARY KEY, hits INTEGER NOT NULL DEFAULT 0,
    undone INTEGER NOT NULL DEFAULT 0, batch_lo INTEGER
);
-- migrate:down
DROP TABLE items;
"""

# The down records which range undid each row: ranges of at most 7 rows, each row once.
SQL_BATCHED = """
-- batch: items id 7
-- migrate:up
UPDATE items SET hits = hits + 1 WHERE id >= :lo AND id < :hi;
-- migrate:down
UPDATE items SET undone = undone + 1, batch_lo = :lo WHERE id >= :lo AND id < :hi;
"""

# The down fails on the batch that reaches key 60 until BACKFILL_GO is set: a paused down.
PY_BATCHED = """
import os

from lamina import BatchedMigration


class Count(BatchedMigration):
    table = "items"
    key = "id"
    batch_size = 10

    def batch(self, lo, hi):
        self.execute_sql("UPDATE items SET hits = hits + 1 WHERE id >= ? AND id < ?", (lo, hi))

    def batch_down(self, lo, hi):
        if hi > 60 and not os.environ.get("BACKFILL_GO"):
            raise RuntimeError("not yet")
        self.execute_sql("UPDATE items SET undone = undone + 1 WHERE id >= ? AND id < ?", (lo, hi))
"""

PY_ORDINARY = """
from lamina import BatchedMigration


class Count(BatchedMigration):
    table = "items"
    batch_size = 10

    def batch(self, lo, hi):
        self.execute_sql("UPDATE items SET hits = hits + 1 WHERE id >= ? AND id < ?", (lo, hi))

    def down(self):
        self.execute_sql("UPDATE items SET undone = undone + 1")
"""

SQL_ORDINARY = SQL_BATCHED.replace(
    "UPDATE items SET undone = undone + 1, batch_lo = :lo WHERE id >= :lo AND id < :hi;",
    "UPDATE items SET undone = undone + 1;\nUPDATE items SET batch_lo = 0;",
)

ROWS = 150  # ids 1..199 but the multiples of 4
ROLLBACK = ("rollback", "1", "--yes", "--force")


def _setup(run: Callable[..., Result], make: Any, raw_database: Any, db_url: str) -> Any:
    make({"001_items.sql": CREATE})
    assert run("up").exit_code == 0
    raw = raw_database(db_url)
    values = ", ".join(f"({n})" for n in range(1, 200) if n % 4)
    raw.execute(f"INSERT INTO items (id) VALUES {values}")
    return raw


def _counts(raw: Any, column: str) -> dict[int, int]:
    found = raw.query(f"SELECT {column}, COUNT(*) FROM items GROUP BY {column}")
    return {int(value): int(n) for value, n in found}


def _after_a_rollback(raw: Any, run: Callable[..., Result], migration_id: str) -> None:
    """History as after any rollback: the row gone, a rollback audit row, the file pending."""
    assert raw.applied_ids() == ["001_items"]
    actions = raw.query(
        f"SELECT action FROM lamina_migration_log WHERE migration_id = '{migration_id}' "
        "ORDER BY seq"
    )
    assert [str(a[0]) for a in actions][-1] == "rollback"
    assert raw.query("SELECT COUNT(*) FROM lamina_backfills")[0][0] == 0
    document = json.loads(run("status", "--json").output)
    assert document["pending"] == 1 and document["paused"] == 0 and document["dirty"] == []


def test_a_sql_batched_down_runs_once_per_range(
    run: Callable[..., Result], make_migrations: Any, raw_database: Any, db_url: str
) -> None:
    raw = _setup(run, make_migrations, raw_database, db_url)
    make_migrations({"002_fill.sql": SQL_BATCHED})
    assert run("up").exit_code == 0
    preview = run("rollback", "1", "--dry-run")
    assert "batch_lo = :lo WHERE id >= :lo AND id < :hi" in preview.output
    rolled = run(*ROLLBACK)
    assert rolled.exit_code == 0, rolled.output
    assert _counts(raw, "undone") == {1: ROWS}
    ranges = _counts(raw, "batch_lo")
    assert len(ranges) == -(-ROWS // 7) and max(ranges.values()) == 7
    assert sum(ranges.values()) == ROWS
    _after_a_rollback(raw, run, "002_fill")


def test_a_stopped_batched_down_is_resumed_by_rollback_and_refused_by_up(
    run: Callable[..., Result], make_migrations: Any, raw_database: Any, db_url: str
) -> None:
    raw = _setup(run, make_migrations, raw_database, db_url)
    make_migrations({"002_count.py": PY_BATCHED})
    assert run("up").exit_code == 0
    failed = run(*ROLLBACK)
    assert failed.exit_code == 1, failed.output
    assert "002_count" in failed.output and "not yet" in failed.output
    assert "rolling back in batches, its batch [" in failed.output
    assert "`lamina rollback` again to resume" in failed.output

    direction, done = raw.query("SELECT direction, rows_done FROM lamina_backfills")[0]
    assert str(direction) == "down" and 0 < int(done) < ROWS
    state, detail = raw.query("SELECT state, detail FROM lamina_migrations WHERE id = '002_count'")[
        0
    ]
    assert str(state) == "running" and str(detail).startswith("backfill down started ")
    assert _counts(raw, "undone") == {1: int(done), 0: ROWS - int(done)}
    entry = next(
        m
        for m in json.loads(run("status", "--json").output)["migrations"]
        if m["id"] == "002_count"
    )
    assert entry["status"] == "paused" and entry["backfill"]["direction"] == "down"

    refused = run("up", env={"BACKFILL_GO": "1"})
    assert refused.exit_code != 0
    assert "002_count is being rolled back in batches" in refused.output
    assert "run `lamina rollback 1` to finish it" in refused.output
    assert "lamina repair 002_count" in refused.output
    assert _counts(raw, "hits") == {1: ROWS}  # up changed nothing

    resumed = run(*ROLLBACK, env={"BACKFILL_GO": "1"})
    assert resumed.exit_code == 0, resumed.output
    assert _counts(raw, "undone") == {1: ROWS}
    _after_a_rollback(raw, run, "002_count")
    assert run("up").exit_code == 0  # applied again, from the first key
    assert _counts(raw, "hits") == {2: ROWS}


def test_an_ordinary_down_of_a_batched_migration_runs_once_as_before(
    run: Callable[..., Result], make_migrations: Any, raw_database: Any, db_url: str
) -> None:
    raw = _setup(run, make_migrations, raw_database, db_url)
    for name, text in (("002_count.py", PY_ORDINARY), ("002_count.sql", SQL_ORDINARY)):
        folder = make_migrations({name: text})
        assert run("up").exit_code == 0
        rolled = run(*ROLLBACK)
        assert rolled.exit_code == 0, rolled.output
        assert raw.applied_ids() == ["001_items"]
        assert raw.query("SELECT COUNT(*) FROM lamina_backfills")[0][0] == 0
        (folder / name).unlink()
    assert _counts(raw, "undone") == {2: ROWS}
