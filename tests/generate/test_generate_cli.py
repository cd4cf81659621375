"""`lamina generate`: the migration from the schema you want, on every engine; its round trip
through `lamina up` (then `check-schema` passes), the baseline of a live database, and the
target left untouched."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from support.generating import POSTS_SQL, USERS_MIGRATION, USERS_SQL, Run, write


def _migrations(tmp_path: Path) -> list[str]:
    return sorted(p.name for p in (tmp_path / "migrations").iterdir() if p.is_file())


def test_generate_writes_the_next_migration_and_up_builds_the_schema(
    run: Run, tmp_path: Path
) -> None:
    write(tmp_path / "migrations" / "001_users.sql", USERS_MIGRATION)
    write(tmp_path / "schema.sql", f"{USERS_SQL};\n{POSTS_SQL};\n")
    result = run("generate", "add posts", "--from", "schema.sql")
    assert result.exit_code == 0, result.output
    assert _migrations(tmp_path) == ["001_users.sql", "002_add_posts.sql"]
    text = (tmp_path / "migrations" / "002_add_posts.sql").read_text(encoding="utf-8")
    assert "-- name: add posts" in text
    assert "posts" in text.split("-- migrate:up")[1].split("-- migrate:down")[0]
    assert "DROP TABLE" in text.split("-- migrate:down")[1]
    assert "1 migration(s) linted" in result.output  # risk-analysed at once
    assert run("up").exit_code == 0
    checked = run("check-schema", "--from", "schema.sql")
    assert checked.exit_code == 0, checked.output
    verified = run("verify")  # its down undoes its up
    assert verified.exit_code == 0, verified.output


def test_nothing_to_do_writes_no_file(run: Run, tmp_path: Path) -> None:
    write(tmp_path / "migrations" / "001_users.sql", USERS_MIGRATION)
    write(tmp_path / "schema.sql", USERS_SQL + ";\n")
    result = run("generate", "again", "--from", "schema.sql")
    assert result.exit_code == 0, result.output
    assert "Nothing to do" in result.output
    assert _migrations(tmp_path) == ["001_users.sql"]
    document = json.loads(run("generate", "again", "--from", "schema.sql", "--json").output)
    assert document["nothing_to_do"] is True
    assert document["path"] is None


def test_dry_run_prints_the_file_and_writes_nothing(run: Run, tmp_path: Path) -> None:
    write(tmp_path / "migrations" / "001_users.sql", USERS_MIGRATION)
    write(tmp_path / "schema.sql", f"{USERS_SQL};\n{POSTS_SQL};\n")
    result = run("generate", "add posts", "--from", "schema.sql", "--dry-run")
    assert result.exit_code == 0, result.output
    assert "-- migrate:up" in result.output
    assert "002_add_posts.sql was not written" in result.output
    assert _migrations(tmp_path) == ["001_users.sql"]
    as_json = run("generate", "add posts", "--from", "schema.sql", "--dry-run", "--json")
    document = json.loads(as_json.output)
    assert document["written"] is False
    assert document["dry_run"] is True
    assert document["id"] == "002_add_posts"
    assert document["risk"]["migrations"][0]["id"] == "002_add_posts"
    assert _migrations(tmp_path) == ["001_users.sql"]


def test_rename_keeps_the_column_instead_of_drop_and_add(run: Run, tmp_path: Path) -> None:
    write(
        tmp_path / "migrations" / "001_users.sql",
        "-- migrate:up\nCREATE TABLE users (id INTEGER PRIMARY KEY, mail VARCHAR(200));\n"
        "-- migrate:down\nDROP TABLE users;\n",
    )
    write(
        tmp_path / "schema.sql",
        "CREATE TABLE users (id INTEGER PRIMARY KEY, email VARCHAR(200));\n",
    )
    guessed = json.loads(
        run("generate", "rename", "--from", "schema.sql", "--dry-run", "--json").output
    )
    assert guessed["notes"], "a likely rename without --rename must be pointed out"
    result = run(
        "generate", "rename mail", "--from", "schema.sql", "--rename", "users.mail:users.email"
    )
    assert result.exit_code == 0, result.output
    text = (tmp_path / "migrations" / "002_rename_mail.sql").read_text(encoding="utf-8")
    up = text.split("-- migrate:up")[1].split("-- migrate:down")[0]
    assert "RENAME" in up.upper()
    assert "DROP COLUMN" not in up.upper()
    assert run("up").exit_code == 0
    assert run("check-schema", "--from", "schema.sql").exit_code == 0


def test_a_malformed_rename_is_a_usage_error(run: Run, tmp_path: Path) -> None:
    write(tmp_path / "schema.sql", USERS_SQL + ";\n")
    result = run("generate", "x", "--from", "schema.sql", "--rename", "users")
    assert result.exit_code == 2
    assert "--rename" in result.output


def test_a_python_migration_runs(run: Run, tmp_path: Path) -> None:
    write(tmp_path / "migrations" / "001_users.sql", USERS_MIGRATION)
    write(tmp_path / "schema.sql", f"{USERS_SQL};\n{POSTS_SQL};\n")
    result = run("generate", "add posts", "--from", "schema.sql", "--py")
    assert result.exit_code == 0, result.output
    text = (tmp_path / "migrations" / "002_add_posts.py").read_text(encoding="utf-8")
    assert "class AddPosts(Migration):" in text
    assert "self.execute_sql(" in text
    assert run("up").exit_code == 0
    assert run("check-schema", "--from", "schema.sql").exit_code == 0
    assert run("verify").exit_code == 0


MODELS = """\
from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"
    # duckdb_engine spells an autoincrement key SERIAL, which DuckDB lacks
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    email: Mapped[str] = mapped_column(String(200), index=True)


class Post(Base):
    __tablename__ = "posts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
"""


def test_sqlalchemy_models_to_migration_to_up(run: Run, tmp_path: Path, engine: str) -> None:
    """The alembic user's path: models -> generate -> review -> up, then the gate passes."""
    module = f"models_{uuid.uuid4().hex[:8]}"
    write(tmp_path / f"{module}.py", MODELS)
    result = run("generate", "initial", "--from", f"{module}:Base")
    assert result.exit_code == 0, result.output
    assert len(_migrations(tmp_path)) == 1
    up = run("up")
    assert up.exit_code == 0, up.output
    checked = run("check-schema", "--from", f"{module}:Base")
    assert checked.exit_code == 0, checked.output
    again = run("generate", "again", "--from", f"{module}:Base.metadata")
    assert "Nothing to do" in again.output


def _hand_built(raw: Any) -> None:
    if raw.schema:  # PostgreSQL: the place is a schema, not created yet
        raw.execute(f'CREATE SCHEMA "{raw.schema}"')
    raw.execute(USERS_SQL)
    raw.execute(POSTS_SQL)
    raw.execute("INSERT INTO users (id, email) VALUES (1, 'kept@example.com')")


def test_a_live_database_becomes_a_baseline_that_up_records_without_running(
    run: Run, tmp_path: Path, db_url: str, raw_db: Any
) -> None:
    _hand_built(raw_db)
    result = run("generate", "baseline", "--from", db_url)
    assert result.exit_code == 0, result.output
    assert "baseline" in result.output
    (name,) = _migrations(tmp_path)
    assert name.endswith("_baseline.py")
    text = (tmp_path / "migrations" / name).read_text(encoding="utf-8")
    assert "apply_baseline(self, SCHEMA, STATEMENTS)" in text
    assert "def down" not in text  # rolling a baseline back would drop the whole schema
    up = run("up")
    assert up.exit_code == 0, up.output
    assert raw_db.applied_ids() == [name.removesuffix(".py")]
    assert raw_db.query("SELECT email FROM users") == [("kept@example.com",)]  # not re-created
    assert run("check-schema", "--from", db_url).exit_code == 0
    assert "Nothing to do" in run("generate", "again", "--from", db_url).output


def test_a_baseline_builds_an_empty_database_and_refuses_another_schema(
    run: Run,
    tmp_path: Path,
    engine: str,
    db_url: str,
    raw_db: Any,
    server_database: Callable[[str], Any],
    raw_database: Any,
) -> None:
    """The baseline captured from db_url, then `up` on two other databases: an empty one
    gets the schema; one with a schema of its own is refused and nothing is recorded."""
    from support.cli import invoke_on

    _hand_built(raw_db)
    assert run("generate", "baseline", "--from", db_url).exit_code == 0
    for state in ("empty", "other"):
        with _other_database(engine, tmp_path, state, server_database) as url:
            other = raw_database(url)
            if state == "other":
                if other.schema:
                    other.execute(f'CREATE SCHEMA "{other.schema}"')
                other.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, name VARCHAR(10))")
            result = invoke_on(url, tmp_path / "migrations", "up")
            if state == "empty":
                assert result.exit_code == 0, result.output
                assert {"users", "posts"} <= other.tables()
                continue
            assert result.exit_code != 0
            assert "not the baseline's" in result.output
            assert "users" in result.output
            assert other.tables() - {"lamina_migrations", "lamina_migration_log", "lamina_meta",
                                     "lamina_lock"} == {"users"}  # fmt: skip
            assert other.applied_ids() == []


def test_a_baseline_is_python_only(run: Run, db_url: str, raw_db: Any) -> None:
    _hand_built(raw_db)
    result = run("generate", "baseline", "--from", db_url, "--sql")
    assert result.exit_code == 2
    assert "a baseline is a Python migration" in result.output


@pytest.mark.parametrize("engine", ["duckdb", "sqlite"])  # a file to compare byte for byte
def test_generate_never_touches_a_file_target(
    run: Run, tmp_path: Path, engine: str, db_url: str
) -> None:
    write(tmp_path / "migrations" / "001_users.sql", USERS_MIGRATION)
    assert run("up").exit_code == 0
    write(tmp_path / "schema.sql", f"{USERS_SQL};\n{POSTS_SQL};\n")
    target = Path(db_url.partition(":///")[2])
    before = target.read_bytes()
    siblings = sorted(p.name for p in target.parent.iterdir())
    assert run("generate", "posts", "--from", "schema.sql", "--dry-run").exit_code == 0
    assert run("generate", "posts", "--from", "schema.sql").exit_code == 0
    assert run("generate", "same", "--from", f"{engine}:///{target}", "--dry-run").exit_code == 0
    assert target.read_bytes() == before
    assert sorted(p.name for p in target.parent.iterdir()) == siblings


class _other_database:
    """A separate database of ``engine``: a file beside the target, or another place on the
    test server, dropped afterwards."""

    def __init__(
        self, engine: str, folder: Path, name: str, server_database: Callable[[str], Any]
    ) -> None:
        self.engine, self.folder, self.name = engine, folder, name
        self.server_database = server_database
        self._place: Any = None

    def __enter__(self) -> str:
        if self.engine in ("duckdb", "sqlite"):
            suffix = "duckdb" if self.engine == "duckdb" else "sqlite3"
            return f"{self.engine}:///{self.folder / f'{self.name}.{suffix}'}"
        self._place = self.server_database(self.engine)
        return str(self._place.__enter__())

    def __exit__(self, *exc: object) -> None:
        if self._place is not None:
            self._place.__exit__(*exc)


def test_a_table_rename_keeps_the_rows(run: Run, tmp_path: Path, raw_db: Any) -> None:
    write(tmp_path / "migrations" / "001_users.sql", USERS_MIGRATION)
    assert run("up").exit_code == 0
    raw_db.execute("INSERT INTO users (id, email) VALUES (1, 'kept@example.com')")
    write(tmp_path / "schema.sql", USERS_SQL.replace("users", "members") + ";\n")
    result = run("generate", "rename users", "--from", "schema.sql", "--rename", "users:members")
    assert result.exit_code == 0, result.output
    assert run("up").exit_code == 0
    assert raw_db.query("SELECT email FROM members") == [("kept@example.com",)]
    assert run("check-schema", "--from", "schema.sql").exit_code == 0
