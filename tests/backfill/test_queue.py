"""On every engine: :meth:`Backfill.queue` starts a backfill without running a batch; a run
that takes the real migration lock per batch (``batch_lock``) finishes it; two such runs on
two connections at once take turns and never run a range twice; and a backfill under way is
never out of order for ``up --strict-order``."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from click.testing import Result

from lamina.api.session import Session
from lamina.backfill import Backfill, backfills_under_way
from lamina.config import Settings
from lamina.engines.base import Backend
from lamina.history import History
from lamina.identity import lock_owner
from lamina.loader import load_migration
from lamina.migration import BatchedMigration
from lamina.models import Direction
from lamina.planning import Plan, PlanStep
from lamina.watchdog import Watchdog
from support.backfills import ITEMS, hits

# Counts its own batches; the pause lets a second process take the lock between batches.
COUNT = """
import os

from lamina import BatchedMigration


class Count(BatchedMigration):
    table = "items"
    batch_size = 5
    pause_ms = 30
    background = True
    calls = 0

    def batch(self, lo, hi):
        if hi > 60 and os.environ.get("BACKFILL_STOP"):
            raise RuntimeError("not yet")
        self.calls += 1
        self.execute_sql("UPDATE items SET hits = hits + 1 WHERE id >= ? AND id < ?", (lo, hi))
"""

LATER = """
-- migrate:up
CREATE TABLE later (id INTEGER PRIMARY KEY);
-- migrate:down
DROP TABLE later;
"""

ROWS = 150  # ids 1..199 but the multiples of 4


@dataclass
class _Parts:
    backfill: Backfill
    migration: BatchedMigration
    history: History
    backend: Backend


@contextmanager
def _backfill(settings: Settings, *, locked: bool) -> Iterator[_Parts]:
    """A Backfill of 002_count on a connection of its own, as a worker builds one (its step
    carries the history row read now); with ``locked``, its batch lock is the real migration
    lock of that connection."""
    session = Session(settings, user="tester", host="test-host")
    file = next(f for f in session.scan().files if f.id == "002_count")
    backend = session.backend(read_only=False)
    watchdog = Watchdog(None, backend.interrupt)
    try:
        backend.connect(5)
        history = History(backend, user="tester", host="test-host")
        migration = load_migration(file, dialect=session.dialect())
        assert isinstance(migration, BatchedMigration)
        row = next((r for r in history.applied() if r.id == file.id), None)
        plan = Plan(Direction.UP, (PlanStep(file.id, file.version, file, applied=row),))
        owner = lock_owner("lamina backfill")
        lock = (lambda: backend.lock(owner, 30)) if locked else None
        runner = session.runner(backend, history)
        backfill = Backfill(
            runner, plan, plan.steps[0], migration, watchdog, time.perf_counter(), batch_lock=lock
        )
        yield _Parts(backfill, migration, history, backend)
    finally:
        watchdog.close()
        backend.close()


def _setup(run: Callable[..., Result], make: Any, raw_database: Any, db_url: str) -> Any:
    make({"001_items.sql": ITEMS})
    assert run("up").exit_code == 0
    raw = raw_database(db_url)
    raw.execute(
        f"INSERT INTO items (id) VALUES {', '.join(f'({n})' for n in range(1, 200) if n % 4)}"
    )
    make({"002_count.py": COUNT})
    return raw


def _queued(raw: Any) -> tuple[object, ...]:
    sql = "SELECT direction, next_key, rows_done, batches, started_at FROM lamina_backfills"
    return tuple(raw.query(sql)[0])


def test_queue_starts_the_backfill_and_a_locked_run_finishes_it(
    run: Callable[..., Result],
    make_migrations: Any,
    raw_database: Any,
    db_url: str,
    settings_for: Callable[..., Settings],
) -> None:
    raw = _setup(run, make_migrations, raw_database, db_url)
    with _backfill(settings_for(), locked=False) as parts:
        parts.backfill.queue()
        assert backfills_under_way(parts.history) == ["002_count"]
    state, detail = raw.query("SELECT state, detail FROM lamina_migrations WHERE id = '002_count'")[
        0
    ]
    assert str(state) == "running" and str(detail).startswith("backfill up started ")
    queued = _queued(raw)
    assert queued[:4] == ("up", 1, 0, 0)
    assert hits(raw) == {0: ROWS}  # no batch ran
    status = json.loads(run("status", "--json").output)
    assert status["paused"] == 1 and status["dirty"] == []

    with _backfill(settings_for(), locked=False) as parts:
        parts.backfill.queue()  # under way already: nothing changes
    assert _queued(raw) == queued

    with _backfill(settings_for(), locked=True) as parts:
        parts.backfill.run()
        assert vars(parts.migration).get("calls", 0) == ROWS // 5
        assert backfills_under_way(parts.history) == []
    assert hits(raw) == {1: ROWS}
    assert [str(r[0]) for r in raw.query("SELECT state FROM lamina_migrations")] == ["applied"] * 2
    assert raw.query("SELECT COUNT(*) FROM lamina_backfills")[0][0] == 0
    assert json.loads(run("status", "--json").output)["up_to_date"] is True


def test_two_locked_runs_at_once_take_turns_and_run_each_range_once(
    run: Callable[..., Result],
    make_migrations: Any,
    raw_database: Any,
    db_url: str,
    settings_for: Callable[..., Settings],
) -> None:
    raw = _setup(run, make_migrations, raw_database, db_url)
    with _backfill(settings_for(), locked=False) as parts:
        parts.backfill.queue()
    calls: list[int] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            with _backfill(settings_for(), locked=True) as parts:
                parts.backfill.run()
                calls.append(vars(parts.migration).get("calls", 0))
        except BaseException as exc:  # reported by the test, not lost in the thread
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert errors == []
    assert sum(calls) == ROWS // 5 and min(calls) > 0, calls  # both ran batches
    assert hits(raw) == {1: ROWS}
    assert [str(r[0]) for r in raw.query("SELECT state FROM lamina_migrations")] == ["applied"] * 2
    assert raw.query("SELECT COUNT(*) FROM lamina_backfills")[0][0] == 0


def test_a_worker_stops_when_the_migration_is_settled_between_its_batches(
    run: Callable[..., Result],
    make_migrations: Any,
    raw_database: Any,
    db_url: str,
    settings_for: Callable[..., Settings],
) -> None:
    raw = _setup(run, make_migrations, raw_database, db_url)
    with _backfill(settings_for(), locked=False) as parts:
        parts.backfill.queue()
    with _backfill(settings_for(), locked=False) as planned:  # planned while under way
        errors: list[BaseException] = []

        def worker() -> None:
            try:
                with _backfill(settings_for(), locked=True) as parts:
                    parts.backfill.run()
            except BaseException as exc:  # reported by the test, not lost in the thread
                errors.append(exc)

        thread = threading.Thread(target=worker)
        thread.start()
        deadline = time.monotonic() + 30
        # (read on this process's own connection: DuckDB admits no second configuration)
        progress = "SELECT rows_done FROM lamina_backfills"
        while not planned.backend.query(progress)[0][0] and time.monotonic() < deadline:
            time.sleep(0.01)
        repaired = run("repair", "002_count", "--mark-rolled-back")
        thread.join(120)
        assert repaired.exit_code == 0, repaired.output
        assert errors == []
        # the progress row outlived the repair: a run planned before it continues nothing
        planned.backfill.run()
    counted = hits(raw)
    assert 0 < counted[1] < ROWS and counted[0] == ROWS - counted[1]
    assert raw.applied_ids() == ["001_items"]


def test_a_paused_backfill_is_not_out_of_order_for_strict_order(
    run: Callable[..., Result], make_migrations: Any, raw_database: Any, db_url: str
) -> None:
    make_migrations({"001_items.sql": ITEMS, "003_later.sql": LATER})
    assert run("up").exit_code == 0
    raw = raw_database(db_url)
    raw.execute(
        f"INSERT INTO items (id) VALUES {', '.join(f'({n})' for n in range(1, 200) if n % 4)}"
    )
    make_migrations({"002_count.py": COUNT.replace("background = True", "")})
    # the first run of 002 is late: it comes after 003 was applied
    strict = {"LAMINA_STRICT_ORDER": "true"}
    refused = run("up", env=strict)
    assert refused.exit_code == 3 and "002_count" in refused.output
    paused = run("up", env={"BACKFILL_STOP": "1"})
    assert paused.exit_code == 1, paused.output
    assert 0 < hits(raw).get(1, 0) < ROWS
    resumed = run("up", env=strict)  # resuming it is not late
    assert resumed.exit_code == 0, resumed.output
    assert hits(raw) == {1: ROWS}
    assert json.loads(run("status", "--json").output)["up_to_date"] is True
