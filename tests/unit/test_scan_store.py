"""The scan store (lamina.scan_store): a later process reuses what an earlier one read of an
unchanged migration file, and never what it read of a file that changed since."""

from __future__ import annotations

import json
import os
import textwrap
import time
from pathlib import Path

import pytest

from lamina import scan_store
from lamina.discovery import FileCache, ScanResult, scan
from lamina.scan_store import ScanStore

USERS = """
-- migrate:up
CREATE TABLE users (id INTEGER PRIMARY KEY);
-- migrate:down
DROP TABLE users;
"""

COMPUTED = """
from lamina import Migration

NAME = "computed"


class Computed(Migration):
    description = NAME.upper()

    def up(self):
        self.execute_sql("CREATE TABLE c (id INTEGER)")
"""


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    migrations = tmp_path / "migrations"
    migrations.mkdir()
    (migrations / "001_users.sql").write_text(textwrap.dedent(USERS), encoding="utf-8")
    (migrations / "002_computed.py").write_text(textwrap.dedent(COMPUTED), encoding="utf-8")
    return migrations


def _scan(folder: Path, cache_dir: Path) -> tuple[ScanResult, FileCache]:
    """One command's scan: a cache of its own over the store, as a new process has."""
    files = FileCache(ScanStore(folder, cache_dir))
    return scan(folder, cache=files, allow_unsafe=True), files


def test_a_later_scan_reads_only_the_files_the_store_could_not_keep(
    folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(scan_store, "RACY_S", 0.0)  # files written just now may be kept
    first, files = _scan(folder, tmp_path / "cache")
    assert files.reads == 2

    again, files = _scan(folder, tmp_path / "cache")

    # The .py file's metadata came from importing it, so it is read again every time.
    assert files.reads == 1
    assert again.files == first.files and again.problems == first.problems
    assert folder / "001_users.sql" not in again.sources  # not read: the loader reads it


def test_a_file_changed_since_is_read_again_even_with_the_same_size_and_mtime(
    folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(scan_store, "RACY_S", 0.0)
    first, _ = _scan(folder, tmp_path / "cache")
    path = folder / "001_users.sql"
    before = path.stat()
    path.write_text(path.read_text(encoding="utf-8").replace("users", "usrs_"), encoding="utf-8")
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))  # mtime put back
    assert path.stat().st_size == before.st_size

    again, files = _scan(folder, tmp_path / "cache")

    assert files.reads == 2  # the change time moved, which nothing can put back
    [old] = [f for f in first.files if f.id == "001_users"]
    [new] = [f for f in again.files if f.id == "001_users"]
    assert new.checksum != old.checksum


def test_a_file_changed_less_than_racy_s_ago_is_not_kept(folder: Path, tmp_path: Path) -> None:
    assert time.time() - (folder / "001_users.sql").stat().st_ctime < scan_store.RACY_S
    _scan(folder, tmp_path / "cache")
    _, files = _scan(folder, tmp_path / "cache")
    assert files.reads == 2


def test_an_unreadable_or_foreign_store_file_is_ignored(
    folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(scan_store, "RACY_S", 0.0)
    first, _ = _scan(folder, tmp_path / "cache")
    [kept] = list((tmp_path / "cache" / "scans").iterdir())
    document = json.loads(kept.read_text(encoding="utf-8"))
    document["entries"]["001_users.sql"][1]["meta"] = {"no": "such field"}
    kept.write_text(json.dumps(document), encoding="utf-8")
    again, files = _scan(folder, tmp_path / "cache")
    assert files.reads == 2 and again.files == first.files
    kept.write_text("{not json", encoding="utf-8")
    again, files = _scan(folder, tmp_path / "cache")
    assert files.reads == 2 and again.files == first.files


def test_no_cache_folder_keeps_nothing(folder: Path, tmp_path: Path) -> None:
    files = FileCache(ScanStore(folder, None))
    scan(folder, cache=files, allow_unsafe=True)
    assert files.reads == 2 and not list(tmp_path.glob("**/scans"))


CONTROLS = """
-- migrate:up
CREATE TABLE t (id INTEGER);
COMMIT;
-- migrate:down
DROP TABLE t;
"""


def test_validate_keeps_what_loaded_cleanly_and_never_what_did_not(
    folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A .sql file that loaded cleanly for a dialect is not loaded again by a later
    ``validate``; one that did not is loaded, and reported, every time."""
    from lamina import Lamina
    from lamina.config import load_settings

    monkeypatch.setattr(scan_store, "RACY_S", 0.0)
    (folder / "002_computed.py").unlink()
    (folder / "003_controls.sql").write_text(textwrap.dedent(CONTROLS), encoding="utf-8")
    settings = load_settings(
        {"database_url": f"duckdb:///{tmp_path / 'app.duckdb'}", "migrations_dir": str(folder)},
        environ={"LAMINA_CACHE_DIR": str(tmp_path / "cache")},
        cwd=tmp_path,
    )
    monkeypatch.setenv("LAMINA_CACHE_DIR", str(tmp_path / "cache"))
    for _ in range(2):
        errors = Lamina(settings).validate().errors
        assert [p.path.name for p in errors if p.path] == ["003_controls.sql"]

    store = ScanStore(folder, tmp_path / "cache")
    [users, controls] = scan(folder, cache=FileCache(store)).files
    assert store.loads_cleanly(users, "duckdb")
    assert not store.loads_cleanly(users, "postgres")  # another dialect: loaded again
    assert not store.loads_cleanly(controls, "duckdb")
