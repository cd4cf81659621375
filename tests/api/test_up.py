"""`Lamina.up` against real DuckDB and SQLite files: apply, fail, refuse, dry-run."""

from __future__ import annotations

from pathlib import Path

import pytest

from lamina import (
    ChecksumMismatchError,
    ExecutionError,
    Lamina,
    MigrationState,
    OutOfOrderError,
    TargetNotFoundError,
    ValidationError,
)

USERS = """
    -- name: Create users
    -- migrate:up
    CREATE TABLE users (id INTEGER PRIMARY KEY, email VARCHAR(255) NOT NULL);
    -- migrate:down
    DROP TABLE users;
"""

POSTS_PY = """
    from lamina import Migration


    class CreatePosts(Migration):
        name = "Create posts"
        dependencies = ["001_users"]

        def up(self):
            self.execute_sql(
                "CREATE TABLE posts (id INTEGER PRIMARY KEY, body TEXT);"
                "INSERT INTO posts VALUES (1, 'semi;colon ''quoted''');"
            )

        def down(self):
            self.execute_sql("DROP TABLE posts")
"""


def test_up_applies_everything_in_order_and_records_history(
    make_migrations, settings_for, raw_db
) -> None:
    make_migrations({"001_users.sql": USERS, "002_posts.py": POSTS_PY})
    events = []
    result = Lamina(settings_for(), on_event=events.append).up()

    assert result.applied == ("001_users", "002_posts")
    assert {"users", "posts", "lamina_migrations", "lamina_migration_log"} <= raw_db.tables()
    assert raw_db.query("SELECT body FROM posts") == [("semi;colon 'quoted'",)]
    assert raw_db.applied_ids() == ["001_users", "002_posts"]
    rows = raw_db.query("SELECT name, category, execution_ms FROM lamina_migrations ORDER BY id")
    assert rows[0][:2] == ("Create users", "schema")
    assert all(isinstance(r[2], int) and r[2] >= 0 for r in rows)
    actions = raw_db.query("SELECT action, migration_id FROM lamina_migration_log ORDER BY seq")
    assert actions == [("apply", "001_users"), ("apply", "002_posts")]
    assert [(e.kind, e.migration_id) for e in events] == [
        ("start", "001_users"),
        ("done", "001_users"),
        ("start", "002_posts"),
        ("done", "002_posts"),
    ]


def test_second_up_finds_nothing_to_do(make_migrations, settings_for) -> None:
    make_migrations({"001_users.sql": USERS})
    lamina = Lamina(settings_for())
    lamina.up()
    again = lamina.up()
    assert again.applied == ()
    assert again.plan.empty


def test_broken_statement_rolls_back_that_migration_and_stops(
    engine, make_migrations, settings_for, raw_db
) -> None:
    make_migrations(
        {
            "001_users.sql": USERS,
            "002_broken.sql": """
                -- migrate:up
                CREATE TABLE audit (id INTEGER);
                INSERT INTO audit VALUES (1);
                INSERT INTO no_such_table VALUES (1);
                -- migrate:down
                DROP TABLE audit;
            """,
            "003_later.sql": "-- migrate:up\nCREATE TABLE later (id INTEGER);\n",
        }
    )
    with pytest.raises(ExecutionError) as caught:
        Lamina(settings_for()).up()

    error = caught.value
    assert error.migration_id == "002_broken"
    assert error.statement == "INSERT INTO no_such_table VALUES (1)"
    assert error.line == 4
    assert "no_such_table" in error.db_error
    assert error.applied == ("001_users",)
    assert "later" not in raw_db.tables()  # nothing after the failure ran
    if engine == "mysql":  # CREATE TABLE committed by itself: kept, and the truth recorded
        assert "NOT rolled back" in error.message
        assert "audit" in raw_db.tables()
        assert raw_db.query("SELECT id, state FROM lamina_migrations ORDER BY id") == [
            ("001_users", "applied"),
            ("002_broken", "failed"),
        ]
    else:
        assert "was rolled back" in error.message
        assert "audit" not in raw_db.tables()  # the first statements of 002 were rolled back
        assert raw_db.applied_ids() == ["001_users"]
    log = raw_db.query("SELECT action, migration_id, detail FROM lamina_migration_log ORDER BY seq")
    assert log[-1][:2] == ("fail", "002_broken")
    assert "no_such_table" in str(log[-1][2])


def test_python_exception_in_up_rolls_back_and_names_the_line(
    engine, make_migrations, settings_for, raw_db
) -> None:
    make_migrations(
        {
            "001_boom.py": """
                from lamina import Migration


                class Boom(Migration):
                    def up(self):
                        self.execute_sql("CREATE TABLE half_done (id INTEGER)")
                        raise RuntimeError("computed value out of range")

                    def down(self):
                        self.execute_sql("DROP TABLE half_done")
            """
        }
    )
    with pytest.raises(ExecutionError) as caught:
        Lamina(settings_for()).up()
    assert caught.value.migration_id == "001_boom"
    assert "RuntimeError: computed value out of range" in caught.value.message
    assert caught.value.line == 7
    if engine == "mysql":  # its CREATE TABLE committed by itself
        assert caught.value.rolled_back is False
        assert raw_db.query("SELECT state FROM lamina_migrations") == [("failed",)]
    else:
        assert "half_done" not in raw_db.tables()
        assert raw_db.applied_ids() == []


def test_file_that_does_not_load_stops_up_before_anything_runs(
    make_migrations, settings_for, raw_db
) -> None:
    make_migrations(
        {
            "001_users.sql": USERS,
            "002_typo.py": "from lamina import Migration\n\nclass X(Migration)\n    pass\n",
        }
    )
    with pytest.raises(ValidationError) as caught:
        Lamina(settings_for()).up()
    assert "002_typo.py:3" in caught.value.message
    assert "syntax error" in caught.value.message
    assert "users" not in raw_db.tables()


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        (
            {"001_a.sql": "-- migrate:up\nSELECT 1;\n", "1_b.sql": "-- migrate:up\nSELECT 1;\n"},
            "duplicate version 1: 001_a.sql, 1_b.sql",
        ),
        (
            {
                "001_a.sql": "-- depends: 002_b\n-- migrate:up\nSELECT 1;\n",
                "002_b.sql": "-- depends: 001_a\n-- migrate:up\nSELECT 1;\n",
            },
            "dependency cycle",
        ),
        (
            {"001_a.sql": "-- depends: 042_nowhere\n-- migrate:up\nSELECT 1;\n"},
            "depends on unknown migration '042_nowhere'",
        ),
    ],
    ids=["duplicate-version", "cycle", "unknown-dependency"],
)
def test_inconsistent_sets_are_refused(make_migrations, settings_for, raw_db, files, expected):
    make_migrations(files)
    with pytest.raises(ValidationError) as caught:
        Lamina(settings_for()).up()
    assert any(expected in p.render() for p in caught.value.problems)
    # lamina's own tables (and on servers the lock's owner record), nothing from the files
    assert raw_db.tables() <= {
        "lamina_migrations",
        "lamina_migration_log",
        "lamina_meta",
        "lamina_lock",
    }


def test_modified_applied_migration_is_refused_unless_forced(
    make_migrations, settings_for, raw_db, tmp_path
) -> None:
    folder = make_migrations({"001_users.sql": USERS})
    lamina = Lamina(settings_for())
    lamina.up()
    (folder / "001_users.sql").write_text(USERS.replace("255", "320"), encoding="utf-8")
    make_migrations({"002_more.sql": "-- migrate:up\nCREATE TABLE more (id INTEGER);\n"})

    with pytest.raises(ChecksumMismatchError) as caught:
        lamina.up()
    assert caught.value.exit_code == 3
    assert caught.value.migration_ids == ("001_users",)
    assert "more" not in raw_db.tables()
    assert lamina.status().in_state(MigrationState.MODIFIED)[0].id == "001_users"

    forced = lamina.up(force=True)
    assert forced.applied == ("002_more",)
    log = raw_db.query("SELECT action, detail FROM lamina_migration_log WHERE action = 'force'")
    assert log and "001_users.sql" in str(log[0][1])


def test_crlf_checkout_does_not_look_modified(make_migrations, settings_for) -> None:
    folder = make_migrations({"001_users.sql": USERS})
    lamina = Lamina(settings_for())
    lamina.up()
    path = folder / "001_users.sql"
    path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))
    assert lamina.status().in_state(MigrationState.APPLIED)[0].id == "001_users"


def test_up_to_version_is_inclusive(make_migrations, settings_for, raw_db) -> None:
    make_migrations(
        {
            "001_a.sql": "-- migrate:up\nCREATE TABLE a (id INTEGER);\n",
            "002_b.sql": "-- migrate:up\nCREATE TABLE b (id INTEGER);\n",
            "003_c.sql": "-- migrate:up\nCREATE TABLE c (id INTEGER);\n",
        }
    )
    lamina = Lamina(settings_for())
    assert lamina.up(to_version=2).applied == ("001_a", "002_b")
    assert "c" not in raw_db.tables()
    with pytest.raises(TargetNotFoundError):  # rollback's target must exist (exit 2)
        lamina.rollback(7)


def test_up_to_a_version_no_migration_has_applies_those_below_and_warns(
    make_migrations, settings_for, raw_db
) -> None:
    make_migrations(
        {
            "001_a.sql": "-- migrate:up\nCREATE TABLE a (id INTEGER);\n",
            "003_c.sql": "-- migrate:up\nCREATE TABLE c (id INTEGER);\n",
            "005_e.sql": "-- migrate:up\nCREATE TABLE e (id INTEGER);\n",
        }
    )
    lamina = Lamina(settings_for())
    preview = lamina.up(to_version=4, dry_run=True)
    assert [s.migration_id for s in preview.plan.steps] == ["001_a", "003_c"]
    [warning] = [w for w in preview.warnings if w.code == "target-not-exact"]
    assert "no migration has version 4" in warning.message
    assert "the newest at or below it is 3" in warning.message

    result = lamina.up(to_version="004")  # zero-padded, as on the command line
    assert result.applied == ("001_a", "003_c")
    assert any(w.code == "target-not-exact" for w in result.warnings)
    assert raw_db.applied_ids() == ["001_a", "003_c"]
    exact = lamina.up(to_version="005_e")  # a migration id names its version
    assert exact.applied == ("005_e",)
    assert not any(w.code == "target-not-exact" for w in exact.warnings)


def test_branch_merge_applies_older_migration_out_of_order(
    make_migrations, settings_for, raw_db
) -> None:
    make_migrations(
        {
            "001_a.sql": "-- migrate:up\nCREATE TABLE a (id INTEGER);\n",
            "003_c.sql": "-- migrate:up\nCREATE TABLE c (id INTEGER);\n",
        }
    )
    Lamina(settings_for()).up()
    make_migrations({"002_b.sql": "-- migrate:up\nCREATE TABLE b (id INTEGER);\n"})

    status = Lamina(settings_for()).status()
    assert [m.id for m in status.pending] == ["002_b"]
    assert status.pending[0].out_of_order

    with pytest.raises(OutOfOrderError) as caught:
        Lamina(settings_for(strict_order=True)).up()
    assert caught.value.exit_code == 3
    assert "b" not in raw_db.tables()

    result = Lamina(settings_for()).up()
    assert result.applied == ("002_b",)
    assert result.out_of_order == ("002_b",)
    assert "b" in raw_db.tables()
    detail = raw_db.query("SELECT detail FROM lamina_migration_log WHERE migration_id = '002_b'")
    assert detail == [("out of order",)]


def test_dry_run_changes_nothing_not_even_the_file(
    make_migrations, settings_for, db_url, engine, raw_db
) -> None:
    make_migrations({"001_users.sql": USERS, "002_posts.py": POSTS_PY})
    result = Lamina(settings_for()).up(dry_run=True)

    assert result.dry_run
    assert result.applied == ()
    assert [p.step.migration_id for p in result.previews] == ["001_users", "002_posts"]
    posts = result.previews[1].statements
    assert [s.sql for s in posts] == [
        "CREATE TABLE posts (id INTEGER PRIMARY KEY, body TEXT)",
        "INSERT INTO posts VALUES (1, 'semi;colon ''quoted''')",
    ]
    if engine in ("duckdb", "sqlite"):
        assert not Path(db_url.partition(":///")[2]).exists()
    assert raw_db.tables() == set()  # on PostgreSQL not even the ?schema= is created


def test_dry_run_on_existing_database_creates_no_lamina_tables(
    make_migrations, settings_for, raw_db
) -> None:
    make_migrations({"001_users.sql": USERS})
    settings = settings_for()
    # A database that exists but has never seen lamina.
    if raw_db.engine == "postgresql":
        raw_db.execute(f"CREATE SCHEMA {raw_db.schema}")
    raw_db.execute("CREATE TABLE existing (id INTEGER)")
    Lamina(settings).up(dry_run=True)
    assert raw_db.tables() == {"existing"}


def test_data_migration_reads_rows_with_fetch_all(make_migrations, settings_for, raw_db):
    make_migrations(
        {
            "001_users.sql": USERS.replace(
                "-- migrate:down",
                "INSERT INTO users VALUES (1, 'A@X.ORG'), (2, 'b@y.org');\n-- migrate:down",
            ),
            "002_lower.py": """
                from lamina import Migration


                class LowerEmails(Migration):
                    category = "data"

                    def up(self):
                        for user_id, email in self.fetch_all("SELECT id, email FROM users"):
                            self.execute_sql(
                                f"UPDATE users SET email = '{email.lower()}' WHERE id = {user_id}"
                            )

                    def down(self):
                        pass
            """,
        }
    )
    Lamina(settings_for()).up()
    assert raw_db.query("SELECT email FROM users ORDER BY id") == [("a@x.org",), ("b@y.org",)]


def test_non_transactional_failure_is_not_rolled_back_and_marks_the_migration_failed(
    make_migrations, settings_for, raw_db
) -> None:
    make_migrations(
        {
            "001_loose.sql": """
                -- transactional: false
                -- migrate:up
                CREATE TABLE kept (id INTEGER);
                SELECT * FROM missing_table;
            """
        }
    )
    with pytest.raises(ExecutionError) as caught:
        Lamina(settings_for()).up()
    assert not caught.value.rolled_back
    assert "NOT rolled back" in caught.value.message
    assert "kept" in raw_db.tables()
    assert raw_db.query("SELECT id, state, failed_statement FROM lamina_migrations") == [
        ("001_loose", "failed", 2)
    ]


def test_a_migration_that_swallows_a_database_error_is_refused_where_the_engine_aborts(
    make_migrations, settings_for, raw_db, engine
) -> None:
    """DuckDB and PostgreSQL abort the transaction on any failed statement, and their COMMIT
    would quietly roll back; lamina must report that instead of recording the migration as
    applied. SQLite and MySQL roll back only the failed statement, so there the migration goes
    on and commits."""
    make_migrations(
        {
            "001_swallow.py": """
                from lamina import Migration


                class Swallow(Migration):
                    def up(self):
                        self.execute_sql("CREATE TABLE kept (id INTEGER)")
                        try:
                            self.execute_sql("SELECT * FROM no_such_table")
                        except Exception:
                            pass  # "it probably exists already"

                    def down(self):
                        self.execute_sql("DROP TABLE kept")
            """
        }
    )
    if engine in ("duckdb", "postgresql"):
        with pytest.raises(ExecutionError) as caught:
            Lamina(settings_for()).up()
        assert "transaction is aborted" in caught.value.message
        assert "earlier statement" in caught.value.message
        assert raw_db.applied_ids() == []
        assert "kept" not in raw_db.tables()
    else:
        assert Lamina(settings_for()).up().applied == ("001_swallow",)
        assert "kept" in raw_db.tables()
