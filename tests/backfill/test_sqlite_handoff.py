"""On SQLite a backfill leaves the write lock free after each batch for as long as SQLite's
busy handler sleeps, so a concurrent writer gets in after about one batch instead of sleeping
through the whole backfill (the handoff, docs/performance.md "Batched backfills")."""

from __future__ import annotations

import multiprocessing
import sqlite3
import time
from collections.abc import Callable
from typing import Any

import pytest
from click.testing import Result

from lamina.engines.sqlite.backend import busy_sleep_ms

ROWS = 400_000
CREATE = """-- migrate:up
CREATE TABLE items (id INTEGER PRIMARY KEY, hits INTEGER NOT NULL DEFAULT 0, w INTEGER NOT NULL
    DEFAULT 0);
"""
BACKFILL = """
from lamina import BatchedMigration


class Touch(BatchedMigration):
    table = "items"
    key = "id"
    batch_size = 4000

    def batch(self, lo, hi):
        self.execute_sql("UPDATE items SET hits = hits + 1 WHERE id >= ? AND id < ?", (lo, hi))
"""


def test_the_handoff_follows_sqlites_busy_handler() -> None:
    waited = (0, 2, 5, 40, 100, 200, 300, 10_000)
    assert [busy_sleep_ms(ms) for ms in waited] == [1, 2, 5, 20, 25, 50, 100, 100]


def _writer(path: str, ready: Any, stop: Any, writes: Any) -> None:
    con = sqlite3.connect(path, timeout=30, isolation_level=None)
    ready.set()
    while not stop.is_set():
        con.execute("UPDATE items SET w = w + 1 WHERE id = ?", (writes.value * 7919 % ROWS + 1,))
        writes.value += 1
        time.sleep(0.002)


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_a_concurrent_writer_waits_about_a_batch_not_the_backfill(
    engine: str, db_url: str, run: Callable[..., Result], make_migrations: Any, raw_database: Any
) -> None:
    make_migrations({"001_items.sql": CREATE})
    assert run("up").exit_code == 0
    raw_database(db_url).execute(
        "INSERT INTO items (id) WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g "
        f"WHERE n < {ROWS}) SELECT n FROM g"
    )
    make_migrations({"002_touch.py": BACKFILL})
    ready, stop = multiprocessing.Event(), multiprocessing.Event()
    writes = multiprocessing.Value("i", 0)
    writer = multiprocessing.Process(
        target=_writer, args=(db_url.split(":///", 1)[1], ready, stop, writes)
    )
    writer.start()
    ready.wait(10)
    before = writes.value
    result = run("up")
    during = writes.value - before
    stop.set()
    writer.join(30)
    assert result.exit_code == 0, result.output
    # 100 batches: with the handoff the writer gets in after nearly every one (139 to 152
    # writes when measured); without it, it sleeps through most of them (7 to 34 in all).
    assert during >= 60, during
    assert raw_database(db_url).query("SELECT MIN(hits), MAX(hits) FROM items")[0] == (1, 1)
