"""The CLI in-process (click's CliRunner): exit codes, --json shapes, messages, help."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from lamina import __version__

USERS = """
    -- name: Create users
    -- migrate:up
    CREATE TABLE users (id INTEGER PRIMARY KEY, email VARCHAR(255));
    -- migrate:down
    DROP TABLE users;
"""
SEED = """
    -- name: Seed users
    -- category: data
    -- migrate:up
    INSERT INTO users (id, email) VALUES (1, 'a@example.com');
    -- migrate:down
    DELETE FROM users WHERE id = 1;
"""


def test_version_and_help(run) -> None:
    assert run("--version").output.splitlines()[0] == f"lamina, version {__version__}"
    bare = run()
    assert bare.exit_code == 0
    for command in ("status", "validate", "create", "up", "rollback", "history", "repair"):
        assert command in bare.output


def test_usage_error_exits_2(run) -> None:
    result = run("rollback", "not-a-number")
    assert result.exit_code == 2
    assert run("frobnicate").exit_code == 2


def test_status_json_before_and_after_up(run, make_migrations) -> None:
    make_migrations({"001_users.sql": USERS, "002_seed.sql": SEED})
    before = json.loads(run("status", "--json").stdout)
    assert before["current_version"] == 0
    assert (before["applied"], before["pending"], before["total"]) == (0, 2, 2)
    assert before["last_migration"] is None

    assert run("up").exit_code == 0
    after = json.loads(run("status", "--json").stdout)
    assert after["current_version"] == 2
    assert (after["applied"], after["pending"], after["total"]) == (2, 0, 2)
    assert after["last_migration"]["id"] == "002_seed"
    assert after["last_migration"]["name"] == "Seed users"
    assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", after["last_migration"]["applied_at"])
    first = after["migrations"][0]
    assert {k: first[k] for k in ("id", "version", "name", "category", "status")} == {
        "id": "001_users",
        "version": 1,
        "name": "Create users",
        "category": "schema",
        "status": "applied",
    }


def test_status_human_panel(run, make_migrations) -> None:
    make_migrations({"001_users.sql": USERS, "002_seed.sql": SEED})
    pending = run("status")
    assert pending.exit_code == 0
    assert "Pending migrations: 2" in pending.output
    assert "002_seed" in pending.output
    assert "\x1b[" not in pending.output  # not a terminal: plain text, no colour codes
    run("up")
    done = run("status")
    assert "Current version:    2" in done.output
    assert "Database is up to date" in done.output
    assert "Last migration:     Seed users (" in done.output


def test_status_reports_modified_and_missing_with_exit_1(run, make_migrations) -> None:
    folder = make_migrations({"001_users.sql": USERS, "002_seed.sql": SEED})
    run("up")
    (folder / "001_users.sql").write_text(USERS + "\n-- edited\n", encoding="utf-8")
    (folder / "002_seed.sql").unlink()
    result = run("status", "--json")
    assert result.exit_code == 1
    states = {m["id"]: m["status"] for m in json.loads(result.stdout)["migrations"]}
    assert states == {"001_users": "modified", "002_seed": "missing"}
    human = run("status")
    assert "001_users was modified after it was applied" in human.output
    assert "002_seed is applied but its file is missing" in human.output


def test_up_refuses_modified_with_exit_3(run, make_migrations) -> None:
    folder = make_migrations({"001_users.sql": USERS})
    run("up")
    (folder / "001_users.sql").write_text(USERS.replace("255", "100"), encoding="utf-8")
    result = run("up")
    assert result.exit_code == 3
    assert "001_users" in result.stderr and "modified" in result.stderr
    assert "hint:" in result.stderr
    assert "Traceback" not in result.output


def test_up_json_and_dry_run(run, make_migrations) -> None:
    make_migrations({"001_users.sql": USERS, "002_seed.sql": SEED})
    dry = run("up", "--dry-run")
    assert dry.exit_code == 0
    assert "Dry run: 2 migration(s) would be applied" in dry.output
    assert "CREATE TABLE users" in dry.output
    assert "data-migration" in dry.output  # the seed's risk is shown
    dry_json = json.loads(run("up", "--dry-run", "--json").stdout)
    assert dry_json["dry_run"] is True
    assert [p["id"] for p in dry_json["plan"]] == ["001_users", "002_seed"]
    assert dry_json["plan"][0]["statements"][0]["line"] == 3

    applied = json.loads(run("up", "--json").stdout)
    assert applied["applied"] == ["001_users", "002_seed"]
    assert "up to date" in run("up").output


def test_up_failure_message_names_migration_statement_and_error(run, make_migrations) -> None:
    make_migrations(
        {
            "001_t.sql": "-- migrate:up\nCREATE TABLE t (id INTEGER);\n",
            "002_bad.sql": "-- category: data\n-- migrate:up\nINSERT INTO t VALUES (1);\n"
            "INSERT INTO nope VALUES (1);\n",
        }
    )
    result = run("up")
    assert result.exit_code == 1
    assert "migration 002_bad failed (line 4) and was rolled back" in result.stderr
    assert "statement: INSERT INTO nope VALUES (1)" in result.stderr
    assert "nope" in result.stderr
    assert "Traceback" not in result.output


def test_rollback_flow_exit_codes(run, make_migrations) -> None:
    make_migrations({"001_users.sql": USERS, "002_seed.sql": SEED})
    run("up")
    refused = run("rollback", "1")
    assert refused.exit_code == 3
    assert "002_seed" in refused.stderr and "--force" in refused.stderr
    # CliRunner's stdin is not a terminal: a forced risky rollback still needs --yes.
    unconfirmed = run("rollback", "1", "--force")
    assert unconfirmed.exit_code == 3
    assert "--yes" in unconfirmed.stderr
    dry = run("rollback", "0", "--dry-run")
    assert dry.exit_code == 0 and "would be reverted" in dry.output
    done = run("rollback", "0", "--force", "--yes")
    assert done.exit_code == 0, done.output
    assert "Rolled back 2 migration(s) to version 0" in done.output
    assert json.loads(run("status", "--json").stdout)["applied"] == 0


def test_history_json_newest_first_and_limit(run, make_migrations) -> None:
    make_migrations({"001_users.sql": USERS, "002_seed.sql": SEED})
    run("up")
    run("rollback", "1", "--force", "--yes")
    events = json.loads(run("history", "--json").stdout)["events"]
    assert [(e["action"], e["migration_id"]) for e in events] == [
        ("rollback", "002_seed"),
        ("backup", "002_seed"),
        ("force", None),
        ("apply", "002_seed"),
        ("apply", "001_users"),
    ]
    assert len(json.loads(run("history", "--json", "--limit", "1").stdout)["events"]) == 1
    assert "rollback" in run("history").output


def test_validate_reports_errors_and_warnings(run, make_migrations) -> None:
    make_migrations(
        {
            "001_users.sql": USERS,
            "002_oneway.sql": "-- migrate:up\nCREATE TABLE x (id INTEGER);\n",
            "3-misnamed.sql": "-- migrate:up\nSELECT 1;\n",
            "004_broken.py": "import not_a_module_anywhere\n",
        }
    )
    result = run("validate")
    assert result.exit_code == 1
    assert re.search(r"004_broken\.py:1: .*not_a_module_anywhere", result.output)
    assert "3-misnamed.sql: ignored" in result.output
    assert "002_oneway.sql: has no down migration" in result.output
    data = json.loads(run("validate", "--json").stdout)
    assert data["ok"] is False
    assert [Path(e["path"]).name for e in data["errors"]] == ["004_broken.py"]


def test_validate_strict_fails_on_warnings(run, make_migrations) -> None:
    make_migrations({"001_oneway.sql": "-- migrate:up\nCREATE TABLE x (id INTEGER);\n"})
    assert run("validate").exit_code == 0
    assert run("validate", "--strict").exit_code == 1


def test_create_uses_sequential_numbers_when_the_folder_does(run, make_migrations) -> None:
    folder = make_migrations({"007_users.sql": USERS})
    result = run(
        "create", "Add phone number", "--sql", "--category", "schema", "--depends-on", "007_users"
    )
    assert result.exit_code == 0
    path = Path(result.output.strip())
    assert path == folder / "008_add_phone_number.sql"
    text = path.read_text(encoding="utf-8")
    assert "-- migrate:up" in text and "-- depends: 007_users" in text
    # Unedited, the template's up runs nothing: refused, naming the file and the marker line.
    refused = run("validate")
    assert refused.exit_code == 1
    marker = text.splitlines().index("-- migrate:up") + 1
    assert f"008_add_phone_number.sql:{marker}: the up section runs no statement" in refused.output
    path.write_text(text.replace("-- migrate:up\n", "-- migrate:up\nSELECT 1;\n"), "utf-8")
    assert run("validate").exit_code == 0


def test_create_uses_a_utc_timestamp_in_an_empty_folder(run, tmp_path) -> None:
    result = run("create", "create orders", "--category", "data")
    assert result.exit_code == 0
    path = Path(result.output.strip())
    assert re.fullmatch(r"\d{14}_create_orders\.py", path.name)
    assert path.parent == tmp_path / "migrations"
    assert "category = 'data'" in path.read_text(encoding="utf-8")
    second = json.loads(run("create", "create items", "--json").stdout)
    assert second["id"].endswith("_create_items")
    assert int(second["id"][:14]) > int(path.name[:14])
    status = json.loads(run("status", "--json").stdout)
    assert status["pending"] == 2


@pytest.mark.parametrize("name", ["../../escape", "/etc/passwd", "a\x00b", "..."])
def test_create_cannot_write_outside_the_folder(run, tmp_path, name) -> None:
    result = run("create", name)
    assert result.exit_code == 1
    assert not list(tmp_path.parent.glob("*escape*"))
    assert "NAME" in result.stderr


def test_create_refuses_unknown_dependency(run, make_migrations) -> None:
    make_migrations({"001_users.sql": USERS})
    result = run("create", "x", "--depends-on", "999_nothing")
    assert result.exit_code == 2  # an argument naming no migration is a usage error
    assert "999_nothing" in result.stderr
    # A dependency may be named by id, version or zero-padded version, as in the files.
    for ref in ("001_users", "1", "001"):
        made = run("create", f"needs {ref}", "--depends-on", ref)
        assert made.exit_code == 0, made.output


@pytest.mark.parametrize(
    ("env", "expected", "code"),
    [
        # A value that cannot be parsed is a usage error (2); one that parses but points at
        # nothing usable is a failure (1).
        (
            {"DATABASE_URL": "oracle://scott:tiger@db/x"},
            "DATABASE_URL (environment): unknown scheme",
            2,
        ),
        ({"DATABASE_URL": "mysql://scott:tiger@db/x?sslmode=on"}, "unknown MySQL option", 2),
        ({"DATABASE_URL": "postgresql://scott:tiger@db:99999/x"}, "the port is not", 2),
        ({"DATABASE_URL": "duckdb:///no/such/folder/app.duckdb"}, "does not exist", 1),
        ({"DATABASE_URL": None, "DB_PATH": "/no/such/dir/x.duckdb"}, "DB_PATH (environment)", 1),
        (
            {"LAMINA_MIGRATIONS_DIR": "/no/such/migrations"},
            "LAMINA_MIGRATIONS_DIR (environment)",
            1,
        ),
        ({"LAMINA_LOCK_TIMEOUT": "soon"}, "LAMINA_LOCK_TIMEOUT (environment): invalid value", 2),
    ],
)
def test_configuration_errors_name_the_setting(run, make_migrations, env, expected, code) -> None:
    make_migrations({"001_users.sql": USERS})
    result = run("status", env=env)
    assert result.exit_code == code
    assert expected in result.stderr
    assert len(result.stderr.strip().splitlines()) <= 2
    assert "tiger" not in result.output


def test_flag_beats_environment(run, make_migrations, tmp_path) -> None:
    make_migrations({"001_users.sql": USERS})
    other = tmp_path / "other.sqlite3"
    result = run("--database-url", f"sqlite:///{other}", "up")
    assert result.exit_code == 0
    assert other.exists()


def test_verbose_shows_traceback_only_when_asked(run, make_migrations) -> None:
    make_migrations({"001_bad.sql": "-- migrate:up\nSELECT * FROM nowhere;\n"})
    quiet = run("up")
    assert "Traceback" not in quiet.output
    loud = run("--verbose", "up")
    assert loud.exit_code == 1
    assert "Traceback" in loud.stderr


def test_status_names_the_database_and_environment(run, make_migrations, db_url) -> None:
    make_migrations({"001_users.sql": USERS})
    result = run("--env", "staging", "status")
    assert f"Database:           {db_url} (staging)" in result.output
    data = json.loads(run("status", "--json", env={"LAMINA_ENV": "qa"}).stdout)
    assert (data["database"], data["environment"]) == (db_url, "qa")


def test_up_flags_to_force_and_strict_order(run, make_migrations) -> None:
    folder = make_migrations(
        {
            "001_users.sql": USERS,
            "003_seed.sql": SEED,
        }
    )
    partial = json.loads(run("up", "--to", "1", "--json").stdout)
    assert partial["applied"] == ["001_users"]
    # As Flyway's target, --to need not match a migration: nothing pending is <= 2, and it says so.
    between = run("up", "--to", "2")
    assert between.exit_code == 0
    assert "no migration has version 2" in between.output
    assert json.loads(run("up", "--json").stdout)["applied"] == ["003_seed"]

    make_migrations({"002_late.sql": "-- migrate:up\nCREATE TABLE late (id INTEGER);\n"})
    strict = run("up", "--strict-order")
    assert strict.exit_code == 3
    assert "002_late" in strict.stderr and "003_seed" in strict.stderr
    assert run("up", env={"LAMINA_STRICT_ORDER": "true"}).exit_code == 3
    loose = run("up", "--json")
    assert json.loads(loose.stdout)["out_of_order"] == ["002_late"]

    (folder / "001_users.sql").write_text(USERS + "-- reformatted\n", encoding="utf-8")
    make_migrations({"004_more.sql": "-- migrate:up\nCREATE TABLE more (id INTEGER);\n"})
    assert run("up").exit_code == 3
    forced = run("up", "--force", "--json")
    assert forced.exit_code == 0
    assert json.loads(forced.stdout)["applied"] == ["004_more"]


LOOSE = """
    -- transactional: false
    -- migrate:up
    CREATE TABLE half (id INTEGER);
    SELECT * FROM nowhere;
    -- migrate:down
    DROP TABLE half;
"""


def test_a_dirty_database_is_shown_blocked_and_repaired(run, make_migrations) -> None:
    make_migrations({"001_users.sql": USERS, "002_loose.sql": LOOSE})
    failed = run("up")
    assert failed.exit_code == 1
    assert "002_loose is not atomic: its 2 statements" in failed.output
    assert "NOT rolled back" in failed.output
    assert "lamina repair 002_loose --mark-applied" in failed.output

    status = run("status")
    assert status.exit_code == 1
    assert "DIRTY: 002_loose stopped half-way at statement 2" in status.output
    document = json.loads(run("status", "--json").output)
    assert document["dirty"] == ["002_loose"]
    [loose] = [m for m in document["migrations"] if m["id"] == "002_loose"]
    assert (loose["status"], loose["failed_statement"]) == ("failed", 2)

    blocked = run("up")
    assert blocked.exit_code == 3
    assert "the database is dirty: 002_loose stopped half-way" in blocked.output

    assert run("repair", "002_loose").exit_code == 2  # which way it was fixed must be said
    fixed = run("repair", "002_loose", "--mark-applied", "--json")
    assert fixed.exit_code == 0, fixed.output
    assert json.loads(fixed.output) == {
        "schema_version": 1,
        "id": "002_loose",
        "marked": "applied",
        "previous_status": "failed",
        "detail": json.loads(fixed.output)["detail"],
    }
    assert "nowhere" in json.loads(fixed.output)["detail"]
    assert run("status").exit_code == 0
    assert run("history", "--limit", "1", "--json").output.count('"action": "repair"') == 1


def test_the_dry_run_warns_that_a_migration_is_not_atomic(run, make_migrations) -> None:
    make_migrations({"001_loose.sql": LOOSE})
    result = run("up", "--dry-run")
    assert result.exit_code == 0
    assert "not atomic: a failure after the first of its 2 statements" in result.output
    document = json.loads(run("up", "--dry-run", "--json").output)
    assert document["plan"][0]["atomic"] is False


def test_lint_exit_codes_levels_json_and_rules(run, make_migrations) -> None:
    make_migrations(
        {
            "001_users.sql": USERS,
            "002_rename.sql": "-- migrate:up\nALTER TABLE users RENAME COLUMN email TO mail;\n"
            "-- migrate:down\nALTER TABLE users RENAME COLUMN mail TO email;\n",
        }
    )
    danger = run("lint")
    assert danger.exit_code == 1  # 001's down drops the table its up created
    assert "down-loses-data" in danger.output
    assert run("lint", "002_rename").exit_code == 0  # warnings only, below danger
    warned = run("lint", "002_rename", "--level", "warning")
    assert warned.exit_code == 1
    assert "rename-column" in warned.output
    document = json.loads(run("lint", "--json").output)
    assert document["ok"] is False
    [rename] = [m for m in document["migrations"] if m["id"] == "002_rename"]
    assert rename["up"]["risk"] == "warning"
    assert rename["up"]["findings"][0]["rule"] == "rename-column"
    assert run("lint", "042_nope").exit_code == 2  # names no migration: a usage error
    rules = json.loads(run("lint", "--rules", "--json").output)["rules"]
    assert {"drop-table", "create-index-not-concurrently", "duckdb-alter-indexed-table"} <= {
        r["id"] for r in rules
    }


def test_backup_commands_round_trip(run, make_migrations, raw_db) -> None:
    make_migrations({"001_users.sql": USERS, "002_seed.sql": SEED})
    assert run("up").exit_code == 0
    assert "No backups yet" in run("backup", "list").output
    taken = run("backup", "create", "--json")
    assert taken.exit_code == 0, taken.output
    backup_id = json.loads(taken.output)["backup"]["id"]
    raw_db.execute("DELETE FROM users")
    listed = json.loads(run("backup", "list", "--json").output)
    assert [b["id"] for b in listed["backups"]] == [backup_id]
    refused = run("backup", "restore", backup_id)
    assert refused.exit_code == 3  # no terminal to confirm on, and no --yes
    assert raw_db.query("SELECT COUNT(*) FROM users") == [(0,)]
    restored = run("backup", "restore", backup_id, "--yes")
    assert restored.exit_code == 0, restored.output
    assert raw_db.query("SELECT COUNT(*) FROM users") == [(1,)]
    unknown = run("backup", "restore", "20260101T000000Z-abcdef", "--yes")
    assert unknown.exit_code == 1
    assert "Traceback" not in unknown.output


def test_production_up_of_a_risky_step_needs_yes_without_a_terminal(run, make_migrations):
    make_migrations({"001_users.sql": USERS})
    assert run("up").exit_code == 0
    make_migrations({"002_drop.sql": "-- migrate:up\nDROP TABLE users;\n"})
    refused = run("up", env={"LAMINA_ENV": "production"})
    assert refused.exit_code == 3
    assert "002_drop (drop-table)" in refused.stderr
    done = run("up", "--yes", env={"LAMINA_ENV": "production"})
    assert done.exit_code == 0, done.output
    assert "risk: danger" in done.output
    assert "backed up to" in done.output


def test_graph_formats(run, make_migrations) -> None:
    make_migrations(
        {"001_users.sql": USERS, "002_seed.sql": "-- depends: 001_users\n" + SEED.lstrip()}
    )
    run("up", "--to", "1")
    text = run("graph")
    assert text.exit_code == 0
    assert "● 001_users" in text.output and "○ 002_seed" in text.output
    assert "← 001_users" in text.output
    assert run("graph", "--format", "mermaid").output.startswith("flowchart TD")
    assert "->" in run("graph", "--format", "dot").output
    assert run("graph", "--format", "svg").exit_code == 2
