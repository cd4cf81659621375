"""What ``lamina up`` shows while a backfill runs and when a stop signal pauses it.

On a terminal the live line is a bar with the rows done, the rate and the ETA, drawn inside
the one line :class:`~lamina.cli.render.runs.LiveStep` redraws; in a pipe the plain "still
running" lines carry the same figures; under ``--json`` nothing but the document. A SIGTERM
during a backfill says the batch in flight was rolled back and the earlier batches are kept
(outcome ``paused``), never "nothing is half-done".

The live tests run a real ``lamina up`` on SQLite whose backfill commits 12 batches of 10
rows (120 of 300) and then waits, inside its 13th batch, until the test creates a release
file: the reports are read while it waits, so nothing depends on the machine's speed.
"""

from __future__ import annotations

import io
import json
import os
import pty
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from rich.cells import cell_len
from rich.console import Console

from lamina.cli.render.backfill_meter import BackfillMeter, bar, compact
from lamina.cli.render.common import Painter
from lamina.cli.render.runs import ProgressPrinter
from lamina.documents import interrupted_document
from lamina.models import Direction
from lamina.runner import RunEvent
from lamina.signals import StopPoint, Terminated, attach_stop, describe
from support.processes import lamina_env, read_terminal, start, wait_for

ITEMS = (
    "-- migrate:up\n"
    "CREATE TABLE items (id INTEGER PRIMARY KEY, hits INTEGER NOT NULL DEFAULT 0);\n"
    f"INSERT INTO items (id) VALUES {', '.join(f'({n})' for n in range(1, 301))};\n"
    "-- migrate:down\nDROP TABLE items;\n"
)

SLOW = """
import os
import time
from pathlib import Path

from lamina import BatchedMigration


class Slow(BatchedMigration):
    table = "items"
    key = "id"
    batch_size = 10

    def batch(self, lo, hi):
        self.execute_sql("UPDATE items SET hits = hits + 1 WHERE id >= ? AND id < ?", (lo, hi))
        time.sleep(0.02)
        if lo < 120:
            return
        Path(os.environ["LAMINA_TEST_WAITING"]).touch()
        release = Path(os.environ["LAMINA_TEST_RELEASE"])
        deadline = time.monotonic() + float(os.environ["LAMINA_TEST_SLEEP"])
        while not release.exists() and time.monotonic() < deadline:
            time.sleep(0.02)
"""

#: The plain report in a pipe once 12 batches committed.
PLAIN = re.compile(
    r"^  … 002_slow still running \([\d.]+ s\): backfill 120/300 rows \(40\.0%\), "
    r"12 batches, [\d,]+ rows/s, ETA \d+ s$"
)
#: The bar on a terminal without colour: the part left is blank.
BAR = re.compile(r"\r\[2/2\] 002_slow (━*╸?) +40% 120/300 rows · [\d.]+k? rows/s · ETA \d+ s *\r")


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    folder = tmp_path / "migrations"
    folder.mkdir()
    (folder / "001_items.sql").write_text(ITEMS, encoding="utf-8")
    (folder / "002_slow.py").write_text(SLOW, encoding="utf-8")
    return lamina_env(
        f"sqlite:///{tmp_path / 'app.sqlite3'}",
        folder,
        LAMINA_PROGRESS_INTERVAL="0.2",
        LAMINA_TEST_WAITING=str(tmp_path / "waiting"),
        LAMINA_TEST_RELEASE=str(tmp_path / "release"),
        LAMINA_TEST_SLEEP="60",
    )


def _detail(done: int, total: int, batches: int, ms: int) -> str:
    """A backfill's history detail, as lamina.backfill writes it with each batch."""
    return (
        f"backfill up started 2026-01-02T03:04:05Z by me@host; backfill {done}/{total} rows, "
        f"{batches} batches, {ms} ms, next key {done + 1}"
    )


# -- the figures and the bar --------------------------------------------------------------------
def test_counts_are_compact() -> None:
    shown = [compact(n) for n in (0, 2.5, 950, 1234, 35_000, 999_600, 1_200_000, 29e6, 1.1e9)]
    assert shown == ["0", "2.5", "950", "1.2k", "35k", "1.0M", "1.2M", "29M", "1.1G"]


def test_the_rate_is_measured_on_the_wall_clock_after_the_first_batch() -> None:
    meter = BackfillMeter()
    assert not meter.update("running 001_x", 0.0)  # not a backfill's detail
    assert meter.update(_detail(100, 1000, 10, 1000), 10.0)
    assert meter.rate == 100.0  # until a second event: the batches' own durations
    assert meter.eta(10.0) == 9.0 and meter.eta(14.0) == 5.0  # counted down between events
    assert meter.figures(10.0) == "100/1.0k rows · 100 rows/s · ETA 9 s"
    assert meter.update(_detail(300, 1000, 30, 1200), 11.0)
    assert meter.rate == 200.0  # 200 rows in the second since the first event
    assert meter.plain(11.0) == "backfill 300/1,000 rows (30.0%), 30 batches, 200 rows/s, ETA 4 s"
    assert meter.eta(100.0) == 0.0


def test_the_bar_looks_like_richs_and_is_blank_where_there_is_no_colour() -> None:
    plain = Painter(Console(file=io.StringIO(), force_terminal=True, no_color=True))
    assert bar(0.42, 20, plain) == "━" * 8 + " " * 12
    assert bar(0.45, 20, plain) == "━" * 9 + " " * 11
    assert bar(0.43, 20, plain) == "━" * 8 + "╸" + " " * 11
    out = Console(file=io.StringIO(), force_terminal=True, color_system="truecolor")
    coloured = bar(0.42, 20, Painter(out))
    assert re.sub(r"\x1b\[[\d;]*m", "", coloured) == "━" * 8 + "╺" + "━" * 11
    assert "\x1b[38;2;249;38;114m" in coloured  # rich's bar.complete


def _printer(width: int) -> tuple[ProgressPrinter, io.StringIO]:
    file = io.StringIO()
    out = Console(file=file, force_terminal=True, no_color=True, width=width)
    printer = ProgressPrinter(out, interval=0.05)
    printer(RunEvent("start", Direction.UP, "004_backfill", "Backfill", 2, 5))
    detail = _detail(1_218_000, 2_900_000, 244, 34_800)
    printer(RunEvent("progress", Direction.UP, "004_backfill", "Backfill", 2, 5, detail=detail))
    return printer, file


def _drawn(file: io.StringIO, pattern: str) -> str:
    deadline = time.monotonic() + 30
    while not re.search(pattern, file.getvalue()) and time.monotonic() < deadline:
        time.sleep(0.01)
    return file.getvalue()


def test_on_a_terminal_the_live_line_becomes_a_bar() -> None:
    printer, file = _printer(120)
    shown = _drawn(file, r"rows/s")
    printer.close()
    lines = [s for s in re.split(r"\r", shown) if "━" in s]
    assert lines, repr(shown)
    line = lines[-1].rstrip()
    # 42% of 40 cells: 16 full and a half; then the figures.
    head = "[2/5] 004_backfill " + "━" * 16 + "╸" + " " * 23 + "  42% 1.2M/2.9M rows · "
    assert line.startswith(head), repr(line)
    assert re.fullmatch(r"35k rows/s · ETA 48 s|35k rows/s · ETA 47 s", line[len(head) :])
    assert cell_len(line) < 120


def test_a_narrow_terminal_shows_the_figures_without_a_bar() -> None:
    printer, file = _printer(72)
    shown = _drawn(file, r"42\.0%")
    printer.close()
    assert "━" not in shown
    line = [s for s in re.split(r"\r", shown) if "42.0%" in s][-1].rstrip()
    assert re.fullmatch(
        r"\[2/5\] 004_backfill … \d\.\d s: backfill 1,218,000/2,900,000 rows \(42\.0%\),…", line
    ), repr(line)
    assert cell_len(line) == 71


# -- real runs ------------------------------------------------------------------------------------
def test_in_a_pipe_the_still_running_lines_carry_the_rate_and_eta(
    env: dict[str, str], tmp_path: Path
) -> None:
    proc = start(["up"], env, tmp_path)
    assert proc.stdout is not None
    seen: list[str] = []
    while not any(PLAIN.match(line) for line in seen):
        line = proc.stdout.readline()
        assert line, f"lamina ended before reporting the backfill: {seen}"
        seen.append(line.rstrip("\n"))
    Path(env["LAMINA_TEST_RELEASE"]).touch()
    rest, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "✓ [2/2] applied 002_slow" in rest
    reports = [line for line in seen if "backfill " in line]
    assert all(re.search(r"rows/s, ETA \d+ s$", line) for line in reports), reports


def test_on_a_terminal_a_bar_with_rate_and_eta(env: dict[str, str], tmp_path: Path) -> None:
    controller, terminal = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "lamina", "up"],
        env={**env, "COLUMNS": "120"},
        cwd=tmp_path,
        stdin=subprocess.DEVNULL,
        stdout=terminal,
        stderr=subprocess.PIPE,
    )
    os.close(terminal)
    try:
        shown = read_terminal(controller, proc, BAR)
        Path(env["LAMINA_TEST_RELEASE"]).touch()
        shown += read_terminal(controller, proc, re.compile(r"Applied 2 migration"))
        proc.wait(timeout=60)
    finally:
        os.close(controller)
    assert proc.returncode == 0, proc.stderr.read() if proc.stderr else ""
    found = BAR.search(shown)
    assert found, repr(shown)
    assert found.group(1) == "━" * 16  # 40% of 40 cells
    assert re.search(r"\r +\r✓ \[2/2\] applied 002_slow ", shown), repr(shown)
    live = [s for s in re.split(r"[\r\n]", shown) if s.startswith("[2/2]")]
    assert all(cell_len(segment) < 120 for segment in live), live


def test_json_prints_the_document_only(env: dict[str, str], tmp_path: Path) -> None:
    proc = start(["up", "--json"], {**env, "LAMINA_TEST_SLEEP": "1"}, tmp_path)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert json.loads(out)["applied"] == ["001_items", "002_slow"]
    assert "rows/s" not in out + err and "━" not in out + err


# -- a stop signal during a backfill -----------------------------------------------------------
def _stopped(point: StopPoint) -> Terminated:
    exc = Terminated()
    attach_stop(exc, point)
    return exc


def test_a_paused_backfill_is_described_as_kept_not_rolled_back() -> None:
    point = StopPoint(
        "up", ("001_items",), "004_backfill", "paused", atomic=False,
        rows_done=1_230_000, rows_total=5_000_000,
    )  # fmt: skip
    message, hint = describe(_stopped(point))
    assert message == (
        "interrupted by SIGTERM during 004_backfill: the batch in flight was rolled back; "
        "1,230,000 of 5,000,000 rows are done and kept; the backfill is paused "
        "(applied before it: 001_items)"
    )
    assert hint == (
        "run `lamina up` to resume at the next batch (`lamina status` shows its progress)"
    )
    assert "half-done" not in message + hint

    unknown = StopPoint("up", (), "004_backfill", "paused", atomic=False)
    message, _ = describe(_stopped(unknown))
    assert "the rows of its earlier batches are done and kept" in message
    down = StopPoint("down", (), "004_backfill", "paused", atomic=False, rows_done=5)
    message, hint = describe(_stopped(down))
    assert message.startswith("interrupted by SIGTERM while reverting 004_backfill: ")
    assert "5 rows are done and kept" in message
    assert hint is not None and "the same `lamina rollback` again" in hint


def test_the_json_error_document_carries_the_paused_outcome() -> None:
    point = StopPoint("up", (), "004_backfill", "paused", atomic=False, rows_done=3, rows_total=9)
    document = interrupted_document(_stopped(point))
    assert document["kind"] == "Interrupted" and document["exit_code"] == 143
    stop = document["stop"]
    assert isinstance(stop, dict) and stop["outcome"] == "paused"
    assert "3 of 9 rows are done and kept" in str(document["error"])


@pytest.mark.parametrize("as_json", [False, True], ids=["text", "json"])
def test_sigterm_during_a_backfill_says_it_is_paused(
    env: dict[str, str], tmp_path: Path, as_json: bool
) -> None:
    proc = start(["up", "--json"] if as_json else ["up"], env, tmp_path)
    wait_for(Path(env["LAMINA_TEST_WAITING"]))  # 12 batches committed, the 13th waits
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err
    assert (
        "error: interrupted by SIGTERM during 002_slow: the batch in flight was rolled back; "
        "120 of 300 rows are done and kept; the backfill is paused (applied before it: "
        "001_items)"
    ) in err
    assert "  hint: run `lamina up` to resume at the next batch" in err
    if as_json:
        assert json.loads(out)["stop"]["outcome"] == "paused"


def test_the_dry_run_document_carries_the_batches(env: dict[str, str], tmp_path: Path) -> None:
    setup = start(["up", "--to", "1"], env, tmp_path)
    assert setup.wait(60) == 0
    proc = start(["up", "--dry-run", "--json"], env, tmp_path)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    step = json.loads(out)["plan"][0]
    assert step["batched"]["rows"] == 300 and step["batched"]["batches"] == 30
    assert (step["batched"]["first"], step["batched"]["last"]) == ([1, 11], [291, 301])
