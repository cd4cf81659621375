"""Drift's short cut: an engine's fingerprint of its raw catalog, recorded with the snapshot,
lets a later check that finds it unchanged skip reading the schema (SQLite: sqlite_master)."""

from __future__ import annotations

import pytest

from lamina import Lamina
from support.texts import USERS


def _meta(raw_db, name: str) -> str:
    mark = raw_db.placeholder
    rows = raw_db.query(f"SELECT value FROM lamina_meta WHERE name = {mark}", (name,))
    return str(rows[0][0]) if rows and rows[0][0] is not None else ""


def _set_meta(raw_db, name: str, value: str) -> None:
    mark = raw_db.placeholder
    raw_db.execute(f"UPDATE lamina_meta SET value = {mark} WHERE name = {mark}", (value, name))


def test_a_run_records_a_fingerprint_where_the_engine_has_one(
    engine, make_migrations, settings_for, raw_db
) -> None:
    make_migrations({"001_users.sql": USERS})
    Lamina(settings_for()).up()
    recorded = _meta(raw_db, "schema_fingerprint")
    if engine == "mysql":
        assert recorded == ""  # no fingerprint: drift reads the schema every time
    else:
        kind = "sqlite-master" if engine == "sqlite" else f"{engine}-catalog"
        assert recorded.startswith(f"{kind}:") and len(recorded) > len(kind) + 60


@pytest.mark.parametrize("engine", ["duckdb", "sqlite", "postgresql"], indirect=True)
def test_an_unchanged_catalog_is_no_drift_without_reading_the_schema(
    engine, make_migrations, settings_for, raw_db
) -> None:
    make_migrations({"001_users.sql": USERS})
    lamina = Lamina(settings_for())
    lamina.up()
    # Damage the recorded snapshot: a check that read the schema would have nothing to
    # compare it with (drift unknown, None); the fingerprint says nothing changed.
    _set_meta(raw_db, "schema_snapshot", "not json")
    _set_meta(raw_db, "schema_digest", "sha256:" + "0" * 64)
    assert lamina.drift() == []
    _set_meta(raw_db, "schema_fingerprint", "")
    assert lamina.drift() is None  # without it the damage shows


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_a_changed_catalog_falls_back_to_the_snapshot(
    engine, make_migrations, settings_for, raw_db
) -> None:
    make_migrations({"001_users.sql": USERS})
    lamina = Lamina(settings_for())
    lamina.up()
    # The same table written another way: a new sqlite_master text, the same schema.
    raw_db.execute("ALTER TABLE users RENAME TO users_old")
    raw_db.execute("CREATE TABLE users (id  INTEGER  PRIMARY KEY,\n email VARCHAR(200))")
    raw_db.execute("DROP TABLE users_old")
    assert lamina.drift() == []
    raw_db.execute("ALTER TABLE users ADD COLUMN nickname VARCHAR(40)")
    assert [str(d) for d in lamina.drift() or ()] == [
        "added column users.nickname (varchar(40), nullable)"
    ]


@pytest.mark.parametrize("engine", ["duckdb", "postgresql"], indirect=True)
def test_the_fingerprint_reads_everything_the_catalog_reader_reads(
    engine, make_migrations, settings_for
) -> None:
    """A query added to the reader but not to the fingerprint would let a change it sees go
    unnoticed: every statement the reader runs for the target, the fingerprint runs too."""
    from lamina.engines import ENGINES, load, open_backend

    make_migrations({"001_users.sql": USERS})
    settings = settings_for()
    Lamina(settings).up()
    spec = ENGINES[engine]
    read, fingerprint = load(spec.catalog), load(str(spec.fingerprint))
    with open_backend(settings.database_url, read_only=True) as backend:
        backend.connect(5)
        seen: list[str] = []
        query = backend.query

        def recording(sql: str, params: object = ()) -> object:
            seen.append(sql)
            return query(sql, params)  # type: ignore[arg-type]

        backend.query = recording  # type: ignore[method-assign]
        read(backend, False)
        by_reader = set(seen)
        seen.clear()
        fingerprint(backend)
        assert len(by_reader) > 5 and by_reader <= set(seen)
