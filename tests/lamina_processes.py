"""Running lamina as real processes, for the process and fault tests.

Imported by name (pytest puts this folder on ``sys.path``): plain functions and a migration
text, shared so both test modules start lamina the same way.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
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


def lamina_env(db_url: str, folder: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LAMINA_", "DATABASE_URL"))}
    env.pop("DB_PATH", None)
    env.update(
        PYTHONPATH=str(SRC),
        DATABASE_URL=db_url,
        LAMINA_MIGRATIONS_DIR=str(folder),
        NO_COLOR="1",
    )
    env.update(extra)
    return env


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
