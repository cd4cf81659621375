"""The startup restore (LAMINA_RESTORE_IF_MISSING): ``lamina.startup()`` finds its DuckDB or
SQLite file gone and restores the newest verified backup of it before the migration checks,
audited; health's detailed view reports it, in any process. Never over an existing file, never
from a damaged backup, never from another database's; without a backup it starts empty."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import lamina
from lamina import Lamina, StartupError, UsageError
from lamina.backup import BackupRecord
from lamina.config import load_settings
from lamina.errors import BackendUnavailableError
from support.processes import lamina_env
from support.texts import USERS

file_engines = pytest.mark.parametrize("engine", ["duckdb", "sqlite"])


def database_file(db_url: str) -> Path:
    return Path(db_url.partition(":///")[2])


def lose(path: Path) -> None:
    """The ephemeral disk is gone: the database, its journal and its lock file with it."""
    for name in ("", ".wal", "-wal", "-shm", "-journal", ".lamina.lock"):
        Path(f"{path}{name}").unlink(missing_ok=True)


def restores_in_log(raw_db) -> list[tuple[object, ...]]:
    return raw_db.query("SELECT detail FROM lamina_migration_log WHERE action = 'restore'")


@pytest.fixture
def backed_up(make_migrations, settings_for, raw_db) -> BackupRecord:
    """users applied with row 7, backed up; then row 8, backed up again: the newest backup."""
    make_migrations({"001_users.sql": USERS})
    api = Lamina(settings_for())
    api.up()
    raw_db.execute("INSERT INTO users (id, email) VALUES (7, 'first@example.org')")
    api.backup()
    raw_db.execute("INSERT INTO users (id, email) VALUES (8, 'second@example.org')")
    return api.backup()


@file_engines
def test_a_missing_file_is_restored_from_the_newest_backup_and_audited(
    backed_up, settings_for, raw_db, db_url
) -> None:
    lose(database_file(db_url))
    result = lamina.startup(settings_for(restore_if_missing=True))
    assert result.ready
    assert result.restored is not None and result.restored.backup_id == backed_up.id
    assert result.restored.backup_created_at == backed_up.created_at
    assert result.message.startswith(
        f"restored backup {backed_up.id} (taken {backed_up.created_at}) because the database "
        "file was missing; all migrations applied"
    )
    assert raw_db.query("SELECT id FROM users ORDER BY id") == [(7,), (8,)]
    [(detail,)] = restores_in_log(raw_db)
    assert f"restored backup {backed_up.id}" in str(detail)
    assert f"sha256 {backed_up.sha256} verified" in str(detail)
    assert result.restored.detail == detail
    # The next start finds the file: nothing is restored again.
    again = lamina.startup(settings_for(restore_if_missing=True))
    assert again.restored is None and len(restores_in_log(raw_db)) == 1


@file_engines
def test_health_in_another_process_reports_the_restore(
    backed_up, settings_for, db_url, tmp_path
) -> None:
    assert Lamina(settings_for()).health(detailed=True)["details"]["restoredAtStartup"] is None
    lose(database_file(db_url))
    env = lamina_env(
        db_url,
        tmp_path / "migrations",
        LAMINA_RESTORE_IF_MISSING="true",  # read from the environment, as an app would
        LAMINA_BACKUP_DIR=str(tmp_path / ".lamina" / "backups"),
    )
    code = "import lamina; print(lamina.startup().message)"
    started = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,  # the assertion below shows its stderr
    )
    assert started.returncode == 0, started.stderr
    assert f"restored backup {backed_up.id}" in started.stdout
    document = lamina.health.check(settings_for(), detailed=True)
    assert document["status"] == "healthy"
    restored = document["details"]["restoredAtStartup"]
    assert {k: restored[k] for k in ("backupId", "backupCreatedAt", "schemaVersion")} == {
        "backupId": backed_up.id,
        "backupCreatedAt": backed_up.created_at,
        "schemaVersion": 1,
    }
    assert restored["restoredAt"].endswith("Z")
    assert "restoredAtStartup" not in lamina.health.check(settings_for())["details"]


@file_engines
def test_without_a_backup_of_this_database_it_starts_empty(
    make_migrations, settings_for, db_url, tmp_path, raw_database
) -> None:
    make_migrations({"001_users.sql": USERS})
    other_url = db_url.replace("/test.", "/other.")
    other = Lamina(settings_for(database_url=other_url))  # same backup folder
    other.up()
    other.backup()
    result = lamina.startup(settings_for(restore_if_missing=True))
    assert result.restored is None
    assert (result.status, result.pending) == ("degraded", ("001_users",))
    assert not database_file(db_url).exists()  # as without the setting: nothing made
    assert raw_database(other_url).applied_ids() == ["001_users"]


@file_engines
def test_a_touched_backup_is_not_used(
    backed_up, make_migrations, settings_for, raw_db, db_url
) -> None:
    make_migrations({"002_drop_users.sql": "-- migrate:up\nDROP TABLE users;\n"})
    ran = Lamina(settings_for(backup_scope="touched")).up()
    [touched] = ran.backups
    assert touched.touched and touched.created_at > backed_up.created_at
    lose(database_file(db_url))
    result = lamina.startup(settings_for(restore_if_missing=True))
    assert result.restored is not None and result.restored.backup_id == backed_up.id
    assert raw_db.query("SELECT id FROM users ORDER BY id") == [(7,), (8,)]


@file_engines
def test_an_existing_file_is_never_restored_over(
    engine, backed_up, settings_for, raw_db, db_url
) -> None:
    path = database_file(db_url)
    raw_db.execute("INSERT INTO users (id, email) VALUES (9, 'since@example.org')")
    before = path.read_bytes()
    result = lamina.startup(settings_for(restore_if_missing=True))
    assert result.restored is None and "restored" not in result.message
    assert path.read_bytes() == before
    assert restores_in_log(raw_db) == []
    path.write_bytes(b"")  # even an empty file is the application's, not lamina's to replace
    if engine == "duckdb":
        with pytest.raises(BackendUnavailableError, match="not a DuckDB database file"):
            lamina.startup(settings_for(restore_if_missing=True))
    else:
        assert lamina.startup(settings_for(restore_if_missing=True)).restored is None
    assert path.read_bytes() == b""


@file_engines
def test_a_damaged_backup_stops_startup_naming_it_and_leaves_no_file(
    backed_up, settings_for, db_url, tmp_path
) -> None:
    path = database_file(db_url)
    lose(path)
    data = tmp_path / ".lamina" / "backups" / backed_up.file
    damaged = bytearray(data.read_bytes())
    damaged[len(damaged) // 2] ^= 0xFF  # same size: only the SHA-256 tells
    data.write_bytes(bytes(damaged))
    with pytest.raises(StartupError) as caught:
        lamina.startup(settings_for(restore_if_missing=True))
    message = caught.value.message
    assert f"its newest backup {backed_up.id}" in message
    assert "does not match its manifest" in message
    assert "startup stopped rather than start on an empty or older database" in message
    assert "lamina backup restore ID --yes" in (caught.value.hint or "")
    assert not path.exists()  # not started empty: the next start fails the same way


@file_engines
def test_an_unreadable_newer_manifest_is_not_passed_over(
    backed_up, settings_for, db_url, tmp_path
) -> None:
    lose(database_file(db_url))
    manifest = tmp_path / ".lamina" / "backups" / "29991231T235959Z-abcdef.json"
    manifest.write_text("{", encoding="utf-8")
    with pytest.raises(StartupError, match=r"29991231T235959Z-abcdef\.json cannot be read"):
        lamina.startup(settings_for(restore_if_missing=True))
    assert not database_file(db_url).exists()


@pytest.mark.parametrize(
    "engine",
    [pytest.param(e, marks=pytest.mark.server) for e in ("postgresql", "mysql")],
)
def test_the_server_engines_ignore_the_setting_with_a_warning(
    engine, make_migrations, settings_for
) -> None:
    make_migrations({"001_users.sql": USERS})
    result = lamina.startup(settings_for(restore_if_missing=True))
    assert result.restored is None
    [warning] = result.warnings
    assert warning.startswith(f"LAMINA_RESTORE_IF_MISSING is ignored on {engine} (a server)")
    assert result.message.endswith(f"; warning: {warning}")


def test_the_setting_is_read_from_the_environment_and_the_config_file(tmp_path: Path) -> None:
    def settings(environ: dict[str, str]) -> bool:
        return load_settings({}, environ=environ, cwd=tmp_path).restore_if_missing

    assert settings({}) is False
    assert settings({"LAMINA_RESTORE_IF_MISSING": "true"}) is True
    with pytest.raises(UsageError, match=r"LAMINA_RESTORE_IF_MISSING \(environment\): invalid"):
        settings({"LAMINA_RESTORE_IF_MISSING": "perhaps"})
    (tmp_path / "lamina.toml").write_text("restore_if_missing = true\n", encoding="utf-8")
    assert settings({}) is True
