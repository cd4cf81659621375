"""What both HTTP test modules need: a free port, and the first answer of a starting server.

Imported by name (pytest puts this folder on ``sys.path``), as a module rather than fixtures
because the helpers are plain functions used inside context managers.
"""

from __future__ import annotations

import socket
import subprocess
import time

import httpx
import pytest


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def first_answer(process: subprocess.Popen[str], url: str) -> httpx.Response:
    """The first answer from ``url``; fails with the process's output if it exits first."""
    deadline = time.monotonic() + 60
    while True:
        if process.poll() is not None:
            out, err = process.communicate()
            pytest.fail(f"exited {process.returncode} before answering:\n{out}\n{err}")
        try:
            return httpx.get(url, timeout=30)
        except httpx.TransportError:
            assert time.monotonic() < deadline, f"{url} did not answer in 60 s"
            time.sleep(0.1)
