"""lamina verify (round trips on a scratch copy) and drift, on every engine."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest

from lamina import Lamina
from lamina.verify import verify

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "migrations"

USERS = """
    -- migrate:up
    CREATE TABLE users (id INTEGER PRIMARY KEY, email VARCHAR(200) NOT NULL);
    -- migrate:down
    DROP TABLE users;
"""
BROKEN = {
    "column": (
        "ALTER TABLE users ADD COLUMN phone VARCHAR(20);",
        "SELECT 1;",
        "down leaves column users.phone",
    ),
    "index": (
        "CREATE INDEX users_email ON users (email);",
        "SELECT 1;",
        "down leaves index users_email on users",
    ),
    "table": (
        "CREATE TABLE audit (id INTEGER PRIMARY KEY);",
        "SELECT 1;",
        "down leaves table audit",
    ),
}


def test_the_examples_round_trip(make_migrations, settings_for, tmp_path) -> None:
    folder = tmp_path / "migrations"
    shutil.copytree(EXAMPLES, folder)
    result = verify(settings_for())
    assert result.ok, [s.problems for s in result.failed]
    assert [s.migration_id for s in result.steps] == sorted(p.stem for p in folder.iterdir())
    assert all(s.outcome == "ok" for s in result.steps)


@pytest.mark.parametrize("forgets", sorted(BROKEN))
def test_a_down_that_forgets_something_is_named(forgets, make_migrations, settings_for) -> None:
    up, down, expected = BROKEN[forgets]
    make_migrations(
        {
            "001_users.sql": USERS,
            "002_change.sql": f"-- migrate:up\n{up}\n-- migrate:down\n{down}\n",
            "003_after.sql": "-- migrate:up\nCREATE TABLE later (id INTEGER);\n"
            "-- migrate:down\nDROP TABLE later;\n",
        }
    )
    progress = []
    result = verify(settings_for(), progress=lambda i, n, step: progress.append((i, n)))
    assert not result.ok
    outcomes = {s.migration_id: s.outcome for s in result.steps}
    # Its up cannot run again over what the down left: the scratch state is unknown after it.
    assert outcomes == {"001_users": "ok", "002_change": "not-reversible"}
    [failed] = result.failed
    assert failed.problems[0] == expected
    assert failed.problems[-1] == "later migrations were not verified"
    assert progress == [(1, 3), (2, 3)]


def test_a_down_that_restores_the_schema_but_not_the_same_way_is_caught(
    make_migrations, settings_for
) -> None:
    make_migrations(
        {
            "001_users.sql": USERS,
            "002_phone.sql": "-- migrate:up\nALTER TABLE users ADD COLUMN phone VARCHAR(20);\n"
            "-- migrate:down\nALTER TABLE users DROP COLUMN phone;\n"
            "ALTER TABLE users ADD COLUMN fax VARCHAR(20);\n",
            "003_after.sql": "-- migrate:up\nCREATE TABLE later (id INTEGER);\n"
            "-- migrate:down\nDROP TABLE later;\n",
        }
    )
    result = verify(settings_for())
    outcomes = {s.migration_id: s.outcome for s in result.steps}
    assert outcomes == {"001_users": "ok", "002_phone": "not-reversible", "003_after": "ok"}
    assert "down leaves column users.fax" in result.steps[1].problems


def test_a_migration_failing_on_a_clean_database_stops_verification(
    make_migrations, settings_for
) -> None:
    make_migrations(
        {
            "001_users.sql": USERS,
            "002_bad.sql": "-- migrate:up\nINSERT INTO nowhere VALUES (1);\n-- migrate:down\n"
            "SELECT 1;\n",
            "003_later.sql": "-- migrate:up\nCREATE TABLE later (id INTEGER);\n",
        }
    )
    result = verify(settings_for())
    assert [s.outcome for s in result.steps] == ["ok", "failed"]
    assert "fails on a clean database" in result.steps[1].problems[0]


def test_irreversible_migrations_are_reported_not_failed(make_migrations, settings_for):
    make_migrations({"001_users.sql": "-- migrate:up\nCREATE TABLE users (id INTEGER);\n"})
    [step] = verify(settings_for()).steps
    assert step.outcome == "irreversible"
    assert step.ok


def test_verify_never_touches_the_target(engine, make_migrations, settings_for, raw_db) -> None:
    make_migrations({"001_users.sql": USERS})
    Lamina(settings_for()).up()
    raw_db.execute("INSERT INTO users VALUES (7, 'seven@example.org')")
    make_migrations(
        {"002_phone.sql": f"-- migrate:up\n{BROKEN['column'][0]}\n-- migrate:down\nSELECT 1;\n"}
    )

    def fingerprint() -> object:
        if engine in ("duckdb", "sqlite"):
            return hashlib.sha256(Path(raw_db.path).read_bytes()).hexdigest()
        tables = sorted(raw_db.tables())
        return (
            tables,
            raw_db.query("SELECT id, email FROM users ORDER BY id"),
            raw_db.query("SELECT COUNT(*) FROM lamina_migration_log"),
            raw_db.applied_ids(),
            sorted(raw_db.columns("users")),
        )

    before = fingerprint()
    result = verify(settings_for())
    assert not result.ok  # 002's down does nothing
    assert fingerprint() == before


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"])
def test_verify_data_shows_what_a_data_down_loses(engine, make_migrations, settings_for):
    make_migrations(
        {
            "001_users.sql": USERS,
            "002_purge.sql": "-- category: data\n-- migrate:up\nDELETE FROM users;\n"
            "-- migrate:down\nSELECT 1;\n",
        }
    )
    result = verify(settings_for(), data=True)
    purge = result.steps[1]
    assert purge.data == ("users: 3 row(s) before up, 0 after down",)


# -- drift --------------------------------------------------------------------------------------
def test_drift_made_by_hand_is_detected_and_named(make_migrations, settings_for, raw_db):
    make_migrations({"001_users.sql": USERS})
    lamina = Lamina(settings_for())
    assert lamina.drift() is None  # nothing recorded before the first run
    lamina.up()
    assert lamina.drift() == []
    assert lamina.status().drift == ()
    raw_db.execute("ALTER TABLE users ADD COLUMN nickname VARCHAR(40)")
    raw_db.execute("CREATE TABLE handmade (id INTEGER)")
    differences = [str(d) for d in lamina.drift() or ()]
    assert any(d.startswith("added table handmade") for d in differences)
    assert any(d.startswith("added column users.nickname") for d in differences)
    report = lamina.status()
    assert report.drift is not None and len(report.drift) == 2
    assert report.needs_attention
    assert any(p.code == "drift" for p in lamina.validate().errors)
    import lamina as package

    detailed = package.health.check(settings_for(), detailed=True)
    assert detailed["status"] == "degraded"
    assert "Schema drift: 2 change(s)" in detailed["message"]
    assert package.health.check(settings_for())["status"] == "healthy"  # basic stays cheap


def test_a_rollback_records_the_schema_it_leaves(make_migrations, settings_for) -> None:
    make_migrations({"001_users.sql": USERS, "002_t.sql": "-- migrate:up\nCREATE TABLE t (x INT);"
                     "\n-- migrate:down\nDROP TABLE t;\n"})  # fmt: skip
    lamina = Lamina(settings_for())
    lamina.up()
    lamina.rollback(1, force=True, yes=True)
    assert lamina.drift() == []  # t is gone, and that is what lamina recorded


def test_a_down_that_forgets_a_constraint_is_named(make_migrations, settings_for) -> None:
    make_migrations(
        {
            "001_users.sql": USERS,
            "002_unique.sql": "-- migrate:up\nCREATE UNIQUE INDEX users_email_key ON users (email);"
            "\n-- migrate:down\nSELECT 1;\n",
        }
    )
    [failed] = verify(settings_for()).failed
    leftover = failed.problems[0]
    # MySQL reports a unique index as a unique constraint; the others as a unique index.
    assert leftover.startswith("down leaves ")
    assert "users" in leftover and ("unique" in leftover or "users_email_key" in leftover)
