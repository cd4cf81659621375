"""``lamina up --dry-run`` on a batched migration: the number of batches and the first and
last ranges, read from the live tables, are exactly the ones the real run then cuts; a
paused backfill counts what is left from its stored progress; an empty table, a table not
created yet and a key the run would refuse say so. The dry run writes nothing: the database
file's bytes (DuckDB, SQLite) or every row of every table (PostgreSQL, MariaDB) are the same
before and after it, paused backfill and ``lamina_backfills`` included."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from click.testing import Result

from lamina import Lamina
from lamina.backfill_ranges import BackfillRanges
from lamina.config import Settings

CREATE = """
-- migrate:up
CREATE TABLE items (id INTEGER PRIMARY KEY, code INTEGER, hits INTEGER NOT NULL DEFAULT 0);
CREATE TABLE ranges (lo INTEGER, hi INTEGER);
-- migrate:down
DROP TABLE ranges;
DROP TABLE items;
"""

# Records each range it is given; fails on the range that goes past key 60 until
# BACKFILL_GO is set (a paused backfill), when BACKFILL_STOP is set.
RECORDING = """
import os

from lamina import BatchedMigration


class Count(BatchedMigration):
    table = "items"
    key = "id"
    batch_size = 7

    def batch(self, lo, hi):
        if os.environ.get("BACKFILL_STOP") and hi > 60 and not os.environ.get("BACKFILL_GO"):
            raise RuntimeError("not yet")
        self.execute_sql("UPDATE items SET hits = hits + 1 WHERE id >= ? AND id < ?", (lo, hi))
        self.execute_sql("INSERT INTO ranges (lo, hi) VALUES (?, ?)", (lo, hi))
"""

ROWS = 150  # ids 1..199 but the multiples of 4
FRESH = "batched over items.id: 150 rows in 22 batches of 7; first [1, 10), last [197, 200)"


def _setup(run: Callable[..., Result], make: Any, raw_database: Any, db_url: str) -> Any:
    make({"001_items.sql": CREATE})
    assert run("up").exit_code == 0
    raw = raw_database(db_url)
    values = ", ".join(f"({n}, {n % 5})" for n in range(1, 200) if n % 4)
    raw.execute(f"INSERT INTO items (id, code) VALUES {values}")
    return raw


def _recorded(raw: Any) -> list[tuple[int, int]]:
    return [(int(lo), int(hi)) for lo, hi in raw.query("SELECT lo, hi FROM ranges ORDER BY lo")]


def _ranges(settings: Settings) -> BackfillRanges:
    """The dry run's ranges of the plan's one batched step, through the library."""
    result = Lamina(settings).up(dry_run=True)
    found = [p.ranges for p in result.previews if p.ranges is not None]
    assert len(found) == 1, result.previews
    return found[0]


def _dump(raw: Any) -> object:
    """Everything the database holds: the file's bytes (with any log beside it) for DuckDB
    and SQLite, every table's rows, sorted, for the servers."""
    if raw.engine in ("duckdb", "sqlite"):
        path = Path(raw.path)
        files = sorted(path.parent.glob(path.name + "*"))
        return {f.name: f.read_bytes() for f in files}
    return {
        table: sorted(map(repr, raw.query(f"SELECT * FROM {table}")))
        for table in sorted(raw.tables())
    }


def test_the_dry_run_shows_the_ranges_the_run_then_cuts(
    run: Callable[..., Result],
    make_migrations: Any,
    raw_database: Any,
    db_url: str,
    settings_for: Callable[..., Settings],
) -> None:
    raw = _setup(run, make_migrations, raw_database, db_url)
    make_migrations({"002_count.py": RECORDING})
    before = _dump(raw)
    dry = run("up", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert FRESH in dry.output
    ranges = _ranges(settings_for())
    assert _dump(raw) == before  # nothing written, not even lamina_backfills

    assert run("up").exit_code == 0
    cut = _recorded(raw)
    assert (len(cut), cut[0], cut[-1]) == (ranges.batches, ranges.first, ranges.last)
    assert ranges.to_dict() == {
        "table": "items",
        "key": "id",
        "rows": ROWS,
        "batches": 22,
        "batch_size": 7,
        "first": [1, 10],
        "last": [197, 200],
        "rows_done": 0,
        "resumes_at": None,
        "target_batch_ms": None,
        "unknown": None,
    }


def test_a_paused_backfill_shows_what_is_left_and_the_dry_run_writes_nothing(
    run: Callable[..., Result],
    make_migrations: Any,
    raw_database: Any,
    db_url: str,
    settings_for: Callable[..., Settings],
) -> None:
    raw = _setup(run, make_migrations, raw_database, db_url)
    make_migrations({"002_count.py": RECORDING})
    assert run("up", env={"BACKFILL_STOP": "1"}).exit_code == 1  # paused past key 60
    committed = _recorded(raw)
    resume_at = committed[-1][1]
    done = sum(1 for n in range(1, resume_at) if n % 4)
    assert 0 < done < ROWS

    before = _dump(raw)
    dry = run("up", "--dry-run")
    assert dry.exit_code == 0, dry.output
    ranges = _ranges(settings_for())
    assert _dump(raw) == before  # history, the paused row and lamina_backfills untouched
    left = ROWS - done
    assert (ranges.resumes_at, ranges.rows_done, ranges.rows) == (resume_at, done, left)
    assert ranges.text() in dry.output
    assert ranges.text().startswith(
        f"batched over items.id: resumes at key {resume_at} ({done} rows done); "
        f"{left} rows left in {ranges.batches} batches of 7; first [{resume_at}, "
    )

    assert run("up", env={"BACKFILL_STOP": "1", "BACKFILL_GO": "1"}).exit_code == 0
    resumed = _recorded(raw)[len(committed) :]
    assert (len(resumed), resumed[0], resumed[-1]) == (ranges.batches, ranges.first, ranges.last)
    assert ranges.last == (resumed[-1][0], 200)


def test_an_empty_table_has_nothing_to_do(
    run: Callable[..., Result],
    make_migrations: Any,
    db_url: str,
    settings_for: Callable[..., Settings],
) -> None:
    make_migrations({"001_items.sql": CREATE})
    assert run("up").exit_code == 0
    make_migrations({"002_count.py": RECORDING})
    dry = run("up", "--dry-run")
    assert "batched over items.id: no rows: nothing to do" in dry.output
    ranges = _ranges(settings_for())
    assert (ranges.rows, ranges.batches, ranges.first, ranges.last) == (0, 0, None, None)


def test_a_table_an_earlier_step_creates_is_measured_when_it_runs(
    run: Callable[..., Result],
    make_migrations: Any,
    db_url: str,
    settings_for: Callable[..., Settings],
) -> None:
    make_migrations({"001_other.sql": "-- migrate:up\nCREATE TABLE other (id INTEGER);\n"})
    assert run("up").exit_code == 0  # the database and its history exist; items does not
    make_migrations({"002_items.sql": CREATE, "003_count.py": RECORDING})
    dry = run("up", "--dry-run")
    assert dry.exit_code == 0, dry.output
    expected = (
        "batched over items.id: table items does not exist yet: its ranges are computed "
        "when the step runs"
    )
    assert expected in dry.output
    ranges = _ranges(settings_for())
    assert ranges.rows is None and ranges.unknown is not None


def test_a_database_not_created_yet(
    run: Callable[..., Result], make_migrations: Any, db_url: str, tmp_path: Path
) -> None:
    make_migrations({"001_items.sql": CREATE, "002_count.py": RECORDING})
    dry = run("up", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "batched over items.id: " in dry.output
    assert "its ranges are computed when the step runs" in dry.output


def test_a_key_the_run_would_refuse_is_named(
    run: Callable[..., Result], make_migrations: Any, raw_database: Any, db_url: str
) -> None:
    _setup(run, make_migrations, raw_database, db_url)
    make_migrations({"002_count.py": RECORDING.replace('key = "id"', 'key = "code"')})
    dry = run("up", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert (
        "batched over items.code: items.code is neither the primary key nor a unique indexed "
        "column: the step fails unless an earlier step of the plan changes that"
    ) in dry.output


def test_one_batch_and_an_adapting_size(
    run: Callable[..., Result],
    make_migrations: Any,
    raw_database: Any,
    db_url: str,
    settings_for: Callable[..., Settings],
) -> None:
    raw = _setup(run, make_migrations, raw_database, db_url)
    raw.execute("DELETE FROM items WHERE id > 6")  # 1, 2, 3, 5, 6
    adapting = RECORDING.replace("batch_size = 7", "batch_size = 7\n    target_batch_ms = 50")
    make_migrations({"002_count.py": adapting})
    ranges = _ranges(settings_for())
    assert (ranges.rows, ranges.batches, ranges.first, ranges.last) == (5, 1, (1, 7), (1, 7))
    assert ranges.text() == (
        "batched over items.id: 5 rows in 1 batch of 7; first [1, 7), last [1, 7) (the size "
        "adapts toward target_batch_ms = 50 ms, so the real ranges after the first may differ)"
    )
    assert run("up").exit_code == 0
    assert _recorded(raw) == [(1, 7)]
