"""lamina.startup() and lamina.health.check(), on every engine."""

from __future__ import annotations

import json
import os
import socket
import time
from pathlib import Path

import pytest

import lamina
from lamina import Lamina, StartupError
from lamina.engines import open_backend
from lamina.errors import ExecutionError
from lamina.models import LockOwner
from lamina.urls import parse_url
from support.texts import POSTS, USERS

DROP_POSTS = "-- migrate:up\nDROP TABLE posts;\n-- migrate:down\nCREATE TABLE posts (id INTEGER);\n"
LOOSE = """
    -- transactional: false
    -- migrate:up
    CREATE TABLE half (id INTEGER);
    SELECT * FROM nowhere;
"""


def check(settings, **kwargs):
    return lamina.health.check(settings, **kwargs)


# -- health ----------------------------------------------------------------------------------------
def test_health_is_healthy_with_the_seed_document(make_migrations, settings_for) -> None:
    make_migrations({"001_users.sql": USERS, "002_posts.sql": POSTS})
    Lamina(settings_for()).up()
    document = check(settings_for())
    assert document == {
        "component": "Database Migrations",
        "status": "healthy",
        "message": "All migrations applied successfully",
        "details": {
            "currentVersion": 2,
            "totalMigrations": 2,
            "pendingMigrations": 0,
            "lastMigration": {
                "id": "002_posts",
                "applied_at": document["details"]["lastMigration"]["applied_at"],
            },
        },
    }
    applied_at = document["details"]["lastMigration"]["applied_at"]
    assert len(applied_at) == 20 and applied_at.endswith("Z")  # 2024-01-15T10:30:00Z
    assert lamina.health.http_status(document) == 200


def test_pending_migrations_are_degraded(make_migrations, settings_for) -> None:
    make_migrations({"001_users.sql": USERS})
    Lamina(settings_for()).up()
    make_migrations({"002_posts.sql": POSTS})
    document = check(settings_for())
    assert (document["status"], document["message"]) == ("degraded", "1 pending migration(s)")
    assert document["details"]["pendingMigrations"] == 1
    assert lamina.health.http_status(document) == 200


def test_a_never_migrated_database_is_degraded_and_not_created(
    engine, make_migrations, settings_for, raw_db
) -> None:
    make_migrations({"001_users.sql": USERS})
    document = check(settings_for())
    assert document["status"] == "degraded"
    assert document["details"]["currentVersion"] == 0
    assert document["details"]["lastMigration"] is None
    assert raw_db.tables() == set()


def test_a_held_lock_is_degraded_and_named(make_migrations, settings_for, db_url) -> None:
    make_migrations({"001_users.sql": USERS})
    Lamina(settings_for()).up()
    holder = open_backend(parse_url(db_url))
    owner = LockOwner(socket.gethostname(), os.getpid(), "2026-11-25T10:00:00Z", "lamina up")
    try:
        with holder.lock(owner, 5):
            started = time.monotonic()
            document = check(settings_for(), detailed=True)
            assert time.monotonic() - started < 2  # never waits for the lock
    finally:
        holder.close()
    assert document["status"] == "degraded"
    assert f"pid {os.getpid()}" in document["message"]
    assert document["details"]["lock"]["command"] == "lamina up"


def test_a_missing_file_is_degraded(make_migrations, settings_for) -> None:
    folder = make_migrations({"001_users.sql": USERS, "002_posts.sql": POSTS})
    Lamina(settings_for()).up()
    (folder / "002_posts.sql").unlink()
    document = check(settings_for())
    assert document["status"] == "degraded"
    assert "002_posts" in document["message"]


def test_a_dirty_database_is_unhealthy_with_its_last_failure(make_migrations, settings_for) -> None:
    make_migrations({"001_users.sql": USERS, "002_loose.sql": LOOSE})
    with pytest.raises(ExecutionError):
        Lamina(settings_for()).up()
    document = check(settings_for(), detailed=True)
    assert document["status"] == "unhealthy"
    assert "002_loose failed half-way" in document["message"]
    assert lamina.health.http_status(document) == 503
    details = document["details"]
    [loose] = [m for m in details["migrations"] if m["id"] == "002_loose"]
    assert (loose["status"], loose["failedStatement"]) == ("failed", 2)
    assert details["lastFailure"]["migrationId"] == "002_loose"
    assert "nowhere" in details["lastFailure"]["detail"]
    assert isinstance(document["checkDurationMs"], float)


def test_a_modified_migration_is_unhealthy(make_migrations, settings_for) -> None:
    folder = make_migrations({"001_users.sql": USERS})
    Lamina(settings_for()).up()
    (folder / "001_users.sql").write_text("-- edited\n" + (folder / "001_users.sql").read_text())
    document = check(settings_for())
    assert document["status"] == "unhealthy"
    assert "modified" in document["message"]


def test_invalid_files_are_unhealthy(make_migrations, settings_for) -> None:
    make_migrations({"001_a.sql": "-- depends: 042_nowhere\n-- migrate:up\nSELECT 1;\n"})
    assert check(settings_for())["status"] == "unhealthy"


def test_an_unreachable_database_is_unhealthy_without_the_password(tmp_path) -> None:
    (tmp_path / "migrations").mkdir()
    settings = lamina.load_settings(
        {
            "database_url": "postgresql://app:pw-9f3k@127.0.0.1:1/shop",
            "migrations_dir": str(tmp_path / "migrations"),
        },
        environ={},
        cwd=tmp_path,
    )
    document = check(settings, detailed=True)
    assert document["status"] == "unhealthy"
    assert "Database unreachable" in document["message"]
    assert "127.0.0.1:1" in document["message"]
    assert "pw-9f3k" not in json.dumps(document)
    assert "postgresql://" not in json.dumps(document)


def test_the_detailed_document_lists_migrations_and_backups(make_migrations, settings_for):
    make_migrations({"001_users.sql": USERS})
    api = Lamina(settings_for())
    api.up()
    api.backup()
    details = check(settings_for(), detailed=True)["details"]
    assert [m["id"] for m in details["migrations"]] == ["001_users"]
    assert details["backups"]["count"] == 1
    assert details["backups"]["latest"]["trigger"] == "manual"
    assert details["lock"] is None and details["lastFailure"] is None


@pytest.mark.parametrize("engine", ["sqlite"])
def test_a_health_check_does_not_re_read_unchanged_files(
    engine, make_migrations, settings_for, monkeypatch
) -> None:
    folder = make_migrations({"001_users.sql": USERS, "002_posts.sql": POSTS})
    Lamina(settings_for()).up()
    polled = Lamina(settings_for())  # as the health server keeps one
    polled.health()
    reads: list[str] = []
    original = Path.read_bytes

    def counting(self: Path) -> bytes:
        reads.append(self.name)
        return original(self)

    monkeypatch.setattr(Path, "read_bytes", counting)
    assert polled.health()["status"] == "healthy"
    assert reads == []
    (folder / "002_posts.sql").write_text((folder / "002_posts.sql").read_text() + "\n-- x\n")
    assert polled.health()["status"] == "unhealthy"  # modified: it was noticed
    assert reads == ["002_posts.sql"]


# -- startup ---------------------------------------------------------------------------------------
def test_startup_without_auto_migrate_reports_pending_and_changes_nothing(
    make_migrations, settings_for, raw_db
) -> None:
    make_migrations({"001_users.sql": USERS})
    result = lamina.startup(settings_for())
    assert result.status == "degraded"
    assert result.pending == ("001_users",)
    assert "AUTO_MIGRATE=false" in result.message
    assert raw_db.tables() == set()  # not even lamina's own tables


def test_startup_with_auto_migrate_applies_and_is_ready(
    make_migrations, settings_for, raw_db, caplog
) -> None:
    make_migrations({"001_users.sql": USERS, "002_posts.sql": POSTS})
    import logging

    logger = logging.getLogger("test.app")
    with caplog.at_level(logging.INFO, logger="test.app"):
        result = lamina.startup(settings_for(auto_migrate=True), logger=logger)
    assert result.ready
    assert result.applied == ("001_users", "002_posts")
    assert raw_db.applied_ids() == ["001_users", "002_posts"]
    assert "applied 2 migration(s)" in caplog.text
    again = lamina.startup(settings_for(auto_migrate=True))
    assert (again.status, again.applied) == ("ready", ())


def test_startup_stops_on_invalid_files(make_migrations, settings_for) -> None:
    make_migrations({"001_a.sql": "-- depends: 042_nowhere\n-- migrate:up\nSELECT 1;\n"})
    with pytest.raises(StartupError, match=r"migration files are invalid: .*042_nowhere"):
        lamina.startup(settings_for(auto_migrate=True))


HELPED = """
from helper_for_002 import TABLE
from lamina import Migration


class Posts(Migration):
    def up(self):
        self.execute_sql(f"CREATE TABLE {TABLE} (id INTEGER)")

    def down(self):
        self.execute_sql(f"DROP TABLE {TABLE}")
"""


def test_startup_loads_only_what_is_not_applied_as_it_is(
    make_migrations, settings_for, monkeypatch
) -> None:
    """An applied, unchanged file loaded when it was applied: startup does not load it again
    (`validate` still does), while a pending file that cannot load still stops startup."""
    folder = make_migrations({"001_users.sql": USERS, "002_helped.py": HELPED})
    (folder / "helper_for_002.py").write_text('TABLE = "helped"\n', encoding="utf-8")
    monkeypatch.syspath_prepend(str(folder))
    settings = settings_for(auto_migrate=True, allow_unsafe_migrations=True)
    assert lamina.startup(settings).applied == ("001_users", "002_helped")
    (folder / "helper_for_002.py").unlink()  # 002 can no longer be imported
    monkeypatch.delitem(__import__("sys").modules, "helper_for_002", raising=False)

    assert lamina.startup(settings).ready
    problems = Lamina(settings).validate().errors
    assert [p.path.name for p in problems if p.path] == ["002_helped.py"]

    make_migrations({"003_broken.py": HELPED.replace("002", "003")})
    with pytest.raises(StartupError, match=r"migration files are invalid: .*003_broken"):
        lamina.startup(settings)


def test_startup_does_not_auto_apply_risky_steps(make_migrations, settings_for, raw_db):
    make_migrations({"001_posts.sql": POSTS})
    lamina.startup(settings_for(auto_migrate=True))
    make_migrations({"002_users.sql": USERS, "003_drop_posts.sql": DROP_POSTS})
    with pytest.raises(StartupError, match=r"need confirmation.*003_drop_posts") as caught:
        lamina.startup(settings_for(auto_migrate=True))
    assert "LAMINA_STARTUP_ON_RISK=degraded" in (caught.value.hint or "")
    assert raw_db.applied_ids() == ["001_posts"]  # nothing at all was applied

    degraded = lamina.startup(settings_for(auto_migrate=True, startup_on_risk="degraded"))
    assert degraded.status == "degraded"
    assert degraded.risky == ("003_drop_posts",)
    # The safe step before the risky one is applied; the risky one is held back and named.
    assert degraded.applied == ("002_users",)
    assert degraded.pending == ("003_drop_posts",)
    assert raw_db.applied_ids() == ["001_posts", "002_users"]
    assert "held back 1 pending migration(s)" in degraded.message
    assert "003_drop_posts" in degraded.message

    allowed = lamina.startup(settings_for(auto_migrate=True, require_confirmation=False))
    assert allowed.ready
    assert raw_db.applied_ids() == ["001_posts", "002_users", "003_drop_posts"]


def test_startup_stops_on_a_dirty_database(make_migrations, settings_for) -> None:
    make_migrations({"001_loose.sql": LOOSE})
    with pytest.raises(ExecutionError):
        lamina.startup(settings_for(auto_migrate=True))
    with pytest.raises(StartupError, match="dirty: 001_loose"):
        lamina.startup(settings_for(auto_migrate=True))


def test_startup_is_bounded_by_the_time_limit(make_migrations, settings_for, db_url) -> None:
    make_migrations({"001_users.sql": USERS})
    holder = open_backend(parse_url(db_url))
    owner = LockOwner(socket.gethostname(), os.getpid(), "2026-11-25T10:00:00Z", "lamina up")
    try:
        with holder.lock(owner, 5):
            started = time.monotonic()
            with pytest.raises(StartupError, match="lock past the time limit"):
                lamina.startup(settings_for(auto_migrate=True, max_migration_time_ms=1000))
            assert time.monotonic() - started < 5
    finally:
        holder.close()


def test_an_unreadable_migrations_folder_is_unhealthy(settings_for, tmp_path) -> None:
    document = check(settings_for(migrations_dir=str(tmp_path / "gone")))
    assert document["status"] == "unhealthy"
    assert "does not exist" in document["message"]
