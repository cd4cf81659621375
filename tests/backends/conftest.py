"""Fixtures for the backend contract suite: connected backends and helper processes."""

from __future__ import annotations

import os
import select
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from lamina.engines import open_backend
from lamina.engines.base import Backend
from lamina.history import History
from lamina.models import LockOwner
from lamina.urls import DatabaseURL, parse_url

SRC = Path(__file__).resolve().parents[2] / "src"

# Runs in a child process: open the backend named by argv[1], take what argv[2] says ("lock":
# the migration lock; "connect": a read-write connection; "write": a SQLite write transaction;
# "lamina": lock and connect, as `lamina up` does), say "ready", then hold it until stdin
# closes.
HOLDER_SCRIPT = """
import os, socket, sys
from lamina.engines import open_backend
from lamina.models import LockOwner
from lamina.urls import parse_url

backend = open_backend(parse_url(sys.argv[1]))
owner = LockOwner(host=socket.gethostname(), pid=os.getpid(),
                  started_at="2026-01-01T00:00:00Z", command="lamina up")
what = sys.argv[2]
held = []  # keep the context managers referenced: collecting one would release it
if what in ("lock", "lamina"):
    held.append(backend.lock(owner, 5))
    held[-1].__enter__()
if what in ("connect", "write", "lamina"):
    backend.connect(5)
if what == "write":
    held.append(backend.transaction())
    held[-1].__enter__()
print("ready", flush=True)
sys.stdin.read()
"""


def child_env() -> dict[str, str]:
    """The environment for a child Python that imports lamina from this checkout."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(SRC), env.get("PYTHONPATH")]))
    return env


def run_python(code: str, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter that imports lamina from this checkout."""
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


Spawn = Callable[[str, str], subprocess.Popen[str]]
RunPython = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def python_child() -> RunPython:
    """:func:`run_python`, as a fixture (test modules do not import conftest)."""
    return run_python


@pytest.fixture
def spawn_holder() -> Iterator[Spawn]:
    """Start a child process that holds ``what`` on ``url``; returns once it holds it.

    Closing the child's stdin makes it exit normally; every child is killed at teardown.
    """
    children: list[subprocess.Popen[str]] = []

    def spawn(url: str, what: str) -> subprocess.Popen[str]:
        child = subprocess.Popen(
            [sys.executable, "-c", HOLDER_SCRIPT, url, what],
            env=child_env(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        children.append(child)
        assert child.stdout is not None
        ready, _, _ = select.select([child.stdout], [], [], 30)
        line = child.stdout.readline() if ready else ""
        if line.strip() != "ready":
            child.kill()
            _, err = child.communicate()
            pytest.fail(f"holder process did not start: {line!r} {err}")
        return child

    yield spawn
    for child in children:
        if child.poll() is None:
            child.kill()
        child.wait(30)
        for stream in (child.stdin, child.stdout, child.stderr):
            if stream is not None:
                stream.close()


@pytest.fixture
def duckdb_url(tmp_path: Path) -> str:
    """A fresh DuckDB file, for tests of DuckDB's own behaviour."""
    return f"duckdb:///{tmp_path / 'only.duckdb'}"


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A fresh SQLite file, for tests of SQLite's own behaviour."""
    return f"sqlite:///{tmp_path / 'only.sqlite3'}"


@pytest.fixture
def connected() -> Iterator[Callable[[str], Backend]]:
    """Open and connect a backend for a URL; every one is closed after the test."""
    opened: list[Backend] = []

    def connect(url: str) -> Backend:
        backend = open_backend(parse_url(url))
        opened.append(backend)
        backend.connect(1)
        return backend

    yield connect
    for backend in opened:
        backend.close()


@pytest.fixture
def url(db_url: str) -> DatabaseURL:
    return parse_url(db_url)


@pytest.fixture
def backend(url: DatabaseURL) -> Iterator[Backend]:
    """A connected read-write backend on a fresh file; closed after the test."""
    with open_backend(url) as opened:
        opened.connect(1)
        yield opened


@pytest.fixture
def history(backend: Backend) -> History:
    return History(backend, user="tester", host="test-host")


@pytest.fixture
def owner() -> LockOwner:
    """This process as a lock owner."""
    return LockOwner(
        host=socket.gethostname(),
        pid=os.getpid(),
        started_at=History.now(),
        command="pytest",
    )
