"""The backup folder: permissions, manifests, listing and retention (on SQLite files)."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from lamina.backup import BackupError, BackupStore, create_backup
from lamina.urls import DatabaseURL, parse_url


@pytest.fixture
def sqlite_url(tmp_path: Path) -> DatabaseURL:
    path = tmp_path / "app.sqlite3"
    with sqlite3.connect(path) as con:
        con.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
        con.execute("INSERT INTO t VALUES (1, 'one')")
    con.close()
    return parse_url(f"sqlite:///{path}")


@pytest.fixture
def open_umask() -> Iterator[None]:
    """Umask 000: the modes lamina sets must not depend on the umask."""
    old = os.umask(0)
    try:
        yield
    finally:
        os.umask(old)


@pytest.mark.usefixtures("open_umask")
def test_folder_and_files_are_private_whatever_the_umask(tmp_path: Path, sqlite_url):
    store = BackupStore(tmp_path / "a" / "b" / "backups")

    record = create_backup(sqlite_url, store, schema_version=1, trigger="manual")

    assert stat.S_IMODE(store.folder.stat().st_mode) == 0o700
    for path in store.folder.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    assert {p.name for p in store.folder.iterdir()} == {record.file, f"{record.id}.json"}


def test_an_existing_open_folder_is_tightened(tmp_path: Path, sqlite_url):
    folder = tmp_path / "backups"
    folder.mkdir(mode=0o755)
    create_backup(sqlite_url, BackupStore(folder), schema_version=1, trigger=None)
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700


def test_ids_sort_by_time_and_list_is_newest_first(tmp_path: Path, sqlite_url):
    store = BackupStore(tmp_path / "backups")
    made = [create_backup(sqlite_url, store, schema_version=i, trigger="manual") for i in range(4)]

    listed = store.list()

    assert [r.id for r in listed] == [r.id for r in reversed(made)]
    assert all(re.fullmatch(r"\d{8}T\d{6}Z-[0-9a-f]{6}", r.id) for r in made)
    assert [r.schema_version for r in listed] == [3, 2, 1, 0]


def test_retention_keeps_the_newest_n(tmp_path: Path, sqlite_url):
    keep = 3
    store = BackupStore(tmp_path / "backups", keep=keep)

    made = [
        create_backup(sqlite_url, store, schema_version=i, trigger="manual")
        for i in range(keep + 2)
    ]

    kept = store.list()
    assert [r.id for r in kept] == [r.id for r in reversed(made[-keep:])]
    for gone in made[:2]:
        assert not store.path_of(gone).exists()
        assert not (store.folder / f"{gone.id}.json").exists()
    names = {p.name for p in store.folder.iterdir()}
    assert names == {r.file for r in kept} | {f"{r.id}.json" for r in kept}


def test_no_retention_keeps_everything(tmp_path: Path, sqlite_url):
    store = BackupStore(tmp_path / "backups", keep=None)
    for _ in range(4):
        create_backup(sqlite_url, store, schema_version=1, trigger="manual")
    assert len(store.list()) == 4
    assert store.prune() == []


def test_keep_must_be_positive(tmp_path: Path):
    with pytest.raises(ValueError, match="at least 1"):
        BackupStore(tmp_path, keep=0)


def test_unreadable_manifests_are_flagged_not_listed(tmp_path: Path, sqlite_url):
    store = BackupStore(tmp_path / "backups", keep=1)
    good = create_backup(sqlite_url, store, schema_version=1, trigger="manual")
    (store.folder / "20200101T000000Z-000000.json").write_text("{not json")
    escaping = json.loads((store.folder / f"{good.id}.json").read_text())
    escaping.update(id="20200101T000000Z-111111", file="../../../etc/passwd")
    (store.folder / "20200101T000000Z-111111.json").write_text(json.dumps(escaping))
    (store.folder / "notes.json").write_text("{}")  # not a backup manifest: ignored

    records, broken = store.scan()

    assert [r.id for r in records] == [good.id]
    assert {b.path.name for b in broken} == {
        "20200101T000000Z-000000.json",
        "20200101T000000Z-111111.json",
    }
    assert any("does not match id" in b.problem for b in broken)
    with pytest.raises(BackupError, match="cannot be read"):
        store.get("20200101T000000Z-111111")
    store.prune()  # never touches what it cannot read
    assert (store.folder / "20200101T000000Z-111111.json").exists()


def test_a_failed_backup_leaves_no_file(tmp_path: Path):
    store = BackupStore(tmp_path / "backups")
    url = parse_url(f"sqlite:///{tmp_path / 'missing.sqlite3'}")

    with pytest.raises(BackupError, match="no database file"):
        create_backup(url, store, schema_version=1, trigger="manual")

    assert list(store.folder.iterdir()) == []


def test_in_memory_databases_are_refused(tmp_path: Path):
    store = BackupStore(tmp_path / "backups")
    for text in ("duckdb:///:memory:", "sqlite:///:memory:"):
        with pytest.raises(BackupError, match="in-memory"):
            create_backup(parse_url(text), store, schema_version=1, trigger=None)


def test_a_backup_of_another_database_is_not_restored_into_this_one(tmp_path: Path, sqlite_url):
    from lamina.backup import restore_backup

    store = BackupStore(tmp_path / "backups")
    record = create_backup(sqlite_url, store, schema_version=1, trigger="manual")
    other = tmp_path / "other.sqlite3"
    sqlite3.connect(other).close()
    other_url = parse_url(f"sqlite:///{other}")

    with pytest.raises(BackupError, match="was taken of"):
        restore_backup(other_url, store, record.id)
    with pytest.raises(BackupError, match="is a sqlite backup"):
        restore_backup(parse_url(f"duckdb:///{other}"), store, record.id)

    restore_backup(other_url, store, record.id, allow_other_database=True)
    with sqlite3.connect(other) as con:
        assert con.execute("SELECT * FROM t").fetchall() == [(1, "one")]
    con.close()
