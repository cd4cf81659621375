"""DuckDB and SQLite specifics: who holds the file while it is copied or replaced."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pytest

from lamina.backup import BackupError, BackupStore, create_backup, restore_backup
from lamina.engines import open_backend
from lamina.urls import parse_url


@pytest.fixture
def duck(tmp_path: Path) -> Path:
    path = tmp_path / "app.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v VARCHAR)")
    con.execute("INSERT INTO t VALUES (1, 'one'), (2, NULL)")
    con.close()
    return path


def _rows(path: Path) -> list[tuple[object, ...]]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute("SELECT * FROM t ORDER BY id").fetchall()
    finally:
        con.close()


def _backup_rows(store: BackupStore, backup_id: str, tmp_path: Path) -> list[tuple[object, ...]]:
    """The rows of a DuckDB backup, read from a copy (a backup file is never opened in place)."""
    copy = tmp_path / f"check-{backup_id}.duckdb"
    copy.write_bytes(store.path_of(store.get(backup_id)).read_bytes())
    return _rows(copy)


@contextmanager
def held_by_another_process(path: Path) -> Iterator[None]:
    """A second process holding the DuckDB file open read-write for the block."""
    code = (
        "import duckdb, sys, time\n"
        "con = duckdb.connect(sys.argv[1])\n"
        "print('ready', flush=True)\n"
        "time.sleep(120)\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code, str(path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        yield
    finally:
        proc.kill()
        proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


def test_duckdb_backup_while_this_process_holds_a_connection(duck: Path, tmp_path: Path, store):
    """DuckDB shares an open database within a process: lamina checkpoints through it."""
    held = duckdb.connect(str(duck))
    try:
        held.execute("INSERT INTO t VALUES (3, 'only in the WAL so far')")
        assert duck.with_name(duck.name + ".wal").exists()

        record = create_backup(
            parse_url(f"duckdb:///{duck}"), store, schema_version=1, trigger="manual"
        )

        held.execute("INSERT INTO t VALUES (4, 'after the backup')")  # still usable
    finally:
        held.close()
    assert [row[0] for row in _backup_rows(store, record.id, tmp_path)] == [1, 2, 3]


def test_duckdb_backup_through_the_callers_checkpoint(duck: Path, tmp_path: Path, store):
    """lamina's runner holds its backend's connection and passes its CHECKPOINT."""
    url = parse_url(f"duckdb:///{duck}")
    backend = open_backend(url)
    backend.connect()
    try:
        with backend.transaction():
            backend.execute("UPDATE t SET v = 'migrated' WHERE id = 1")
        record = create_backup(
            url,
            store,
            schema_version=1,
            trigger="0002_x",
            checkpoint=lambda: backend.execute("CHECKPOINT"),
        )
    finally:
        backend.close()
    assert _backup_rows(store, record.id, tmp_path) == [(1, "migrated"), (2, None)]


def test_duckdb_backup_refused_when_held_read_only_in_this_process(duck: Path, store):
    held = duckdb.connect(str(duck), read_only=True)
    try:
        with pytest.raises(BackupError, match="open in this process") as caught:
            create_backup(parse_url(f"duckdb:///{duck}"), store, schema_version=1, trigger=None)
        assert "checkpoint=" in (caught.value.hint or "")
    finally:
        held.close()
    assert not store.folder.exists() or list(store.folder.iterdir()) == []


def test_duckdb_backup_refused_when_another_process_holds_it(duck: Path, store):
    with (
        held_by_another_process(duck),
        pytest.raises(BackupError, match="open in another process"),
    ):
        create_backup(parse_url(f"duckdb:///{duck}"), store, schema_version=1, trigger=None)
    assert list(store.folder.iterdir()) == []


def test_duckdb_restore_refused_while_this_process_holds_it(duck: Path, store):
    url = parse_url(f"duckdb:///{duck}")
    record = create_backup(url, store, schema_version=1, trigger="manual")
    held = duckdb.connect(str(duck))
    try:
        held.execute("DELETE FROM t")
        with pytest.raises(BackupError, match="open in this process"):
            restore_backup(url, store, record.id)
        assert held.execute("SELECT count(*) FROM t").fetchall() == [(0,)]
    finally:
        held.close()
    assert _rows(duck) == []


def test_duckdb_restore_refused_while_another_process_holds_it(duck: Path, tmp_path: Path):
    store = BackupStore(tmp_path / "backups")
    url = parse_url(f"duckdb:///{duck}")
    record = create_backup(url, store, schema_version=1, trigger="manual")
    before = duck.read_bytes()
    with (
        held_by_another_process(duck),
        pytest.raises(BackupError, match="open in another process"),
    ):
        restore_backup(url, store, record.id)
    assert duck.read_bytes() == before
    assert not [p for p in tmp_path.iterdir() if "lamina-restore" in p.name]


def test_duckdb_restore_replaces_the_target_of_a_symlink(duck: Path, tmp_path: Path, store):
    link = tmp_path / "link.duckdb"
    link.symlink_to(duck)
    url = parse_url(f"duckdb:///{link}")
    record = create_backup(url, store, schema_version=1, trigger="manual")
    con = duckdb.connect(str(link))
    con.execute("DELETE FROM t")
    con.close()

    restore_backup(url, store, record.id)

    assert link.is_symlink()
    assert _rows(duck) == [(1, "one"), (2, None)]


def test_duckdb_restore_recreates_a_deleted_database(duck: Path, store):
    url = parse_url(f"duckdb:///{duck}")
    record = create_backup(url, store, schema_version=1, trigger="manual")
    duck.unlink()

    restore_backup(url, store, record.id)

    assert _rows(duck) == [(1, "one"), (2, None)]


def test_sqlite_backup_sees_committed_data_only(tmp_path: Path, store):
    path = tmp_path / "app.sqlite3"
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("CREATE TABLE t (id INTEGER PRIMARY KEY)")
    writer.execute("INSERT INTO t VALUES (1)")
    writer.execute("BEGIN")
    writer.execute("INSERT INTO t VALUES (2)")  # not committed when the backup runs
    try:
        record = create_backup(
            parse_url(f"sqlite:///{path}"), store, schema_version=1, trigger=None
        )
    finally:
        writer.execute("COMMIT")
        writer.close()
    check = sqlite3.connect(f"file:{store.path_of(record)}?mode=ro", uri=True)
    try:
        assert check.execute("SELECT id FROM t").fetchall() == [(1,)]
    finally:
        check.close()


@pytest.mark.parametrize("journal_mode", ["delete", "wal"])
def test_sqlite_restore_is_seen_by_connections_that_stay_open(
    tmp_path: Path, store, journal_mode: str
):
    path = tmp_path / "app.sqlite3"
    url = parse_url(f"sqlite:///{path}")
    con = sqlite3.connect(path, isolation_level=None)
    con.execute(f"PRAGMA journal_mode = {journal_mode}")
    con.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
    con.execute("INSERT INTO t VALUES (1, 'kept')")
    record = create_backup(url, store, schema_version=1, trigger="manual")
    con.execute("UPDATE t SET v = 'changed'")
    con.execute("CREATE TABLE extra (x)")
    try:
        restore_backup(url, store, record.id)

        assert con.execute("SELECT * FROM t").fetchall() == [(1, "kept")]
        names = con.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
        assert names == [("t",)]
        con.execute("INSERT INTO t VALUES (2, 'still writable')")  # not a replaced inode
    finally:
        con.close()
    check = sqlite3.connect(path)
    assert check.execute("SELECT count(*) FROM t").fetchall() == [(2,)]
    check.close()


def test_duckdb_restore_refuses_a_file_duckdb_cannot_open(duck: Path, store, rewrite_backup):
    url = parse_url(f"duckdb:///{duck}")
    record = create_backup(url, store, schema_version=1, trigger="manual")
    rewrite_backup(store, record.id, b"not a duckdb file" * 1000)
    before = duck.read_bytes()

    with pytest.raises(BackupError, match="cannot open backup"):
        restore_backup(url, store, record.id)

    assert duck.read_bytes() == before
    assert [p.name for p in duck.parent.iterdir() if "lamina-restore" in p.name] == []
