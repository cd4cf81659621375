"""Safeguards: risk on every step, production confirmation, backups before risky steps,
allowances with reasons, and lint over the real engines."""

from __future__ import annotations

import pytest

from lamina import Lamina
from lamina.backup import BackupError
from lamina.errors import MigrationLoadError, RiskRefusedError
from lamina.risk import RiskLevel

USERS = """
    -- migrate:up
    CREATE TABLE users (id INTEGER PRIMARY KEY, email VARCHAR(200));
    INSERT INTO users VALUES (1, 'a@example.org');
    -- migrate:down
    DROP TABLE users;
"""
LEGACY = """
    -- migrate:up
    CREATE TABLE legacy (id INTEGER);
    -- migrate:down
    DROP TABLE legacy;
"""
DROP_LEGACY = """
    -- migrate:up
    DROP TABLE legacy;
    -- migrate:down
    CREATE TABLE legacy (id INTEGER);
"""


@pytest.fixture
def prepared(make_migrations, settings_for):
    """users and legacy applied; 003 (drops legacy: danger) pending."""
    make_migrations({"001_users.sql": USERS, "002_legacy.sql": LEGACY})
    Lamina(settings_for()).up()
    make_migrations({"003_drop_legacy.sql": DROP_LEGACY})


def production(settings_for, **extra):
    return settings_for(env="production", **extra)


# -- up: risk shown, and guarded in production ----------------------------------------------------
def test_in_development_a_danger_step_runs_with_its_risk_and_a_backup(
    prepared, settings_for, raw_db
) -> None:
    events = []
    result = Lamina(settings_for(), on_event=events.append).up()
    assert result.applied == ("003_drop_legacy",)
    [preview] = result.previews
    assert preview.risk.danger_rules() == ("drop-table",)
    assert [e.risk for e in events if e.kind == "done"] == ["danger"]
    assert [b.trigger for b in result.backups] == ["003_drop_legacy"]
    assert any(e.kind == "note" and "backed up to" in (e.detail or "") for e in events)
    log = raw_db.query("SELECT action, migration_id FROM lamina_migration_log ORDER BY seq")
    assert log[-2:] == [("backup", "003_drop_legacy"), ("apply", "003_drop_legacy")]


def test_in_production_a_danger_step_needs_confirmation(prepared, settings_for, raw_db) -> None:
    with pytest.raises(RiskRefusedError) as caught:
        Lamina(production(settings_for)).up()
    assert caught.value.exit_code == 3
    assert "003_drop_legacy (drop-table)" in caught.value.message
    assert "--yes" in (caught.value.hint or "")
    assert "legacy" in raw_db.tables()
    assert raw_db.applied_ids() == ["001_users", "002_legacy"]

    asked = []
    with pytest.raises(RiskRefusedError, match="cancelled"):
        Lamina(production(settings_for), confirm=lambda q: asked.append(q) or False).up()
    assert "Apply 1 risky step(s) in production" in asked[0]
    assert "legacy" in raw_db.tables()

    result = Lamina(production(settings_for), confirm=lambda q: True).up()
    assert result.applied == ("003_drop_legacy",)
    forced = raw_db.query("SELECT detail, applied_by, host FROM lamina_migration_log "
                          "WHERE action = 'force'")  # fmt: skip
    assert forced[0][0] == "up of risky steps in production: 003_drop_legacy (drop-table)"
    assert forced[0][1] and forced[0][2]  # who and where


@pytest.mark.parametrize("how", ["yes", "no-confirmation-required"])
def test_in_production_yes_or_the_setting_lets_a_danger_step_run(
    prepared, settings_for, raw_db, how
) -> None:
    if how == "yes":
        result = Lamina(production(settings_for)).up(yes=True)
    else:
        result = Lamina(production(settings_for, require_confirmation=False)).up()
    assert result.applied == ("003_drop_legacy",)
    assert "legacy" not in raw_db.tables()
    assert len(result.backups) == 1


def test_in_production_force_needs_yes(prepared, settings_for, raw_db) -> None:
    for call in (
        lambda lamina: lamina.up(force=True),
        lambda lamina: lamina.rollback(0, force=True),
    ):
        with pytest.raises(RiskRefusedError, match="in production --force needs --yes"):
            call(Lamina(production(settings_for), confirm=lambda q: True))
    assert raw_db.applied_ids() == ["001_users", "002_legacy"]


def test_in_production_no_backup_means_no_change(prepared, settings_for, tmp_path, raw_db):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the backup folder should be")
    settings = production(settings_for, backup_dir=str(blocker / "backups"))
    with pytest.raises(BackupError) as caught:
        Lamina(settings).up(yes=True)
    assert "003_drop_legacy" in caught.value.message
    assert "no backup, no change" in caught.value.message
    assert "legacy" in raw_db.tables()
    assert raw_db.applied_ids() == ["001_users", "002_legacy"]


def test_in_development_a_failed_backup_is_reported_and_the_step_runs(
    prepared, settings_for, tmp_path, raw_db
) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    events = []
    result = Lamina(settings_for(backup_dir=str(blocker / "backups")), on_event=events.append).up()
    assert result.applied == ("003_drop_legacy",)
    assert result.backups == ()
    notes = [e.detail or "" for e in events if e.kind == "note"]
    assert any("backup before this run failed" in n and "003_drop_legacy" in n for n in notes)


def test_backups_can_be_switched_off(prepared, settings_for, tmp_path) -> None:
    result = Lamina(settings_for(backup_enabled=False)).up()
    assert result.applied == ("003_drop_legacy",)
    assert result.backups == ()
    assert not (tmp_path / ".lamina" / "backups").exists()


def test_one_backup_covers_every_risky_step_of_a_run_and_restores_to_before_it(
    make_migrations, settings_for, raw_db
) -> None:
    """One dump per deploy: taken before the run's first step, naming its risky steps."""
    make_migrations({"001_users.sql": USERS, "002_legacy.sql": LEGACY})
    lamina = Lamina(settings_for())
    lamina.up()
    make_migrations(
        {
            "003_notes.sql": "-- migrate:up\nCREATE TABLE notes (id INTEGER);\n"
            "-- migrate:down\nDROP TABLE notes;\n",
            "004_drop_legacy.sql": DROP_LEGACY,
            "005_clear_users.sql": "-- migrate:up\nDELETE FROM users;\n-- migrate:down\n",
        }
    )
    result = lamina.up()
    assert result.applied == ("003_notes", "004_drop_legacy", "005_clear_users")
    [backup] = result.backups
    assert (backup.trigger, backup.covers) == ("003_notes", ("004_drop_legacy", "005_clear_users"))
    [listed] = lamina.backups()[0]
    assert listed.covers == backup.covers  # the manifest keeps it
    audit = raw_db.query(
        "SELECT migration_id, detail FROM lamina_migration_log WHERE action = 'backup'"
    )
    assert len(audit) == 1
    assert audit[0][0] == "003_notes"
    assert "covering this run's risky steps 004_drop_legacy, 005_clear_users" in audit[0][1]

    lamina.restore(backup.id, yes=True)
    assert {"users", "legacy"} <= raw_db.tables()
    assert "notes" not in raw_db.tables()
    assert raw_db.query("SELECT count(*) FROM users") == [(1,)]
    assert raw_db.applied_ids() == ["001_users", "002_legacy"]


def test_a_run_without_risky_steps_takes_no_backup(make_migrations, settings_for, tmp_path):
    make_migrations({"001_users.sql": USERS, "002_legacy.sql": LEGACY})
    result = Lamina(settings_for()).up()
    assert result.backups == ()
    assert not (tmp_path / ".lamina" / "backups").exists()


# -- a risky rollback, end to end, on every engine -------------------------------------------------
def test_a_risky_rollback_is_refused_forced_backed_up_and_restorable(
    make_migrations, settings_for, raw_db
) -> None:
    make_migrations({"001_users.sql": USERS})
    lamina = Lamina(settings_for())
    lamina.up()
    raw_db.execute("INSERT INTO users VALUES (2, 'b@example.org')")
    with pytest.raises(RiskRefusedError, match="001_users"):
        lamina.rollback(0)
    assert raw_db.tables() >= {"users"}

    result = lamina.rollback(0, force=True, yes=True)
    assert result.reverted == ("001_users",)
    assert "users" not in raw_db.tables()
    [backup] = result.backups
    assert backup.trigger == "001_users"
    assert backup.schema_version == 1

    lamina.restore(backup.id, yes=True)
    assert raw_db.query("SELECT id, email FROM users ORDER BY id") == [
        (1, "a@example.org"),
        (2, "b@example.org"),
    ]
    assert [m.id for m in lamina.status().migrations if m.state.value == "applied"] == ["001_users"]
    assert lamina.history(1)[0].action == "restore"


def test_a_restore_needs_confirmation_and_refuses_a_corrupted_file(
    make_migrations, settings_for, raw_db
) -> None:
    make_migrations({"001_users.sql": USERS})
    lamina = Lamina(settings_for())
    lamina.up()
    record = lamina.backup()
    with pytest.raises(RiskRefusedError, match="needs confirmation"):
        lamina.restore(record.id)
    raw_db.execute("INSERT INTO users VALUES (3, 'c@example.org')")
    path = lamina.settings.backup_dir / record.file
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(BackupError):
        lamina.restore(record.id, yes=True)
    assert raw_db.query("SELECT COUNT(*) FROM users") == [(2,)]  # untouched


# -- allowances ------------------------------------------------------------------------------------
def test_an_allowed_rule_with_a_reason_no_longer_makes_the_step_risky(
    prepared, make_migrations, settings_for, raw_db
) -> None:
    make_migrations(
        {"003_drop_legacy.sql": "-- lamina:allow drop-table legacy is empty since release 4.2\n"
         + DROP_LEGACY.replace("\n    ", "\n")}
    )  # fmt: skip
    result = Lamina(production(settings_for)).up()  # no confirmation needed now
    assert result.applied == ("003_drop_legacy",)
    [finding] = result.previews[0].risk.findings
    assert finding.suppressed == "legacy is empty since release 4.2"
    assert result.backups == ()  # not risky: no backup either


def test_an_allowance_without_a_reason_is_a_load_error(make_migrations, settings_for) -> None:
    make_migrations({"001_users.sql": "-- lamina:allow drop-table\n" + USERS})
    with pytest.raises(MigrationLoadError) as caught:
        Lamina(settings_for()).up()
    assert caught.value.line == 1
    assert "reason" in caught.value.message
    problems = Lamina(settings_for()).validate().errors
    assert any("reason" in p.message and p.line == 1 for p in problems)


def test_a_python_migration_allows_rules_with_risk_allow(make_migrations, settings_for) -> None:
    make_migrations(
        {
            "001_users.sql": USERS,
            "002_purge.py": """
                from lamina import Migration


                class Purge(Migration):
                    category = "data"
                    risk_allow = {"delete-without-where": "test accounts only in this table"}

                    def up(self):
                        self.execute_sql("DELETE FROM users")

                    def down(self):
                        pass
            """,
        }
    )
    result = Lamina(settings_for()).lint(["002_purge"])
    [entry] = result.entries
    allowed = [f for f in entry.up.findings if f.rule == "delete-without-where"]
    assert allowed[0].suppressed == "test accounts only in this table"
    assert entry.up.level is RiskLevel.WARNING  # the data-migration warning still counts


# -- lint -----------------------------------------------------------------------------------------
def test_lint_reports_each_migration_up_and_down(engine, make_migrations, settings_for) -> None:
    make_migrations(
        {
            "001_users.sql": USERS,
            "002_rename.sql": """
                -- migrate:up
                ALTER TABLE users RENAME COLUMN email TO mail;
                -- migrate:down
                ALTER TABLE users RENAME COLUMN mail TO email;
            """,
            "003_wipe.sql": "-- category: data\n-- migrate:up\nDELETE FROM users;\n",
        }
    )
    result = Lamina(settings_for()).lint()
    rules = {e.file.id: ({f.rule for f in e.up.findings}, {f.rule for f in e.down.findings})
             for e in result.entries}  # fmt: skip
    assert rules["001_users"] == (set(), {"down-loses-data"})
    assert rules["002_rename"] == ({"rename-column"}, {"rename-column"})
    assert "delete-without-where" in rules["003_wipe"][0]
    assert "missing-down" in rules["003_wipe"][1]
    assert result.fails(RiskLevel.DANGER)
    only = Lamina(settings_for()).lint(["2"])
    assert [e.file.id for e in only.entries] == ["002_rename"]
    assert not only.fails(RiskLevel.DANGER) and only.fails(RiskLevel.WARNING)


@pytest.mark.parametrize("engine", ["duckdb"])
def test_lint_knows_which_duckdb_tables_have_indexes(engine, make_migrations, settings_for):
    make_migrations(
        {
            "001_users.sql": USERS,
            "002_index.sql": "-- migrate:up\nCREATE INDEX users_email ON users (email);\n",
        }
    )
    Lamina(settings_for()).up()
    make_migrations(
        {"003_alter.sql": "-- migrate:up\nALTER TABLE users ALTER COLUMN email SET NOT NULL;\n"}
    )
    [entry] = Lamina(settings_for()).lint(["003_alter"]).entries
    assert "duckdb-alter-indexed-table" in {f.rule for f in entry.up.findings}


# -- backup_scope = touched ------------------------------------------------------------------------
def test_a_touched_backup_from_the_cli_is_listed_and_restored_as_just_its_tables(
    prepared, run, raw_db
) -> None:
    result = run("up", "--backup-scope", "touched")
    assert result.exit_code == 0, result.output
    assert "only legacy and lamina's history" in result.output
    raw_db.execute("INSERT INTO users VALUES (2, 'after@example.org')")
    listed = run("backup", "list")
    assert "touched: legacy (+ history)" in listed.output
    [backup_id] = [line.split()[0] for line in listed.output.splitlines() if "touched:" in line]

    restored = run("backup", "restore", backup_id, "--yes")
    assert restored.exit_code == 0, restored.output
    assert "Only its tables were restored" in restored.output
    assert "legacy" in raw_db.tables()
    assert raw_db.query("SELECT COUNT(*) FROM users") == [(2,)]  # not in the backup: kept
    assert raw_db.applied_ids() == ["001_users", "002_legacy"]


def test_a_touched_rollback_backup_brings_the_reverted_table_back(
    prepared, settings_for, raw_db
) -> None:
    raw_db.execute("INSERT INTO legacy (id) VALUES (7)")  # a table with rows: risky to drop
    lamina = Lamina(settings_for(backup_scope="touched"))
    result = lamina.rollback(1, force=True, yes=True)
    [backup] = result.backups
    assert backup.touched and "legacy" in backup.tables and "users" not in backup.tables
    assert "legacy" not in raw_db.tables()
    lamina.restore(backup.id, yes=True)
    assert "legacy" in raw_db.tables()
    assert raw_db.query("SELECT id FROM legacy") == [(7,)]
    assert raw_db.applied_ids() == ["001_users", "002_legacy"]
