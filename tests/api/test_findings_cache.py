"""The findings cache (lamina.findings_cache): a hit skips the parse, and never hides a change.

Every test reads what a real run reports; the cache folder is the test's own.
"""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from lamina import Lamina
from support.processes import lamina_env
from support.servers import admin_address

ITEMS = {
    "001_items.sql": "-- migrate:up\nCREATE TABLE items (id INTEGER, v INTEGER);\n"
    "-- migrate:down\nDROP TABLE items;\n",
}
DROP_V = {
    "002_drop_v.sql": "-- migrate:up\nALTER TABLE items DROP COLUMN v;\n"
    "-- migrate:down\nALTER TABLE items ADD COLUMN v INTEGER;\n",
}


@pytest.fixture
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("LAMINA_CACHE_DIR", str(folder))
    return folder


def _reports(result) -> list[dict[str, object]]:
    return [p.risk.to_dict() for p in result.previews]


def test_a_second_dry_run_reports_exactly_what_the_first_did(
    make_migrations, settings_for, cache_dir
) -> None:
    make_migrations({**ITEMS, **DROP_V})
    first = Lamina(settings_for()).up(dry_run=True)
    [cache_file] = cache_dir.glob("risk-*.json")
    assert len(json.loads(cache_file.read_text())["entries"]) == 2
    second = Lamina(settings_for()).up(dry_run=True)
    assert _reports(second) == _reports(first)


def test_a_hit_does_not_parse_the_statements_again(
    engine, make_migrations, db_url, tmp_path, cache_dir
) -> None:
    folder = make_migrations({**ITEMS, **DROP_V})
    script = (
        "import sys, lamina\n"
        "result = lamina.Lamina(lamina.load_settings()).up(dry_run=True)\n"
        "print(len(result.previews), 'sqlglot' in sys.modules)\n"
    )
    with _database_of_its_own(engine, db_url) as url:
        env = lamina_env(url, folder, LAMINA_CACHE_DIR=str(cache_dir))

        def run() -> str:
            done = subprocess.run(
                [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
            )
            return done.stdout.strip()

        assert run() == "2 True"  # parsed, and kept
        assert run() == "2 False"  # the same statements on the same schema: not parsed again


@contextmanager
def _database_of_its_own(engine: str, db_url: str) -> Iterator[str]:
    """PostgreSQL's facts cover every schema of the database, and the test database holds
    the schemas of every test running meanwhile: the cache rightly misses when one of them
    changes, so this test takes a database no other test writes to."""
    if engine != "postgresql":
        yield db_url
        return
    admin = admin_address("postgresql")
    name = f"lamina_cache_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(f"CREATE DATABASE {name}")
    try:
        yield admin.with_database(name)
    finally:
        with admin.connect() as conn:
            conn.execute(f"DROP DATABASE {name} WITH (FORCE)")


def test_a_changed_statement_is_analysed_again(
    make_migrations, settings_for, raw_db, cache_dir
) -> None:
    make_migrations(ITEMS)
    Lamina(settings_for()).up()
    raw_db.execute("INSERT INTO items (id, v) VALUES (1, 2)")
    make_migrations({"002_change.sql": "-- migrate:up\nCREATE VIEW w AS SELECT id FROM items;\n"})
    quiet = Lamina(settings_for()).up(dry_run=True)
    assert _reports(quiet)[0]["risk"] == "low"
    make_migrations({"002_change.sql": "-- migrate:up\nDELETE FROM items;\n"})
    loud = Lamina(settings_for()).up(dry_run=True)
    assert "delete-without-where" in str(_reports(loud))


#: Per engine: a pending migration whose findings depend on what the database says of
#: ``items``, and the change to the database that makes them different.
DEPENDS_ON_FACTS = {
    "duckdb": (DROP_V["002_drop_v.sql"], ["CREATE INDEX items_v ON items (v)"]),
    "sqlite": (
        "-- migrate:up\nALTER TABLE items ADD COLUMN w INTEGER NOT NULL;\n",
        ["INSERT INTO items (id, v) VALUES (1, 2)"],
    ),
    "postgresql": (
        "-- migrate:up\nCREATE INDEX items_v ON items (v);\n",
        ["INSERT INTO items SELECT n, n FROM generate_series(1, 5000) AS n", "ANALYZE items"],
    ),
    "mysql": (
        "-- migrate:up\nALTER TABLE items MODIFY v BIGINT;\n",
        [
            "INSERT INTO items (id, v) VALUES " + ", ".join(f"({n}, {n})" for n in range(3000)),
            "ANALYZE TABLE items",
        ],
    ),
}


def test_what_the_database_says_is_checked_before_a_hit(
    engine, make_migrations, settings_for, raw_db, cache_dir
) -> None:
    """The same statement judged again after the table got an index (DuckDB) or rows
    (SQLite, and the sizes PostgreSQL and MySQL quote): the cached report is not used."""
    migration, change = DEPENDS_ON_FACTS[engine]
    make_migrations(ITEMS)
    Lamina(settings_for()).up()
    make_migrations({"002_next.sql": migration})
    before = _reports(Lamina(settings_for()).up(dry_run=True))
    assert _reports(Lamina(settings_for()).up(dry_run=True)) == before  # a hit, the same
    for sql in change:
        if engine == "mysql" and sql.startswith("ANALYZE"):
            raw_db.query(sql)  # MySQL answers ANALYZE TABLE with a result set
        else:
            raw_db.execute(sql)
    after = _reports(Lamina(settings_for()).up(dry_run=True))
    assert after != before
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LAMINA_CACHE_DIR", str(cache_dir.parent / "fresh-cache"))
        fresh = _reports(Lamina(settings_for()).up(dry_run=True))
    assert after == fresh  # what an analysis without any cache says


def test_an_unreadable_cache_is_ignored(make_migrations, settings_for, cache_dir) -> None:
    make_migrations({**ITEMS, **DROP_V})
    fresh = _reports(Lamina(settings_for()).up(dry_run=True))
    [cache_file] = cache_dir.glob("risk-*.json")
    cache_file.write_text("{not json")
    assert _reports(Lamina(settings_for()).up(dry_run=True)) == fresh
    json.loads(cache_file.read_text())  # written again, whole


def test_a_damaged_entry_is_analysed_again(make_migrations, settings_for, cache_dir) -> None:
    make_migrations({**ITEMS, **DROP_V})
    fresh = _reports(Lamina(settings_for()).up(dry_run=True))
    [cache_file] = cache_dir.glob("risk-*.json")
    document = json.loads(cache_file.read_text())
    for entry in document["entries"].values():
        entry["findings"] = [["drop-column", "not a level"]]
    cache_file.write_text(json.dumps(document))
    assert _reports(Lamina(settings_for()).up(dry_run=True)) == fresh


def test_off_keeps_no_cache(make_migrations, settings_for, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("LAMINA_CACHE_DIR", "off")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    make_migrations(ITEMS)
    Lamina(settings_for()).up(dry_run=True)
    assert not (tmp_path / "xdg").exists()


def test_the_default_folder_is_the_users_cache(
    engine, make_migrations, settings_for, tmp_path, monkeypatch
) -> None:
    monkeypatch.delenv("LAMINA_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    make_migrations(ITEMS)
    Lamina(settings_for()).up(dry_run=True)
    dialect = {"postgresql": "postgres"}.get(engine, engine)
    assert [p.name for p in (tmp_path / "xdg" / "lamina").iterdir()] == [f"risk-{dialect}.json"]


def test_an_offline_lint_keeps_and_reuses_the_findings_too(tmp_path, cache_dir) -> None:
    """``lamina lint --dialect``: the second lint of unchanged files parses nothing."""
    folder = tmp_path / "migrations"
    folder.mkdir()
    for name, text in {**ITEMS, **DROP_V}.items():
        (folder / name).write_text(text)
    script = (
        "import sys, lamina\n"
        "result = lamina.Lamina(lamina.load_settings()).lint(dialect='postgresql')\n"
        "print(len(result.entries), result.to_document()['ok'], 'sqlglot' in sys.modules)\n"
    )
    env = lamina_env(f"sqlite:///{tmp_path / 'unused.db'}", folder, LAMINA_CACHE_DIR=str(cache_dir))

    def run() -> str:
        done = subprocess.run(
            [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
        )
        return done.stdout.strip()

    assert run() == "2 False True"  # the drop of column v is danger: not ok
    assert run() == "2 False False"
