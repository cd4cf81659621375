"""PostgreSQL specifics: the schema is replaced in one transaction, or not at all."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest

from lamina.backup import BackupError, BackupStore, create_backup, restore_backup
from lamina.urls import parse_url

pytestmark = pytest.mark.server


def _schema_of(url: str) -> str:
    schema = parse_url(url).option("schema")
    assert schema is not None
    return schema


@pytest.fixture
def other_schema(postgresql_url: str, raw_database: Any) -> Iterator[str]:
    """A second schema next to the test's, dropped afterwards."""
    raw = raw_database(postgresql_url)
    name = f"{_schema_of(postgresql_url)}_other"
    raw.execute(f'CREATE SCHEMA "{name}"')
    try:
        yield name
    finally:
        raw.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')


def test_the_password_never_reaches_the_manifest_or_a_command_line(
    postgresql_url: str, sample_for: Any, store: BackupStore, add_password: Any, argv_spy: Any
):
    password = "s3cr3t-Pa55:@/?"  # trust auth accepts any password
    url = parse_url(add_password(postgresql_url, password))
    assert url.password == password
    sample = sample_for(postgresql_url)
    sample.seed()

    record = create_backup(url, store, schema_version=1, trigger="manual")
    sample.mutate()
    restore_backup(url, store, record.id)

    for path in store.folder.iterdir():
        assert password.encode() not in path.read_bytes()
    manifest = json.loads((store.folder / f"{record.id}.json").read_text())
    assert ":***@" in manifest["database"]
    assert password not in repr(record)
    assert argv_spy.argvs  # pg_dump, pg_restore and psql ran...
    assert not any(password in arg for argv in argv_spy.argvs for arg in argv)  # ...blind
    assert "doomed" in sample.snapshot()


def test_missing_pg_dump_says_what_to_install(
    postgresql_url: str, store: BackupStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))

    with pytest.raises(BackupError) as caught:
        create_backup(parse_url(postgresql_url), store, schema_version=1, trigger=None)

    assert caught.value.message.startswith("pg_dump is not installed")
    assert "apt install postgresql-client" in (caught.value.hint or "")
    assert list(store.folder.iterdir()) == []


def test_missing_pg_restore_refuses_before_touching_anything(
    postgresql_url: str,
    sample_for: Any,
    store: BackupStore,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
):
    sample = sample_for(postgresql_url)
    sample.seed()
    url = parse_url(postgresql_url)
    record = create_backup(url, store, schema_version=1, trigger="manual")
    sample.mutate()
    changed = sample.snapshot()
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))

    with pytest.raises(BackupError, match="pg_restore is not installed") as caught:
        restore_backup(url, store, record.id)

    assert "postgresql-client" in (caught.value.hint or "")
    assert sample.snapshot() == changed


def test_a_restore_that_fails_half_way_leaves_the_schema_as_it_was(
    postgresql_url: str, sample_for: Any, store: BackupStore, other_schema: str
):
    """The dump's foreign key can no longer be satisfied: the restore fails after it dropped
    and re-created tables, inside its transaction, so all of that rolls back."""
    sample = sample_for(postgresql_url)
    sample.seed()
    raw = sample.db
    raw.execute(f'CREATE TABLE "{other_schema}".ref (id INTEGER PRIMARY KEY)')
    raw.execute(f'INSERT INTO "{other_schema}".ref VALUES (1), (2)')
    raw.execute(
        "CREATE TABLE child (id INTEGER PRIMARY KEY, "
        f'ref_id INTEGER REFERENCES "{other_schema}".ref)'
    )
    raw.execute("INSERT INTO child VALUES (10, 2)")
    url = parse_url(postgresql_url)
    record = create_backup(url, store, schema_version=1, trigger="manual")
    sample.mutate()
    raw.execute("DELETE FROM child")
    raw.execute(f'DELETE FROM "{other_schema}".ref WHERE id = 2')  # the backup's child needs it
    changed = sample.snapshot()

    with pytest.raises(BackupError) as caught:
        restore_backup(url, store, record.id)

    assert "left as it was" in caught.value.message
    assert "foreign key" in caught.value.message
    assert sample.snapshot() == changed  # extra still there, doomed still gone, rows as changed


def test_objects_elsewhere_that_depend_on_the_schema_refuse_the_restore(
    postgresql_url: str, sample_for: Any, store: BackupStore, other_schema: str
):
    sample = sample_for(postgresql_url)
    sample.seed()
    schema = _schema_of(postgresql_url)
    url = parse_url(postgresql_url)
    record = create_backup(url, store, schema_version=1, trigger="manual")
    sample.mutate()
    sample.db.execute(f'CREATE VIEW "{other_schema}".report AS SELECT id FROM "{schema}".people')
    changed = sample.snapshot()

    with pytest.raises(BackupError, match="depend on it") as caught:
        restore_backup(url, store, record.id)

    assert f"{other_schema}.report" in caught.value.message
    assert sample.snapshot() == changed


def test_a_backup_of_another_schema_is_refused(
    postgresql_url: str, sample_for: Any, store: BackupStore, other_schema: str
):
    sample = sample_for(postgresql_url)
    sample.seed()
    record = create_backup(parse_url(postgresql_url), store, schema_version=1, trigger="manual")
    parts = urlsplit(postgresql_url)
    elsewhere = parse_url(urlunsplit(parts._replace(query=f"schema={other_schema}")))

    with pytest.raises(BackupError, match=f"holds schema {_schema_of(postgresql_url)}"):
        restore_backup(elsewhere, store, record.id, allow_other_database=True)


@pytest.fixture
def fresh_database(postgresql_url: str, raw_database: Any) -> Iterator[str]:
    """The URL of a new, empty database (no ?schema=: lamina works in public)."""
    parts = urlsplit(postgresql_url)
    admin = raw_database(urlunsplit(parts._replace(path="/postgres", query="")))
    name = f"lamina_bk_{uuid.uuid4().hex[:10]}"
    admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urlunsplit(parts._replace(path=f"/{name}", query=""))
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_without_a_schema_the_public_schema_round_trips(
    fresh_database: str, sample_for: Any, store: BackupStore
):
    sample = sample_for(fresh_database)
    sample.seed()
    sample.db.execute("COMMENT ON TABLE people IS 'kept'")
    before = sample.snapshot()
    url = parse_url(fresh_database)

    record = create_backup(url, store, schema_version=1, trigger="manual")
    sample.mutate()
    restore_backup(url, store, record.id)

    assert record.schema == "public"
    assert sample.snapshot() == before
    assert sample.db.query("SELECT obj_description('public.people'::regclass)") == [("kept",)]
