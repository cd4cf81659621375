"""The worker ``lamina up`` starts for its background backfills: a detached ``lamina backfill``
process (:mod:`lamina.api.backfills`), so the deploy that ran ``up`` can end meanwhile.

It gets the same settings as the ``up`` that started it: the command line's global options
become the environment variables they override (never arguments, which ``ps`` shows to every
user: a database URL may hold a password). Its output goes to a log file under lamina's cache
folder (the system's temporary folder when ``LAMINA_CACHE_DIR=off``), named in ``up``'s output.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from lamina.caching import default_cache_dir

__all__ = ["Worker", "start_worker"]

#: The global options (``ctx.obj`` keys) and the variables that carry them to the worker.
_VARIABLES = {
    "database_url": "DATABASE_URL",
    "migrations_dir": "LAMINA_MIGRATIONS_DIR",
    "env": "LAMINA_ENV",
    "lock_timeout_s": "LAMINA_LOCK_TIMEOUT",
    "lock_mode": "LAMINA_LOCK_MODE",
}


@dataclass(frozen=True, slots=True)
class Worker:
    """A started worker: its process id and where its output goes."""

    pid: int
    log: Path

    def to_dict(self) -> dict[str, object]:
        return {"pid": self.pid, "log": str(self.log)}


def start_worker(options: Mapping[str, object]) -> Worker:
    """Start ``lamina backfill`` detached from this process (its own session: the terminal's
    Ctrl-C and the end of this process do not stop it), with ``options`` (the global ones)."""
    env = dict(os.environ)
    for key, variable in _VARIABLES.items():
        value = options.get(key)
        if value is not None:
            env[variable] = str(value)
    folder = (default_cache_dir() or Path(tempfile.gettempdir()) / "lamina") / "backfills"
    folder.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
    log = folder / f"backfill-{stamp}-{os.getpid()}.log"
    with open(log, "ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "lamina", "backfill"],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            close_fds=True,
        )
    return Worker(process.pid, log)
