"""Running the engines' client tools (pg_dump, mysqldump...) safely.

Arguments are always lists (no shell), secrets travel in the environment or a 0600 file and
never on the command line, stdout is streamed in chunks, and stderr goes to a temporary file so
a chatty tool can never deadlock against a full pipe.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO

from lamina.backup.errors import BackupError
from lamina.backup.streams import CHUNK

__all__ = ["ToolResult", "find_tool", "one_line", "require_tool", "stream_stdout", "tool_version"]

#: How much of a tool's stderr ends up in an error message.
_STDERR_LIMIT = 2000
_VERSION_TIMEOUT_S = 15


def find_tool(*names: str) -> str | None:
    """The full path of the first of ``names`` found on ``PATH`` (read at call time)."""
    for name in names:
        found = shutil.which(name, path=os.environ.get("PATH", os.defpath))
        if found:
            return found
    return None


def require_tool(*names: str, hint: str) -> str:
    """Like :func:`find_tool`, but a missing tool is a :class:`BackupError` with ``hint``."""
    found = find_tool(*names)
    if found is None:
        listed = " or ".join(names)
        raise BackupError(f"{names[0]} is not installed (no {listed} on PATH)", hint=hint)
    return found


def tool_version(path: str) -> str:
    """``pg_dump --version``'s first line, for the manifest; the name alone if it fails."""
    try:
        done = subprocess.run(
            [path, "--version"],
            capture_output=True,
            text=True,
            errors="replace",
            timeout=_VERSION_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return os.path.basename(path)
    first = done.stdout.strip().splitlines()
    return first[0].strip() if done.returncode == 0 and first else os.path.basename(path)


def one_line(text: str, limit: int = 500) -> str:
    """A tool's stderr as one line: what fits in an error message."""
    joined = " ".join(text.split())
    return joined if len(joined) <= limit else joined[: limit - 1] + "…"


@dataclass(frozen=True, slots=True)
class ToolResult:
    returncode: int
    stderr: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0


@contextmanager
def stderr_file() -> Iterator[IO[bytes]]:
    with tempfile.TemporaryFile() as err:
        yield err


def read_stderr(err: IO[bytes]) -> str:
    err.seek(0)
    return err.read(_STDERR_LIMIT).decode("utf-8", errors="replace")


def stream_stdout(
    argv: Sequence[str], env: Mapping[str, str], sink: Callable[[bytes], None]
) -> ToolResult:
    """Run ``argv`` and hand its stdout to ``sink`` chunk by chunk; never buffers it all.

    The process is killed if ``sink`` raises (or on Ctrl-C), so no dump keeps running behind a
    failed backup.
    """
    with stderr_file() as err:
        proc = subprocess.Popen(
            list(argv), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=err, env=dict(env)
        )
        assert proc.stdout is not None
        try:
            fd = proc.stdout.fileno()
            while chunk := os.read(fd, CHUNK):
                sink(chunk)
            returncode = proc.wait()
        finally:
            stop(proc)
        return ToolResult(returncode, read_stderr(err))


def stop(proc: subprocess.Popen[bytes]) -> None:
    """Kill ``proc`` if it is still running, reap it and close our ends of its pipes."""
    if proc.poll() is None:
        proc.kill()
        proc.wait()
    for pipe in (proc.stdin, proc.stdout):
        if pipe is not None:
            with contextlib.suppress(OSError):  # a broken pipe: the process is gone anyway
                pipe.close()
