"""The JSON error document (docs/json.md, "Errors"): every error the CLI can meet under
``--json`` prints one document on stdout, with the exit code it has without ``--json``, the
human message still on stderr, and never a password.

Each error is provoked for real, through the CLI, on DuckDB and SQLite (the server engines
only where the error is theirs: a server that does not answer)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

import lamina
from lamina import errors
from lamina.backup import BackupError
from support.processes import HANGING, at_a_prompt, child_env, lamina_env, start, wait_for
from support.serving import free_port
from support.texts import LOOSE, USERS, creates_table

DOCS = Path(__file__).parents[2] / "docs" / "json.md"
HEAD = ["schema_version", "error", "hint", "exit_code", "kind"]
SNAKE_CASE = re.compile(r"^[a-z][a-z0-9_]*$")
PASSWORD = "Pw-Never-Shown-42"
NO_DOWN = "-- migrate:up\nCREATE TABLE notes (id INTEGER);\n"
FAILING = """
    -- migrate:up
    CREATE TABLE first (id INTEGER);
    INSERT INTO nowhere (id) VALUES (1);
    -- migrate:down
    DROP TABLE first;
"""


@pytest.fixture(params=["duckdb", "sqlite"])
def engine(request: pytest.FixtureRequest) -> str:
    """The file engines: the errors are lamina's, the same on every engine."""
    return str(request.param)


def failed(result: Result, exit_code: int, kind: str) -> dict[str, Any]:
    """The one error document on stdout, checked against the convention; stderr keeps the
    human message."""
    document: dict[str, Any] = json.loads(result.stdout)  # the whole of stdout: one document
    assert result.exit_code == exit_code, result.output
    assert list(document)[: len(HEAD)] == HEAD
    assert document["schema_version"] == 1
    assert (document["exit_code"], document["kind"]) == (exit_code, kind)
    assert all(SNAKE_CASE.match(key) for key in document)
    assert result.stderr.startswith("error: ")
    assert document["error"].splitlines()[0] in result.stderr
    return documented(document)


def documented(document: dict[str, Any]) -> dict[str, Any]:
    """``document``, once every field after the common ones is in its kind's docs row."""
    row = _docs_row(document["kind"])
    for key in list(document)[len(HEAD) :]:
        assert f"`{key}`" in row, (document["kind"], key)
    return document


# -- the migration files ----------------------------------------------------------------------
def test_validation_error_lists_every_problem(run, make_migrations) -> None:
    make_migrations({"001_a.sql": NO_DOWN, "001_b.sql": NO_DOWN, "002_c.py": "def up(:\n"})
    document = failed(run("up", "--json"), 1, "ValidationError")
    assert document["hint"] == "run `lamina validate` to see every problem"
    assert len(document["problems"]) >= 2
    syntax = next(p for p in document["problems"] if p["path"].endswith("002_c.py"))
    assert (syntax["severity"], syntax["line"], syntax["code"]) == ("error", 1, "load")


def test_checksum_mismatch_names_the_migrations(run, make_migrations) -> None:
    folder = make_migrations({"001_users.sql": USERS})
    assert run("up").exit_code == 0
    (folder / "001_users.sql").write_text(
        (folder / "001_users.sql").read_text() + "-- edited\n", encoding="utf-8"
    )
    document = failed(run("up", "--json"), 3, "ChecksumMismatchError")
    assert document["migration_ids"] == ["001_users"]
    assert "--force" in document["hint"]


def test_the_example_in_the_docs_is_what_lamina_prints(run, make_migrations) -> None:
    folder = make_migrations({"001_users.sql": USERS})
    run("up")
    (folder / "001_users.sql").write_text(USERS + "\n-- edited\n", encoding="utf-8")
    printed = json.loads(run("up", "--json").stdout)
    example = re.search(r"```json\n(.*?)```", DOCS.read_text(encoding="utf-8"), re.DOTALL)
    assert example is not None
    assert json.loads(example.group(1)) == printed


def test_out_of_order_names_the_older_pending_migration(run, make_migrations) -> None:
    make_migrations({"001_users.sql": USERS, "003_posts.sql": creates_table("posts")})
    run("up")
    make_migrations({"002_notes.sql": NO_DOWN})
    document = failed(run("up", "--strict-order", "--json"), 3, "OutOfOrderError")
    assert document["migration_ids"] == ["002_notes"]


# -- running them -----------------------------------------------------------------------------
def test_execution_error_carries_the_statement(run, make_migrations, raw_db) -> None:
    make_migrations({"001_users.sql": USERS, "002_first.sql": FAILING})
    document = failed(run("up", "--json"), 1, "ExecutionError")
    assert document["migration_id"] == "002_first"
    assert "nowhere" in document["statement"] and document["line"] == 3
    assert document["db_error"] and document["db_error"] in document["error"]
    assert (document["applied"], document["rolled_back"], document["direction"]) == (
        ["001_users"],
        True,
        "up",
    )
    assert raw_db.applied_ids() == ["001_users"]


def test_a_dirty_database_names_the_failed_migration(run, make_migrations) -> None:
    make_migrations({"001_users.sql": USERS, "002_loose.sql": LOOSE})
    kept = failed(run("up", "--json"), 1, "ExecutionError")
    assert (kept["migration_id"], kept["rolled_back"]) == ("002_loose", False)
    document = failed(run("up", "--json"), 3, "DirtyDatabaseError")
    assert document["migration_ids"] == ["002_loose"]
    assert "lamina repair 002_loose" in document["hint"]


def test_a_risk_refusal_lists_every_step_in_full(run, make_migrations, raw_db) -> None:
    files = {f"{n:03d}_t{n}.sql": creates_table(f"t{n}") for n in range(1, 8)}
    make_migrations(files)
    assert run("up").exit_code == 0
    for n in range(1, 8):  # rows: rolling back loses data, so it is refused
        raw_db.execute(f"INSERT INTO t{n} (id) VALUES (1)")
    document = failed(run("rollback", "0", "--json"), 3, "RiskRefusedError")
    assert [step[0] for step in document["steps"]] == [f"{n:03d}_t{n}" for n in range(7, 0, -1)]
    assert all(step[1] and isinstance(step[1][0], str) for step in document["steps"])
    assert "more" not in document["error"]  # not cut to five, as --verbose
    assert "--force" in document["hint"]
    assert raw_db.applied_ids() == [f"{n:03d}_t{n}" for n in range(1, 8)]


def test_an_irreversible_rollback_names_the_migration(run, make_migrations) -> None:
    make_migrations({"001_users.sql": USERS, "002_notes.sql": NO_DOWN})
    run("up")
    document = failed(run("rollback", "0", "--json"), 3, "IrreversibleMigrationError")
    assert document["migration_ids"] == ["002_notes"]


def test_an_unknown_target_is_a_usage_error(run, make_migrations) -> None:
    make_migrations({"001_users.sql": USERS})
    run("up")
    document = failed(run("rollback", "7", "--json"), 2, "TargetNotFoundError")
    assert document["target"] == 7


def test_a_plan_that_cannot_be_carried_out(run, make_migrations) -> None:
    make_migrations({"001_users.sql": USERS})
    run("up")
    document = failed(run("repair", "001_users", "--mark-applied", "--json"), 1, "PlanError")
    assert "001_users" in document["error"]


def test_verify_refusal_lists_the_statements(run, make_migrations) -> None:
    attach = "-- migrate:up\nATTACH 'other.db' AS other;\n-- migrate:down\nDETACH other;\n"
    make_migrations({"001_attach.sql": attach})
    document = failed(run("verify", "--json"), 3, "VerifyRefusedError")
    where, statement, reason = document["statements"][0]
    assert (where, statement) == ("001_attach (up)", "ATTACH 'other.db' AS other")
    assert reason


def test_history_written_by_a_newer_lamina(run, make_migrations, raw_db) -> None:
    make_migrations({"001_users.sql": USERS})
    run("up")
    raw_db.execute("UPDATE lamina_meta SET value = '999' WHERE name = 'layout_version'")
    document = failed(run("status", "--json"), 1, "HistoryError")
    assert "newer lamina" in document["error"]


def test_a_backup_that_does_not_exist(run, make_migrations) -> None:
    make_migrations({"001_users.sql": USERS})
    document = failed(run("backup", "restore", "nope", "--yes", "--json"), 1, "BackupError")
    assert "nope" in document["error"]


# -- settings and usage -----------------------------------------------------------------------
def test_a_missing_migrations_folder_names_the_setting(run, tmp_path) -> None:
    missing = str(tmp_path / "nowhere")
    document = failed(run("--migrations-dir", missing, "status", "--json"), 1, "ConfigError")
    assert (document["setting"], document["source"]) == ("--migrations-dir", "command line")


def test_a_malformed_url_is_a_usage_error_without_its_password(run) -> None:
    url = f"postgresql://app:{PASSWORD}@127.0.0.1:notaport/app"
    result = run("--database-url", url, "status", "--json")
    document = failed(result, 2, "UsageError")
    assert (document["setting"], document["source"]) == ("--database-url", "command line")
    assert PASSWORD not in result.output


@pytest.mark.parametrize(
    ("args", "command"),
    [
        (("status", "--bogus", "--json"), "lamina status"),
        (("--lock-timeout", "soon", "status", "--json"), "lamina"),
        (("rollback", "not-a-version", "--json"), "lamina rollback"),
        (("frobnicate", "--json"), "lamina"),
    ],
    ids=["unknown-option", "global-option", "bad-argument", "unknown-command"],
)
def test_usage_errors_click_finds(tmp_path, args: tuple[str, ...], command: str) -> None:
    proc = start(list(args), child_env(), tmp_path)
    out, err = proc.communicate(timeout=60)
    document = json.loads(out)
    assert proc.returncode == 2
    assert list(document) == HEAD
    assert (document["exit_code"], document["kind"]) == (2, "UsageError")
    assert document["hint"] == f"`{command} --help` shows the usage"
    assert f"Error: {document['error']}" in err  # click's own text, as without --json


def test_without_json_stdout_stays_empty(run, make_migrations) -> None:
    make_migrations({"001_users.sql": USERS})
    run("up")
    result = run("rollback", "7")
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr.startswith("error: no migration has version 7")


# -- the server engines: one that does not answer -----------------------------------------------
@pytest.mark.parametrize("scheme", ["postgresql", "mysql"])
def test_an_unreachable_server_without_its_password(run, make_migrations, scheme: str) -> None:
    make_migrations({"001_users.sql": USERS})
    port = free_port()  # nothing listens there
    url = f"{scheme}://app:{PASSWORD}@127.0.0.1:{port}/app"
    result = run("--database-url", url, "status", "--json")
    document = failed(result, 1, "BackendUnavailableError")
    assert f"127.0.0.1:{port}" in document["error"]
    assert PASSWORD not in result.output


# -- as real processes: a lock held, a signal, an unexpected error, a prompt ------------------
def _finish(proc: subprocess.Popen[str], timeout: float = 60) -> tuple[dict[str, Any], str]:
    out, err = proc.communicate(timeout=timeout)
    document = json.loads(out)
    assert list(document)[: len(HEAD)] == HEAD
    return documented(document), err


@pytest.mark.slow
def test_a_lock_timeout_names_the_holder(make_migrations, db_url, tmp_path) -> None:
    folder = make_migrations({"001_slow.py": HANGING})
    marker = tmp_path / "holder"
    env = lamina_env(db_url, folder, LAMINA_TEST_MARKER=str(marker), LAMINA_TEST_SLEEP="30")
    holder = start(["up"], env, tmp_path)
    try:
        wait_for(marker)
        waiter = start(
            ["--lock-timeout", "0.5", "up", "--json"], lamina_env(db_url, folder), tmp_path
        )
        document, err = _finish(waiter)
    finally:
        holder.kill()
        holder.wait(timeout=10)
    assert (waiter.returncode, document["kind"], document["exit_code"]) == (
        1,
        "LockTimeoutError",
        1,
    )
    assert document["holder"]["pid"] == holder.pid
    assert "locked by another process" in err


@pytest.mark.slow
def test_sigterm_gives_the_stop_point(make_migrations, db_url, raw_db, tmp_path) -> None:
    folder = make_migrations({"001_slow.py": HANGING})
    marker = tmp_path / "in-transaction"
    proc = start(
        ["up", "--json"], lamina_env(db_url, folder, LAMINA_TEST_MARKER=str(marker)), tmp_path
    )
    wait_for(marker)
    proc.send_signal(signal.SIGTERM)
    document, err = _finish(proc)
    assert (proc.returncode, document["exit_code"], document["kind"]) == (143, 143, "Interrupted")
    assert document["signal"] == "SIGTERM"
    stop = document["stop"]
    assert (stop["migration_id"], stop["outcome"], stop["direction"]) == (
        "001_slow",
        "rolled back",
        "up",
    )
    assert stop["done"] == []
    assert document["error"] in err
    assert "half_done" not in raw_db.tables()


UNEXPECTED = """
import click
from lamina.cli import cli, main

@cli.command()
@click.option("--json", "as_json", is_flag=True)
def explode(as_json):
    raise RuntimeError("a bug in lamina")

main()
"""


@pytest.mark.slow
def test_an_unexpected_exception(tmp_path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", UNEXPECTED, "explode", "--json"],
        env=child_env(), cwd=tmp_path, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    document, err = _finish(proc)
    assert (proc.returncode, document["kind"], document["exception"]) == (
        1,
        "UnexpectedError",
        "RuntimeError",
    )
    assert document["error"] == "unexpected RuntimeError: a bug in lamina"
    assert "--verbose" in document["hint"]
    assert "Traceback" not in err


@pytest.mark.slow
def test_a_prompt_ended_by_end_of_input(make_migrations, db_url, tmp_path) -> None:
    folder = make_migrations({"001_t.sql": "-- migrate:up\nCREATE TABLE t (id INTEGER);\n"})
    assert start(["up"], lamina_env(db_url, folder), tmp_path).wait(60) == 0
    make_migrations({"002_drop.sql": "-- migrate:up\nDROP TABLE t;\n"})
    production = lamina_env(db_url, folder, LAMINA_ENV="production")
    with at_a_prompt(["up", "--json"], production, tmp_path) as (proc, controller, _):
        os.write(controller, b"\x04")  # Ctrl-D: end of input at the prompt
        document, _ = _finish(proc)
    assert (proc.returncode, document["kind"], document["exit_code"]) == (1, "Aborted", 1)


# -- the docs ---------------------------------------------------------------------------------
def test_every_error_class_is_in_the_docs() -> None:
    text = DOCS.read_text(encoding="utf-8")
    section = text[text.index("## Errors") :]
    classes = {
        cls.__name__
        for cls in (*vars(errors).values(), BackupError)
        if isinstance(cls, type) and issubclass(cls, errors.LaminaError)
    }
    classes -= {"LaminaError", "MigrationError", "BackendError"}  # never raised as such
    for name in sorted(classes | {"UsageError", "Interrupted", "UnexpectedError", "Aborted"}):
        assert f"`{name}`" in section, name
    assert set(lamina.__all__) >= classes - {"BackupError"}


def _docs_row(kind: str) -> str:
    """The fields cell of ``kind``'s row in the docs' table of fields."""
    section = DOCS.read_text(encoding="utf-8").split("## Errors", 1)[1]
    for line in section.splitlines():
        cells = line.split("|")
        if len(cells) > 3 and f"`{kind}`" in cells[1]:
            return cells[2]
    raise AssertionError(f"no row for {kind} in docs/json.md")


def test_each_error_carries_the_fields_the_docs_name(tmp_path) -> None:
    """The library's side, for the errors a test cannot meet through the CLI as easily (and a
    check that a driver's exception never reaches the document)."""
    from lamina.models import LockOwner, Problem, Severity

    owner = LockOwner(host="h", pid=7, started_at="2026-12-07T10:00:00Z", command="lamina up")
    made: list[tuple[errors.LaminaError, set[str]]] = [
        (errors.ConfigError("DATABASE_URL", "environment", "bad"), {"setting", "source"}),
        (
            errors.MigrationLoadError(tmp_path / "001_a.py", "bad", line=2),
            {"path", "line", "problem"},
        ),
        (errors.ValidationError([Problem(Severity.ERROR, "bad")]), {"problems"}),
        (
            errors.StatementError("SELECT 1", "no such table", ValueError("driver")),
            {"sql", "detail"},
        ),
        (errors.RunInProgressError(["002_b"], "pid 7"), {"ids"}),
        (errors.LockTimeoutError("app.db", 1, owner), {"holder"}),
        (errors.LockLostError("lost"), set()),
        (errors.TimeLimitError("late"), set()),
        (errors.StartupError("no"), set()),
        (errors.BackendUnavailableError("down"), set()),
    ]
    for error, fields in made:
        document = error.to_document()
        assert json.loads(json.dumps(document)) == document  # plain JSON values
        assert set(document) - set(HEAD) == fields, type(error).__name__
        row = _docs_row(type(error).__name__)
        for field in fields:
            assert f"`{field}`" in row, (type(error).__name__, field)
    load = errors.MigrationLoadError(tmp_path / "001_a.py", "bad", line=2).to_document()
    assert load["path"] == str(tmp_path / "001_a.py")
    lock = errors.LockTimeoutError("app.db", 1, owner).to_document()
    assert lock["holder"] == owner.to_record()
