"""``status`` in a pipe is written without rich (``lamina.cli.render.plain``) and its bytes are
rich's: each report is also rendered through rich, the way a console of a test's own makes
``status`` take (a rich Console on a string, as ``console()`` builds it for a pipe). A real
``lamina status`` in a pipe imports no rich; on a terminal it still prints rich's colours."""

from __future__ import annotations

import importlib
import io
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from lamina.cli.render import common, plain
from lamina.models import LockOwner, MigrationState, MigrationStatus, Problem, StatusReport
from lamina.models.records import AppliedMigration, Severity
from support.processes import child_env, read_terminal
from support.texts import creates_table

status_module = importlib.import_module("lamina.cli.render.status")  # the package hides it
S = MigrationState
BACKFILL = "backfill users; backfill 1200/5000 rows, 30 batches, 800 ms, next key 1200"


def mig(mid: str, state: MigrationState = S.APPLIED, **fields: Any) -> MigrationStatus:
    name = fields.pop("name", mid.partition("_")[2].replace("_", " ").capitalize())
    applied = None if state is S.PENDING else "2025-03-04T05:06:07Z"
    version = int(mid.partition("_")[0])
    return MigrationStatus(mid, version, name, "schema", state, applied, **fields)


LAST = AppliedMigration("002_b", 2, "Add [bold]users[/] at 12:30:00", "schema", "x",
                        "2025-03-04T05:06:07Z", 1, "u", "h")  # fmt: skip


def report(*migrations: MigrationStatus, **fields: Any) -> StatusReport:
    fields.setdefault("last_applied", LAST)
    fields.setdefault("database", "sqlite:////tmp/[db]/x.sqlite3")
    return StatusReport(migrations, 2, environment="dev", **fields)


HOLDER = LockOwner("host[1]", 42, "2025-03-04T05:06:07Z", "lamina up", container="c[x]")
REPORTS = {
    "empty": report(last_applied=None),
    "applied": report(*(mig(f"{i:03d}_t_{i}") for i in range(1, 14))),
    "pending": report(
        mig("001_a"), mig("003_c"), mig("002_b", S.PENDING, out_of_order=True),
        *(mig(f"{i:03d}_p", S.PENDING) for i in range(4, 60)),
    ),
    "problems": report(
        mig("001_[x]", name="[bold]x[/] say"), mig("002_b", S.MODIFIED), mig("003_c", S.MISSING),
        problems=(
            Problem(Severity.WARNING, "no down", Path("m/004.sql"), code="irreversible"),
            Problem(Severity.WARNING, "no down", Path("m/005.sql"), code="irreversible"),
            Problem(Severity.ERROR, "bad [red]header[/]", Path("m/[a].sql"), line=3),
        ),
    ),
    "failed": report(
        mig("001_a"),
        mig("002_b", S.FAILED, failed_statement=2, detail="no such [table]: x\r\x07 \\"),
        leftovers=("added table [t]", "added column t.x:  "),
        problems=(Problem(Severity.WARNING, "ends in a backslash \\"),),
    ),
    "running": report(mig("001_a"), mig("002_b", S.RUNNING, detail=BACKFILL), lock_holder=HOLDER),
    "paused": report(
        mig("001_a", S.PAUSED, detail=BACKFILL),
        mig("002_b", S.PAUSED, detail=BACKFILL.replace("backfill users", "backfill down x")),
    ),
    "drift": report(
        mig("001_a", name="Création [b]"),
        drift=("added [bold]x[/]", "at 12:34:56 :100: :1234: ::", "odd :smile:", "tab\there",
               "two\nlines", "bell\x07 esc\x1b[1m", "trailing  ", "a:b:c d:e"),
    ),
    "long ids": report(
        mig("001_" + "x" * 70), mig("002_b", name="A name that says much more than its id does"),
        mig("003_c", S.PENDING, name="中文 wide name"),
    ),
    "long name": report(mig("001_a", name="A name, " * 20), mig("002_b")),
    "one-character ids": report(mig("1", name=""), mig("2", S.PENDING, name="")),
}  # fmt: skip
WIDTHS = (None, 60, 100, 160)


@pytest.fixture(autouse=True)
def pipe_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No colour asked for, and a console built afresh for each test's COLUMNS."""
    for name in ("FORCE_COLOR", "TTY_COMPATIBLE", "COLUMNS"):
        monkeypatch.delenv(name, raising=False)
    common.console.cache_clear()
    yield
    common.console.cache_clear()


def through_rich(monkeypatch: pytest.MonkeyPatch, key: str, width: int) -> str:
    """``status`` printed by rich on a pipe ``width`` columns wide."""
    out = Console(file=io.StringIO(), width=width, highlight=False, soft_wrap=True)
    with monkeypatch.context() as patch:
        patch.setattr(status_module, "console", lambda: out)
        status_module.status(REPORTS[key])
    assert isinstance(out.file, io.StringIO)
    return out.file.getvalue()


def in_pipe(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], key: str, width: int | None
) -> tuple[str, int]:
    """``status`` printed to stdout, a pipe, with COLUMNS=``width``: the text, and how many
    times rich's console was asked for (a table or a line only rich lays out)."""
    asked: list[None] = []

    def counted() -> Console:
        asked.append(None)
        return common.console()

    with monkeypatch.context() as patch:
        if width is not None:
            patch.setenv("COLUMNS", str(width))
        patch.setattr(plain, "_CONSOLE", counted)  # common's console, counted
        patch.setattr(status_module, "console", counted)
        status_module.status(REPORTS[key])
    return capsys.readouterr().out, len(asked)


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("key", REPORTS)
def test_a_pipe_gets_the_bytes_rich_writes(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], key: str, width: int | None
) -> None:
    text, asked = in_pipe(monkeypatch, capsys, key, width)
    assert text == through_rich(monkeypatch, key, width or 160)
    # rich lays out a folded id, a wrapped name, wide characters; a tab, an emoji code, a
    # backslash (the failed migration's detail)
    by_rich = key in ("long name", "drift", "failed") or (key == "long ids" and width != 100)
    assert (asked > 0) == by_rich


def test_a_table_wider_than_the_pipe_is_laid_out_by_rich(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """At 10 columns the header ``id`` is wider than the ids the layout counted: rich cuts
    ``applied`` to fit, and the pipe gets that too."""
    text, asked = in_pipe(monkeypatch, capsys, "one-character ids", 10)
    assert asked > 0 and "1   appli…" in text
    assert text == through_rich(monkeypatch, "one-character ids", 10)


def test_user_text_prints_as_written(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    text = in_pipe(monkeypatch, capsys, "problems", None)[0]
    for written in ("001_[x]", "[bold]x[/] say", "m/[a].sql:3: bad [red]header[/]", "[db]"):
        assert written in text
    assert "error: m/[a].sql:3" in text and "\x1b" not in text
    failed = in_pipe(monkeypatch, capsys, "failed", None)[0]
    assert "(no such [table]: x \\)." in failed  # CR and bell dropped, as rich drops them
    # but for emoji codes, which rich replaces (as before): that line goes to rich, a time's
    # 12:34:56 does not
    drift = in_pipe(monkeypatch, capsys, "drift", None)[0]
    assert "odd 😄" in drift and "at 12:34:56 💯 🔢 ::" in drift


def test_plain_only_in_a_pipe_rich_leaves_plain(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdout", io.StringIO())
    assert plain.pipe_width() == 160
    for columns, width in (("80", 80), ("0", 0), ("wide", None), ("١٢", None)):
        monkeypatch.setenv("COLUMNS", columns)
        assert plain.pipe_width() == width
    monkeypatch.delenv("COLUMNS")
    for name in ("FORCE_COLOR", "TTY_COMPATIBLE"):
        with monkeypatch.context() as patch:
            patch.setenv(name, "")
            assert plain.pipe_width() is None
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    assert plain.pipe_width() is None


@pytest.fixture
def database(tmp_path: Path) -> dict[str, str]:
    """A real SQLite database with three migrations applied, and the environment to run on it."""
    folder = tmp_path / "migrations"
    folder.mkdir()
    for i in (1, 2, 3):
        sql = creates_table(f"t_{i}").replace("-- migrate:up", f"-- name: T [{i}]\n-- migrate:up")
        (folder / f"00{i}_t_{i}.sql").write_text(sql, encoding="utf-8")
    env = child_env(
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        LAMINA_MIGRATIONS_DIR=str(folder),
        BACKUP_ENABLED="false",
        MIGRATION_REQUIRE_CONFIRMATION="false",
    )
    for name in ("NO_COLOR", "FORCE_COLOR", "TTY_COMPATIBLE", "COLUMNS"):
        env.pop(name, None)
    subprocess.run([sys.executable, "-m", "lamina", "up"], env=env, capture_output=True, check=True)
    return env


#: ``lamina status``, then the rich modules it imported, on stderr.
STATUS = """
import sys
sys.argv = ["lamina", "status"]
from lamina.cli import main
try:
    main()
finally:
    print(sorted(m for m in sys.modules if m.partition(".")[0] == "rich"), file=sys.stderr)
"""


def test_status_in_a_pipe_imports_no_rich(database: dict[str, str], tmp_path: Path) -> None:
    run = [sys.executable, "-c", STATUS]
    piped = subprocess.run(
        run, env=database, cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert piped.returncode == 0, piped.stderr
    assert piped.stderr.splitlines()[-1] == "[]"
    assert "003_t_3  T [3]  schema    applied" in piped.stdout
    # FORCE_COLOR="" sends status through rich, which still writes no colour: same bytes
    ruled = {**database, "FORCE_COLOR": ""}
    rich = subprocess.run(run, env=ruled, cwd=tmp_path, capture_output=True, text=True, check=False)
    assert "'rich.console'" in rich.stderr.splitlines()[-1]
    assert rich.stdout == piped.stdout


def test_status_on_a_terminal_is_rich_with_colour(database: dict[str, str], tmp_path: Path) -> None:
    import pty

    controller, terminal = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "lamina", "status"],
        env={**database, "TERM": "xterm", "COLUMNS": "100"},
        cwd=tmp_path, stdin=subprocess.DEVNULL, stdout=terminal, stderr=subprocess.PIPE,
    )  # fmt: skip
    os.close(terminal)
    try:
        shown = read_terminal(controller, proc, re.compile(r"up to date.*\n.*=+"))
        proc.wait(timeout=60)
    finally:
        os.close(controller)
    assert proc.returncode == 0
    assert "\x1b[1m📊 MIGRATION STATUS\x1b[0m" in shown  # bold, as rich writes it
    assert "\x1b[32mapplied\x1b[0m" in shown
    assert "\x1b[32m✅ Database is up to date.\x1b[0m" in shown
