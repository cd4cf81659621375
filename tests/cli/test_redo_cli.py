"""`lamina redo` on the command line: its output, --json document, dry run and exit codes."""

from __future__ import annotations

import json
import re

import pytest

from support.texts import POSTS, USERS

# The command's own behaviour; the engines are covered by tests/api/test_redo.py.
pytestmark = pytest.mark.parametrize("engine", ["duckdb", "sqlite"])

POSTS_EDITED = """
    -- migrate:up
    CREATE TABLE posts (id INTEGER PRIMARY KEY, title VARCHAR(100));
    -- migrate:down
    DROP TABLE posts;
"""
SNAKE_CASE = re.compile(r"^[a-z][a-z0-9_]*$")


@pytest.fixture
def applied(run, make_migrations) -> None:
    make_migrations({"001_users.sql": USERS, "002_posts.sql": POSTS})
    assert run("up").exit_code == 0


def test_redo_says_what_it_did_and_names_the_edited_file(applied, run, make_migrations) -> None:
    make_migrations({"002_posts.sql": POSTS_EDITED})
    result = run("redo")
    assert result.exit_code == 0, result.output
    assert "edited since applied: 002_posts" in result.stdout
    assert "Rolled back 1 migration(s) to version 1." in result.stdout
    assert "Applied 1 migration(s)." in result.stdout
    assert "Redone: 002_posts." in result.stdout
    assert json.loads(run("status", "--json").stdout)["problems"] == []


def test_redo_json_nests_the_rollback_and_up_documents(applied, run) -> None:
    result = run("redo", "1", "--json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["schema_version"] == 1
    assert (document["dry_run"], document["redone"]) == (False, ["002_posts", "001_users"])
    assert document["modified"] == []
    assert document["rollback"]["reverted"] == ["002_posts", "001_users"]
    assert document["rollback"]["target"] == 0
    assert document["up"]["applied"] == ["001_users", "002_posts"]
    assert "schema_version" not in document["rollback"] and "schema_version" not in document["up"]

    def keys(value: object) -> list[str]:
        if isinstance(value, dict):
            return [k for k, v in value.items() for k in (k, *keys(v))]
        if isinstance(value, list):
            return [k for item in value for k in keys(item)]
        return []

    assert all(SNAKE_CASE.match(key) for key in keys(document))


def test_a_dry_run_shows_both_halves_and_changes_nothing(applied, run) -> None:
    before = run("status", "--json").stdout
    history = run("history", "--json").stdout
    result = run("redo", "--dry-run", env={"LAMINA_ENV": "production"})
    assert result.exit_code == 0, result.output
    assert "Dry run of redo: 002_posts would be rolled back and applied again." in result.stdout
    assert "would be reverted to reach version 1; nothing was changed" in result.stdout
    assert "would be applied; nothing was changed" in result.stdout
    assert "CREATE TABLE posts" in result.stdout and "DROP TABLE posts" in result.stdout
    assert "LAMINA_ENV is production: the real run needs --force --yes." in result.stdout
    assert run("status", "--json").stdout == before
    assert run("history", "--json").stdout == history


def test_exit_codes_nothing_applied_refused_and_unknown(run, make_migrations) -> None:
    make_migrations({"001_users.sql": USERS})
    nothing = run("redo")
    assert nothing.exit_code == 1
    assert "error: nothing to redo: no migration is applied" in nothing.stderr
    assert "hint: apply migrations with `lamina up`" in nothing.stderr
    assert run("up").exit_code == 0
    production = {"LAMINA_ENV": "production"}
    refused = run("redo", env=production)
    assert refused.exit_code == 3
    assert (
        "redo refused, nothing was changed: the environment (--env, LAMINA_ENV) is 'production'"
        in refused.stderr
    )
    assert run("redo", "--force", env=production).exit_code == 3
    assert run("redo", "--force", "--yes", env=production).exit_code == 0
    assert run("redo", "9").exit_code == 2  # no such version
    assert run("redo", "not-an-id").exit_code == 2  # not a version or an id
