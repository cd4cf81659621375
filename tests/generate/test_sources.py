"""Where the desired schema comes from (a SQL file or folder, SQLAlchemy metadata, a live
database), and `lamina check-schema`, the CI gate built on them; on every engine."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from lamina.config import Settings
from lamina.errors import ConfigError, UsageError
from lamina.generate import check_schema
from lamina.generate.sources import parse_source
from support.generating import POSTS_SQL, USERS_MIGRATION, USERS_SQL, Run, write

pytest_plugins = ["pytester"]


def test_check_schema_passes_when_the_migrations_build_the_schema_file(
    run: Run, tmp_path: Path
) -> None:
    write(tmp_path / "migrations" / "001_users.sql", USERS_MIGRATION)
    write(tmp_path / "schema.sql", USERS_SQL + ";\n")
    result = run("check-schema", "--from", "schema.sql")
    assert result.exit_code == 0, result.output
    assert "build the schema of schema.sql" in result.output


def test_check_schema_fails_listing_what_the_migrations_lack(run: Run, tmp_path: Path) -> None:
    write(tmp_path / "migrations" / "001_users.sql", USERS_MIGRATION)
    write(tmp_path / "schema.sql", f"{USERS_SQL};\n{POSTS_SQL};\n")
    result = run("check-schema", "--from", "schema.sql")
    assert result.exit_code == 1, result.output
    assert "missing table posts" in result.output
    as_json = run("check-schema", "--from", "schema.sql", "--json")
    assert as_json.exit_code == 1
    document = json.loads(as_json.output)
    assert document["ok"] is False
    assert document["source_kind"] == "sql"
    assert [(d["kind"], d["object"]) for d in document["differences"]] == [
        ("missing", "table posts")
    ]


def test_a_folder_runs_its_sql_files_in_name_order(run: Run, tmp_path: Path) -> None:
    """posts references users: in any other order the folder would fail to build."""
    write(tmp_path / "migrations" / "001_users.sql", USERS_MIGRATION)
    write(tmp_path / "schema" / "02_posts.sql", POSTS_SQL + ";\n")
    write(tmp_path / "schema" / "01_users.sql", USERS_SQL + ";\n")
    write(tmp_path / "schema" / "notes.txt", "not SQL: left alone\n")
    document = json.loads(run("check-schema", "--from", "schema", "--json").output)
    assert [d["object"] for d in document["differences"]] == ["table posts"]


def test_a_failing_statement_is_named_by_file_and_line(
    settings_for: Callable[..., Settings], tmp_path: Path
) -> None:
    write(tmp_path / "schema.sql", f"{USERS_SQL};\n\nCREATE TABLE broken (id NOSUCHTYPE(;\n")
    with pytest.raises(ConfigError) as caught:
        check_schema(settings_for(), str(tmp_path / "schema.sql"))
    assert "schema.sql, line 3" in caught.value.message
    assert "CREATE TABLE broken" in caught.value.message


def test_an_unknown_source_is_a_usage_error(run: Run) -> None:
    result = run("check-schema", "--from", "nowhere.sql")
    assert result.exit_code == 2, result.output
    assert "nowhere.sql" in result.output
    assert "not an existing file or folder" in result.output


def test_sources_are_told_apart(tmp_path: Path) -> None:
    (tmp_path / "schema.sql").write_text(USERS_SQL, encoding="utf-8")
    assert parse_source("schema.sql", tmp_path).kind == "sql"
    assert parse_source("app.models:Base", tmp_path).kind == "sqlalchemy"
    live = parse_source("postgresql://me:secret@db/app", tmp_path)
    assert live.kind == "database"
    assert "secret" not in live.text


def test_a_live_database_of_the_same_engine_is_read_directly(
    run: Run,
    tmp_path: Path,
    engine: str,
    db_url: str,
    server_database: Callable[[str], Any],
    raw_database: Any,
) -> None:
    write(tmp_path / "migrations" / "001_users.sql", USERS_MIGRATION)
    with _other_database(engine, tmp_path, server_database) as live_url:
        raw = raw_database(live_url)
        if raw.schema:  # PostgreSQL: the place is a schema, not created yet
            raw.execute(f'CREATE SCHEMA "{raw.schema}"')
        raw.execute(USERS_SQL)
        assert run("check-schema", "--from", live_url).exit_code == 0
        raw.execute(POSTS_SQL)
        result = run("check-schema", "--from", live_url)
        assert result.exit_code == 1, result.output
        assert "missing table posts" in result.output


def test_a_live_database_of_another_engine_is_refused(run: Run, engine: str) -> None:
    other = "sqlite:///other.sqlite3" if engine != "sqlite" else "duckdb:///other.duckdb"
    result = run("check-schema", "--from", other)
    assert result.exit_code == 2, result.output
    assert "the target is" in result.output


MODELS = """\
from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"
    # duckdb_engine spells an autoincrement key SERIAL, which DuckDB lacks
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    email: Mapped[str] = mapped_column(String(200))
"""


def test_sqlalchemy_metadata_is_built_on_a_scratch_database(
    run: Run, tmp_path: Path, engine: str
) -> None:
    """``module:Base`` and ``module:Base.metadata`` both work, imported from the current
    folder; the migrations must build what create_all builds (SQLAlchemy's own spelling)."""
    module = f"models_{uuid.uuid4().hex[:8]}"
    write(tmp_path / f"{module}.py", MODELS)
    write(tmp_path / "migrations" / "001_users.sql", USERS_MIGRATION)
    result = run("check-schema", "--from", f"{module}:Base", "--json")
    document = json.loads(result.output)
    assert document["source_kind"] == "sqlalchemy"
    objects = {d["object"] for d in document["differences"]}
    assert "table users" not in objects  # the table itself is there: only details may differ
    again = json.loads(run("check-schema", "--from", f"{module}:Base.metadata", "--json").output)
    assert again["differences"] == document["differences"]


def test_sqlalchemy_source_errors_name_the_source(run: Run, tmp_path: Path) -> None:
    module = f"models_{uuid.uuid4().hex[:8]}"
    write(tmp_path / f"{module}.py", "import no_such_module_here\n")
    result = run("check-schema", "--from", f"{module}:Base")
    assert result.exit_code == 1
    assert f"importing {module}" in result.output
    assert "no_such_module_here" in result.output


@pytest.mark.parametrize("engine", ["duckdb", "sqlite"])  # a file to compare byte for byte
def test_check_schema_never_touches_a_file_target(
    run: Run, tmp_path: Path, engine: str, db_url: str
) -> None:
    write(tmp_path / "migrations" / "001_users.sql", USERS_MIGRATION)
    assert run("up").exit_code == 0
    write(tmp_path / "schema.sql", f"{USERS_SQL};\n{POSTS_SQL};\n")
    target = Path(db_url.partition(":///")[2])
    before = target.read_bytes()
    siblings = sorted(p.name for p in target.parent.iterdir())
    assert run("check-schema", "--from", "schema.sql").exit_code == 1
    assert run("check-schema", "--from", f"{engine}:///{target}").exit_code == 0
    assert target.read_bytes() == before
    assert sorted(p.name for p in target.parent.iterdir()) == siblings


def test_check_schema_in_python_reports_no_difference_for_equal_schemas(
    settings_for: Callable[..., Settings], tmp_path: Path
) -> None:
    write(tmp_path / "migrations" / "001_users.sql", USERS_MIGRATION)
    write(tmp_path / "schema.sql", USERS_SQL + ";\n")
    result = check_schema(settings_for(), "schema.sql", cwd=tmp_path)
    assert result.ok
    assert result.differences == ()
    assert result.to_document()["ok"] is True


def test_an_empty_folder_of_migrations_builds_nothing(
    settings_for: Callable[..., Settings], tmp_path: Path
) -> None:
    """No migrations folder yet: the current schema is empty, everything is missing."""
    write(tmp_path / "schema.sql", USERS_SQL + ";\n")
    result = check_schema(settings_for(), "schema.sql", cwd=tmp_path)
    assert [(d.kind, d.object) for d in result.differences] == [("missing", "table users")]
    with pytest.raises(UsageError):
        check_schema(settings_for(), "schema.txt", cwd=tmp_path)


class _other_database:
    """A second, separate database of ``engine`` (a file beside the target, or another
    place on the test server), dropped afterwards."""

    def __init__(self, engine: str, folder: Path, server_database: Callable[[str], Any]) -> None:
        self.engine, self.folder, self.server_database = engine, folder, server_database
        self._place: Any = None

    def __enter__(self) -> str:
        if self.engine in ("duckdb", "sqlite"):
            suffix = "duckdb" if self.engine == "duckdb" else "sqlite3"
            return f"{self.engine}:///{self.folder / f'live.{suffix}'}"
        self._place = self.server_database(self.engine)
        return str(self._place.__enter__())

    def __exit__(self, *exc: object) -> None:
        if self._place is not None:
            self._place.__exit__(*exc)


PLUGIN_TEST = """
def test_the_migrations_build_the_schema(lamina_check_schema):
    lamina_check_schema("schema.sql")
"""


def test_the_pytest_plugin_offers_check_schema(pytester: pytest.Pytester) -> None:
    """The fixture passes when the migrations build schema.sql, and fails naming what they
    lack once the schema grows (a forgotten `lamina generate`), on each configured engine."""
    import os

    pytester.makeini("[pytest]\nlamina_engines =\n    duckdb\n    sqlite\n")
    (pytester.mkdir("migrations") / "001_users.sql").write_text(USERS_MIGRATION)
    (pytester.path / "schema.sql").write_text(USERS_SQL + ";\n")
    pytester.makepyfile(test_schema=PLUGIN_TEST)
    os.environ.pop("PYTEST_ADDOPTS", None)
    pytester.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=2)
    (pytester.path / "schema.sql").write_text(f"{USERS_SQL};\n{POSTS_SQL};\n")
    failed = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    failed.assert_outcomes(failed=2)
    failed.stdout.fnmatch_lines(["*missing table posts*"])
