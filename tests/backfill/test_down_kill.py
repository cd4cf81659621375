"""Stopping a batched down: a ``lamina rollback`` SIGKILLed at random points while it walks
the key always resumes with the next ``rollback``, and every row is undone exactly once; a
SIGTERM says the backfill is paused with its rows done and that ``rollback`` resumes it."""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from support.processes import lamina_env, start, wait_for

ROWS = 2000

CREATE = """
-- migrate:up
CREATE TABLE items (
    id INTEGER PRIMARY KEY, hits INTEGER NOT NULL DEFAULT 0, undone INTEGER NOT NULL DEFAULT 0
);
-- migrate:down
DROP TABLE items;
"""

# Tiny batches with a pause: the down runs for a second or two, so the kills land before it,
# in it (mid-batch or between batches) and after it.
BACKFILL = """
from lamina import BatchedMigration


class CountHits(BatchedMigration):
    table = "items"
    key = "id"
    batch_size = 13
    pause_ms = 4

    def batch(self, lo, hi):
        self.execute_sql("UPDATE items SET hits = hits + 1 WHERE id >= ? AND id < ?", (lo, hi))

    def batch_down(self, lo, hi):
        self.execute_sql("UPDATE items SET undone = undone + 1 WHERE id >= ? AND id < ?", (lo, hi))
"""

ROLLBACK = ["rollback", "1", "--yes", "--force"]


def _lamina(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "lamina", *args]
    return subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True, check=False)


def test_killed_batched_down_resumes_and_undoes_every_row_once(
    db_url: str, tmp_path: Path, make_migrations: Any, raw_database: Any
) -> None:
    folder = make_migrations({"001_items.sql": CREATE})
    env = lamina_env(db_url, folder)
    assert _lamina(["up"], env, tmp_path).returncode == 0
    raw = raw_database(db_url)
    ids = [n for n in range(1, ROWS * 3 // 2 + 1) if n % 3][:ROWS]  # gaps in the key
    raw.execute(f"INSERT INTO items (id) VALUES {', '.join(f'({n})' for n in ids)}")
    make_migrations({"002_count_hits.py": BACKFILL})
    applied = _lamina(["up"], env, tmp_path)
    assert applied.returncode == 0, applied.stderr

    rng = random.Random(7)
    kills = 0
    for _ in range(4):
        child = start(ROLLBACK, env, tmp_path)
        time.sleep(rng.uniform(0.5, 2.5))
        if child.poll() is not None:
            break
        child.send_signal(signal.SIGKILL)
        child.communicate()
        kills += 1
    final = _lamina(ROLLBACK, env, tmp_path)
    assert final.returncode == 0, final.stdout + final.stderr

    counts = raw.query("SELECT hits, undone, COUNT(*) FROM items GROUP BY hits, undone")
    assert {(int(h), int(u)): int(n) for h, u, n in counts} == {(1, 1): ROWS}, (kills, counts)
    assert raw.applied_ids() == ["001_items"]
    assert raw.query("SELECT COUNT(*) FROM lamina_backfills")[0][0] == 0


# Writes the marker once a third of the rows are undone, then keeps going slowly.
SLOW_DOWN = """
import os
from pathlib import Path

from lamina import BatchedMigration


class Slow(BatchedMigration):
    table = "items"
    batch_size = 5
    pause_ms = 20

    def batch(self, lo, hi):
        self.execute_sql("UPDATE items SET hits = hits + 1 WHERE id >= ? AND id < ?", (lo, hi))

    def batch_down(self, lo, hi):
        self.execute_sql("UPDATE items SET undone = undone + 1 WHERE id >= ? AND id < ?", (lo, hi))
        marker = os.environ.get("BACKFILL_MARKER")
        if marker and hi > 100:
            Path(marker).touch()
"""


def test_sigterm_pauses_a_batched_down_and_says_rollback_resumes_it(
    db_url: str, tmp_path: Path, make_migrations: Any, raw_database: Any
) -> None:
    folder = make_migrations({"001_items.sql": CREATE})
    env = lamina_env(db_url, folder)
    assert _lamina(["up"], env, tmp_path).returncode == 0
    raw = raw_database(db_url)
    raw.execute(f"INSERT INTO items (id) VALUES {', '.join(f'({n})' for n in range(1, 301))}")
    make_migrations({"002_slow.py": SLOW_DOWN})
    assert _lamina(["up"], env, tmp_path).returncode == 0
    marker = tmp_path / "third-undone"
    child = start(ROLLBACK, {**env, "BACKFILL_MARKER": str(marker)}, tmp_path)
    wait_for(marker)
    child.send_signal(signal.SIGTERM)
    _, err = child.communicate(timeout=60)
    assert child.returncode == 143, err
    done = int(raw.query("SELECT rows_done FROM lamina_backfills")[0][0])
    assert 0 < done < 300
    assert (
        "interrupted by SIGTERM while reverting 002_slow: the batch in flight was rolled back; "
        f"{done} of 300 rows are done and kept; the backfill is paused"
    ) in " ".join(err.split())
    assert "run the same `lamina rollback` again to resume" in " ".join(err.split())
    final = _lamina(ROLLBACK, env, tmp_path)
    assert final.returncode == 0, final.stderr
    counts = raw.query("SELECT undone, COUNT(*) FROM items GROUP BY undone")
    assert {int(u): int(n) for u, n in counts} == {1: 300}
