"""The cross-process migration lock of file engines: an ``flock`` on a sidecar file.

Two ``lamina up`` runs against one DuckDB or SQLite file serialise on ``<database>.lamina.lock``.
The kernel releases an ``flock`` when its holder exits, even on ``kill -9``, so a crashed run
never leaves a stale lock behind; the JSON owner written into the file only tells others who
holds it. The file itself is never deleted: a process that opened it just before the unlink
would lock an orphaned inode while a third process locks a fresh file, and both would "hold"
the lock.

POSIX only (``fcntl``). :class:`FileBackend` packages the lock with the rest of what the file
engines share.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from datetime import UTC, datetime
from typing import ClassVar

from lamina.engines.base import Backend
from lamina.errors import BackendError, BackendUnavailableError, LockTimeoutError
from lamina.models import LockOwner

__all__ = ["LOCK_SUFFIX", "FileBackend", "hold", "owner_of_process", "read_holder"]

LOCK_SUFFIX = ".lamina.lock"
#: How often a waiting run retries the lock.
POLL_S = 0.05
#: Placeholders for an owner whose record is missing or unreadable; pid 0 means "unknown".
UNKNOWN = "unknown"
_MAX_RECORD = 64 * 1024


@contextmanager
def hold(path: str, owner: LockOwner, timeout_s: float, *, target: str) -> Iterator[None]:
    """Hold the lock on ``path`` for the block, waiting up to ``timeout_s`` (0: try once).

    ``owner`` is written into the file while the lock is held. The lock is not re-entrant: a
    second ``hold`` in the same process waits like any other process would.

    Raises:
        LockTimeoutError: another process kept the lock past ``timeout_s``; names it if known.
        BackendUnavailableError: the database's folder does not exist.
        BackendError: the lock file cannot be created (read-only folder...) or written.
    """
    fd = _open_for_locking(path)
    try:
        _acquire(fd, path, timeout_s, target)
    except BaseException:
        os.close(fd)
        raise
    try:
        _write_owner(fd, path, owner)
        yield
    finally:
        _release(fd)


def read_holder(path: str) -> LockOwner | None:
    """Who holds the lock on ``path`` right now, or ``None`` when nobody does.

    Never creates the file and never raises: an owner record that cannot be parsed gives a
    :class:`LockOwner` with whatever could be read (pid 0 and ``"unknown"`` for the rest).
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return None  # no lock file: no run ever locked this database (or we cannot tell)
    try:
        try:
            # A shared lock is enough to learn whether an exclusive holder exists, and two
            # concurrent `status` calls do not contend with each other.
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return _read_owner(fd)
        except OSError:
            return None
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


def owner_of_process(pid: int, program: str) -> LockOwner:
    """A :class:`LockOwner` for a local process lamina knows only by pid and program.

    The start time comes from ``/proc`` when it shows the same program under that pid (so a pid
    from another container's namespace is not misattributed). The command line is deliberately
    not read: it may carry a password.
    """
    started = _process_started_at(pid, program)
    return LockOwner(
        host=socket.gethostname(), pid=pid, started_at=started or UNKNOWN, command=program
    )


class FileBackend(Backend):
    """A backend whose database is one local file, or ``:memory:``.

    ``path`` is the URL's path made absolute at construction (relative paths are relative to the
    working directory then). The migration lock is the sidecar ``path + LOCK_SUFFIX``; an
    in-memory database lives in one process, so it needs none.
    """

    def _configure(self) -> None:
        url = self.url
        if url.path is None:
            raise ValueError(f"{url.scheme} URL without a file path")
        self.path = url.path if url.is_memory else os.path.abspath(url.path)

    #: Both engines run a statement inside one C call; interrupt() is safe from any thread.
    interrupt_on_stop: ClassVar[bool] = True

    @property
    def lock_path(self) -> str:
        return self.path + self.lock_purpose + LOCK_SUFFIX

    #: Which URL opens the other file engine's files.
    other_engine_hint: ClassVar[str]

    def exists(self) -> bool:
        return self.url.is_memory or os.path.exists(self.path)

    def _require_file_for_reading(self) -> None:
        """A read-only command never creates the database file: a missing one is an error."""
        if self.read_only and not self.exists():
            raise BackendUnavailableError(
                f"{self.title} database {self.path} does not exist",
                hint="check the database URL; a read-only command never creates the file",
            )

    def _cannot_open(self, detail: str, *, not_a_database: bool) -> BackendUnavailableError:
        """The error for a file the driver refused to open, with the likeliest cause named."""
        folder = os.path.dirname(self.path)
        if not_a_database:
            return BackendUnavailableError(
                f"{self.path} is not a {self.title} database file",
                hint=f"check the database URL ({self.other_engine_hint})",
            )
        if folder and not os.path.isdir(folder):
            return BackendUnavailableError(
                f"cannot open {self.title} database {self.path}: "
                f"the folder {folder} does not exist",
                hint="create the folder, or fix the path in the database URL",
            )
        return BackendUnavailableError(f"cannot open {self.title} database {self.path}: {detail}")

    def lock(self, owner: LockOwner, timeout_s: float) -> AbstractContextManager[None]:
        if self.url.is_memory:
            return nullcontext()
        return hold(self.lock_path, owner, timeout_s, target=self.target())

    def lock_holder(self) -> LockOwner | None:
        return None if self.url.is_memory else read_holder(self.lock_path)

    def other_holder(self) -> LockOwner | None:
        """The lamina run holding the migration lock, unless it is this process."""
        holder = self.lock_holder()
        if holder is None or (holder.pid == os.getpid() and holder.host == socket.gethostname()):
            return None
        return holder


# -- internals --------------------------------------------------------------------------------
def _open_for_locking(path: str) -> int:
    folder = os.path.dirname(path) or "."
    try:
        return os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    except FileNotFoundError as exc:
        raise BackendUnavailableError(
            f"cannot open the database: the folder {folder} does not exist",
            hint="create the folder, or fix the path in the database URL",
        ) from exc
    except OSError as exc:
        raise BackendError(
            f"cannot create the migration lock file {path}: {exc.strerror}",
            hint=f"lamina keeps its lock next to the database file; make {folder} writable "
            "for this user (read-only commands such as `status` do not need it)",
        ) from exc


def _acquire(fd: int, path: str, timeout_s: float, target: str) -> None:
    # Polling a non-blocking flock, rather than one blocking call, gives a timeout without
    # signals and keeps the wait interruptible by Ctrl-C.
    deadline = time.monotonic() + max(timeout_s, 0.0)
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                holder = read_holder(path)
                known = holder if holder is not None and holder.pid else None
                raise LockTimeoutError(target, timeout_s, known) from None
            time.sleep(min(POLL_S, remaining))
        except OSError as exc:  # e.g. ENOLCK on a network file system without flock
            raise BackendError(
                f"cannot lock {path}: {exc.strerror}",
                hint="keep the database on a local file system",
            ) from exc


def _write_owner(fd: int, path: str, owner: LockOwner) -> None:
    data = json.dumps(owner.to_record()).encode("utf-8")
    try:
        # os-level writes are unbuffered: readers see the record as soon as pwrite returns.
        os.ftruncate(fd, 0)
        os.pwrite(fd, data, 0)
    except OSError as exc:
        raise BackendError(f"cannot write the migration lock file {path}: {exc.strerror}") from exc


def _release(fd: int) -> None:
    try:
        # Clear the record before unlocking so nobody reads our stale owner afterwards.
        os.ftruncate(fd, 0)
    except OSError:
        pass  # the record is informational; unlocking below is what matters
    finally:
        # Explicit unlock: closing alone keeps the lock while a forked child shares the fd.
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def _read_owner(fd: int) -> LockOwner:
    data = b""
    # The holder writes its record just after locking; give that moment a chance to pass.
    for _ in range(5):
        data = os.pread(fd, _MAX_RECORD, 0)
        if data.strip():
            break
        time.sleep(0.01)
    try:
        record = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        record = {}
    return LockOwner.from_record(record)


def _process_started_at(pid: int, program: str) -> str | None:
    try:
        if os.path.realpath(f"/proc/{pid}/exe") != os.path.realpath(program):
            return None
        with open(f"/proc/{pid}/stat", "rb") as stat_file:
            stat = stat_file.read()
        # Fields after "(comm)": state is field 3, starttime (clock ticks after boot) field 22.
        ticks = int(stat[stat.rindex(b")") + 2 :].split()[19])
        with open("/proc/stat", "rb") as system_stat:
            boot = next(int(line.split()[1]) for line in system_stat if line.startswith(b"btime "))
    except (OSError, ValueError, IndexError, StopIteration):
        return None
    started = boot + ticks / os.sysconf("SC_CLK_TCK")
    return datetime.fromtimestamp(started, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
