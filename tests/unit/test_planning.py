"""compute_status, plan_up and plan_rollback over in-memory files and history rows."""

from __future__ import annotations

from pathlib import Path

import pytest

from lamina.errors import OutOfOrderError, PlanError, TargetNotFoundError
from lamina.migration_set import MigrationSet
from lamina.models import (
    AppliedMigration,
    Category,
    Direction,
    LockOwner,
    MigrationFile,
    MigrationKind,
    MigrationMeta,
    MigrationState,
)
from lamina.planning import Plan, compute_status, plan_rollback, plan_up

FOLDER = Path("/project/migrations")


def mfile(filename: str, *deps: str, checksum: str = "sum-1") -> MigrationFile:
    stem, _, ext = filename.rpartition(".")
    kind: MigrationKind = "py" if ext == "py" else "sql"
    version_text, _, slug = stem.partition("_")
    return MigrationFile(
        id=stem,
        version=int(version_text),
        slug=slug,
        path=FOLDER / filename,
        kind=kind,
        checksum=checksum,
        meta=MigrationMeta(name=f"name of {stem}", category=Category.DATA, dependencies=deps),
    )


def row(migration_id: str, *, checksum: str = "sum-1", minute: int = 0) -> AppliedMigration:
    return AppliedMigration(
        id=migration_id,
        version=int(migration_id.partition("_")[0]),
        name=f"row name of {migration_id}",
        category="schema",
        checksum=checksum,
        applied_at=f"2026-01-01T00:{minute:02d}:00Z",
        execution_ms=3,
        applied_by="tester",
        host="localhost",
    )


def catalog(files: list[MigrationFile], applied: list[AppliedMigration]) -> MigrationSet:
    migrations = MigrationSet.build(files, applied)
    assert migrations.errors == (), migrations.errors
    return migrations


def step_ids(plan: Plan) -> list[str]:
    return [s.migration_id for s in plan.steps]


# --- compute_status ----------------------------------------------------------------------------


def test_status_classifies_applied_pending_modified_and_missing() -> None:
    files = [mfile("001_a.sql"), mfile("002_b.py", checksum="sum-2"), mfile("004_d.sql")]
    applied = [
        row("001_a", minute=1),
        row("002_b", checksum="sum-old", minute=2),
        row("003_gone", minute=3),
    ]
    report = compute_status(catalog(files, applied), applied)

    states = {m.id: m.state for m in report.migrations}
    assert states == {
        "001_a": MigrationState.APPLIED,
        "002_b": MigrationState.MODIFIED,
        "003_gone": MigrationState.MISSING,
        "004_d": MigrationState.PENDING,
    }
    assert [m.id for m in report.migrations] == ["001_a", "002_b", "003_gone", "004_d"]
    assert [m.id for m in report.pending] == ["004_d"]
    assert report.applied_count == 3
    assert report.needs_attention
    assert not report.up_to_date


def test_status_entries_carry_file_and_row_details() -> None:
    files = [mfile("001_a.sql"), mfile("003_c.sql")]
    applied = [row("001_a", minute=5), row("002_gone", minute=6)]
    by_id = {m.id: m for m in compute_status(catalog(files, applied), applied).migrations}

    applied_entry = by_id["001_a"]
    assert applied_entry.applied_at == "2026-01-01T00:05:00Z"
    assert applied_entry.path == FOLDER / "001_a.sql"
    assert applied_entry.name == "name of 001_a"  # the file's metadata wins over the row
    assert applied_entry.category == "data"

    missing = by_id["002_gone"]
    assert missing.path is None
    assert missing.name == "row name of 002_gone"
    assert missing.category == "schema"
    assert missing.applied_at == "2026-01-01T00:06:00Z"
    assert missing.version == 2

    pending = by_id["003_c"]
    assert pending.applied_at is None
    assert pending.path == FOLDER / "003_c.sql"


def test_status_modified_only_when_checksum_differs() -> None:
    files = [mfile("001_a.sql", checksum="same"), mfile("002_b.sql", checksum="new")]
    applied = [row("001_a", checksum="same"), row("002_b", checksum="old")]
    report = compute_status(catalog(files, applied), applied)

    assert [m.id for m in report.in_state(MigrationState.MODIFIED)] == ["002_b"]
    assert [m.id for m in report.in_state(MigrationState.APPLIED)] == ["001_a"]


def test_status_current_version_is_the_highest_applied_and_last_is_the_latest_row() -> None:
    files = [mfile("001_a.sql"), mfile("002_b.sql"), mfile("005_e.sql"), mfile("007_g.sql")]
    # History lists rows in the order they were applied: 002 arrived late from a branch.
    applied = [row("001_a", minute=1), row("005_e", minute=2), row("002_b", minute=3)]
    report = compute_status(catalog(files, applied), applied)

    assert report.current_version == 5
    assert report.last_applied == applied[-1]
    assert report.last_applied is not None and report.last_applied.id == "002_b"


def test_status_of_an_empty_database() -> None:
    files = [mfile("001_a.sql"), mfile("002_b.sql")]
    report = compute_status(catalog(files, []), [])

    assert report.current_version == 0
    assert report.last_applied is None
    assert all(m.state is MigrationState.PENDING for m in report.migrations)
    assert not any(m.out_of_order for m in report.migrations)
    assert report.applied_count == 0
    assert not report.needs_attention


def test_status_is_up_to_date_when_everything_is_applied() -> None:
    files = [mfile("001_a.sql"), mfile("002_b.sql")]
    applied = [row("001_a"), row("002_b")]
    report = compute_status(catalog(files, applied), applied)

    assert report.up_to_date
    assert not report.needs_attention
    assert report.current_version == 2


def test_status_flags_pending_files_older_than_the_newest_applied_as_out_of_order() -> None:
    files = [mfile("001_a.sql"), mfile("002_b.sql"), mfile("003_c.sql"), mfile("004_d.sql")]
    applied = [row("001_a"), row("003_c")]
    report = compute_status(catalog(files, applied), applied)

    flags = {m.id: m.out_of_order for m in report.migrations}
    assert flags == {"001_a": False, "002_b": True, "003_c": False, "004_d": False}


def test_status_passes_the_lock_holder_through() -> None:
    holder = LockOwner(host="build-1", pid=4242, started_at="2026-01-01T00:00:00Z")
    report = compute_status(catalog([mfile("001_a.sql")], []), [], holder)

    assert report.lock_holder == holder


# --- plan_up -----------------------------------------------------------------------------------


def test_plan_up_runs_everything_pending_in_order() -> None:
    files = [mfile("003_c.sql"), mfile("001_a.sql", "004_d"), mfile("002_b.py"), mfile("004_d.sql")]
    plan = plan_up(catalog(files, []), [])

    assert plan.direction is Direction.UP
    assert plan.target is None
    assert step_ids(plan) == ["002_b", "003_c", "004_d", "001_a"]
    assert [s.version for s in plan.steps] == [2, 3, 4, 1]
    assert all(s.file is not None and s.file.id == s.migration_id for s in plan.steps)
    assert not any(s.out_of_order for s in plan.steps)
    assert all(s.applied is None for s in plan.steps)


def test_plan_up_skips_applied_migrations() -> None:
    files = [mfile("001_a.sql"), mfile("002_b.sql"), mfile("003_c.sql")]
    applied = [row("001_a"), row("002_b")]

    assert step_ids(plan_up(catalog(files, applied), applied)) == ["003_c"]


def test_plan_up_with_nothing_pending_is_empty() -> None:
    files = [mfile("001_a.sql")]
    applied = [row("001_a")]
    plan = plan_up(catalog(files, applied), applied)

    assert plan.empty
    assert plan.steps == ()


def test_plan_up_to_is_inclusive() -> None:
    files = [mfile(f"00{v}_m{v}.sql") for v in range(1, 6)]
    plan = plan_up(catalog(files, []), [], to_version=3)

    assert step_ids(plan) == ["001_m1", "002_m2", "003_m3"]
    assert plan.target == 3


def test_plan_up_to_an_applied_version_only_runs_older_pending_ones() -> None:
    files = [mfile("001_a.sql"), mfile("002_b.sql"), mfile("003_c.sql"), mfile("004_d.sql")]
    applied = [row("001_a"), row("003_c")]
    plan = plan_up(catalog(files, applied), applied, to_version=3)

    assert step_ids(plan) == ["002_b"]


def test_plan_up_to_a_version_between_migrations_applies_those_below_it() -> None:
    # As Flyway's target: the version need not exist; everything at or below it is planned.
    files = [mfile("001_a.sql"), mfile("003_c.sql"), mfile("005_e.sql")]

    assert step_ids(plan_up(catalog(files, []), [], to_version=2)) == ["001_a"]
    assert step_ids(plan_up(catalog(files, []), [], to_version=4)) == ["001_a", "003_c"]
    assert step_ids(plan_up(catalog(files, []), [], to_version=0)) == []
    assert len(plan_up(catalog(files, []), [], to_version=99).steps) == 3


def test_plan_up_to_the_version_of_an_applied_row_without_file_is_known() -> None:
    files = [mfile("001_a.sql"), mfile("003_c.sql")]
    applied = [row("002_gone")]

    plan = plan_up(catalog(files, applied), applied, to_version=2)

    assert step_ids(plan) == ["001_a"]


def test_plan_up_refuses_when_a_step_within_to_depends_on_one_above_it() -> None:
    files = [mfile("001_a.sql", "003_c"), mfile("002_b.sql"), mfile("003_c.sql")]

    with pytest.raises(PlanError) as caught:
        plan_up(catalog(files, []), [], to_version=2)
    message = str(caught.value)
    assert "001_a" in message
    assert "003_c" in message


def test_plan_up_allows_a_dependency_above_to_when_it_is_already_applied() -> None:
    files = [mfile("001_a.sql", "003_c"), mfile("002_b.sql"), mfile("003_c.sql")]
    applied = [row("003_c")]
    plan = plan_up(catalog(files, applied), applied, to_version=2)

    # Graph order stays 002_b, 003_c, 001_a; 003_c is done, so both others run.
    assert step_ids(plan) == ["002_b", "001_a"]


def test_plan_up_keeps_out_of_order_steps_and_flags_them() -> None:
    files = [mfile("001_a.sql"), mfile("002_b.sql"), mfile("003_c.sql"), mfile("004_d.sql")]
    applied = [row("001_a"), row("003_c")]
    plan = plan_up(catalog(files, applied), applied)

    assert step_ids(plan) == ["002_b", "004_d"]
    assert {s.migration_id: s.out_of_order for s in plan.steps} == {
        "002_b": True,
        "004_d": False,
    }


def test_plan_up_strict_order_refuses_out_of_order_steps() -> None:
    files = [mfile("001_a.sql"), mfile("002_b.sql"), mfile("003_c.sql"), mfile("004_d.sql")]
    applied = [row("001_a"), row("004_d")]

    with pytest.raises(OutOfOrderError) as caught:
        plan_up(catalog(files, applied), applied, strict_order=True)
    assert caught.value.migration_ids == ("002_b", "003_c")
    assert "004_d" in str(caught.value)
    assert caught.value.exit_code == 3


def test_plan_up_strict_order_passes_when_nothing_is_out_of_order() -> None:
    files = [mfile("001_a.sql"), mfile("002_b.sql")]
    applied = [row("001_a")]

    plan = plan_up(catalog(files, applied), applied, strict_order=True)

    assert step_ids(plan) == ["002_b"]


def test_plan_up_strict_order_applies_with_to_as_well() -> None:
    files = [mfile("001_a.sql"), mfile("002_b.sql"), mfile("003_c.sql")]
    applied = [row("003_c")]

    with pytest.raises(OutOfOrderError) as caught:
        plan_up(catalog(files, applied), applied, to_version=1, strict_order=True)
    assert caught.value.migration_ids == ("001_a",)


# --- plan_rollback -----------------------------------------------------------------------------


def test_rollback_reverts_above_target_newest_first() -> None:
    files = [mfile("001_a.sql"), mfile("002_b.sql"), mfile("003_c.sql")]
    applied = [row("001_a"), row("002_b"), row("003_c")]
    plan = plan_rollback(catalog(files, applied), applied, 1)

    assert plan.direction is Direction.DOWN
    assert plan.target == 1
    assert step_ids(plan) == ["003_c", "002_b"]
    assert [s.applied for s in plan.steps] == [applied[2], applied[1]]
    assert [s.file for s in plan.steps] == [files[2], files[1]]


def test_rollback_to_zero_reverts_everything() -> None:
    files = [mfile("001_a.sql"), mfile("002_b.sql"), mfile("003_c.sql")]
    applied = [row("001_a"), row("002_b"), row("003_c")]

    plan = plan_rollback(catalog(files, applied), applied, 0)

    assert step_ids(plan) == ["003_c", "002_b", "001_a"]


def test_rollback_to_the_newest_version_is_empty() -> None:
    files = [mfile("001_a.sql"), mfile("002_b.sql")]
    applied = [row("001_a"), row("002_b")]

    assert plan_rollback(catalog(files, applied), applied, 2).empty


def test_rollback_only_touches_applied_migrations() -> None:
    files = [mfile("001_a.sql"), mfile("002_b.sql"), mfile("003_c.sql")]
    applied = [row("001_a"), row("003_c")]

    plan = plan_rollback(catalog(files, applied), applied, 0)

    assert step_ids(plan) == ["003_c", "001_a"]


def test_rollback_to_a_pending_version_is_a_known_target() -> None:
    files = [mfile("001_a.sql"), mfile("002_b.sql"), mfile("003_c.sql")]
    applied = [row("001_a"), row("003_c")]

    plan = plan_rollback(catalog(files, applied), applied, 2)

    assert step_ids(plan) == ["003_c"]


def test_rollback_reverts_dependents_before_their_dependencies() -> None:
    # 001 depends on 002, so it was applied after 002 and must be reverted before it,
    # even though its version is lower.
    files = [mfile("001_a.sql", "002_b"), mfile("002_b.sql"), mfile("003_c.sql")]
    applied = [row("002_b"), row("001_a"), row("003_c")]

    plan = plan_rollback(catalog(files, applied), applied, 0)

    ids = step_ids(plan)
    assert ids.index("001_a") < ids.index("002_b")
    assert ids == ["003_c", "001_a", "002_b"]


def test_rollback_is_the_reverse_of_up() -> None:
    files = [
        mfile("001_a.sql", "005_e"),
        mfile("002_b.sql"),
        mfile("003_c.sql", "2"),
        mfile("004_d.sql"),
        mfile("005_e.sql", "004_d"),
    ]
    up_ids = step_ids(plan_up(catalog(files, []), []))
    applied = [row(i) for i in up_ids]

    down_ids = step_ids(plan_rollback(catalog(files, applied), applied, 0))

    assert down_ids == list(reversed(up_ids))


def test_rollback_to_unknown_version_is_target_not_found() -> None:
    files = [mfile("001_a.sql"), mfile("003_c.sql")]
    applied = [row("001_a"), row("003_c")]

    with pytest.raises(TargetNotFoundError) as caught:
        plan_rollback(catalog(files, applied), applied, 2)
    assert caught.value.target == 2


def test_rollback_refuses_to_revert_a_dependency_of_a_kept_migration() -> None:
    files = [mfile("001_a.sql", "003_c"), mfile("002_b.sql"), mfile("003_c.sql")]
    applied = [row("003_c"), row("001_a"), row("002_b")]

    with pytest.raises(PlanError) as caught:
        plan_rollback(catalog(files, applied), applied, 2)
    message = str(caught.value)
    assert "001_a" in message
    assert "003_c" in message


def test_rollback_of_a_migration_whose_file_is_gone_has_no_file() -> None:
    files = [mfile("001_a.sql"), mfile("003_c.sql")]
    applied = [row("001_a"), row("002_gone"), row("003_c")]

    plan = plan_rollback(catalog(files, applied), applied, 1)

    assert step_ids(plan) == ["003_c", "002_gone"]
    gone = plan.steps[1]
    assert gone.file is None
    assert gone.applied == applied[1]
    assert gone.version == 2
