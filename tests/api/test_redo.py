"""`Lamina.redo`: roll back and apply again, through the ordinary rollback and up, on every
engine: the history row and the audit log, several migrations, edited files, refusals outside
development and before risky rollbacks, dry runs that change nothing."""

from __future__ import annotations

import pytest

from lamina import Lamina
from lamina.errors import (
    ChecksumMismatchError,
    ExecutionError,
    PlanError,
    RiskRefusedError,
    TargetNotFoundError,
)
from lamina.models import MigrationState
from support.texts import POSTS, creates_table

TAGS = creates_table("tags")
#: POSTS, edited after it was applied: the up gains a column, the down is the same.
POSTS_EDITED = """
    -- migrate:up
    CREATE TABLE posts (id INTEGER PRIMARY KEY, title VARCHAR(100));
    -- migrate:down
    DROP TABLE posts;
"""
USERS = creates_table("users", "id INTEGER PRIMARY KEY, email VARCHAR(200)")


def rows_of(raw_db, migration_id: str) -> tuple[object, ...]:
    [row] = raw_db.query(
        "SELECT checksum, applied_at FROM lamina_migrations WHERE id = ?"
        if raw_db.engine in ("duckdb", "sqlite")
        else "SELECT checksum, applied_at FROM lamina_migrations WHERE id = %s",
        (migration_id,),
    )
    return tuple(row)


def log_of(raw_db) -> list[tuple[object, ...]]:
    return raw_db.query("SELECT action, migration_id FROM lamina_migration_log ORDER BY seq")


def snapshot(raw_db) -> tuple[object, ...]:
    """What a redo could change: tables, their columns, history rows and the audit log."""
    tables = sorted(raw_db.tables())
    return (
        tables,
        [sorted(raw_db.columns(t)) for t in tables],
        raw_db.query("SELECT * FROM lamina_migrations ORDER BY id"),
        raw_db.query("SELECT * FROM lamina_migration_log ORDER BY seq"),
    )


@pytest.fixture
def three(make_migrations, settings_for):
    """users, posts and tags applied."""
    make_migrations({"001_users.sql": USERS, "002_posts.sql": POSTS, "003_tags.sql": TAGS})
    Lamina(settings_for()).up()


def test_redo_applies_the_newest_again_with_the_edited_file(
    make_migrations, settings_for, raw_db
) -> None:
    make_migrations({"001_users.sql": USERS, "002_posts.sql": POSTS})
    Lamina(settings_for()).up()
    before = rows_of(raw_db, "002_posts")
    users_before = rows_of(raw_db, "001_users")
    make_migrations({"002_posts.sql": POSTS_EDITED})
    events = []

    result = Lamina(settings_for(), on_event=events.append).redo()

    assert result.redone == ("002_posts",) and result.modified == ("002_posts",)
    assert result.rollback.reverted == ("002_posts",) and result.up.applied == ("002_posts",)
    assert result.rollback.plan.target == 1  # where the database was between the halves
    assert raw_db.columns("posts") == {"id", "title"}  # the new up ran
    checksum, applied_at = rows_of(raw_db, "002_posts")
    [edited] = [f for f in Lamina(settings_for()).ordered_files() if f.id == "002_posts"]
    assert checksum == edited.checksum != before[0]
    assert str(applied_at) > str(before[1])
    assert rows_of(raw_db, "001_users") == users_before  # not touched
    status = Lamina(settings_for()).status()
    assert [m.state for m in status.migrations] == [MigrationState.APPLIED] * 2
    assert log_of(raw_db)[-2:] == [("rollback", "002_posts"), ("apply", "002_posts")]
    done = [(e.direction.value, e.migration_id) for e in events if e.kind == "done"]
    assert done == [("down", "002_posts"), ("up", "002_posts")]


def test_redo_with_an_id_redoes_down_to_it_and_nothing_pending_besides(
    three, make_migrations, settings_for, raw_db
) -> None:
    make_migrations({"004_later.sql": creates_table("later")})  # pending, newer: left alone
    first = rows_of(raw_db, "001_users")
    result = Lamina(settings_for()).redo("002_posts")
    assert result.redone == ("003_tags", "002_posts")
    assert result.up.applied == ("002_posts", "003_tags")
    assert result.modified == ()
    assert raw_db.applied_ids() == ["001_users", "002_posts", "003_tags"]
    assert "later" not in raw_db.tables()
    assert rows_of(raw_db, "001_users") == first
    assert log_of(raw_db)[-4:] == [
        ("rollback", "003_tags"),
        ("rollback", "002_posts"),
        ("apply", "002_posts"),
        ("apply", "003_tags"),
    ]
    by_version = Lamina(settings_for()).redo("3")
    assert by_version.redone == ("003_tags",)


def test_redo_refuses_when_an_older_pending_migration_would_be_applied_with_it(
    make_migrations, settings_for, raw_db
) -> None:
    make_migrations({"001_users.sql": USERS, "003_tags.sql": TAGS})
    Lamina(settings_for()).up()
    make_migrations({"002_posts.sql": POSTS})  # from a parallel branch: older than 003
    before = snapshot(raw_db)
    with pytest.raises(PlanError, match=r"would also apply the pending 002_posts") as caught:
        Lamina(settings_for()).redo()
    assert "nothing was changed" in caught.value.message
    assert snapshot(raw_db) == before


def test_redo_with_nothing_applied_or_an_id_not_applied_says_so(
    make_migrations, settings_for
) -> None:
    make_migrations({"001_users.sql": USERS, "002_posts.sql": POSTS})
    with pytest.raises(PlanError, match="nothing to redo: no migration is applied") as caught:
        Lamina(settings_for()).redo()
    assert caught.value.exit_code == 1 and "lamina up" in (caught.value.hint or "")
    Lamina(settings_for()).up(to_version=1)
    with pytest.raises(PlanError, match="002_posts is not applied: there is nothing to redo"):
        Lamina(settings_for()).redo("002_posts")
    with pytest.raises(TargetNotFoundError, match="no migration has version 9"):
        Lamina(settings_for()).redo(9)


def test_redo_is_refused_outside_development_unless_forced(three, settings_for, raw_db) -> None:
    before = snapshot(raw_db)
    with pytest.raises(
        RiskRefusedError, match=r"environment \(--env, LAMINA_ENV\) is 'staging', not development"
    ):
        Lamina(settings_for(env="staging")).redo()
    with pytest.raises(
        RiskRefusedError, match=r"is 'production', production, and redo is the development loop"
    ):
        Lamina(settings_for(env="production")).redo()
    with pytest.raises(RiskRefusedError, match="production"):
        Lamina(settings_for(env="production")).redo(force=True)  # --force needs --yes there
    assert snapshot(raw_db) == before
    assert Lamina(settings_for(env="staging")).redo(force=True).redone == ("003_tags",)
    done = Lamina(settings_for(env="production")).redo(force=True, yes=True)
    assert done.up.applied == ("003_tags",)


def test_a_dry_run_changes_nothing_and_shows_both_halves(three, settings_for, raw_db) -> None:
    before = snapshot(raw_db)
    result = Lamina(settings_for()).redo("002_posts", dry_run=True)
    assert result.dry_run and result.redone == ("003_tags", "002_posts")
    assert result.rollback.dry_run and result.rollback.reverted == ()
    assert [p.step.migration_id for p in result.rollback.previews] == ["003_tags", "002_posts"]
    assert [p.step.migration_id for p in result.up.previews] == ["002_posts", "003_tags"]
    assert "CREATE TABLE posts" in result.up.previews[0].statements[0].sql
    assert snapshot(raw_db) == before
    # outside development a dry run is allowed: it changes nothing either
    Lamina(settings_for(env="production")).redo(dry_run=True)
    assert snapshot(raw_db) == before


def test_a_rollback_that_loses_rows_needs_force_even_for_an_edited_file(
    make_migrations, settings_for, raw_db
) -> None:
    make_migrations({"001_users.sql": USERS, "002_posts.sql": POSTS})
    Lamina(settings_for()).up()
    raw_db.execute("INSERT INTO posts (id) VALUES (1)")
    make_migrations({"002_posts.sql": POSTS_EDITED})
    before = snapshot(raw_db)
    with pytest.raises(RiskRefusedError, match=r"redo refused, nothing was changed: .*002_posts"):
        Lamina(settings_for()).redo()
    assert snapshot(raw_db) == before
    assert raw_db.query("SELECT id FROM posts") == [(1,)]
    result = Lamina(settings_for()).redo(force=True, yes=True)
    assert result.rollback.forced == ("002_posts",)
    assert [b.trigger for b in result.rollback.backups] == ["002_posts"]  # backed up first
    assert raw_db.query("SELECT id FROM posts") == []


def test_another_modified_migration_stops_redo_before_anything_changes(
    three, make_migrations, settings_for, raw_db
) -> None:
    make_migrations({"001_users.sql": USERS + "\n-- edited\n"})
    before = snapshot(raw_db)
    with pytest.raises(ChecksumMismatchError, match="001_users"):
        Lamina(settings_for()).redo()
    assert snapshot(raw_db) == before


def test_an_up_that_fails_after_the_rollback_says_what_is_pending(
    make_migrations, settings_for, raw_db
) -> None:
    make_migrations({"001_users.sql": USERS, "002_posts.sql": POSTS})
    Lamina(settings_for()).up()
    broken = POSTS.replace("id INTEGER PRIMARY KEY", "id INTEGER PRIMARY KEY, id INTEGER")
    make_migrations({"002_posts.sql": broken})  # a column twice: every engine refuses it
    with pytest.raises(ExecutionError) as caught:
        Lamina(settings_for()).redo()
    assert caught.value.message.startswith("redo rolled back 002_posts, then applying them again")
    assert "pending now: 002_posts" in (caught.value.hint or "")
    assert raw_db.applied_ids() == ["001_users"]
    assert "posts" not in raw_db.tables()
