"""Running lamina as real processes: the one place that builds a child's environment.

Imported as ``support.processes`` (pytest puts the tests folder on ``sys.path``), so every
test that starts lamina strips the same settings and starts it the same way.
"""

from __future__ import annotations

import os
import re
import select
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import lamina

SRC = Path(lamina.__file__).parent.parent

# Sleeps inside up(), between its first statement and its history row, when asked to: the
# marker file tells the test the migration's transaction is open.
HANGING = """
    import os
    import time
    from pathlib import Path

    from lamina import Migration


    class Slow(Migration):
        def up(self):
            self.execute_sql("CREATE TABLE half_done (id INTEGER)")
            self.execute_sql("INSERT INTO half_done VALUES (1)")
            marker = os.environ.get("LAMINA_TEST_MARKER")
            if marker and not self.dry_run:  # the risk check records up() first
                Path(marker).write_text(str(os.getpid()))
                time.sleep(float(os.environ.get("LAMINA_TEST_SLEEP", "60")))

        def down(self):
            self.execute_sql("DROP TABLE half_done")
"""


#: Settings a developer's shell may carry that would change what a child lamina does.
_SETTING_PREFIXES = ("LAMINA_", "BACKUP_")
_SETTINGS = frozenset(
    {
        "DATABASE_URL",
        "DB_PATH",
        "AUTO_MIGRATE",
        "MIGRATION_REQUIRE_CONFIRMATION",
        "MAX_MIGRATION_TIME",
    }
)


def child_env(**settings: str) -> dict[str, str]:
    """The environment of a child lamina: this checkout's code, no colour, and none of the
    caller's lamina settings (only ``settings``), so every test starts from the defaults."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(_SETTING_PREFIXES) and key not in _SETTINGS
    }
    if "LAMINA_CACHE_DIR" in os.environ:  # the test session's findings cache, not the user's
        env["LAMINA_CACHE_DIR"] = os.environ["LAMINA_CACHE_DIR"]
    env.update(PYTHONPATH=str(SRC), NO_COLOR="1")
    env.update(settings)
    return env


def lamina_env(db_url: str, folder: Path, **extra: str) -> dict[str, str]:
    """:func:`child_env` for a run on ``db_url`` with the migrations in ``folder``."""
    return child_env(DATABASE_URL=db_url, LAMINA_MIGRATIONS_DIR=str(folder), **extra)


def start(
    args: list[str],
    env: dict[str, str],
    cwd: Path,
    *,
    prefix: list[str] | None = None,
    preexec_fn: Callable[[], None] | None = None,
) -> subprocess.Popen[str]:
    command = prefix or [sys.executable, "-m", "lamina"]
    return subprocess.Popen(
        [*command, *args],
        env=env,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        preexec_fn=preexec_fn,  # noqa: PLW1509  (drops capabilities only; no threads started)
    )


def wait_for(path: Path, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.01)


@contextmanager
def at_a_prompt(
    args: list[str], env: dict[str, str], cwd: Path, timeout: float = 30
) -> Iterator[tuple[subprocess.Popen[str], int, bytes]]:
    """``lamina ARGS`` with a terminal as stdin, read until its confirmation prompt (a ``?``
    on stderr): ``(process, the terminal's controlling end to answer on, the prompt)``."""
    import pty

    controller, terminal = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "lamina", *args], env=env, cwd=cwd,
        stdin=terminal, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    os.close(terminal)
    try:
        prompt = b""
        deadline = time.monotonic() + timeout
        while b"?" not in prompt and time.monotonic() < deadline:
            assert process.stderr is not None
            prompt += os.read(process.stderr.fileno(), 1024)
        yield process, controller, prompt
    finally:
        os.close(controller)


def read_terminal(controller: int, proc: subprocess.Popen[bytes], until: re.Pattern[str]) -> str:
    """What lamina wrote to its terminal so far, read until ``until`` matches it (or lamina
    ends: the caller's assertions then say what was missing)."""
    text = b""
    deadline = time.monotonic() + 60
    while not until.search(text.decode(errors="replace")) and time.monotonic() < deadline:
        ready, _, _ = select.select([controller], [], [], 0.1)
        if not ready:
            if proc.poll() is not None:
                break
            continue
        try:
            chunk = os.read(controller, 4096)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        text += chunk
    return text.decode(errors="replace")
