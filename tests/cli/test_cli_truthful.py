"""What the CLI says is what is there: exit codes as README's table, every way to name a
migration, `up --to` between versions, a failed rollback's hint, graph cycles, and output that
stays readable (refusals, backup notes, one-line statements). CliRunner, every engine."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from lamina.cli import cli
from support.cli import cleared

A = "-- migrate:up\nCREATE TABLE a (id INTEGER);\n-- migrate:down\nDROP TABLE a;\n"
B = "-- migrate:up\nCREATE TABLE b (id INTEGER);\n-- migrate:down\nDROP TABLE b;\n"
C_NO_DOWN = "-- migrate:up\nCREATE TABLE c (id INTEGER);\n"
QUIET = "-- migrate:up\nSELECT 1;\n-- migrate:down\nSELECT 1;\n"
BAD_DOWN = (
    "-- migrate:up\nCREATE TABLE d (id INTEGER);\n-- migrate:down\nDROP TABLE no_such_table;\n"
)


# -- 1. exit codes --------------------------------------------------------------------------
def test_an_irreversible_rollback_is_a_refusal_exit_3_and_changes_nothing(
    run, make_migrations, raw_db
) -> None:
    make_migrations({"001_a.sql": A, "002_c.sql": C_NO_DOWN})
    assert run("up").exit_code == 0
    refused = run("rollback", "0")
    assert refused.exit_code == 3
    assert "002_c has no down migration" in refused.stderr
    assert raw_db.applied_ids() == ["001_a", "002_c"]


@pytest.mark.parametrize(
    "url",
    ["oracle://x@db/app", "postgresql://u@db:99999/app", "mysql://u@db/app?nope=1", "duckdb:app"],
)
def test_a_malformed_database_url_is_a_usage_error_exit_2(run, make_migrations, url) -> None:
    make_migrations({"001_a.sql": A})
    by_flag = run("--database-url", url, "status")
    assert by_flag.exit_code == 2
    assert "--database-url (command line)" in by_flag.stderr
    by_env = run("status", env={"DATABASE_URL": url})
    assert by_env.exit_code == 2
    assert "DATABASE_URL (environment)" in by_env.stderr


def test_a_rollback_target_that_is_no_version_is_a_usage_error(run, make_migrations) -> None:
    make_migrations({"001_a.sql": A, "003_b.sql": B})
    assert run("up").exit_code == 0
    assert run("rollback", "2").exit_code == 2  # no migration has version 2
    assert run("rollback", "x1").exit_code == 2
    assert run("rollback", "042_nothing").exit_code == 2


# -- 5. ids, versions, zero-padded versions ---------------------------------------------------
@pytest.mark.parametrize("ref", ["004_d", "4", "004"])
def test_lint_takes_an_id_a_version_or_a_padded_version(run, make_migrations, ref) -> None:
    make_migrations({"001_a.sql": A, "004_d.sql": QUIET})
    result = run("lint", ref, "--json")
    assert result.exit_code == 0, result.output
    assert [m["id"] for m in json.loads(result.stdout)["migrations"]] == ["004_d"]


@pytest.mark.parametrize("ref", ["001_a", "1", "001"])
def test_rollback_takes_an_id_a_version_or_a_padded_version(
    run, make_migrations, raw_db, ref
) -> None:
    make_migrations({"001_a.sql": A, "002_b.sql": B})
    assert run("up").exit_code == 0
    result = run("rollback", ref, "--force", "--yes", "--json")  # 002_b's down drops b
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["reverted"] == ["002_b"]
    assert raw_db.applied_ids() == ["001_a"]


@pytest.mark.parametrize("ref", ["001_a", "1", "001"])
def test_up_to_takes_an_id_a_version_or_a_padded_version(run, make_migrations, raw_db, ref) -> None:
    make_migrations({"001_a.sql": A, "002_b.sql": B})
    result = run("up", "--to", ref, "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["applied"] == ["001_a"]
    assert raw_db.applied_ids() == ["001_a"]


# -- 6. up --to between versions --------------------------------------------------------------
def test_up_to_a_version_between_migrations_applies_those_below_and_says_so(
    run, make_migrations, raw_db
) -> None:
    make_migrations({"001_a.sql": A, "003_b.sql": B, "005_c.sql": C_NO_DOWN})
    result = run("up", "--to", "4")
    assert result.exit_code == 0, result.output
    assert "no migration has version 4" in result.output
    assert raw_db.applied_ids() == ["001_a", "003_b"]
    document = json.loads(run("up", "--to", "9", "--json").stdout)
    assert document["applied"] == ["005_c"]
    assert "target-not-exact" in [w["code"] for w in document["warnings"]]


# -- 4. a failed rollback says what happened to the down --------------------------------------
def test_a_failed_rollback_says_the_migration_is_still_applied_and_what_to_do(
    run, make_migrations, raw_db, engine
) -> None:
    make_migrations({"001_a.sql": A, "002_d.sql": BAD_DOWN})
    assert run("up").exit_code == 0
    failed = run("rollback", "0", "--force", "--yes")
    assert failed.exit_code == 1
    assert "rollback of migration 002_d failed" in failed.stderr
    assert "nothing of it was kept" not in failed.stderr
    assert "lamina up" not in failed.stderr
    assert "lamina rollback" in failed.stderr
    # The down ran one statement, which failed: nothing of it stayed, so it is still applied.
    assert "still applied" in failed.stderr
    assert raw_db.applied_ids() == ["001_a", "002_d"]


def test_a_rollback_whose_down_kept_work_names_repair(
    mysql_url, make_migrations, tmp_path, monkeypatch
) -> None:
    # MySQL: the down's DROP commits by itself, then its second statement fails.
    make_migrations(
        {
            "001_e.sql": "-- migrate:up\nCREATE TABLE e (id INTEGER);\nCREATE TABLE f (id "
            "INTEGER);\n-- migrate:down\nDROP TABLE f;\nDROP TABLE no_such_table;\n"
        }
    )
    monkeypatch.chdir(tmp_path)
    env = cleared() | {
        "DATABASE_URL": mysql_url,
        "LAMINA_MIGRATIONS_DIR": str(tmp_path / "migrations"),
    }
    runner = CliRunner()
    assert runner.invoke(cli, ["up"], env=env).exit_code == 0
    failed = runner.invoke(cli, ["rollback", "0", "--force", "--yes"], env=env)
    assert failed.exit_code == 1
    assert "marked failed" in failed.stderr
    assert "lamina repair 001_e --mark-rolled-back" in failed.stderr
    status = json.loads(runner.invoke(cli, ["status", "--json"], env=env).stdout)
    assert status["dirty"] == ["001_e"]


# -- 9. graph, refusals, backup notes, statements ---------------------------------------------
def test_graph_draws_a_cycle_and_exits_1_naming_it(run, make_migrations) -> None:
    make_migrations(
        {
            "001_a.sql": "-- depends: 002_b\n" + A,
            "002_b.sql": "-- depends: 001_a\n" + B,
        }
    )
    result = run("graph")
    assert result.exit_code == 1
    assert "001_a" in result.stdout and "002_b" in result.stdout  # still drawn
    assert "dependency cycle" in result.stderr
    assert "001_a" in result.stderr and "002_b" in result.stderr


def test_graph_without_a_cycle_exits_0(run, make_migrations) -> None:
    make_migrations({"001_a.sql": A, "002_b.sql": "-- depends: 001_a\n" + B})
    result = run("graph")
    assert result.exit_code == 0
    assert result.stderr == ""


def test_a_refusal_of_many_risky_steps_is_summarised_unless_verbose(
    run, make_migrations, engine
) -> None:
    files = {
        f"{n:03d}_t{n}.sql": f"-- migrate:up\nCREATE TABLE t{n} (id INTEGER);\n"
        f"INSERT INTO t{n} VALUES (1);\n-- migrate:down\nDROP TABLE t{n};\n"
        for n in range(1, 13)
    }
    make_migrations(files)
    assert run("up").exit_code == 0
    refused = run("rollback", "0")
    assert refused.exit_code == 3
    first_line = refused.stderr.splitlines()[0]
    assert "… and 7 more (12 in all" in first_line
    assert "012_t12" in first_line and "001_t1 " not in first_line  # newest first
    assert len(first_line) < 600
    full = run("--verbose", "rollback", "0")
    assert full.exit_code == 3
    assert "and 7 more" not in full.stderr
    assert all(f"{n:03d}_t{n}" in full.stderr for n in range(1, 13))
    as_json = run("rollback", "0", "--json")
    assert as_json.exit_code == 3
    assert "001_t1" in as_json.stderr


def test_a_failed_backup_before_a_risky_step_is_shown_as_a_warning(
    mysql_url, make_migrations, tmp_path, monkeypatch
) -> None:
    # No mysqldump on PATH: the backup fails; in development the step runs anyway.
    make_migrations({"001_a.sql": A, "002_drop.sql": "-- migrate:up\nDROP TABLE a;\n"})
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.chdir(tmp_path)
    env = cleared() | {
        "DATABASE_URL": mysql_url,
        "LAMINA_MIGRATIONS_DIR": str(tmp_path / "migrations"),
        "PATH": str(empty),
    }
    result = CliRunner().invoke(cli, ["up"], env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    [note] = [line for line in result.output.splitlines() if "backup before this run" in line]
    assert note.startswith("⚠ ")
    assert "failed" in note and "(002_drop) anyway" in note
    [taken] = [line for line in result.output.splitlines() if "002_drop" in line and "✓" in line]
    assert taken


def test_a_failing_statement_keeps_an_inline_comment_from_swallowing_the_rest(
    run, make_migrations
) -> None:
    make_migrations(
        {"001_bad.sql": "-- migrate:up\nINSERT INTO nowhere -- the target table\nVALUES (1);\n"}
    )
    result = run("up")
    assert result.exit_code == 1
    [statement] = [line for line in result.stderr.splitlines() if "statement:" in line]
    assert "INSERT INTO nowhere /* the target table */ VALUES (1)" in statement


def test_a_scratch_url_with_an_unknown_mysql_option_is_a_usage_error_naming_it(
    run, make_migrations
) -> None:
    make_migrations({"001_a.sql": A})
    result = run("verify", "--scratch-url", "mysql://root@127.0.0.1/x?sslmode=on")
    assert result.exit_code == 2
    assert "--scratch-url" in result.stderr and "unknown MySQL option 'sslmode'" in result.stderr
