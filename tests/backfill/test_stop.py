"""Stopping a backfill: SIGTERM rolls back only the batch in flight and leaves the backfill
paused, resumable; the time limit applies to each batch, not to the whole backfill."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from click.testing import Result

from support.backfills import ITEMS, hits
from support.processes import lamina_env, start, wait_for

# Writes the marker once a third of the rows are done, then keeps going slowly.
SLOW = """
import os
from pathlib import Path

from lamina import BatchedMigration


class Slow(BatchedMigration):
    table = "items"
    key = "id"
    batch_size = 5
    pause_ms = 20

    def batch(self, lo, hi):
        self.execute_sql("UPDATE items SET hits = hits + 1 WHERE id >= ? AND id < ?", (lo, hi))
        marker = os.environ.get("BACKFILL_MARKER")
        if marker and hi > 100:
            Path(marker).touch()
"""

# Each batch sleeps 0.3 s: the whole backfill takes far longer than the 1 s limit, each
# batch far less; a batch that sleeps 3 s exceeds it.
PER_BATCH = """
import os
import time

from lamina import BatchedMigration


class PerBatch(BatchedMigration):
    table = "items"
    key = "id"
    batch_size = 60

    def batch(self, lo, hi):
        self.execute_sql("UPDATE items SET hits = hits + 1 WHERE id >= ? AND id < ?", (lo, hi))
        time.sleep(3 if os.environ.get("BACKFILL_STUCK") and lo > 100 else 0.3)
"""


def _rows(raw: Any) -> None:
    raw.execute(f"INSERT INTO items (id) VALUES {', '.join(f'({n})' for n in range(1, 301))}")


def test_sigterm_pauses_the_backfill_and_up_resumes_it(
    db_url: str, tmp_path: Path, make_migrations: Any, raw_database: Any
) -> None:
    folder = make_migrations({"001_items.sql": ITEMS})
    env = lamina_env(db_url, folder)
    command = [sys.executable, "-m", "lamina", "up"]
    setup = subprocess.run(command, env=env, cwd=tmp_path, capture_output=True, check=False)
    assert setup.returncode == 0
    raw = raw_database(db_url)
    _rows(raw)
    make_migrations({"002_slow.py": SLOW})
    marker = tmp_path / "third-done"
    child = start(["up"], {**env, "BACKFILL_MARKER": str(marker)}, tmp_path)
    wait_for(marker)
    child.send_signal(signal.SIGTERM)
    _, err = child.communicate(timeout=60)
    assert child.returncode == 143, err
    assert "interrupted by SIGTERM during 002_slow" in err

    document = json.loads(
        subprocess.run(
            [*command[:-1], "status", "--json"], env=env, cwd=tmp_path, capture_output=True,
            text=True, check=False,
        ).stdout
    )  # fmt: skip
    entry = document["migrations"][1]
    assert entry["status"] == "paused"
    done = entry["backfill"]["rows_done"]
    assert 0 < done < 300  # the batch the signal hit was rolled back
    assert hits(raw) == {1: done, 0: 300 - done}

    final = subprocess.run(command, env=env, cwd=tmp_path, capture_output=True, check=False)
    assert final.returncode == 0
    assert hits(raw) == {1: 300}


def test_the_time_limit_applies_to_each_batch(
    run: Callable[..., Result], make_migrations: Any, raw_database: Any, db_url: str
) -> None:
    make_migrations({"001_items.sql": ITEMS})
    setup = run("up")
    assert setup.exit_code == 0, setup.output
    raw = raw_database(db_url)
    _rows(raw)
    make_migrations({"002_per_batch.py": PER_BATCH})
    limit = {"MAX_MIGRATION_TIME": "1000"}
    stuck = run("up", env={**limit, "BACKFILL_STUCK": "1"})
    assert stuck.exit_code == 1, stuck.output
    assert "exceeding MAX_MIGRATION_TIME (1000 ms)" in stuck.output
    assert hits(raw) == {1: 120, 0: 180}  # the two batches before the stuck one stay done

    finished = run("up", env=limit)  # five batches, 1.5 s in all, none over 1 s
    assert finished.exit_code == 0, finished.output
    assert hits(raw) == {1: 300}
