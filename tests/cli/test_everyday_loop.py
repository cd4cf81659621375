"""README's everyday loop, run as written: its five commands in a fresh folder, on the default
database (a DuckDB file), with the edit a developer makes between them."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import duckdb

from support.processes import child_env

README = Path(__file__).parents[2] / "README.md"


def _loop_commands() -> list[list[str]]:
    """The commands of the code block under README's "The everyday loop", comments cut."""
    section = README.read_text(encoding="utf-8").split("## The everyday loop", 1)[1]
    block = re.search(r"```bash\n(.*?)```", section, re.S)
    assert block is not None
    return [shlex.split(line.split("#", 1)[0]) for line in block.group(1).strip().splitlines()]


def test_the_readme_loop_runs_as_written(tmp_path: Path) -> None:
    commands = _loop_commands()
    assert [c[:2] for c in commands] == [
        ["lamina", "create"],
        ["lamina", "up"],
        ["lamina", "redo"],
        ["lamina", "verify"],
        ["lamina", "status"],
    ]
    env = child_env()

    def run(command: list[str]) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [sys.executable, "-m", "lamina", *command[1:]],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, (command, done.stdout, done.stderr)
        return done

    run(commands[0])
    [created] = (tmp_path / "migrations").glob("*_add_phone.sql")
    created.write_text(
        "-- migrate:up\nCREATE TABLE phones (id INTEGER PRIMARY KEY, number VARCHAR(20));\n"
        "-- migrate:down\nDROP TABLE phones;\n"
    )
    run(commands[1])
    # The developer edits the applied migration: redo rolls the empty table back without
    # --force, and applies the edited file.
    created.write_text(
        "-- migrate:up\nCREATE TABLE phones (id INTEGER PRIMARY KEY, number VARCHAR(32),"
        " label VARCHAR(20));\n-- migrate:down\nDROP TABLE phones;\n"
    )
    redone = run(commands[2])
    assert created.stem in redone.stdout
    run(commands[3])
    status = run(commands[4])
    assert "up to date" in status.stdout
    with duckdb.connect(str(tmp_path / "app.duckdb"), read_only=True) as conn:
        columns = [row[0] for row in conn.execute("DESCRIBE phones").fetchall()]
    assert columns == ["id", "number", "label"]
