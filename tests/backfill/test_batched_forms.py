"""Batched migrations without a database: the ``-- batch:`` header's ``background`` word, which
down is batched (Python ``batch_down()``, a ``.sql`` down of one statement over ``:lo`` and
``:hi``), the history row's backfill direction, and how plans treat backfills under way."""

from __future__ import annotations

import textwrap
from dataclasses import replace
from pathlib import Path

import pytest

from lamina import BatchedMigration
from lamina.backfill import is_batched
from lamina.errors import MigrationLoadError, OutOfOrderError, PlanError
from lamina.loader import load_migration
from lamina.migration_set import MigrationSet
from lamina.models import (
    AppliedMigration,
    Category,
    Direction,
    MigrationFile,
    MigrationMeta,
    MigrationState,
    RowState,
)
from lamina.models.status import backfill_progress
from lamina.planning import compute_status, plan_rollback, plan_up
from lamina.sqltext import SqlFormatError, parse_sql_migration

HEADER = """\
-- name: Fill
-- batch: {words}
-- migrate:up
UPDATE items SET hits = hits + 1 WHERE id >= :lo AND id < :hi;
-- migrate:down
{down}
"""
RANGE_DOWN = "UPDATE items SET hits = hits - 1 WHERE id >= :lo AND id < :hi;"
PROGRESS = "backfill 14/150 rows, 2 batches, 9 ms, next key 20"


def _sql(words: str = "items id 7", down: str = RANGE_DOWN) -> str:
    return HEADER.format(words=words, down=down)


def test_background_is_an_optional_fourth_word_of_the_batch_header() -> None:
    plain = parse_sql_migration(_sql()).headers.batch
    marked = parse_sql_migration(_sql("items id 5000 background")).headers.batch
    assert plain is not None and plain.background is False
    assert marked is not None and marked.background is True
    assert (marked.table, marked.key, marked.size) == ("items", "id", 5000)


@pytest.mark.parametrize("words", ["items id 7 later", "items id 7 background now"])
def test_another_fourth_word_is_refused_naming_the_line(words: str) -> None:
    with pytest.raises(SqlFormatError) as caught:
        parse_sql_migration(_sql(words))
    assert caught.value.line == 2
    assert "`-- batch: users id 1000 background`" in caught.value.message
    if words.endswith("later"):
        assert "invalid 4th word 'later'" in caught.value.message


def _file(tmp_path: Path, name: str, text: str) -> MigrationFile:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    stem, _, ext = name.rpartition(".")
    return MigrationFile(
        stem,
        int(stem[:3]),
        stem[4:],
        path,
        "py" if ext == "py" else "sql",
        "sum",
        MigrationMeta(stem),
    )


def test_a_sql_down_of_one_statement_over_lo_and_hi_is_batched(tmp_path: Path) -> None:
    batched = load_migration(_file(tmp_path, "002_a.sql", _sql("items id 7 background")))
    assert isinstance(batched, BatchedMigration)
    assert batched.background is True
    assert is_batched(batched, Direction.UP) and is_batched(batched, Direction.DOWN)
    ordinary_downs = [
        "UPDATE items SET hits = 0;",  # no range marks
        "UPDATE items SET hits = 0 WHERE id >= :lo;",  # only one of them
        RANGE_DOWN + "\nUPDATE items SET hits = 0;",  # two statements
    ]
    for number, down in enumerate(ordinary_downs, start=3):
        loaded = load_migration(_file(tmp_path, f"00{number}_b.sql", _sql(down=down)))
        assert isinstance(loaded, BatchedMigration) and loaded.background is False
        assert is_batched(loaded, Direction.UP)
        assert not is_batched(loaded, Direction.DOWN), down


class _BatchedDown(BatchedMigration):
    background = True

    def batch(self, lo: int, hi: int) -> None: ...

    def batch_down(self, lo: int, hi: int) -> None: ...


class _OrdinaryDown(BatchedMigration):
    def batch(self, lo: int, hi: int) -> None: ...

    def down(self) -> None: ...


class _NoDown(BatchedMigration):
    def batch(self, lo: int, hi: int) -> None: ...


def test_a_python_batch_down_makes_the_down_batched() -> None:
    assert BatchedMigration.background is False and _BatchedDown.background is True
    assert _BatchedDown.is_reversible() and is_batched(_BatchedDown(), Direction.DOWN)
    assert _OrdinaryDown.is_reversible() and not is_batched(_OrdinaryDown(), Direction.DOWN)
    assert not _NoDown.is_reversible() and not is_batched(_NoDown(), Direction.DOWN)


def test_a_class_defining_both_downs_is_refused(tmp_path: Path) -> None:
    both = """
    from lamina import BatchedMigration


    class Both(BatchedMigration):
        table = "items"

        def batch(self, lo, hi): ...

        def batch_down(self, lo, hi): ...

        def down(self): ...
    """
    with pytest.raises(MigrationLoadError) as caught:
        load_migration(_file(tmp_path, "002_both.py", both))
    assert "Both defines both down() and batch_down()" in str(caught.value)
    assert "002_both.py" in str(caught.value)


def _row(migration_id: str, detail: str | None = None) -> AppliedMigration:
    state = RowState.APPLIED if detail is None else RowState.RUNNING
    return AppliedMigration(
        migration_id, int(migration_id[:3]), migration_id, "data", "sum",
        "2026-01-01T00:00:00Z", 1, "ana", "ci", state=state, detail=detail,
    )  # fmt: skip


UP_UNDER_WAY = f"backfill up started 2026-01-01T00:00:00Z by ana@ci; {PROGRESS}"
DOWN_UNDER_WAY = f"backfill down started 2026-01-01T00:00:00Z by ana@ci; {PROGRESS}"


def test_the_running_row_says_which_way_the_backfill_walks() -> None:
    assert _row("002_a", UP_UNDER_WAY).backfill_direction is Direction.UP
    assert _row("002_a", DOWN_UNDER_WAY).backfill_direction is Direction.DOWN
    assert _row("002_a", "up started 2026-01-01T00:00:00Z by ana@ci").backfill_direction is None
    assert _row("002_a").backfill_direction is None
    failed = replace(_row("002_a", DOWN_UNDER_WAY), state=RowState.FAILED)
    assert failed.backfill_direction is None and not failed.backfill
    assert (backfill_progress(UP_UNDER_WAY) or {})["direction"] == "up"
    assert (backfill_progress(DOWN_UNDER_WAY) or {})["direction"] == "down"


def _files(*ids: str) -> list[MigrationFile]:
    return [
        MigrationFile(i, int(i[:3]), i[4:], Path(f"/m/{i}.sql"), "sql", "sum",
                      MigrationMeta(i, category=Category.DATA))
        for i in ids
    ]  # fmt: skip


def test_a_backfill_under_way_resumed_by_up_is_not_out_of_order() -> None:
    files = _files("001_a", "002_fill", "003_c", "004_d")
    applied = [_row("001_a"), _row("002_fill", UP_UNDER_WAY), _row("003_c")]
    migrations = MigrationSet.build(files, applied)
    plan = plan_up(migrations, applied, strict_order=True)
    assert [(s.migration_id, s.out_of_order) for s in plan.steps] == [
        ("002_fill", False),
        ("004_d", False),
    ]
    # a migration pending from a parallel branch still is late, and strict order refuses it
    late = [_row("001_a"), _row("003_c")]
    with pytest.raises(OutOfOrderError):
        plan_up(MigrationSet.build(files, late), late, strict_order=True)


def test_up_refuses_a_batched_down_under_way_and_rollback_resumes_it() -> None:
    files = _files("001_a", "002_fill")
    applied = [_row("001_a"), _row("002_fill", DOWN_UNDER_WAY)]
    migrations = MigrationSet.build(files, applied)
    with pytest.raises(PlanError) as caught:
        plan_up(migrations, applied)
    assert "002_fill is being rolled back in batches" in caught.value.message
    assert "run `lamina rollback 1` to finish it" in (caught.value.hint or "")
    assert "`lamina repair 002_fill" in (caught.value.hint or "")
    # planned whatever the target: even one that would keep it applied
    for target in (1, 2):
        assert [s.migration_id for s in plan_rollback(migrations, applied, target).steps] == [
            "002_fill"
        ]
    status = compute_status(migrations, applied)
    [paused] = status.paused
    assert paused.state is MigrationState.PAUSED
    [finding] = [p for p in status.findings if p.code == "backfill-paused"]
    assert "a batched rollback paused" in finding.message
    assert "`lamina rollback` resumes it" in finding.message
