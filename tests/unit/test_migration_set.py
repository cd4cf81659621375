"""MigrationSet: indexing files, validation problems that name files, and execution order."""

from __future__ import annotations

from pathlib import Path

from lamina.migration_set import MigrationSet
from lamina.models import (
    AppliedMigration,
    MigrationFile,
    MigrationKind,
    MigrationMeta,
    Problem,
    Severity,
)

FOLDER = Path("/project/migrations")


def mfile(
    filename: str,
    *,
    deps: tuple[str, ...] = (),
    reversible: bool = True,
    checksum: str = "c0ffee",
) -> MigrationFile:
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
        meta=MigrationMeta(name=slug, dependencies=deps, reversible=reversible),
    )


def row(migration_id: str, version: int) -> AppliedMigration:
    return AppliedMigration(
        id=migration_id,
        version=version,
        name=migration_id,
        category="schema",
        checksum="c0ffee",
        applied_at="2026-01-01T00:00:00Z",
        execution_ms=1,
        applied_by="tester",
        host="localhost",
    )


def test_consistent_set_has_no_problems_and_orders_by_version() -> None:
    files = [mfile("003_c.sql"), mfile("001_a.py"), mfile("002_b.sql")]
    migrations = MigrationSet.build(files)

    assert migrations.problems == ()
    assert migrations.errors == () and migrations.warnings == ()
    assert [f.id for f in migrations.ordered()] == ["001_a", "002_b", "003_c"]
    assert set(migrations.files) == {"001_a", "002_b", "003_c"}


def test_ordered_puts_dependencies_first() -> None:
    files = [mfile("001_a.py", deps=("003_c",)), mfile("002_b.sql"), mfile("003_c.sql")]

    ordered = MigrationSet.build(files).ordered()

    assert [f.id for f in ordered] == ["002_b", "003_c", "001_a"]
    assert all(isinstance(f, MigrationFile) for f in ordered)


def test_by_version_finds_the_file_or_none() -> None:
    a, b = mfile("001_a.py"), mfile("020_b.sql")
    migrations = MigrationSet.build([a, b])

    assert migrations.by_version(1) is a
    assert migrations.by_version(20) is b
    assert migrations.by_version(2) is None
    assert migrations.by_version(0) is None


def test_duplicate_version_is_an_error_naming_both_files() -> None:
    files = [mfile("001_a.sql"), mfile("1_b.py"), mfile("002_c.sql")]
    migrations = MigrationSet.build(files)

    assert len(migrations.errors) == 1
    problem = migrations.errors[0]
    assert problem.severity is Severity.ERROR
    rendered = problem.render()
    assert "001_a.sql" in rendered
    assert "1_b.py" in rendered
    assert "duplicate version 1" in problem.message
    assert problem.path in {FOLDER / "001_a.sql", FOLDER / "1_b.py"}
    # Both files stay in the set; only the problem reports the clash.
    assert set(migrations.files) == {"001_a", "1_b", "002_c"}


def test_three_files_with_one_version_are_one_problem_naming_all_three() -> None:
    files = [mfile("5_x.sql"), mfile("05_y.py"), mfile("005_z.sql")]
    migrations = MigrationSet.build(files)

    assert len(migrations.errors) == 1
    message = migrations.errors[0].message
    for name in ("5_x.sql", "05_y.py", "005_z.sql"):
        assert name in message


def test_duplicate_id_is_an_error_naming_both_files() -> None:
    first, second = mfile("001_a.py"), mfile("001_a.sql")
    migrations = MigrationSet.build([first, second])

    assert len(migrations.errors) == 1
    problem = migrations.errors[0]
    rendered = problem.render()
    assert "001_a.py" in rendered
    assert "001_a.sql" in rendered
    assert "duplicate id" in problem.message
    # The first file wins the id; the second is reported and left out.
    assert migrations.files == {"001_a": first}
    assert problem.path == second.path


def test_unknown_dependency_is_an_error_on_the_dependent_file() -> None:
    files = [mfile("001_a.sql"), mfile("002_b.py", deps=("999_ghost",))]
    migrations = MigrationSet.build(files)

    assert len(migrations.errors) == 1
    problem = migrations.errors[0]
    assert problem.code == "unknown"
    assert problem.path == FOLDER / "002_b.py"
    assert "999_ghost" in problem.message


def test_cycle_is_an_error_naming_the_ids_and_a_file_in_it() -> None:
    files = [
        mfile("001_a.sql", deps=("003_c",)),
        mfile("002_b.sql", deps=("001_a",)),
        mfile("003_c.sql", deps=("002_b",)),
        mfile("004_d.sql"),
    ]
    migrations = MigrationSet.build(files)

    cycles = [p for p in migrations.errors if p.code == "cycle"]
    assert len(cycles) == 1
    problem = cycles[0]
    for migration_id in ("001_a", "002_b", "003_c"):
        assert migration_id in problem.message
    assert "004_d" not in problem.message
    assert problem.path in {FOLDER / "001_a.sql", FOLDER / "002_b.sql", FOLDER / "003_c.sql"}
    # Even with a cycle every file can still be listed.
    assert {f.id for f in migrations.ordered()} == {"001_a", "002_b", "003_c", "004_d"}


def test_self_dependency_is_a_cycle_error_on_that_file() -> None:
    migrations = MigrationSet.build([mfile("001_a.py", deps=("1",))])

    assert len(migrations.errors) == 1
    problem = migrations.errors[0]
    assert problem.code == "cycle"
    assert problem.path == FOLDER / "001_a.py"
    assert "001_a" in problem.message


def test_irreversible_migration_is_a_warning_not_an_error() -> None:
    migrations = MigrationSet.build([mfile("001_a.sql"), mfile("002_b.sql", reversible=False)])

    assert migrations.errors == ()
    assert len(migrations.warnings) == 1
    warning = migrations.warnings[0]
    assert warning.path == FOLDER / "002_b.sql"
    assert warning.code == "irreversible"


def test_scan_problems_are_kept_alongside_new_ones() -> None:
    scanned = Problem(Severity.WARNING, "looks like a misnamed migration", FOLDER / "1-foo.sql")
    migrations = MigrationSet.build([mfile("001_a.sql", deps=("nope",))], scan_problems=[scanned])

    assert migrations.problems[0] == scanned
    assert len(migrations.problems) == 2
    assert migrations.warnings == (scanned,)
    assert migrations.errors[0].code == "unknown"


def test_dependency_on_an_applied_migration_whose_file_is_gone_still_resolves() -> None:
    files = [mfile("002_b.py", deps=("001_gone",))]

    without_history = MigrationSet.build(files)
    with_history = MigrationSet.build(files, applied=[row("001_gone", 1)])

    assert [p.code for p in without_history.errors] == ["unknown"]
    assert with_history.problems == ()
    assert with_history.graph.parents["002_b"] == ("001_gone",)
    # The gone migration is in the graph but ordered() lists files only.
    assert "001_gone" in with_history.graph.order
    assert [f.id for f in with_history.ordered()] == ["002_b"]
    assert with_history.by_version(1) is None


def test_history_rows_for_existing_files_do_not_replace_them() -> None:
    file = mfile("001_a.sql", deps=())
    migrations = MigrationSet.build([file, mfile("002_b.sql", deps=("1",))], [row("001_a", 1)])

    assert migrations.files["001_a"] is file
    assert migrations.problems == ()
    assert migrations.graph.parents["002_b"] == ("001_a",)
