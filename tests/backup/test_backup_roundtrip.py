"""Backup and restore on every engine: row-for-row round trips, refusals, streaming."""

from __future__ import annotations

import hashlib
import itertools
import json
import stat
from typing import Any

import pytest

from lamina.backup import BackupError, BackupStore, create_backup, restore_backup
from lamina.backup.streams import CHUNK
from lamina.urls import parse_url


def test_restore_brings_back_every_table_and_row(db_url: str, sample: Any, store: BackupStore):
    url = parse_url(db_url)
    sample.seed()
    before = sample.snapshot()
    assert set(before) == {"people", "orders", "doomed"}

    record = create_backup(url, store, schema_version=7, trigger="0007_drop_column")
    sample.mutate()
    assert sample.snapshot() != before

    restored = restore_backup(url, store, record.id)

    assert restored == record
    assert sample.snapshot() == before  # same tables (extra gone, doomed back), same rows


def test_restore_twice_and_from_an_older_backup(db_url: str, sample: Any, store: BackupStore):
    url = parse_url(db_url)
    sample.seed()
    first_state = sample.snapshot()
    first = create_backup(url, store, schema_version=1, trigger="manual")
    sample.mutate()
    second_state = sample.snapshot()
    second = create_backup(url, store, schema_version=2, trigger="manual")

    restore_backup(url, store, first.id)
    assert sample.snapshot() == first_state
    restore_backup(url, store, second.id)
    assert sample.snapshot() == second_state
    assert [r.id for r in store.list()] == [second.id, first.id]


def test_a_corrupted_backup_is_refused_and_nothing_changes(
    db_url: str, sample: Any, store: BackupStore, corrupt: Any
):
    url = parse_url(db_url)
    sample.seed()
    record = create_backup(url, store, schema_version=1, trigger="manual")
    sample.mutate()
    changed = sample.snapshot()
    corrupt(store.path_of(record))

    with pytest.raises(BackupError) as caught:
        restore_backup(url, store, record.id)

    assert str(store.path_of(record)) in caught.value.message
    assert "does not match its manifest" in caught.value.message
    assert sample.snapshot() == changed


def test_a_truncated_backup_is_refused(db_url: str, sample: Any, store: BackupStore):
    url = parse_url(db_url)
    sample.seed()
    record = create_backup(url, store, schema_version=1, trigger="manual")
    sample.mutate()
    changed = sample.snapshot()
    path = store.path_of(record)
    path.write_bytes(path.read_bytes()[: record.size // 2])

    with pytest.raises(BackupError, match="does not match its manifest"):
        restore_backup(url, store, record.id)
    assert sample.snapshot() == changed


def test_a_missing_backup_file_is_a_clear_error(db_url: str, sample: Any, store: BackupStore):
    url = parse_url(db_url)
    sample.seed()
    record = create_backup(url, store, schema_version=1, trigger="manual")
    store.path_of(record).unlink()

    with pytest.raises(BackupError) as caught:
        restore_backup(url, store, record.id)
    assert "missing" in caught.value.message
    assert record.file in caught.value.message
    assert caught.value.hint


def test_an_unknown_backup_id_is_a_clear_error(db_url: str, sample: Any, store: BackupStore):
    sample.create_schema()
    with pytest.raises(BackupError, match="no backup 20990101T000000Z-abcdef"):
        restore_backup(parse_url(db_url), store, "20990101T000000Z-abcdef")
    with pytest.raises(BackupError, match="not a backup id"):
        restore_backup(parse_url(db_url), store, "../../etc/passwd")


def test_the_manifest_describes_the_file(engine: str, db_url: str, sample: Any, store: BackupStore):
    url = parse_url(db_url)
    sample.seed()

    record = create_backup(url, store, schema_version=3, trigger="0003_x")

    data = store.path_of(record)
    manifest = store.folder / f"{record.id}.json"
    assert data.stat().st_size == record.size
    assert hashlib.sha256(data.read_bytes()).hexdigest() == record.sha256
    saved = json.loads(manifest.read_text())
    assert saved["sha256"] == record.sha256
    assert saved["size"] == record.size
    assert saved["engine"] == engine
    assert saved["schema_version"] == 3
    assert saved["trigger"] == "0003_x"
    assert saved["database"] == url.redacted()
    assert saved["file"] == data.name
    assert saved["created_at"].endswith("+00:00")
    assert record.tool  # what wrote it: pg_dump 15..., duckdb 1.x...
    assert stat.S_IMODE(data.stat().st_mode) == 0o600
    assert stat.S_IMODE(manifest.stat().st_mode) == 0o600
    assert stat.S_IMODE(store.folder.stat().st_mode) == 0o700
    assert sorted(p.name for p in store.folder.iterdir()) == sorted([data.name, manifest.name])
    assert store.get(record.id) == record


def test_large_databases_stream_in_chunks_with_progress(
    db_url: str, sample: Any, store: BackupStore
):
    url = parse_url(db_url)
    sample.seed()
    sample.add_bulk()  # about 4 MB
    before = sample.snapshot()
    calls: list[tuple[int, int | None]] = []

    record = create_backup(
        url, store, schema_version=1, trigger="manual", progress=lambda *a: calls.append(a)
    )

    assert record.size > 1_000_000
    _assert_streamed(calls, record.size)
    sample.mutate()
    calls.clear()
    restore_backup(url, store, record.id, progress=lambda *a: calls.append(a))
    assert len(calls) > 2
    assert all(b[0] >= a[0] for a, b in itertools.pairwise(calls))
    assert sample.snapshot() == before


def _assert_streamed(calls: list[tuple[int, int | None]], size: int) -> None:
    """Many calls, each at most one chunk further: the file was never held whole."""
    assert len(calls) > 2
    done = [0] + [call[0] for call in calls]
    assert max(b - a for a, b in itertools.pairwise(done)) <= CHUNK
    assert done[-1] == size
    totals = {call[1] for call in calls}
    assert totals in ({size}, {None})


def test_an_interrupted_restore_leaves_the_database_untouched(
    db_url: str, sample: Any, store: BackupStore
):
    url = parse_url(db_url)
    sample.seed()
    sample.add_bulk(rows=2000)
    record = create_backup(url, store, schema_version=1, trigger="manual")
    sample.mutate()
    changed = sample.snapshot()

    class Stop(Exception):
        pass

    def stop_midway(done: int, total: int | None) -> None:
        raise Stop

    with pytest.raises(Stop):
        restore_backup(url, store, record.id, progress=stop_midway)
    assert sample.snapshot() == changed
    restore_backup(url, store, record.id)  # and nothing stale blocks the next attempt
    assert "doomed" in sample.snapshot()
