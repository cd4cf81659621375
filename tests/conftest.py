"""Shared fixtures: real database files in tmp dirs, parametrised over every embedded engine."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from lamina.config import Settings, load_settings

EMBEDDED_ENGINES = ("duckdb", "sqlite")


def url_for(engine: str, directory: Path) -> str:
    """A database URL for a fresh file of ``engine`` inside ``directory``."""
    suffix = {"duckdb": "duckdb", "sqlite": "sqlite3"}[engine]
    return f"{engine}:///{directory / f'test.{suffix}'}"


@pytest.fixture(params=EMBEDDED_ENGINES)
def engine(request: pytest.FixtureRequest) -> str:
    """The engine under test; every test that takes it runs once per embedded engine."""
    return str(request.param)


@pytest.fixture
def db_url(engine: str, tmp_path: Path) -> str:
    """URL of a fresh, not yet created database file for ``engine``."""
    return url_for(engine, tmp_path)


MakeMigrations = Callable[[dict[str, str]], Path]


@pytest.fixture
def make_migrations(tmp_path: Path) -> MakeMigrations:
    """Write ``{filename: content}`` into ``tmp_path/migrations`` (dedented) and return the folder.

    Calling it again adds or overwrites files in the same folder.
    """
    folder = tmp_path / "migrations"

    def make(files: dict[str, str]) -> Path:
        folder.mkdir(exist_ok=True)
        for name, content in files.items():
            (folder / name).write_text(textwrap.dedent(content).lstrip("\n"), encoding="utf-8")
        return folder

    return make


@pytest.fixture
def settings_for(tmp_path: Path, db_url: str) -> Callable[..., Settings]:
    """Settings for ``db_url`` and ``tmp_path/migrations``, ignoring the real environment."""

    def make(**overrides: object) -> Settings:
        values: dict[str, object] = {
            "database_url": db_url,
            "migrations_dir": str(tmp_path / "migrations"),
            "lock_timeout_s": 5,
        }
        values.update(overrides)
        return load_settings(values, environ={}, cwd=tmp_path)

    return make


class RawDatabase:
    """Reads a test database through the raw driver, independently of lamina's backends."""

    def __init__(self, url: str) -> None:
        self.engine, _, path = url.partition(":///")
        self.path = path

    def query(self, sql: str) -> list[tuple[object, ...]]:
        if self.engine == "duckdb":
            import duckdb

            con = duckdb.connect(self.path, read_only=True)
        else:
            import sqlite3

            con = sqlite3.connect(self.path)  # type: ignore[assignment]
        try:
            return [tuple(row) for row in con.execute(sql).fetchall()]
        finally:
            con.close()

    def tables(self) -> set[str]:
        if not Path(self.path).exists():
            return set()
        if self.engine == "duckdb":
            sql = "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'"
        else:
            sql = "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        return {str(row[0]) for row in self.query(sql)}

    def applied_ids(self) -> list[str]:
        return [str(r[0]) for r in self.query("SELECT id FROM lamina_migrations ORDER BY version")]

    def columns(self, table: str) -> set[str]:
        if self.engine == "duckdb":
            sql = f"SELECT column_name FROM information_schema.columns WHERE table_name = '{table}'"
        else:
            sql = f"SELECT name FROM pragma_table_info('{table}')"
        return {str(row[0]) for row in self.query(sql)}


@pytest.fixture
def raw_db(db_url: str) -> RawDatabase:
    return RawDatabase(db_url)
