"""`lamina status` never contradicts itself, and `lamina repair` resolves what it reports:
exit codes, the JSON problems list, the summary of migrations without a down, and accepting
a harmless edit of an applied file (`repair --accept-checksum`)."""

from __future__ import annotations

import json

import pytest
from click.testing import Result

from lamina.checksum import checksum
from support.texts import LOOSE, POSTS, USERS

NO_DOWN = """
    -- migrate:up
    CREATE TABLE t{n} (id INTEGER);
"""


def problems(result: Result) -> list[tuple[str, str]]:
    return [(p["code"], p["severity"]) for p in json.loads(result.stdout)["problems"]]


def test_up_to_date_only_when_nothing_is_wrong(run, make_migrations) -> None:
    make_migrations({"001_users.sql": USERS})
    assert run("up").exit_code == 0
    human = run("status")
    assert human.exit_code == 0
    assert "Database is up to date" in human.output
    document = run("status", "--json")
    assert document.exit_code == 0
    assert json.loads(document.stdout)["problems"] == []
    assert json.loads(document.stdout)["up_to_date"] is True


def test_a_modified_file_is_a_problem_never_up_to_date(run, make_migrations) -> None:
    folder = make_migrations({"001_users.sql": USERS})
    run("up")
    (folder / "001_users.sql").write_text(USERS + "\n-- a comment\n", encoding="utf-8")
    human = run("status")
    assert human.exit_code == 1
    assert "001_users was modified" in human.output
    assert "up to date" not in human.output
    assert "--accept-checksum" in human.output
    document = run("status", "--json")
    assert document.exit_code == 1
    assert problems(document) == [("modified", "error")]
    assert json.loads(document.stdout)["up_to_date"] is False


def test_a_missing_file_is_a_problem_never_up_to_date(run, make_migrations) -> None:
    folder = make_migrations({"001_users.sql": USERS, "002_posts.sql": POSTS})
    run("up")
    (folder / "002_posts.sql").unlink()
    human = run("status")
    assert human.exit_code == 1
    assert "002_posts is applied but its file is missing" in human.output
    assert "up to date" not in human.output
    document = run("status", "--json")
    assert document.exit_code == 1
    assert problems(document) == [("missing", "error")]


def test_a_dirty_migration_is_a_problem_and_not_applied(run, make_migrations) -> None:
    make_migrations({"001_users.sql": USERS})
    run("up")
    make_migrations({"002_loose.sql": LOOSE})
    assert run("up").exit_code == 1
    human = run("status")
    assert human.exit_code == 1
    assert "DIRTY: 002_loose" in human.output
    assert "lamina repair 002_loose --mark-applied" in human.output
    assert "lamina repair 002_loose --mark-rolled-back" in human.output
    assert "up to date" not in human.output
    document = run("status", "--json")
    assert document.exit_code == 1
    data = json.loads(document.stdout)
    assert ("dirty", "error") in problems(document)
    assert (data["applied"], data["failed"], data["current_version"]) == (1, 1, 1)
    assert data["dirty"] == ["002_loose"]
    health = run("health", "--json")
    assert health.exit_code == 1
    message = json.loads(health.stdout)["message"]
    assert "`lamina repair 002_loose --mark-applied`" in message
    assert "`lamina repair 002_loose --mark-rolled-back`" in message


def test_migrations_without_a_down_are_summarised_unless_verbose(run, make_migrations) -> None:
    make_migrations({f"00{n}_t{n}.sql": NO_DOWN.format(n=n) for n in range(1, 4)})
    run("up")
    human = run("status")
    assert human.exit_code == 0  # a warning, not a problem
    assert "3 migrations have no down" in human.output
    assert "see --verbose" in human.output
    assert "has no down migration" not in human.output
    assert "Database is up to date" in human.output
    verbose = run("--verbose", "status")
    assert verbose.output.count("has no down migration") == 3
    document = run("status", "--json")
    assert problems(document).count(("irreversible", "warning")) == 3


@pytest.mark.parametrize("name", ["001_users", "001", "1"])
def test_accept_checksum_of_an_edited_file(run, make_migrations, raw_db, name) -> None:
    folder = make_migrations({"001_users.sql": USERS})
    run("up")
    path = folder / "001_users.sql"
    path.write_text(USERS + "\n-- a comment\n", encoding="utf-8")
    assert json.loads(run("health", "--json").stdout)["status"] == "unhealthy"

    result = run("repair", name, "--accept-checksum", "--json")
    assert result.exit_code == 0, result.output
    [accepted] = json.loads(result.stdout)["accepted"]
    assert accepted["id"] == "001_users"
    assert accepted["checksum"] == checksum(path.read_bytes())
    assert raw_db.query("SELECT checksum FROM lamina_migrations") == [(accepted["checksum"],)]
    [(migration, by, host, detail)] = raw_db.query(
        "SELECT migration_id, applied_by, host, detail FROM lamina_migration_log "
        "WHERE action = 'repair'"
    )
    assert migration == "001_users" and by and host
    assert accepted["previous_checksum"] in detail and accepted["checksum"] in detail
    assert run("status").exit_code == 0
    assert json.loads(run("health", "--json").stdout)["status"] == "healthy"


def test_accept_checksum_refuses_an_unchanged_or_missing_file(run, make_migrations, raw_db) -> None:
    folder = make_migrations({"001_users.sql": USERS, "002_posts.sql": POSTS})
    run("up")
    unchanged = run("repair", "001_users", "--accept-checksum")
    assert unchanged.exit_code == 1
    assert "unchanged" in unchanged.stderr
    (folder / "002_posts.sql").unlink()
    missing = run("repair", "2", "--accept-checksum")
    assert missing.exit_code == 1
    assert "002_posts" in missing.stderr and "missing" in missing.stderr
    nothing = run("repair", "--all", "--accept-checksum")
    assert nothing.exit_code == 1
    assert raw_db.query("SELECT COUNT(*) FROM lamina_migration_log WHERE action = 'repair'") == [
        (0,)
    ]


def test_accept_checksum_of_every_modified_migration(run, make_migrations, raw_db) -> None:
    folder = make_migrations({"001_users.sql": USERS, "002_posts.sql": POSTS})
    run("up")
    for name in ("001_users.sql", "002_posts.sql"):
        (folder / name).write_text((folder / name).read_text() + "\n-- edited\n")
    result = run("repair", "--all", "--accept-checksum")
    assert result.exit_code == 0, result.output
    assert "001_users" in result.output and "002_posts" in result.output
    assert raw_db.query("SELECT COUNT(*) FROM lamina_migration_log WHERE action = 'repair'") == [
        (2,)
    ]
    assert run("status").exit_code == 0


@pytest.mark.parametrize(
    "args",
    [
        ("repair", "001_users"),
        ("repair", "--all", "--mark-applied"),
        ("repair", "--accept-checksum"),
        ("repair", "001_users", "--all", "--accept-checksum"),
    ],
)
def test_repair_usage_errors(run, make_migrations, args) -> None:
    make_migrations({"001_users.sql": USERS})
    assert run(*args).exit_code == 2


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_user_text_is_printed_as_written_never_as_markup(
    engine, run, make_migrations, raw_db
) -> None:
    """Drift lines, problems and names are the user's text: brackets in them are printed,
    not read as rich markup (a stray ``[/]`` used to end the command with a MarkupError)."""
    make_migrations({"001_users.sql": USERS})
    assert run("up").exit_code == 0
    raw_db.execute('CREATE TABLE "t[/]x" (a INTEGER)')
    raw_db.execute('CREATE TABLE "u[bold]y" (a INTEGER)')
    status = run("status")
    assert "MarkupError" not in status.output
    assert "added table t[/]x (a)" in status.output
    assert "added table u[bold]y (a)" in status.output
    assert status.exit_code == 1
    validate = run("validate")
    assert "MarkupError" not in validate.output
    assert "added table t[/]x (a)" in validate.output
