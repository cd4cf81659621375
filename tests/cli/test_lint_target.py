"""``lamina lint`` without a database (``--dialect``), with an unreachable one, and with the
live facts of a real one; and every finding's one-line reason in its human output."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner, Result

from lamina.cli import cli
from support.cli import cleared, invoke_on

# An index built on an existing table: PostgreSQL-only rule, so the dialect decides the output.
INDEX = """\
-- migrate:up
CREATE INDEX users_email ON users (email);
-- migrate:down
DROP INDEX users_email;
"""
UNREACHABLE_PG = "postgresql://postgres:s3cret@127.0.0.1:1/nowhere"


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    migrations = tmp_path / "migrations"
    migrations.mkdir()
    (migrations / "001_index.sql").write_text(INDEX, encoding="utf-8")
    return migrations


def lint(folder: Path, *args: str, url: str | None = None) -> Result:
    env = cleared(LAMINA_MIGRATIONS_DIR=str(folder), DATABASE_URL=url)
    return CliRunner().invoke(cli, ["lint", *args], env=env, catch_exceptions=False)


def rules_in(document: dict[str, object]) -> list[str]:
    migrations = document["migrations"]
    assert isinstance(migrations, list)
    return [f["rule"] for m in migrations for f in m["up"]["findings"]]


def test_dialect_lints_offline_even_when_the_configured_server_is_down(folder: Path) -> None:
    result = lint(folder, "--dialect", "postgresql", "--json", url=UNREACHABLE_PG)
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    assert document["dialect"] == "postgres"
    assert document["live_facts"] is False
    assert "offline" in document["note"]
    assert rules_in(document) == ["create-index-not-concurrently"]


def test_the_same_file_as_another_dialect_has_other_findings(folder: Path) -> None:
    document = json.loads(lint(folder, "--dialect", "sqlite", "--json").output)
    assert document["dialect"] == "sqlite"
    assert "create-index-not-concurrently" not in rules_in(document)


def test_without_url_or_dialect_lint_says_which_dialect_it_assumed(folder: Path) -> None:
    result = lint(folder)
    assert result.exit_code == 0, result.output
    assert "no database URL or --dialect given: linted as DuckDB SQL" in result.output


def test_an_unreachable_database_is_linted_without_its_facts(folder: Path) -> None:
    result = lint(folder, "--json", url=UNREACHABLE_PG)
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    assert document["live_facts"] is False
    assert "could not read the database" in document["note"]
    assert "s3cret" not in result.output
    assert rules_in(document) == ["create-index-not-concurrently"]


@pytest.mark.server
def test_a_reachable_database_gives_its_version_and_live_facts(
    folder: Path, postgresql_url: str
) -> None:
    with psycopg.connect(postgresql_url.split("?", maxsplit=1)[0]) as connection:
        version = connection.execute("SHOW server_version_num").fetchone()
    assert version is not None
    result = invoke_on(postgresql_url, folder, "lint", "--json")
    document = json.loads(result.output)
    assert document["live_facts"] is True
    major = int(version[0]) // 10000
    assert str(document["server_version"]).startswith(f"{major}.")


@pytest.mark.parametrize(
    ("dialect", "expected"),
    [("mariadb", "mysql"), ("postgres", "postgres"), ("duckdb", "duckdb"), ("mysql", "mysql")],
)
def test_dialect_accepts_engine_scheme_and_flavour_names(
    folder: Path, dialect: str, expected: str
) -> None:
    document = json.loads(lint(folder, "--dialect", dialect, "--json").output)
    assert document["dialect"] == expected


def test_server_version_is_reported_and_a_malformed_one_is_a_usage_error(folder: Path) -> None:
    document = json.loads(
        lint(folder, "--dialect", "mysql", "--server-version", "8.0.36", "--json").output
    )
    assert document["server_version"] == "8.0.36"
    bad = lint(folder, "--dialect", "mysql", "--server-version", "eight")
    assert bad.exit_code == 2
    assert "--server-version" in bad.output
    unknown = lint(folder, "--dialect", "oracle")
    assert unknown.exit_code == 2
    assert "unknown dialect 'oracle'" in unknown.output


def test_each_finding_shows_why_in_one_line(folder: Path) -> None:
    result = lint(folder, "--dialect", "postgresql")
    lines = result.output.splitlines()
    finding = next(i for i, line in enumerate(lines) if "create-index-not-concurrently" in line)
    assert lines[finding + 1].strip().startswith("why: ")
    assert lines[finding + 2].strip().startswith("→ ")
