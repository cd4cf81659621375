"""MySQL/MariaDB specifics: the scratch database, the one RENAME TABLE, and what is refused."""

from __future__ import annotations

import os
import stat
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest

from lamina.backup import BackupError, BackupStore, create_backup, restore_backup
from lamina.engines.mysql.connect import defaults_file
from lamina.urls import parse_url

pytestmark = pytest.mark.server


def _database_of(url: str) -> str:
    return urlsplit(url).path.lstrip("/")


def _leftovers(raw: Any, database: str) -> list[str]:
    rows = raw.query("SHOW DATABASES")
    return [str(r[0]) for r in rows if str(r[0]).startswith(f"{database}_lamina_")]


def test_tables_with_foreign_keys_swap_back_and_keep_working(
    mysql_url: str, sample_for: Any, store: BackupStore
):
    sample = sample_for(mysql_url)
    raw = sample.db
    raw.execute("CREATE TABLE parent (id INTEGER AUTO_INCREMENT PRIMARY KEY, v VARCHAR(10))")
    raw.execute(
        "CREATE TABLE child (id INTEGER PRIMARY KEY, parent_id INTEGER, "
        "FOREIGN KEY (parent_id) REFERENCES parent (id))"
    )
    raw.execute("INSERT INTO parent (v) VALUES ('a'), ('b')")
    raw.execute("INSERT INTO child VALUES (1, 1), (2, 2)")
    before = sample.snapshot()
    url = parse_url(mysql_url)
    record = create_backup(url, store, schema_version=1, trigger="manual")
    raw.execute("DELETE FROM child WHERE id = 2")
    raw.execute("DELETE FROM parent WHERE id = 2")
    raw.execute("INSERT INTO parent (v) VALUES ('c'), ('d')")

    restore_backup(url, store, record.id)

    assert sample.snapshot() == before
    with pytest.raises(Exception, match="foreign key constraint fails"):
        raw.execute("INSERT INTO child VALUES (3, 99)")
    raw.execute("INSERT INTO parent (v) VALUES ('next')")
    assert raw.query("SELECT id FROM parent WHERE v = 'next'") == [(3,)]  # AUTO_INCREMENT too
    assert _leftovers(raw, _database_of(mysql_url)) == []


@pytest.mark.parametrize("where", ["database", "backup"])
def test_views_are_refused_before_anything_changes(
    mysql_url: str, sample_for: Any, store: BackupStore, where: str
):
    sample = sample_for(mysql_url)
    sample.seed()
    if where == "backup":
        sample.db.execute("CREATE VIEW named AS SELECT name FROM people")
    url = parse_url(mysql_url)
    record = create_backup(url, store, schema_version=1, trigger="manual")
    if where == "backup":
        sample.db.execute("DROP VIEW named")
    sample.mutate()
    if where == "database":
        sample.db.execute("CREATE VIEW named AS SELECT name FROM people")
    changed = sample.snapshot()

    with pytest.raises(BackupError, match="view named") as caught:
        restore_backup(url, store, record.id)

    assert "by hand" in (caught.value.hint or "")
    assert sample.snapshot() == changed
    assert _leftovers(sample.db, _database_of(mysql_url)) == []


def test_a_failing_load_leaves_the_database_and_no_scratch(
    mysql_url: str, sample_for: Any, store: BackupStore, rewrite_backup: Any
):
    """A dump the server refuses half-way (a valid manifest, so the checksum passes)."""
    sample = sample_for(mysql_url)
    sample.seed()
    url = parse_url(mysql_url)
    record = create_backup(url, store, schema_version=1, trigger="manual")
    sample.mutate()
    changed = sample.snapshot()
    bad = store.path_of(record).read_bytes() + b"\nTHIS IS NOT SQL;\n"
    rewrite_backup(store, record.id, bad)

    with pytest.raises(BackupError, match="cannot load the backup") as caught:
        restore_backup(url, store, record.id)

    assert "ERROR" in caught.value.message
    assert sample.snapshot() == changed
    assert _leftovers(sample.db, _database_of(mysql_url)) == []


def test_a_dropped_database_is_recreated(mysql_url: str, sample_for: Any, store: BackupStore):
    sample = sample_for(mysql_url)
    sample.seed()
    before = sample.snapshot()
    url = parse_url(mysql_url)
    record = create_backup(url, store, schema_version=1, trigger="manual")
    admin = _admin(sample, mysql_url)
    admin.execute(f"DROP DATABASE `{_database_of(mysql_url)}`")

    restore_backup(url, store, record.id)

    assert sample.snapshot() == before


def _admin(sample: Any, url: str) -> Any:
    parts = urlsplit(url)
    return type(sample.db)(urlunsplit(parts._replace(path="/mysql")))


@pytest.fixture
def password_user(mysql_url: str, sample_for: Any, add_password: Any) -> Iterator[str]:
    """A URL for a new user whose password needs every escape an option file has."""
    admin = _admin(sample_for(mysql_url), mysql_url)
    user = f"lamina_u_{uuid.uuid4().hex[:8]}"
    password = "p\"w#d\\x'y z=1;[client]"
    admin.execute(f"CREATE USER '{user}'@'%%' IDENTIFIED BY %s", (password,))
    try:
        admin.execute(f"GRANT ALL PRIVILEGES ON *.* TO '{user}'@'%'")
        parts = urlsplit(add_password(mysql_url, password))
        netloc = f"{user}:{parts.netloc.partition(':')[2]}"
        yield urlunsplit(parts._replace(netloc=netloc))
    finally:
        admin.execute(f"DROP USER IF EXISTS '{user}'@'%'")


def test_a_password_with_special_characters_travels_in_a_private_file(
    password_user: str, mysql_url: str, sample_for: Any, store: BackupStore, argv_spy: Any
):
    url = parse_url(password_user)
    assert url.password and '"' in url.password
    sample = sample_for(mysql_url)
    sample.seed()
    before = sample.snapshot()

    record = create_backup(url, store, schema_version=1, trigger="manual")
    sample.mutate()
    restore_backup(url, store, record.id)

    assert sample.snapshot() == before
    assert argv_spy.argvs
    assert not any(url.password in arg for argv in argv_spy.argvs for arg in argv)
    for path in store.folder.iterdir():
        assert url.password.encode() not in path.read_bytes()
    option_files = [
        arg.partition("=")[2]
        for argv in argv_spy.argvs
        for arg in argv
        if arg.startswith("--defaults-extra-file=")
    ]
    assert option_files
    assert not any(os.path.exists(name) for name in option_files)  # deleted afterwards


def test_the_defaults_file_is_private_and_removed(mysql_url: str, add_password: Any):
    url = parse_url(add_password(mysql_url, "a\nb"))
    with defaults_file(url) as name:
        path = Path(name)
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert 'password="a\\nb"' in path.read_text()
    assert not path.exists()


def test_missing_mysqldump_says_what_to_install(
    mysql_url: str, store: BackupStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))

    with pytest.raises(BackupError, match="mariadb-dump is not installed") as caught:
        create_backup(parse_url(mysql_url), store, schema_version=1, trigger=None)

    assert "apt install mariadb-client" in (caught.value.hint or "")
    assert list(store.folder.iterdir()) == []
