"""lamina's pytest plugin, run the way users run it: pytest in a project of their own."""

from __future__ import annotations

import os

import pytest

pytest_plugins = ["pytester"]

USERS = (
    "-- migrate:up\nCREATE TABLE users (id INTEGER PRIMARY KEY, email VARCHAR(200));\n"
    "-- migrate:down\nDROP TABLE users;\n"
)
PHONE = (
    "-- migrate:up\nALTER TABLE users ADD COLUMN phone VARCHAR(20);\n"
    "-- migrate:down\nALTER TABLE users DROP COLUMN phone;\n"
)
TESTS = """
from lamina.testing import test_migrations_match_expected_schema, test_migrations_round_trip
from lamina.engines import open_backend


def test_a_fixture_gives_a_migrated_database(migrated_database):
    with open_backend(migrated_database.database_url) as backend:
        backend.connect(5)
        assert backend.table_exists("users")
"""


@pytest.fixture
def project(pytester: pytest.Pytester):
    pytester.makeini("[pytest]\nlamina_engines =\n    duckdb\n    sqlite\n")
    migrations = pytester.mkdir("migrations")
    (migrations / "001_users.sql").write_text(USERS)
    (migrations / "002_phone.sql").write_text(PHONE)
    pytester.makepyfile(test_migrations=TESTS)
    return pytester


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    # A subprocess, as users run it: the plugin is found through its entry point.
    os.environ.pop("PYTEST_ADDOPTS", None)
    return pytester.runpytest_subprocess("-p", "no:cacheprovider", *args)


def test_the_ready_made_tests_pass_on_good_migrations(project: pytest.Pytester) -> None:
    first = run(project)
    # No expected schema yet: that test says how to create it.
    first.assert_outcomes(passed=4, failed=2)
    first.stdout.fnmatch_lines(["*no expected schema at*--lamina-update-schema*"])
    run(project, "--lamina-update-schema").assert_outcomes(passed=6)
    assert (project.path / "tests" / "lamina-schema.duckdb.json").is_file()
    run(project).assert_outcomes(passed=6)


def test_a_broken_down_fails_the_round_trip_test(project: pytest.Pytester) -> None:
    (project.path / "migrations" / "002_phone.sql").write_text(
        PHONE.replace("ALTER TABLE users DROP COLUMN phone;", "SELECT 1;")
    )
    result = run(project, "-k", "round_trip")
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(["*002_phone: not-reversible: down leaves column users.phone*"])


def test_an_unexpected_schema_change_fails_the_expected_schema_test(
    project: pytest.Pytester,
) -> None:
    run(project, "--lamina-update-schema").assert_outcomes(passed=6)
    (project.path / "migrations" / "003_fax.sql").write_text(
        "-- migrate:up\nALTER TABLE users ADD COLUMN fax VARCHAR(20);\n"
        "-- migrate:down\nALTER TABLE users DROP COLUMN fax;\n"
    )
    result = run(project, "-k", "expected_schema")
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(["*added column users.fax*"])


def test_server_engines_get_a_scratch_schema(pytester: pytest.Pytester, postgresql_url: str):
    server = postgresql_url.split("?", 1)[0]  # the test database, without our own schema
    pytester.makeini(f"[pytest]\nlamina_engines =\n    {server}\n")
    migrations = pytester.mkdir("migrations")
    (migrations / "001_users.sql").write_text(USERS)
    pytester.makepyfile(test_migrations=TESTS)
    result = run(pytester, "-k", "round_trip or fixture", "-v")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*[[]postgresql[]] PASSED*"])
    assert "postgres@" not in result.stdout.str()  # ids name the engine, not the URL
