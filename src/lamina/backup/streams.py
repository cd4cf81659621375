"""Byte plumbing shared by every engine: private files, hashing while copying, progress.

Nothing here holds more than one chunk in memory, so a backup of any size streams.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

if TYPE_CHECKING:
    from lamina.backup.scope import TableScope

__all__ = [
    "CHUNK",
    "HashingWriter",
    "Produced",
    "Progress",
    "create_exclusive",
    "create_private",
    "digest_file",
    "fsync_dir",
    "iter_chunks",
    "remove_quietly",
]

#: Called as bytes move: ``progress(bytes_done, bytes_total)``; the total is None when the
#: size is not known in advance (a pg_dump or mysqldump stream).
Progress = Callable[[int, int | None], None]

#: How much is read or written at a time.
CHUNK = 1024 * 1024
#: Backup files and manifests: readable by the owner only (they hold the whole database).
FILE_MODE = 0o600


def create_private(path: Path) -> BinaryIO:
    """Create ``path`` (which must not exist) for writing, mode 0600 whatever the umask."""
    return create_exclusive(path, FILE_MODE)


def create_exclusive(path: Path, mode: int | None) -> BinaryIO:
    """Create ``path`` (which must not exist) for writing.

    ``mode`` is set exactly, whatever the umask; None leaves the usual ``0666 & ~umask``.
    """
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, mode or 0o666)
    try:
        if mode is not None:
            os.fchmod(fd, mode)
        return os.fdopen(fd, "wb")
    except BaseException:
        os.close(fd)
        raise


@dataclass(frozen=True, slots=True)
class Produced:
    """What an engine wrote: the file's format, size and SHA-256, and the tool that wrote it."""

    format: str
    tool: str | None
    size: int
    sha256: str
    schema: str | None = None  # PostgreSQL: the schema the dump holds
    scope: TableScope | None = None  # a touched backup: the tables it holds


class HashingWriter:
    """Writes chunks to a file while counting and hashing them and reporting progress.

    Hashing on the way in means the SHA-256 describes exactly the bytes written, without
    reading the file a second time.
    """

    def __init__(self, out: BinaryIO, progress: Progress | None, total: int | None) -> None:
        self._out = out
        self._progress = progress
        self._total = total
        self._hash = hashlib.sha256()
        self.size = 0

    def write(self, chunk: bytes) -> None:
        self._out.write(chunk)
        self._hash.update(chunk)
        self.size += len(chunk)
        if self._progress is not None:
            self._progress(self.size, self._total)

    def finish(self) -> str:
        """Flush and fsync the file (the manifest must never point at unwritten bytes)."""
        self._out.flush()
        os.fsync(self._out.fileno())
        return self._hash.hexdigest()


def iter_chunks(source: BinaryIO) -> Iterable[bytes]:
    while chunk := source.read(CHUNK):
        yield chunk


def digest_file(path: Path, progress: Progress | None = None) -> tuple[int, str]:
    """The size and SHA-256 of ``path``, read in chunks."""
    digest = hashlib.sha256()
    total = path.stat().st_size
    done = 0
    with path.open("rb") as source:
        for chunk in iter_chunks(source):
            digest.update(chunk)
            done += len(chunk)
            if progress is not None:
                progress(done, total)
    return done, digest.hexdigest()


def fsync_dir(folder: Path) -> None:
    """Make a rename in ``folder`` durable (POSIX: the directory entry needs its own fsync)."""
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def remove_quietly(path: Path) -> None:
    """Remove a temporary file; one that is already gone is fine."""
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
