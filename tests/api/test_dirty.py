"""Migrations that cannot be rolled back as a whole: the dirty state, and ``repair``.

A migration declared non-transactional runs statement by statement on every engine; on MySQL
every DDL statement commits by itself. When such a migration fails half-way, lamina records
it as ``failed`` with the statement it reached, refuses to run anything else, and ``repair``
resolves it once the user has fixed the database by hand.
"""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from lamina import Lamina
from lamina.cli import cli
from lamina.errors import DirtyDatabaseError, ExecutionError, PlanError
from lamina.models import MigrationState
from support.texts import LOOSE

NEXT = """
    -- migrate:up
    CREATE TABLE later (id INTEGER);
    -- migrate:down
    DROP TABLE later;
"""


def dirty_rows(raw_db) -> list[tuple[object, ...]]:
    return raw_db.query(
        "SELECT id, state, failed_statement FROM lamina_migrations WHERE state <> 'applied'"
    )


@pytest.fixture
def failed_half_way(make_migrations, settings_for, raw_db):
    """A database where 001_loose stopped after its first statement."""
    make_migrations({"001_loose.sql": LOOSE, "002_next.sql": NEXT})
    with pytest.raises(ExecutionError) as caught:
        Lamina(settings_for()).up()
    return caught.value


def test_a_half_run_migration_is_recorded_as_failed_with_the_statement_reached(
    failed_half_way, raw_db
) -> None:
    assert failed_half_way.rolled_back is False
    assert "NOT rolled back" in failed_half_way.message
    assert "lamina repair 001_loose --mark-applied" in (failed_half_way.hint or "")
    assert "kept" in raw_db.tables()
    assert dirty_rows(raw_db) == [("001_loose", "failed", 2)]
    detail = raw_db.query("SELECT detail FROM lamina_migrations")[0][0]
    assert str(detail).startswith("up failed at statement 2: ")
    assert "missing_table" in str(detail)


def test_status_shows_the_failed_migration(failed_half_way, settings_for) -> None:
    report = Lamina(settings_for()).status()
    assert [m.id for m in report.dirty] == ["001_loose"]
    failed = report.dirty[0]
    assert failed.state is MigrationState.FAILED
    assert failed.failed_statement == 2
    assert report.needs_attention
    assert report.last_applied is None  # a failed row is not the last *applied* migration


@pytest.mark.parametrize("command", ["up", "up --dry-run", "rollback", "rollback --dry-run"])
def test_nothing_runs_on_a_dirty_database(failed_half_way, settings_for, raw_db, command) -> None:
    lamina = Lamina(settings_for())
    with pytest.raises(DirtyDatabaseError) as caught:
        if command.startswith("up"):
            lamina.up(dry_run="dry" in command)
        else:
            lamina.rollback(0, dry_run="dry" in command, force=True, yes=True)
    assert caught.value.migration_ids == ("001_loose",)
    assert caught.value.exit_code == 3
    assert "lamina repair 001_loose" in (caught.value.hint or "")
    assert "later" not in raw_db.tables()
    assert dirty_rows(raw_db) == [("001_loose", "failed", 2)]


def test_repair_mark_applied_records_it_applied_and_up_continues(
    failed_half_way, settings_for, raw_db
) -> None:
    lamina = Lamina(settings_for())
    result = lamina.repair("001_loose", "applied")
    assert result.was.state == "failed"
    assert dirty_rows(raw_db) == []
    assert raw_db.applied_ids() == ["001_loose"]
    assert lamina.up().applied == ("002_next",)
    assert lamina.history(1)[0].action == "apply"
    repair = next(e for e in lamina.history() if e.action == "repair")
    assert repair.migration_id == "001_loose"
    assert "marked applied (was failed" in (repair.detail or "")


def test_repair_mark_rolled_back_makes_it_pending_again(
    failed_half_way, make_migrations, settings_for, raw_db
) -> None:
    raw_db.execute("DROP TABLE kept")  # the user undoes the half-run by hand
    lamina = Lamina(settings_for())
    lamina.repair("001_loose", "rolled-back")
    assert raw_db.query("SELECT COUNT(*) FROM lamina_migrations") == [(0,)]
    status = Lamina(settings_for()).status()
    assert [m.id for m in status.pending] == ["001_loose", "002_next"]
    make_migrations({"001_loose.sql": LOOSE.replace("SELECT * FROM missing_table;", "")})
    assert lamina.up().applied == ("001_loose", "002_next")


def test_repair_refuses_a_migration_that_is_not_dirty(failed_half_way, settings_for) -> None:
    lamina = Lamina(settings_for())
    for migration_id, state in (("002_next", "not in history"), ("999_nope", "not in history")):
        with pytest.raises(PlanError, match=state) as caught:
            lamina.repair(migration_id, "applied")
        assert "dirty migrations: 001_loose" in caught.value.message
    lamina.repair("001_loose", "applied")
    with pytest.raises(PlanError, match="applied, not dirty"):
        lamina.repair("001_loose", "applied")


def test_a_non_transactional_migration_that_fails_on_its_first_statement_is_not_dirty(
    make_migrations, settings_for, raw_db
) -> None:
    make_migrations(
        {
            "001_first.sql": """
                -- transactional: false
                -- migrate:up
                SELECT * FROM missing_table;
                CREATE TABLE never (id INTEGER);
            """
        }
    )
    with pytest.raises(ExecutionError) as caught:
        Lamina(settings_for()).up()
    assert caught.value.rolled_back is True  # nothing of it ran, so nothing needs repair
    assert raw_db.query("SELECT COUNT(*) FROM lamina_migrations") == [(0,)]
    assert "never" not in raw_db.tables()


def test_a_failed_non_transactional_down_is_recorded_as_failed(
    make_migrations, settings_for, raw_db
) -> None:
    make_migrations(
        {
            "001_two_tables.sql": """
                -- transactional: false
                -- migrate:up
                CREATE TABLE a (id INTEGER);
                CREATE TABLE b (id INTEGER);
                -- migrate:down
                DROP TABLE a;
                DROP TABLE no_such_table;
            """
        }
    )
    lamina = Lamina(settings_for())
    lamina.up()
    with pytest.raises(ExecutionError) as caught:
        lamina.rollback(0, force=True, yes=True)
    assert caught.value.rolled_back is False
    assert dirty_rows(raw_db) == [("001_two_tables", "failed", 2)]
    detail = raw_db.query("SELECT detail FROM lamina_migrations")[0][0]
    assert str(detail).startswith("down failed at statement 2")


def test_a_row_left_running_by_a_killed_run_is_dirty(make_migrations, settings_for, raw_db):
    """What a run killed in the middle of a non-atomic migration leaves behind (the kill
    itself is exercised in test_processes)."""
    make_migrations({"001_loose.sql": LOOSE.replace("SELECT * FROM missing_table;", "")})
    lamina = Lamina(settings_for())
    lamina.up()
    raw_db.execute("UPDATE lamina_migrations SET state = 'running', detail = 'up started'")
    report = lamina.status()
    assert [m.id for m in report.dirty] == ["001_loose"]
    with pytest.raises(DirtyDatabaseError, match="up started"):
        lamina.up()


def test_mysql_ddl_commits_implicitly_so_a_failure_after_it_is_dirty(
    engine, make_migrations, settings_for, raw_db
) -> None:
    """The same transactional migration: atomic where DDL is transactional, dirty on MySQL."""
    make_migrations(
        {
            "001_two.sql": """
                -- migrate:up
                CREATE TABLE first_step (id INTEGER);
                SELECT * FROM missing_table;
            """
        }
    )
    with pytest.raises(ExecutionError) as caught:
        Lamina(settings_for()).up()
    if engine == "mysql":
        assert caught.value.rolled_back is False
        assert "first_step" in raw_db.tables()
        assert dirty_rows(raw_db) == [("001_two", "failed", 2)]
    else:
        assert caught.value.rolled_back is True
        assert "first_step" not in raw_db.tables()
        assert raw_db.query("SELECT COUNT(*) FROM lamina_migrations") == [(0,)]


def test_data_statements_roll_back_together_on_every_engine(
    make_migrations, settings_for, raw_db
) -> None:
    """On MySQL too, a migration of row changes only is atomic: nothing is kept, no repair."""
    make_migrations(
        {
            "001_table.sql": "-- migrate:up\nCREATE TABLE t (id INTEGER PRIMARY KEY);\n",
            "002_rows.sql": """
                -- category: data
                -- migrate:up
                INSERT INTO t VALUES (1);
                INSERT INTO t VALUES (1);
            """,
        }
    )
    with pytest.raises(ExecutionError) as caught:
        Lamina(settings_for()).up()
    assert caught.value.rolled_back is True
    assert raw_db.query("SELECT COUNT(*) FROM t") == [(0,)]
    assert raw_db.applied_ids() == ["001_table"]
    assert dirty_rows(raw_db) == []


def test_the_dry_run_says_a_multi_statement_migration_is_not_atomic(
    engine, make_migrations, settings_for
) -> None:
    make_migrations({"001_loose.sql": LOOSE, "002_next.sql": NEXT})
    previews = Lamina(settings_for()).up(dry_run=True).previews
    assert previews[0].atomic is False  # declared non-transactional: never atomic
    assert previews[1].atomic is (engine != "mysql")


BASE = """
    -- migrate:up
    CREATE TABLE base (id INTEGER);
    -- migrate:down
    DROP TABLE base;
"""


def test_a_failed_migration_is_not_counted_as_applied(
    make_migrations, settings_for, raw_db
) -> None:
    """Its row exists, but it is neither applied nor the current version."""
    make_migrations({"000_base.sql": BASE})
    Lamina(settings_for()).up()
    make_migrations({"001_loose.sql": LOOSE, "002_next.sql": NEXT})
    with pytest.raises(ExecutionError):
        Lamina(settings_for()).up()
    assert raw_db.query("SELECT id FROM lamina_migrations ORDER BY id") == [
        ("000_base",),
        ("001_loose",),
    ]
    report = Lamina(settings_for()).status()
    assert report.current_version == 0  # 000_base: the last cleanly applied
    assert report.applied_count == 1
    assert [m.id for m in report.dirty] == ["001_loose"]
    assert [m.id for m in report.pending] == ["002_next"]
    assert report.last_applied is not None and report.last_applied.id == "000_base"
    assert not report.up_to_date


def test_what_a_failed_migration_left_is_its_own_not_drift(
    make_migrations, settings_for, raw_db
) -> None:
    make_migrations({"000_base.sql": BASE})
    Lamina(settings_for()).up()  # records the schema: the baseline for drift
    make_migrations({"001_loose.sql": LOOSE})
    with pytest.raises(ExecutionError):
        Lamina(settings_for()).up()
    assert "kept" in raw_db.tables()
    report = Lamina(settings_for()).status()
    assert report.drift is None  # not "made outside lamina"
    assert report.leftovers is not None
    assert any("kept" in line for line in report.leftovers)
    leftovers = [p for p in report.findings if p.code == "leftover"]
    assert leftovers and all("left by failed 001_loose" in p.message for p in leftovers)
    assert not [p for p in report.findings if p.code == "drift"]
    validation = Lamina(settings_for()).validate()
    assert not [p for p in validation.problems if p.code == "drift"]
    assert next(p.code for p in validation.errors if p.code in ("dirty", "leftover")) == "dirty"
    assert any(p.code == "leftover" and "kept" in p.message for p in validation.errors)
    differences, causes = Lamina(settings_for()).schema_changes()
    assert causes == ("001_loose",)
    assert differences and any("kept" in str(d) for d in differences)
    folder = str(settings_for().migrations_dir)
    shown = CliRunner().invoke(
        cli, ["--database-url", raw_db.url, "--migrations-dir", folder, "diff"]
    )
    assert shown.exit_code == 1, shown.output
    assert "made by 001_loose" in shown.output and "by hand" not in shown.output


def test_repair_accepts_a_version_or_zero_padded_version(failed_half_way, settings_for) -> None:
    lamina = Lamina(settings_for())
    result = lamina.repair("1", "applied")
    assert result.migration_id == "001_loose"
    assert Lamina(settings_for()).status().dirty == ()


def test_accept_checksum_refuses_a_failed_migration(failed_half_way, settings_for, raw_db) -> None:
    lamina = Lamina(settings_for())
    with pytest.raises(PlanError, match="dirty") as caught:
        lamina.accept_checksum(["001_loose"])
    assert "--mark-applied" in caught.value.message
    assert dirty_rows(raw_db) == [("001_loose", "failed", 2)]
