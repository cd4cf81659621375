"""``migration_sql`` beyond the corpus: nothing to do, renames given and renames guessed."""

from __future__ import annotations

from pathlib import Path

from test_round_trip import Places, _database, apply, build, schema_of  # type: ignore[import-not-found]

from lamina.engines import ENGINES
from lamina.schema import diff
from lamina.schema.changes import migration_sql

BEFORE = ("CREATE TABLE users (id INTEGER PRIMARY KEY, email VARCHAR(100), score INTEGER)",)
AFTER = ("CREATE TABLE members (id INTEGER PRIMARY KEY, mail VARCHAR(100), score INTEGER)",)


def test_identical_schemas_give_nothing_to_do(
    engine: str, server_database: Places, tmp_path: Path
) -> None:
    with (
        _database(engine, server_database, tmp_path, "one") as one,
        _database(engine, server_database, tmp_path, "two") as two,
    ):
        generated = migration_sql(
            build(one, BEFORE), build(two, BEFORE), dialect=ENGINES[engine].dialect
        )
    assert generated.empty and generated.notes == ()


def test_a_given_rename_keeps_the_rows(
    engine: str, server_database: Places, tmp_path: Path
) -> None:
    renames = {"users": "members", "users.email": "members.mail"}
    with (
        _database(engine, server_database, tmp_path, "one") as work,
        _database(engine, server_database, tmp_path, "two") as target,
    ):
        before, after = build(work, BEFORE), build(target, AFTER)
        work.execute("INSERT INTO users (id, email, score) VALUES (7, 'a@b.c', 3)")
        generated = migration_sql(before, after, dialect=ENGINES[engine].dialect, renames=renames)
        apply(work, generated.up)
        assert diff(after, schema_of(work)) == []
        assert work.query("SELECT id, mail, score FROM members") == [(7, "a@b.c", 3)]
        apply(work, generated.down)
        assert diff(before, schema_of(work)) == []
        assert work.query("SELECT id, email, score FROM users") == [(7, "a@b.c", 3)]
    assert not any(s == "DROP TABLE users" for s in generated.up if engine != "duckdb")


def test_a_likely_rename_is_a_note_not_a_guess(
    engine: str, server_database: Places, tmp_path: Path
) -> None:
    with (
        _database(engine, server_database, tmp_path, "one") as one,
        _database(engine, server_database, tmp_path, "two") as two,
    ):
        generated = migration_sql(
            build(one, BEFORE), build(two, AFTER), dialect=ENGINES[engine].dialect
        )
    assert "DROP TABLE users" in generated.up
    assert any("--rename users:members" in note for note in generated.notes)


def test_a_likely_column_rename_is_a_note(
    engine: str, server_database: Places, tmp_path: Path
) -> None:
    renamed = (BEFORE[0].replace("email", "mail"),)
    with (
        _database(engine, server_database, tmp_path, "one") as one,
        _database(engine, server_database, tmp_path, "two") as two,
    ):
        generated = migration_sql(
            build(one, BEFORE), build(two, renamed), dialect=ENGINES[engine].dialect
        )
    assert any("--rename users.email:users.mail" in note for note in generated.notes)


def test_renaming_a_table_with_a_serial_key_renames_its_sequence(
    server_database: Places, tmp_path: Path
) -> None:
    """PostgreSQL keeps a serial column's sequence name when its table is renamed; the
    generated migration renames the sequence, so the default names the new table's."""
    before = ("CREATE TABLE tags (id serial PRIMARY KEY, label VARCHAR(20))",)
    after = ("CREATE TABLE labels (id serial PRIMARY KEY, label VARCHAR(20))",)
    with (
        _database("postgresql", server_database, tmp_path, "one") as work,
        _database("postgresql", server_database, tmp_path, "two") as target,
    ):
        old, new = build(work, before), build(target, after)
        work.execute("INSERT INTO tags (label) VALUES ('red')")
        generated = migration_sql(old, new, dialect="postgres", renames={"tags": "labels"})
        assert "ALTER SEQUENCE tags_id_seq RENAME TO labels_id_seq" in generated.up
        apply(work, generated.up)
        assert diff(new, schema_of(work)) == []
        work.execute("INSERT INTO labels (label) VALUES ('blue')")
        assert work.query("SELECT id, label FROM labels ORDER BY id") == [(1, "red"), (2, "blue")]
        apply(work, generated.down)
        assert diff(old, schema_of(work)) == []
