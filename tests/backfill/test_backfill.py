"""Batched migrations on every engine: the ``.sql`` and Python forms, a failed batch that
leaves a paused backfill ``status`` reports and ``up`` resumes, and the key check."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from click.testing import Result

from lamina.models import MigrationState
from support.backfills import hits

CREATE = """
-- migrate:up
CREATE TABLE items (id INTEGER PRIMARY KEY, code INTEGER, hits INTEGER NOT NULL DEFAULT 0);
-- migrate:down
DROP TABLE items;
"""

SQL_BACKFILL = """
-- batch: items id 7
-- category: data
-- migrate:up
UPDATE items SET hits = hits + 1 WHERE id >= :lo AND id < :hi;
-- migrate:down
UPDATE items SET hits = 0;
"""

# Fails on the batch that reaches key 60 until BACKFILL_GO is set: a paused backfill.
STOPPING = """
import os

from lamina import BatchedMigration


class Count(BatchedMigration):
    table = "items"
    key = "id"
    batch_size = 10

    def batch(self, lo, hi):
        if hi > 60 and not os.environ.get("BACKFILL_GO"):
            raise RuntimeError("not yet")
        self.execute_sql("UPDATE items SET hits = hits + 1 WHERE id >= ? AND id < ?", (lo, hi))
"""

ROWS = 150  # ids 1..199 but the multiples of 4

ON_CODE = STOPPING.replace('key = "id"', 'key = "code"').replace("if hi > 60", "if False")


def _setup(run: Callable[..., Result], make: Any, raw_database: Any, db_url: str) -> Any:
    make({"001_items.sql": CREATE})
    assert run("up").exit_code == 0
    raw = raw_database(db_url)
    values = ", ".join(f"({n}, {n % 5})" for n in range(1, 200) if n % 4)
    raw.execute(f"INSERT INTO items (id, code) VALUES {values}")
    return raw


def test_sql_batch_header_runs_the_statement_once_per_range(
    run: Callable[..., Result], make_migrations: Any, raw_database: Any, db_url: str
) -> None:
    raw = _setup(run, make_migrations, raw_database, db_url)
    make_migrations({"002_fill.sql": SQL_BACKFILL})
    result = run("up")
    assert result.exit_code == 0, result.output
    assert hits(raw) == {1: ROWS}
    assert [str(r[0]) for r in raw.query("SELECT state FROM lamina_migrations")] == [
        "applied",
        "applied",
    ]


def test_failed_batch_pauses_the_backfill_and_up_resumes_it(
    run: Callable[..., Result], make_migrations: Any, raw_database: Any, db_url: str
) -> None:
    raw = _setup(run, make_migrations, raw_database, db_url)
    make_migrations({"002_count.py": STOPPING})
    failed = run("up")
    assert failed.exit_code == 1, failed.output
    assert "002_count" in failed.output and "not yet" in failed.output
    assert "its batch [" in failed.output
    assert "lamina up" in failed.output  # the hint: run up again to resume

    status = run("status", "--json")
    document = json.loads(status.output)
    entry = next(m for m in document["migrations"] if m["id"] == "002_count")
    assert entry["status"] == MigrationState.PAUSED.value
    progress = entry["backfill"]
    done = progress["rows_done"]
    assert 0 < done < ROWS and progress["rows_total"] == ROWS
    assert progress["percent"] == round(100 * done / ROWS, 1)
    assert document["paused"] == 1 and document["up_to_date"] is False
    assert document["dirty"] == []
    # Rows of the committed batches were updated once; the failed batch's rows not at all.
    assert hits(raw) == {1: done, 0: ROWS - done}
    human = run("status").output
    assert "BACKFILL PAUSED: 002_count" in human and f"{done}/{ROWS} rows" in human
    assert "`lamina up` resumes" in human
    health = json.loads(run("health", "--json").output)
    assert health["status"] == "degraded"
    assert "Backfill paused: 002_count" in health["message"]

    raw.execute("INSERT INTO items (id) VALUES (5000)")  # above the largest key at the start
    resumed = run("up", env={"BACKFILL_GO": "1"})
    assert resumed.exit_code == 0, resumed.output
    assert hits(raw) == {1: ROWS, 0: 1}
    assert json.loads(run("status", "--json").output)["up_to_date"] is True
    assert raw.query("SELECT COUNT(*) FROM lamina_backfills")[0][0] == 0


def test_a_key_that_is_not_unique_is_refused_before_any_batch(
    run: Callable[..., Result], make_migrations: Any, raw_database: Any, db_url: str
) -> None:
    raw = _setup(run, make_migrations, raw_database, db_url)
    make_migrations({"002_count.py": ON_CODE})
    result = run("up")
    assert result.exit_code == 1, result.output
    assert "002_count" in result.output
    assert "items.code is neither the primary key nor a unique indexed column" in result.output
    assert hits(raw) == {0: ROWS}
    assert json.loads(run("status", "--json").output)["pending"] == 1


def test_dry_run_runs_nothing_and_shows_the_batch_statement(
    run: Callable[..., Result], make_migrations: Any, raw_database: Any, db_url: str
) -> None:
    raw = _setup(run, make_migrations, raw_database, db_url)
    make_migrations({"002_fill.sql": SQL_BACKFILL})
    result = run("up", "--dry-run")
    assert result.exit_code == 0, result.output
    assert "UPDATE items SET hits = hits + 1 WHERE id >= :lo AND id < :hi" in result.output
    assert hits(raw) == {0: ROWS}
    # the risk analysis knows a batched backfill holds no long lock: information, not a warning
    preview = json.loads(run("up", "--dry-run", "--json").output)["plan"][0]
    [finding] = [f for f in preview["findings"] if f["rule"] == "data-migration"]
    assert finding["level"] == "info" and "in batches" in finding["message"]


def test_rollback_of_a_batched_migration_runs_its_down(
    run: Callable[..., Result], make_migrations: Any, raw_database: Any, db_url: str
) -> None:
    raw = _setup(run, make_migrations, raw_database, db_url)
    make_migrations({"002_fill.sql": SQL_BACKFILL})
    assert run("up").exit_code == 0
    rolled = run("rollback", "1", "--yes", "--force")
    assert rolled.exit_code == 0, rolled.output
    assert hits(raw) == {0: ROWS}
    assert json.loads(run("status", "--json").output)["pending"] == 1


def test_repair_mark_rolled_back_restarts_a_paused_backfill_from_the_first_key(
    run: Callable[..., Result], make_migrations: Any, raw_database: Any, db_url: str
) -> None:
    raw = _setup(run, make_migrations, raw_database, db_url)
    make_migrations({"002_count.py": STOPPING})
    assert run("up").exit_code == 1
    done = hits(raw)[1]
    repaired = run("repair", "002_count", "--mark-rolled-back")
    assert repaired.exit_code == 0, repaired.output
    assert run("up", env={"BACKFILL_GO": "1"}).exit_code == 0
    assert hits(raw) == {2: done, 1: ROWS - done}


def test_a_backfill_of_an_empty_table_is_applied_at_once(
    run: Callable[..., Result], make_migrations: Any, raw_database: Any, db_url: str
) -> None:
    make_migrations({"001_items.sql": CREATE, "002_fill.sql": SQL_BACKFILL})
    result = run("up")
    assert result.exit_code == 0, result.output
    document = json.loads(run("status", "--json").output)
    assert document["up_to_date"] is True and document["applied"] == 2


def test_a_batch_header_needs_one_statement_and_three_words(
    run: Callable[..., Result], make_migrations: Any
) -> None:
    two = SQL_BACKFILL.replace(
        ";\n-- migrate:down", ";\nUPDATE items SET hits = 0;\n-- migrate:down"
    )
    make_migrations({"001_items.sql": CREATE, "002_fill.sql": two})
    result = run("up")
    assert result.exit_code != 0
    assert "002_fill" in result.output and "exactly one statement" in result.output
    make_migrations({"002_fill.sql": SQL_BACKFILL.replace("items id 7", "items id")})
    result = run("validate")
    assert result.exit_code != 0
    assert "expected `-- batch: TABLE KEY SIZE`" in result.output
