"""A backfill that runs far longer than the table-mode lock's TTL keeps its lock: the heartbeat
pushes the lock row's expiry forward between and during batches, so another ``lamina up``
started meanwhile refuses (or waits) instead of taking the lock over, and every row is
processed exactly once."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from lamina.errors import LockTimeoutError
from support.backfills import ITEMS
from support.processes import lamina_env, start, wait_for

ROWS = 400
TTL_S = 1.0


# 40 batches with a pause: about 6 s in all, six times the lock's TTL. The marker appears
# once half the rows are done (about three TTLs after the lock was taken).
BACKFILL = """
import os
from pathlib import Path

from lamina import BatchedMigration


class CountHits(BatchedMigration):
    table = "items"
    key = "id"
    batch_size = 10
    pause_ms = 150

    def batch(self, lo, hi):
        self.execute_sql("UPDATE items SET hits = hits + 1 WHERE id >= ? AND id < ?", (lo, hi))
        marker = os.environ.get("BACKFILL_MARKER")
        if marker and lo > 200:
            Path(marker).touch()
"""

# Table mode, a TTL of one second (above the one-batch time limit, as lamina requires).
TABLE_LOCK = {
    "LAMINA_LOCK_MODE": "table",
    "LAMINA_LOCK_TTL": str(TTL_S),
    "MAX_MIGRATION_TIME": "800",
}


def _up(env: dict[str, str], cwd: Path, **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "lamina", "up"], env={**env, **extra}, cwd=cwd,
        capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip


@pytest.mark.parametrize("engine", ["postgresql", "mysql"], indirect=True)
def test_a_backfill_longer_than_the_lock_ttl_keeps_its_lock(
    engine: str, db_url: str, tmp_path: Path, make_migrations: Any, raw_database: Any
) -> None:
    folder = make_migrations({"001_items.sql": ITEMS})
    env = lamina_env(db_url, folder, **TABLE_LOCK)
    setup = _up(env, tmp_path)
    assert setup.returncode == 0, setup.stderr
    raw = raw_database(db_url)
    raw.execute(f"INSERT INTO items (id) VALUES {', '.join(f'({n})' for n in range(1, ROWS + 1))}")
    make_migrations({"002_count_hits.py": BACKFILL})

    marker = tmp_path / "half-done"
    began = time.monotonic()
    first = start(["up"], {**env, "BACKFILL_MARKER": str(marker)}, tmp_path)
    waiting: subprocess.Popen[str] | None = None
    try:
        wait_for(marker, timeout=60)
        assert time.monotonic() - began > 2 * TTL_S  # the first lock row would have expired
        refused = _up(env, tmp_path, LAMINA_LOCK_TIMEOUT="0.5")
        assert first.poll() is None, "the backfill ended before the second run asked"
        assert refused.returncode == LockTimeoutError.exit_code, refused.stdout + refused.stderr
        assert "is locked by another process" in refused.stderr, refused.stderr
        assert f"pid {first.pid} " in refused.stderr, refused.stderr
        # A run that waits for the lock gets it once the backfill is done, and finds nothing.
        waiting = start(["up"], {**env, "LAMINA_LOCK_TIMEOUT": "60"}, tmp_path)
        out, err = first.communicate(timeout=120)
        assert first.returncode == 0, out + err
        waited_out, waited_err = waiting.communicate(timeout=120)
        assert waiting.returncode == 0, waited_out + waited_err
    finally:
        for child in (first, waiting):
            if child is not None and child.poll() is None:
                child.kill()
                child.wait(timeout=30)

    counts = raw.query("SELECT hits, COUNT(*) FROM items GROUP BY hits")
    assert {int(hits): int(n) for hits, n in counts} == {1: ROWS}
    states = raw.query("SELECT state FROM lamina_migrations WHERE id = '002_count_hits'")
    assert [str(row[0]) for row in states] == ["applied"]
    assert raw.query("SELECT COUNT(*) FROM lamina_backfills")[0][0] == 0
    assert raw.query("SELECT COUNT(*) FROM lamina_lock")[0][0] == 0  # released, not expired
