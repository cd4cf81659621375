"""Who is running lamina, in terms a person can act on: user, host, container, pid."""

from __future__ import annotations

import getpass
import os
import re
import socket
import sys
from datetime import UTC, datetime
from pathlib import Path

from lamina.models import LockOwner
from lamina.urls import URLError, parse_url

__all__ = ["current_host", "current_user", "lock_owner"]

_CONTAINER_ID = re.compile(r"([0-9a-f]{64})")


def current_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry in slim containers
        return f"uid {os.getuid()}" if hasattr(os, "getuid") else "unknown"


def current_host() -> str:
    return socket.gethostname() or "unknown"


def container_id() -> str | None:
    """The container id from the cgroup file, when running in Docker/Kubernetes."""
    try:
        text = Path("/proc/self/cgroup").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    match = _CONTAINER_ID.search(text)
    return match.group(1)[:12] if match else None


def _redact_argument(argument: str) -> str:
    """A command-line argument safe to show: a URL (or ``--flag=URL``) loses its password."""
    flag, equals, value = (
        argument.partition("=") if argument.startswith("--") else ("", "", argument)
    )
    if "://" not in value:
        return argument
    try:
        return f"{flag}{equals}{parse_url(value).redacted()}"
    except URLError:
        return f"{flag}{equals}<unparsable URL hidden>"


def lock_owner(command: str) -> LockOwner:
    """Describe this process as the holder of a migration lock.

    ``command`` is what others see (``lamina up``); an empty one takes the command line, with
    any database URL's password masked.
    """
    argv = " ".join(["lamina", *map(_redact_argument, sys.argv[1:])]) if command == "" else command
    return LockOwner(
        host=current_host(),
        pid=os.getpid(),
        started_at=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        command=argv,
        container=container_id(),
    )
