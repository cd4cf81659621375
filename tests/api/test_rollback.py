"""`Lamina.rollback`: order, risk refusal, confirmation, irreversible migrations, dry runs."""

from __future__ import annotations

import pytest

from lamina import (
    IrreversibleMigrationError,
    Lamina,
    PlanError,
    RiskRefusedError,
    TargetNotFoundError,
)

SAFE = {
    "001_first_view.sql": "-- migrate:up\nCREATE VIEW v1 AS SELECT 1 AS x;\n"
    "-- migrate:down\nDROP VIEW v1;\n",
    "002_second_view.sql": "-- migrate:up\nCREATE VIEW v2 AS SELECT 2 AS x;\n"
    "-- migrate:down\nDROP VIEW v2;\n",
}

LAYERED = {
    "001_users.sql": """
        -- migrate:up
        CREATE TABLE users (id INTEGER PRIMARY KEY);
        -- migrate:down
        DROP TABLE users;
    """,
    "002_phone.py": """
        from lamina import Migration


        class AddPhone(Migration):
            def up(self):
                self.execute_sql("ALTER TABLE users ADD COLUMN phone VARCHAR(20)")

            def down(self):
                self.execute_sql("ALTER TABLE users DROP COLUMN phone")
    """,
    "003_seed.sql": """
        -- category: data
        -- migrate:up
        INSERT INTO users (id, phone) VALUES (1, '555-0100'), (2, NULL);
        -- migrate:down
        DELETE FROM users WHERE id IN (1, 2);
    """,
}


def applied(raw_db) -> list[str]:
    return raw_db.applied_ids()


def test_rollback_reverts_newest_first_and_records_it(make_migrations, settings_for, raw_db):
    make_migrations(LAYERED)
    lamina = Lamina(settings_for())
    lamina.up()
    events = []
    result = Lamina(settings_for(), on_event=events.append).rollback(0, force=True, yes=True)

    assert result.reverted == ("003_seed", "002_phone", "001_users")
    assert [e.migration_id for e in events if e.kind == "done"] == list(result.reverted)
    assert applied(raw_db) == []
    assert "users" not in raw_db.tables()
    log = raw_db.query("SELECT action FROM lamina_migration_log ORDER BY seq")
    # every step is risky (each down drops data): one backup before the run covers them all
    assert [row[0] for row in log] == ["apply"] * 3 + ["force", "backup"] + ["rollback"] * 3
    [backup] = result.backups
    assert (backup.trigger, backup.covers) == ("003_seed", result.reverted)


def test_rollback_to_a_version_keeps_what_is_below(make_migrations, settings_for, raw_db):
    make_migrations(LAYERED)
    Lamina(settings_for()).up()
    result = Lamina(settings_for()).rollback(1, force=True, yes=True)
    assert result.reverted == ("003_seed", "002_phone")
    assert applied(raw_db) == ["001_users"]
    assert raw_db.columns("users") == {"id"}


def test_risky_rollback_is_refused_without_force_and_changes_nothing(
    make_migrations, settings_for, raw_db
):
    make_migrations(LAYERED)
    Lamina(settings_for()).up()
    with pytest.raises(RiskRefusedError) as caught:
        Lamina(settings_for()).rollback(1)
    assert caught.value.exit_code == 3
    ids = [step for step, _ in caught.value.steps]
    assert ids == ["003_seed", "002_phone"]
    reasons = dict(caught.value.steps)
    assert any("data migration" in r for r in reasons["003_seed"])
    assert any("drops column users.phone" in r for r in reasons["002_phone"])
    assert applied(raw_db) == ["001_users", "002_phone", "003_seed"]
    assert raw_db.query("SELECT COUNT(*) FROM users") == [(2,)]


def test_forced_risky_rollback_without_terminal_needs_yes(make_migrations, settings_for, raw_db):
    make_migrations(LAYERED)
    Lamina(settings_for()).up()
    with pytest.raises(RiskRefusedError) as caught:
        Lamina(settings_for(), confirm=None).rollback(1, force=True)
    assert "need confirmation" in caught.value.message
    assert applied(raw_db) == ["001_users", "002_phone", "003_seed"]


def test_forced_risky_rollback_asks_the_terminal(make_migrations, settings_for, raw_db):
    make_migrations(LAYERED)
    Lamina(settings_for()).up()
    questions: list[str] = []

    def decline(question: str) -> bool:
        questions.append(question)
        return False

    with pytest.raises(RiskRefusedError):
        Lamina(settings_for(), confirm=decline).rollback(1, force=True)
    assert "003_seed" in questions[0] and "002_phone" in questions[0]
    assert applied(raw_db) == ["001_users", "002_phone", "003_seed"]

    result = Lamina(settings_for(), confirm=lambda q: True).rollback(1, force=True)
    assert result.forced == ("003_seed", "002_phone")
    assert applied(raw_db) == ["001_users"]


def test_confirmation_can_be_switched_off(make_migrations, settings_for, raw_db):
    make_migrations(LAYERED)
    Lamina(settings_for()).up()
    result = Lamina(settings_for(require_confirmation=False)).rollback(1, force=True)
    assert result.reverted == ("003_seed", "002_phone")


def test_safe_rollback_needs_no_force(make_migrations, settings_for, raw_db):
    make_migrations(SAFE)
    Lamina(settings_for()).up()
    result = Lamina(settings_for()).rollback(0)
    assert result.reverted == ("002_second_view", "001_first_view")
    assert result.forced == ()


def test_irreversible_migration_fails_before_anything_changes_even_forced(
    make_migrations, settings_for, raw_db
):
    make_migrations(
        {
            "001_users.sql": LAYERED["001_users.sql"],
            "002_oneway.sql": "-- migrate:up\nCREATE TABLE oneway (id INTEGER);\n",
            "003_b.sql": "-- migrate:up\nCREATE VIEW b AS SELECT 1 AS x;\n"
            "-- migrate:down\nDROP VIEW b;\n",
        }
    )
    Lamina(settings_for()).up()
    with pytest.raises(IrreversibleMigrationError) as caught:
        Lamina(settings_for()).rollback(0, force=True, yes=True)
    assert caught.value.migration_ids == ("002_oneway",)
    assert applied(raw_db) == ["001_users", "002_oneway", "003_b"]
    assert "oneway" in raw_db.tables()


def test_unknown_target_is_an_error(make_migrations, settings_for):
    make_migrations(SAFE)
    Lamina(settings_for()).up()
    with pytest.raises(TargetNotFoundError):
        Lamina(settings_for()).rollback(99)


def test_missing_file_cannot_be_rolled_back(make_migrations, settings_for, raw_db):
    folder = make_migrations(SAFE)
    Lamina(settings_for()).up()
    (folder / "002_second_view.sql").unlink()
    with pytest.raises(PlanError) as caught:
        Lamina(settings_for()).rollback(0)
    assert "002_second_view" in caught.value.message and "missing" in caught.value.message
    assert applied(raw_db) == ["001_first_view", "002_second_view"]


def test_dry_run_rollback_shows_sql_and_risk_and_changes_nothing(
    make_migrations, settings_for, raw_db
):
    make_migrations(LAYERED)
    Lamina(settings_for()).up()
    before = raw_db.query("SELECT COUNT(*) FROM lamina_migration_log")
    result = Lamina(settings_for()).rollback(0, dry_run=True)

    assert result.dry_run and result.reverted == ()
    assert [p.step.migration_id for p in result.previews] == ["003_seed", "002_phone", "001_users"]
    assert [s.sql for s in result.previews[1].statements] == ["ALTER TABLE users DROP COLUMN phone"]
    assert {p.step.migration_id for p in result.risky} == {"003_seed", "002_phone", "001_users"}
    assert {f.rule for f in result.previews[2].risk.findings} == {
        "down-loses-data"
    }  # the up created the table
    assert applied(raw_db) == ["001_users", "002_phone", "003_seed"]
    assert raw_db.query("SELECT COUNT(*) FROM lamina_migration_log") == before
