"""What lamina says about a database is what is there: the .sql format and transactions.

Transaction control inside a transactional migration is refused before anything runs; dbmate's
``transaction:false`` marker option is honoured per direction; an empty down section is a
no-op rollback and a missing one stays irreversible; an up section that runs nothing (an
unedited template) is refused unless the file says ``-- empty: true``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from lamina import Lamina
from lamina.errors import (
    ExecutionError,
    IrreversibleMigrationError,
    MigrationLoadError,
    RiskRefusedError,
    ValidationError,
)
from lamina.models import Severity

USERS = """
    -- migrate:up
    CREATE TABLE users (id INTEGER PRIMARY KEY);
    -- migrate:down
    DROP TABLE users;
"""

# COMMIT on line 4 of the file, between two CREATE TABLEs.
COMMITS = """
    -- migrate:up
    CREATE TABLE before_commit (id INTEGER);
    INSERT INTO before_commit (id) VALUES (1);
    COMMIT;
    CREATE TABLE after_commit (id INTEGER);
    -- migrate:down
    DROP TABLE after_commit;
    DROP TABLE before_commit;
"""

# A user-managed transaction: fine outside lamina's (BEGIN on line 4).
OWN_TRANSACTION = """
    -- transactional: false
    -- migrate:up
    CREATE TABLE outside (id INTEGER);
    BEGIN;
    CREATE TABLE inside (id INTEGER);
    COMMIT;
    -- migrate:down
    DROP TABLE inside;
    DROP TABLE outside;
"""


def _user_tables(raw_db) -> set[str]:
    return {t for t in raw_db.tables() if not t.startswith("lamina_")}


# -- 1. transaction control inside a transactional migration --------------------------------


def test_commit_part_way_is_refused_by_every_command_and_nothing_runs(
    engine, make_migrations, settings_for, raw_db, run
) -> None:
    make_migrations({"001_users.sql": USERS, "002_commits.sql": COMMITS})
    where = re.compile(r"002_commits\.sql:4: .*runs `COMMIT`, which commits")

    validate = run("validate")
    assert validate.exit_code == 1
    assert where.search(validate.output), validate.output
    lint = run("lint")
    assert lint.exit_code == 1
    assert where.search(lint.output), lint.output
    dry = run("up", "--dry-run")
    assert dry.exit_code == 1
    assert where.search(dry.output), dry.output
    assert "transaction:false" in dry.output  # the hint
    up = run("up")
    assert up.exit_code == 1
    assert where.search(up.output), up.output

    with pytest.raises(MigrationLoadError) as caught:
        Lamina(settings_for()).up()
    assert caught.value.line == 4 and caught.value.path.name == "002_commits.sql"
    # Refused before the first step: not even 001 ran.
    assert _user_tables(raw_db) == set()
    assert raw_db.applied_ids() == []


def test_the_same_file_runs_when_it_is_not_transactional(
    engine, make_migrations, settings_for, raw_db
) -> None:
    make_migrations({"001_own.sql": OWN_TRANSACTION})
    refused = OWN_TRANSACTION.replace("-- transactional: false\n", "")
    # Transactional, the BEGIN (line 3 once the header is gone) is refused...
    make_migrations({"002_refused.sql": refused})
    with pytest.raises(MigrationLoadError) as caught:
        Lamina(settings_for()).up()
    assert caught.value.path.name == "002_refused.sql" and caught.value.line == 3
    assert _user_tables(raw_db) == set()
    # ...and without it, the non-transactional one runs its own transaction.
    (settings_for().migrations_dir / "002_refused.sql").unlink()
    assert Lamina(settings_for()).up().applied == ("001_own",)
    assert _user_tables(raw_db) == {"outside", "inside"}


BODIES = {
    "sqlite": """
        -- migrate:up
        CREATE TABLE t (id INTEGER, seen INTEGER);
        CREATE TRIGGER t_seen AFTER INSERT ON t
        BEGIN
            UPDATE t SET seen = 1 WHERE id = NEW.id;
        END;
        INSERT INTO t (id) VALUES (1);
        -- migrate:down
        DROP TRIGGER t_seen;
        DROP TABLE t;
    """,
    "postgresql": """
        -- migrate:up
        CREATE TABLE t (id INTEGER, seen INTEGER);
        CREATE FUNCTION t_seen() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            NEW.seen := 1;
            RETURN NEW;
        END
        $$;
        CREATE TRIGGER t_seen BEFORE INSERT ON t FOR EACH ROW EXECUTE FUNCTION t_seen();
        DO $$ BEGIN INSERT INTO t (id) VALUES (1); END $$;
        -- migrate:down
        DROP TABLE t;
        DROP FUNCTION t_seen();
    """,
    "mysql": """
        -- migrate:up
        CREATE TABLE t (id INTEGER, seen INTEGER);
        CREATE TRIGGER t_seen BEFORE INSERT ON t FOR EACH ROW
        BEGIN
            SET NEW.seen = 1;
        END;
        CREATE PROCEDURE add_one()
        BEGIN
            DECLARE n INT DEFAULT 1;
            INSERT INTO t (id) VALUES (n);
        END;
        CALL add_one();
        -- migrate:down
        DROP PROCEDURE add_one;
        DROP TABLE t;
    """,
}


@pytest.mark.parametrize(
    "engine",
    [
        "sqlite",
        pytest.param("postgresql", marks=pytest.mark.server),
        pytest.param("mysql", marks=pytest.mark.server),
    ],
    indirect=True,
)
def test_begin_end_bodies_are_not_transaction_control(
    engine, make_migrations, settings_for, raw_db, run
) -> None:
    make_migrations({"001_bodies.sql": BODIES[engine]})
    assert run("validate").exit_code == 0
    assert Lamina(settings_for()).up().applied == ("001_bodies",)
    table = f'"{raw_db.schema}".t' if engine == "postgresql" else "t"
    assert raw_db.query(f"SELECT id, seen FROM {table}") == [(1, 1)]


PY_COMMITS = """
    from lamina import Migration


    class Commits(Migration):
        def up(self) -> None:
            self.execute_sql("CREATE TABLE py_before (id INTEGER)")
            self.execute_sql("COMMIT")
            self.execute_sql("CREATE TABLE py_after (id INTEGER)")

        def down(self) -> None:
            self.execute_sql("DROP TABLE py_after")
            self.execute_sql("DROP TABLE py_before")
"""


def test_python_migration_running_commit_is_refused_before_anything_runs(
    engine, make_migrations, settings_for, raw_db, run
) -> None:
    make_migrations({"001_users.sql": USERS, "002_commits.py": PY_COMMITS})
    with pytest.raises(MigrationLoadError) as caught:
        Lamina(settings_for()).up()
    assert caught.value.path.name == "002_commits.py" and caught.value.line == 7
    assert "up() runs `COMMIT`" in caught.value.problem
    assert _user_tables(raw_db) == set()
    lint = Lamina(settings_for()).lint()
    [problem] = [p for p in lint.problems if p.severity is Severity.ERROR]
    assert problem.path is not None and problem.path.name == "002_commits.py"
    assert problem.line == 7
    assert run("lint").exit_code == 1
    # Not transactional, it may.
    not_transactional = PY_COMMITS.replace(
        "(Migration):", "(Migration):\n        transactional = False"
    )
    make_migrations({"002_commits.py": not_transactional})
    if engine in ("duckdb", "sqlite"):
        return  # COMMIT with no transaction open is an error there: nothing more to prove
    assert Lamina(settings_for()).up().applied == ("001_users", "002_commits")


PY_HIDDEN_COMMIT = """
    from lamina import Migration


    class Hidden(Migration):
        def up(self) -> None:
            self.execute_sql("CREATE TABLE hidden_before (id INTEGER)")
            if not self.dry_run:
                self.execute_sql("COMMIT")
            self.execute_sql("CREATE TABLE hidden_after (id INTEGER)")

        def down(self) -> None:
            self.execute_sql("DROP TABLE hidden_after")
"""


def test_commit_the_dry_pass_could_not_see_fails_the_step_and_is_truly_rolled_back(
    engine, make_migrations, settings_for, raw_db
) -> None:
    make_migrations({"001_hidden.py": PY_HIDDEN_COMMIT})
    with pytest.raises(ExecutionError) as caught:
        Lamina(settings_for()).up()
    assert "TransactionControlError" in caught.value.message
    if engine == "mysql":
        # CREATE TABLE commits by itself on MySQL: lamina says so, and marks the row failed.
        assert not caught.value.rolled_back
        assert "hidden_before" in raw_db.tables()
        return
    # What lamina says is what is there: rolled back, and nothing of it was kept.
    assert caught.value.rolled_back
    assert _user_tables(raw_db) == set()
    assert raw_db.applied_ids() == []


# -- 2. dbmate's options ------------------------------------------------------------------


CONCURRENT = """
    -- migrate:up{up_option}
    CREATE INDEX CONCURRENTLY items_name ON items (name);
    -- migrate:down{down_option}
    DROP INDEX CONCURRENTLY items_name;
"""
ITEMS = """
    -- migrate:up
    CREATE TABLE items (id INTEGER, name TEXT);
    -- migrate:down
    DROP TABLE items;
"""


def _index_exists(raw_db) -> bool:
    sql = "SELECT count(*) FROM pg_indexes WHERE schemaname = %s AND indexname = 'items_name'"
    return raw_db.query(sql, (raw_db.schema,)) == [(1,)]


@pytest.mark.parametrize(
    "engine", [pytest.param("postgresql", marks=pytest.mark.server)], indirect=True
)
def test_transaction_false_is_honoured_for_each_direction(
    engine, make_migrations, settings_for, raw_db
) -> None:
    make_migrations({"001_items.sql": ITEMS})
    # Without the option, CONCURRENTLY cannot run: the option is what makes it work.
    make_migrations({"002_index.sql": CONCURRENT.format(up_option="", down_option="")})
    with pytest.raises(ExecutionError, match="transaction block"):
        Lamina(settings_for()).up()
    assert raw_db.applied_ids() == ["001_items"]

    make_migrations(
        {"002_index.sql": CONCURRENT.format(up_option=" transaction:false", down_option="")}
    )
    dry = Lamina(settings_for()).up(dry_run=True)
    assert [p.atomic for p in dry.previews] == [False]
    assert Lamina(settings_for()).up().applied == ("002_index",)
    assert _index_exists(raw_db)
    # The down has no option: it runs in a transaction, where CONCURRENTLY fails.
    back = Lamina(settings_for()).rollback(1, dry_run=True)
    assert [p.atomic for p in back.previews] == [True]
    # lamina sees it coming: the rollback is refused before anything runs...
    with pytest.raises(RiskRefusedError, match="cannot-run-in-transaction"):
        Lamina(settings_for()).rollback(1)
    # ...and forced, PostgreSQL refuses it, and the transaction rolls back whole.
    with pytest.raises(ExecutionError, match="transaction block") as caught:
        Lamina(settings_for()).rollback(1, force=True, yes=True)
    assert caught.value.rolled_back
    assert _index_exists(raw_db) and raw_db.applied_ids() == ["001_items", "002_index"]

    both = CONCURRENT.format(up_option=" transaction:false", down_option=" transaction:false")
    make_migrations({"002_index.sql": both})
    back = Lamina(settings_for()).rollback(1, dry_run=True, force=True)
    assert [p.atomic for p in back.previews] == [False]
    Lamina(settings_for()).rollback(1, force=True, yes=True)  # the file changed: forced
    assert not _index_exists(raw_db) and raw_db.applied_ids() == ["001_items"]


def test_unknown_marker_options_are_warnings_naming_the_line(
    engine, make_migrations, settings_for, run
) -> None:
    make_migrations(
        {
            "001_users.sql": """
                -- migrate:up transaction:true retries:3
                CREATE TABLE users (id INTEGER);
                -- migrate:down nonsense
                DROP TABLE users;
            """
        }
    )
    result = Lamina(settings_for()).validate()
    unknown = [p for p in result.warnings if p.code == "unknown-option"]
    assert [(p.line, p.path.name if p.path else None) for p in unknown] == [
        (1, "001_users.sql"),
        (3, "001_users.sql"),
    ]
    assert "`retries:3`" in unknown[0].message and "`nonsense`" in unknown[1].message
    assert result.ok() and not result.ok(strict=True)
    assert "001_users.sql:1: unknown option `retries:3`" in run("validate").output


def test_invalid_transaction_option_is_an_error(engine, make_migrations, run) -> None:
    make_migrations({"001_users.sql": USERS.replace("migrate:up", "migrate:up transaction:maybe")})
    result = run("validate")
    assert result.exit_code == 1
    assert "001_users.sql:1: invalid option value transaction:maybe" in result.output


# -- 3. empty down: a no-op rollback; missing down: irreversible ----------------------------

EMPTY_DOWN = """
    -- migrate:up
    CREATE TABLE kept (id INTEGER);
    -- migrate:down
    -- nothing to undo: the table is harmless
"""


def test_empty_down_rolls_back_running_nothing_and_removes_the_row(
    engine, make_migrations, settings_for, raw_db
) -> None:
    make_migrations({"001_users.sql": USERS, "002_kept.sql": EMPTY_DOWN})
    Lamina(settings_for()).up()
    result = Lamina(settings_for()).rollback(1)
    assert result.reverted == ("002_kept",)
    [preview] = result.previews
    assert preview.statements == ()
    assert raw_db.applied_ids() == ["001_users"]
    assert "kept" in raw_db.tables()  # nothing ran
    actions = [e.action for e in Lamina(settings_for()).history()]
    assert actions[0] == "rollback"


def test_empty_down_is_a_warning_unless_allowed(engine, make_migrations, settings_for) -> None:
    make_migrations({"001_kept.sql": EMPTY_DOWN})
    warned = [p for p in Lamina(settings_for()).validate().warnings if p.code == "empty-down"]
    assert [(p.path.name if p.path else None, p.line) for p in warned] == [("001_kept.sql", 3)]
    assert "runs no statement" in warned[0].message
    [entry] = Lamina(settings_for()).lint().entries
    assert [f.rule for f in entry.down.findings if f.suppressed is None] == ["empty-down"]

    allowed = EMPTY_DOWN + "    -- lamina:allow empty-down the table is harmless\n"
    make_migrations({"001_kept.sql": allowed})
    result = Lamina(settings_for()).validate()
    assert [p for p in result.warnings if p.code == "empty-down"] == []
    assert result.ok(strict=True)
    [entry] = Lamina(settings_for()).lint().entries
    assert [f.rule for f in entry.down.findings if f.suppressed is None] == []


def test_missing_down_stays_irreversible(engine, make_migrations, settings_for, raw_db) -> None:
    make_migrations({"001_oneway.sql": "-- migrate:up\nCREATE TABLE oneway (id INTEGER);\n"})
    Lamina(settings_for()).up()
    with pytest.raises(IrreversibleMigrationError) as caught:
        Lamina(settings_for()).rollback(0, force=True, yes=True)
    assert "an empty section rolls back as a no-op" in (caught.value.hint or "")
    assert raw_db.applied_ids() == ["001_oneway"]


# -- 4. an up that runs nothing -------------------------------------------------------------


def test_unedited_template_is_refused_and_intentional_empty_up_applies(
    engine, make_migrations, settings_for, raw_db, run
) -> None:
    make_migrations({"001_users.sql": USERS})
    created = json.loads(run("create", "Nothing yet", "--sql", "--json").stdout)
    path = Path(created["path"])
    marker = path.read_text(encoding="utf-8").splitlines().index("-- migrate:up") + 1
    for command in (("validate",), ("up", "--dry-run"), ("up",)):
        result = run(*command)
        assert result.exit_code == 1, command
        assert f"{path.name}:{marker}: the up section runs no statement" in result.output
    with pytest.raises(ValidationError):
        Lamina(settings_for()).up()
    assert _user_tables(raw_db) == set()  # 001 did not run either

    path.write_text("-- empty: true\n" + path.read_text(encoding="utf-8"), encoding="utf-8")
    assert Lamina(settings_for()).up().applied == ("001_users", path.stem)
    assert raw_db.applied_ids() == ["001_users", path.stem]


def test_dry_run_marks_a_non_transactional_down_not_atomic(
    engine, make_migrations, settings_for
) -> None:
    make_migrations(
        {"001_users.sql": USERS.replace("-- migrate:down", "-- migrate:down transaction:false")}
    )
    Lamina(settings_for()).up()
    [up_file] = Lamina(settings_for()).ordered_files()
    assert up_file.meta.transactional and not up_file.meta.transactional_down
    [preview] = Lamina(settings_for()).rollback(0, dry_run=True).previews
    assert preview.step.migration_id == "001_users" and preview.atomic is False
