"""Kill tests: a ``lamina up`` process SIGKILLed at seeded random points during a backfill
always resumes, and every row is updated exactly once (its counter is 1) with none missed."""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from support.backfills import ITEMS
from support.processes import lamina_env, start

ROWS = 2000


# Tiny batches with a pause: the backfill runs for a second or two, so the seeded kills
# land before it, in it (mid-batch or between batches) and after it.
BACKFILL = """
from lamina import BatchedMigration


class CountHits(BatchedMigration):
    table = "items"
    key = "id"
    batch_size = 13
    pause_ms = 4

    def batch(self, lo, hi):
        self.execute_sql("UPDATE items SET hits = hits + 1 WHERE id >= ? AND id < ?", (lo, hi))
"""


def _fill(raw: Any) -> None:
    """ROWS rows with gaps in the key (every third id is missing)."""
    ids = [n for n in range(1, ROWS * 3 // 2 + 1) if n % 3][:ROWS]
    values = ", ".join(f"({n})" for n in ids)
    raw.execute(f"INSERT INTO items (id) VALUES {values}")


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_killed_backfill_resumes_and_updates_every_row_once(
    seed: int, db_url: str, tmp_path: Path, make_migrations: Any, raw_database: Any
) -> None:
    folder = make_migrations({"001_items.sql": ITEMS})
    env = lamina_env(db_url, folder)
    first = subprocess.run(
        [sys.executable, "-m", "lamina", "up"], env=env, cwd=tmp_path, capture_output=True,
        text=True, check=False,
    )  # fmt: skip
    assert first.returncode == 0, first.stderr
    raw = raw_database(db_url)
    _fill(raw)
    make_migrations({"002_count_hits.py": BACKFILL})

    rng = random.Random(seed)
    kills = 0
    for _ in range(4):
        child = start(["up"], env, tmp_path)
        time.sleep(rng.uniform(0.3, 2.5))
        if child.poll() is not None:
            break
        child.send_signal(signal.SIGKILL)
        child.communicate()
        kills += 1
    final = subprocess.run(
        [sys.executable, "-m", "lamina", "up"], env=env, cwd=tmp_path, capture_output=True,
        text=True, check=False,
    )  # fmt: skip
    assert final.returncode == 0, final.stdout + final.stderr

    counts = raw.query("SELECT hits, COUNT(*) FROM items GROUP BY hits")
    assert {int(hits): int(n) for hits, n in counts} == {1: ROWS}, (kills, counts)
    states = raw.query("SELECT state FROM lamina_migrations WHERE id = '002_count_hits'")
    assert [str(row[0]) for row in states] == ["applied"]
    assert raw.query("SELECT COUNT(*) FROM lamina_backfills")[0][0] == 0
