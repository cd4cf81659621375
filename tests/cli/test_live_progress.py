"""A step that runs for a while does not look frozen: ``lamina up`` reports its elapsed time and
the statement it is running, as plain "still running" lines when stdout is not a terminal and
as one line redrawn in place on a terminal, and nothing extra under ``--json``.

Each test runs a real ``lamina up`` on SQLite in a subprocess, with a Python migration that
runs two statements and then waits, inside its step, until the test creates a release file
(or for ``LAMINA_TEST_SLEEP`` seconds): the test sees the reports before it lets the step end,
so nothing depends on how fast the machine is.
"""

from __future__ import annotations

import io
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from rich.console import Console

from lamina.cli.render.runs import ProgressPrinter
from lamina.models import Direction
from lamina.runner import RunEvent
from support.cli import invoke_on
from support.processes import lamina_env, read_terminal, start

LONG = """
import os
import time
from pathlib import Path

from lamina import Migration


class Long(Migration):
    def up(self):
        self.execute_sql("CREATE TABLE big (id INTEGER, v INTEGER)")
        self.execute_sql("UPDATE big\\n   SET v = v + 1 -- bump\\n WHERE id = 1")
        if self.dry_run:  # the risk check records up() before the real run
            return
        release = Path(os.environ["LAMINA_TEST_RELEASE"])
        deadline = time.monotonic() + float(os.environ["LAMINA_TEST_SLEEP"])
        while not release.exists() and time.monotonic() < deadline:
            time.sleep(0.02)

    def down(self):
        self.execute_sql("DROP TABLE big")
"""

#: The statement running when the step waits, as a report shows it: on one line, its
#: ``-- comment`` kept as ``/* comment */``.
SHOWN = "UPDATE big SET v = v + 1 /* bump */ WHERE id = 1"
STILL = re.compile(r"^  … 001_long still running \((\d+\.\d) s\): (.*)$")


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    folder = tmp_path / "migrations"
    folder.mkdir()
    (folder / "001_long.py").write_text(LONG, encoding="utf-8")
    return lamina_env(
        f"sqlite:///{tmp_path / 'app.sqlite3'}",
        folder,
        LAMINA_PROGRESS_INTERVAL="0.5",
        LAMINA_TEST_RELEASE=str(tmp_path / "release"),
        LAMINA_TEST_SLEEP="60",
    )


def release(env: dict[str, str]) -> None:
    Path(env["LAMINA_TEST_RELEASE"]).touch()


def test_in_a_pipe_plain_lines_say_the_step_is_still_running(
    env: dict[str, str], tmp_path: Path
) -> None:
    proc = start(["up"], env, tmp_path)
    assert proc.stdout is not None
    seen: list[str] = []
    while len(seen) < 3:
        line = proc.stdout.readline()
        assert line, f"lamina ended before reporting the running step: {seen}"
        seen.append(line.rstrip("\n"))
    release(env)
    rest, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    lines = seen + rest.splitlines()

    done = lines.index(next(line for line in lines if line.startswith("✓ [1/1] applied")))
    reports = [STILL.match(line) for line in lines[:done]]
    assert all(reports), lines[:done]  # nothing but reports before the step's own line
    assert {m.group(2) for m in reports if m} == {SHOWN}
    elapsed = [float(m.group(1)) for m in reports if m]
    assert elapsed == sorted(elapsed) and elapsed[0] < elapsed[-1]
    assert not any("still running" in line for line in lines[done:])
    assert lines[done + 1 :] == ["✅ Applied 1 migration(s)."]


def test_json_prints_one_document_and_no_report(env: dict[str, str], tmp_path: Path) -> None:
    # No release: the step waits 2 s, four intervals of 0.5 s.
    proc = start(["up", "--json"], {**env, "LAMINA_TEST_SLEEP": "2"}, tmp_path)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert json.loads(out)["applied"] == ["001_long"]  # the whole of stdout is the document
    assert "still running" not in out + err


def test_an_interval_of_zero_turns_the_reports_off(env: dict[str, str], tmp_path: Path) -> None:
    settings = {**env, "LAMINA_TEST_SLEEP": "2", "LAMINA_PROGRESS_INTERVAL": "0"}
    proc = start(["up"], settings, tmp_path)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    lines = out.splitlines()
    assert len(lines) == 2, lines
    assert lines[0].startswith("✓ [1/1] applied 001_long")
    assert lines[1] == "✅ Applied 1 migration(s)."


def test_a_stop_signal_ends_the_reports_with_the_step(env: dict[str, str], tmp_path: Path) -> None:
    proc = start(["up"], env, tmp_path)
    assert proc.stdout is not None
    first = proc.stdout.readline()
    assert STILL.match(first.rstrip("\n")), first
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err
    assert "error: interrupted by SIGTERM during 001_long (rolled back" in err
    assert "Traceback" not in err
    assert out == "" or out.endswith("\n")  # whole lines only, before the error
    assert all(STILL.match(line) for line in out.splitlines())


def test_a_bad_interval_is_refused_naming_the_setting(tmp_path: Path) -> None:
    folder = tmp_path / "migrations"
    folder.mkdir()
    result = invoke_on(
        f"sqlite:///{tmp_path / 'app.sqlite3'}",
        folder,
        "up",
        env={"LAMINA_PROGRESS_INTERVAL": "often"},
    )
    assert result.exit_code == 1
    assert "LAMINA_PROGRESS_INTERVAL (environment): 'often' is not a number of seconds" in (
        result.stderr
    )
    assert "Traceback" not in result.output


def test_on_a_terminal_one_line_shows_the_elapsed_time_and_statement(
    env: dict[str, str], tmp_path: Path
) -> None:
    import pty

    controller, terminal = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "lamina", "up"],
        env={**env, "COLUMNS": "100"},
        cwd=tmp_path,
        stdin=subprocess.DEVNULL,
        stdout=terminal,
        stderr=subprocess.PIPE,
    )
    os.close(terminal)
    live = re.compile(r"\r\[1/1\] 001_long … (\d+\.\d) s: (.*?) *\r")
    try:
        shown = read_terminal(controller, proc, re.compile(live.pattern + r".*" + live.pattern))
        release(env)
        shown += read_terminal(controller, proc, re.compile(r"Applied 1 migration"))
        proc.wait(timeout=60)
    finally:
        os.close(controller)
    assert proc.returncode == 0, proc.stderr.read() if proc.stderr else ""

    drawn = live.findall(shown)
    assert len(drawn) >= 2, repr(shown)
    assert {statement for _, statement in drawn} == {SHOWN}
    assert float(drawn[0][0]) < float(drawn[-1][0])
    assert "still running" not in shown
    # The live line is wiped, and the step's own line starts on a clean line.
    assert re.search(r"\r +\r✓ \[1/1\] applied 001_long ", shown), repr(shown)
    assert all(len(segment) < 100 for segment in re.split(r"[\r\n]", shown))


def test_closing_the_printer_wipes_the_line_and_ends_its_thread() -> None:
    """What the CLI does when a command ends without the step's done/fail event (an error
    that is not the migration's, an interrupt): the live report stops before the message."""
    out = Console(file=io.StringIO(), force_terminal=True, no_color=True, width=80)
    printer = ProgressPrinter(out, interval=0.05)
    printer(RunEvent("start", Direction.UP, "001_long", "Long", 1, 1))
    printer(RunEvent("statement", Direction.UP, "001_long", "Long", 1, 1, detail="SELECT 1"))
    file = out.file
    assert isinstance(file, io.StringIO)
    deadline = time.monotonic() + 30
    while "s: SELECT 1" not in file.getvalue() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert re.search(r"\[1/1\] 001_long … \d+\.\d s: SELECT 1", file.getvalue())
    printer.close()
    assert not [t for t in threading.enumerate() if t.name == "lamina-progress"]
    assert re.search(r"\r +\r$", file.getvalue())
