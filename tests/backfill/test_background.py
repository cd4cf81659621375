"""Background backfills (lamina.api.backfills): ``up`` runs the migrations after a background
backfill first and queues the backfill; a worker (``lamina backfill``, the process ``lamina
up`` starts, or startup's thread) runs it to the end with the lock taken per batch, so other
runs go on meanwhile and two workers never process a row twice."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from lamina import Lamina, startup
from lamina.config import Settings
from support.backfills import ITEMS, hits, states
from support.processes import lamina_env

# Small batches with a pause: long enough for other runs to interleave between batches.
BACKGROUND = """
from lamina import BatchedMigration


class CountHits(BatchedMigration):
    table = "items"
    key = "id"
    batch_size = 20
    pause_ms = PAUSE
    background = True

    def batch(self, lo, hi):
        self.execute_sql("UPDATE items SET hits = hits + 1 WHERE id >= ? AND id < ?", (lo, hi))
"""

AFTER = """
-- migrate:up
CREATE TABLE later (id INTEGER PRIMARY KEY);
-- migrate:down
DROP TABLE later;
"""

ROWS = 300

#: DuckDB admits one process per file: there up and startup run background backfills
#: themselves (the CLI and startup tests below show it), so no worker runs beside them.
WORKER_ENGINES = pytest.mark.parametrize("engine", ["sqlite", "postgresql", "mysql"], indirect=True)


def _background(pause_ms: int = 0) -> str:
    return BACKGROUND.replace("PAUSE", str(pause_ms))


def _prepare(make: Any, raw_database: Any, db_url: str, settings: Settings) -> Any:
    make({"001_items.sql": ITEMS})
    Lamina(settings).up()
    raw = raw_database(db_url)
    raw.execute("INSERT INTO items (id) VALUES " + ", ".join(f"({n})" for n in range(1, ROWS + 1)))
    return raw


@WORKER_ENGINES
def test_up_runs_what_follows_and_queues_the_backfill_then_backfill_finishes_it(
    make_migrations: Any, raw_database: Any, db_url: str, settings_for: Callable[..., Settings]
) -> None:
    settings = settings_for()
    raw = _prepare(make_migrations, raw_database, db_url, settings)
    make_migrations({"002_count.py": _background(), "003_later.sql": AFTER})

    result = Lamina(settings).up()

    assert result.queued == ("002_count",)
    assert result.applied == ("003_later",)
    assert hits(raw) == {0: ROWS}  # queued: not one batch ran
    rows = states(raw)
    assert rows["003_later"] == "applied" and rows["002_count"] == "running"
    status = Lamina(settings).status()
    assert [m.id for m in status.paused] == ["002_count"] and not status.dirty

    assert Lamina(settings).backfill().finished == ("002_count",)
    assert hits(raw) == {1: ROWS}
    assert states(raw)["002_count"] == "applied"
    assert Lamina(settings).status().up_to_date
    assert Lamina(settings).backfill().finished == ()  # nothing left under way


def test_wait_backfills_runs_it_after_the_rest_in_the_same_run(
    make_migrations: Any, raw_database: Any, db_url: str, settings_for: Callable[..., Settings]
) -> None:
    settings = settings_for()
    raw = _prepare(make_migrations, raw_database, db_url, settings)
    make_migrations({"002_count.py": _background(), "003_later.sql": AFTER})

    result = Lamina(settings).up(wait_backfills=True)

    assert result.queued == ()
    assert result.applied == ("003_later", "002_count")  # the backfill last
    assert hits(raw) == {1: ROWS}
    assert set(states(raw).values()) == {"applied"}


@WORKER_ENGINES
def test_a_run_between_batches_is_not_held_up_and_one_worker_runs_at_a_time(
    make_migrations: Any,
    raw_database: Any,
    db_url: str,
    tmp_path: Path,
    settings_for: Callable[..., Settings],
) -> None:
    """Two workers and an ``up`` of a new migration, all at once: one worker runs the
    backfill and the other leaves at once, naming it; ``status`` says the backfill is
    running, not paused; the ``up`` ends while the backfill still runs; every row is counted
    exactly once."""
    settings = settings_for()
    raw = _prepare(make_migrations, raw_database, db_url, settings)
    folder = make_migrations({"002_count.py": _background(pause_ms=30)})
    assert Lamina(settings).up().queued == ("002_count",)
    env = lamina_env(db_url, folder)
    command = [sys.executable, "-m", "lamina", "backfill"]
    first = subprocess.Popen(command, env=env, cwd=tmp_path, stdout=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while not raw.query("SELECT rows_done FROM lamina_backfills WHERE rows_done > 0"):
        assert time.monotonic() < deadline, "the first worker never ran a batch"
        time.sleep(0.05)
    second = subprocess.run(
        command, env=env, cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert second.returncode == 0, second.stderr
    assert "Another worker runs the backfills under way" in second.stdout
    assert f"pid {first.pid}" in second.stdout

    status = Lamina(settings).status()
    assert [m.id for m in status.in_progress] == ["002_count"] and not status.paused

    make_migrations({"003_later.sql": AFTER})
    later = Lamina(settings_for(lock_timeout_s=30)).up()
    assert later.applied == ("003_later",)
    progress = raw.query("SELECT rows_done FROM lamina_backfills")
    assert progress and int(progress[0][0]) < ROWS  # the backfill had not finished
    out, _ = first.communicate(timeout=120)
    assert first.returncode == 0 and "Finished 1 backfill(s): 002_count" in out, out
    assert hits(raw) == {1: ROWS}
    assert set(states(raw).values()) == {"applied"}
    assert not Lamina(settings).status().in_progress


def test_cli_up_starts_a_worker_that_finishes_the_backfill(
    make_migrations: Any,
    raw_database: Any,
    db_url: str,
    engine: str,
    tmp_path: Path,
    settings_for: Callable[..., Settings],
) -> None:
    raw = _prepare(make_migrations, raw_database, db_url, settings_for())
    folder = make_migrations({"002_count.py": _background(), "003_later.sql": AFTER})
    cache = tmp_path / "cache"
    env = lamina_env(db_url, folder, LAMINA_CACHE_DIR=str(cache))
    done = subprocess.run(
        [sys.executable, "-m", "lamina", "up", "--json"], env=env, cwd=tmp_path,
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    document = json.loads(done.stdout)
    if engine == "duckdb":  # one process opens the file: up ran the backfill itself, last
        assert document["queued"] == [] and "worker" not in document
        assert document["applied"] == ["003_later", "002_count"]
        assert hits(raw) == {1: ROWS}
        return
    assert document["queued"] == ["002_count"] and document["applied"] == ["003_later"]
    worker, log = document["worker"]["pid"], Path(document["worker"]["log"])
    assert log.parent == cache / "backfills"
    deadline = time.monotonic() + 60
    while _alive(worker) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(worker), log.read_text()
    assert "Finished 1 backfill(s): 002_count" in log.read_text()
    assert hits(raw) == {1: ROWS}
    assert set(states(raw).values()) == {"applied"}


def test_cli_up_says_where_the_worker_runs(
    make_migrations: Any,
    raw_database: Any,
    db_url: str,
    engine: str,
    tmp_path: Path,
    settings_for: Callable[..., Settings],
) -> None:
    raw = _prepare(make_migrations, raw_database, db_url, settings_for())
    folder = make_migrations({"002_count.py": _background()})
    env = lamina_env(db_url, folder, LAMINA_CACHE_DIR=str(tmp_path / "cache"))
    done = subprocess.run(
        [sys.executable, "-m", "lamina", "up"], env=env, cwd=tmp_path,
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    if engine == "duckdb":  # up ran it itself: no worker, and it is done
        assert "worker pid" not in done.stdout and "applied 002_count" in done.stdout
        assert hits(raw) == {1: ROWS}
        return
    assert "002_count queued: it runs in the background" in done.stdout
    assert "run(s) in the background: worker pid" in done.stdout
    assert "lamina backfill" in done.stdout
    waited = subprocess.run(
        [sys.executable, "-m", "lamina", "up", "--wait-backfills"], env=env, cwd=tmp_path,
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert waited.returncode == 0, waited.stdout + waited.stderr
    assert "worker pid" not in waited.stdout
    deadline = time.monotonic() + 60
    while hits(raw) != {1: ROWS} and time.monotonic() < deadline:
        time.sleep(0.1)  # the worker may still be committing the last batch
    assert hits(raw) == {1: ROWS}


def test_startup_returns_and_its_thread_finishes_the_backfill(
    make_migrations: Any,
    raw_database: Any,
    db_url: str,
    engine: str,
    settings_for: Callable[..., Settings],
) -> None:
    raw = _prepare(make_migrations, raw_database, db_url, settings_for())
    make_migrations({"002_count.py": _background(), "003_later.sql": AFTER})

    result = startup(settings_for(auto_migrate=True))

    assert result.ready and "003_later" in result.applied
    if engine == "duckdb":  # startup ran it before returning
        assert result.backfills == () and hits(raw) == {1: ROWS}
        return
    assert result.backfills == ("002_count",)
    assert "backfilling in the background: 002_count" in result.message
    thread = next(t for t in threading.enumerate() if t.name == "lamina-backfills")
    thread.join(timeout=60)
    assert not thread.is_alive()
    assert hits(raw) == {1: ROWS}
    assert set(states(raw).values()) == {"applied"}


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A child of a process that has ended is reaped by init; until then it is a zombie.
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            return stat.read().split()[2] != "Z"
    except FileNotFoundError:
        return False
