"""A real PgBouncer in transaction pooling, in front of the PostgreSQL test server.

The fixture writes a stock ``pgbouncer.ini`` (nothing lamina-specific: no
``ignore_startup_parameters``), with ``auth_type = trust`` and the server's users in an
``auth_file``, listening on a free loopback port with a unix socket folder of its own, and
runs ``pgbouncer`` as a child process (``-u postgres`` when the tests run as root: PgBouncer
refuses to run as root). Used by tests/topologies and benchmarks/soak.py.

Install it with ``.ci/install-pgbouncer`` (the Debian package); see DEVELOPERS.md.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

__all__ = ["PgBouncer", "TopologyUnavailable", "free_port", "pgbouncer", "run_as_postgres"]

#: Server connections per (database, user): fewer than the runners the tests start, so
#: clients really share server connections.
POOL_SIZE = 4
START_WAIT_S = 15.0


class TopologyUnavailable(Exception):
    """A component cannot be started here; the message says why (the fixture skips, or
    fails under CI)."""


@dataclass(frozen=True)
class PgBouncer:
    host: str
    port: int
    folder: Path

    def url(self, server_url: str) -> str:
        """``server_url`` (a PostgreSQL URL) with its host and port replaced by the pooler's."""
        parts = urlsplit(server_url)
        userinfo = parts.netloc.rpartition("@")[0]
        netloc = f"{userinfo}@{self.host}:{self.port}" if userinfo else f"{self.host}:{self.port}"
        return parts._replace(netloc=netloc).geturl()

    def log(self) -> str:
        path = self.folder / "pgbouncer.log"
        return path.read_text(errors="replace") if path.exists() else ""


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def run_as_postgres() -> list[str]:
    """The command prefix that runs a server program as ``postgres`` when we are root."""
    if os.geteuid() != 0:
        return []
    runuser = shutil.which("runuser")
    if runuser is None:
        raise TopologyUnavailable("running as root and runuser is missing: cannot drop to postgres")
    return [runuser, "-u", "postgres", "--"]


def own_folder(prefix: str) -> Path:
    """A fresh folder the server programs (run as postgres) can write."""
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
    folder.chmod(0o700)
    return folder


def _binary() -> str:
    found = shutil.which("pgbouncer") or (
        "/usr/sbin/pgbouncer" if Path("/usr/sbin/pgbouncer").exists() else None
    )
    if found is None:
        raise TopologyUnavailable("pgbouncer is not installed (run .ci/install-pgbouncer)")
    return found


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


@contextmanager
def pgbouncer(
    server_host: str, server_port: int, users: list[str], *, ignore_startup_parameters: str = ""
) -> Iterator[PgBouncer]:
    """PgBouncer (pool_mode = transaction) in front of ``server_host:server_port``;
    ``ignore_startup_parameters = options`` is the usual workaround that drops lamina's
    settings silently.

    Raises:
        TopologyUnavailable: pgbouncer is missing or did not start (with its log).
    """
    binary = _binary()
    # PgBouncer refuses to run as root; -u makes it switch to postgres itself (no runuser
    # process between us and it, so SIGTERM reaches it directly).
    prefix = ["-u", "postgres"] if os.geteuid() == 0 else []
    folder = own_folder("lamina-pgbouncer-")
    port = free_port()
    (folder / "userlist.txt").write_text("".join(f'"{user}" ""\n' for user in users))
    (folder / "pgbouncer.ini").write_text(
        "[databases]\n"
        f"* = host={server_host} port={server_port}\n"
        "[pgbouncer]\n"
        "listen_addr = 127.0.0.1\n"
        f"listen_port = {port}\n"
        f"unix_socket_dir = {folder}\n"
        "auth_type = trust\n"
        f"auth_file = {folder / 'userlist.txt'}\n"
        "pool_mode = transaction\n"
        f"default_pool_size = {POOL_SIZE}\n"
        "max_client_conn = 500\n"
        f"logfile = {folder / 'pgbouncer.log'}\n"
        f"pidfile = {folder / 'pgbouncer.pid'}\n"
        "admin_users = postgres\n"
        "server_reset_query = DISCARD ALL\n"
        + (
            f"ignore_startup_parameters = {ignore_startup_parameters}\n"
            if ignore_startup_parameters
            else ""
        )
    )
    if os.geteuid() == 0:
        for path in folder.iterdir():
            shutil.chown(path, "postgres", "postgres")
    # Its log goes to the log file; stderr (which repeats it when not daemonised) goes to
    # DEVNULL, never to a pipe nobody reads: a full pipe would stall PgBouncer itself.
    process = subprocess.Popen(
        [binary, *prefix, str(folder / "pgbouncer.ini")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
    )
    found = PgBouncer(host="127.0.0.1", port=port, folder=folder)
    try:
        deadline = time.monotonic() + START_WAIT_S
        while not _answers(port):
            if process.poll() is not None or time.monotonic() > deadline:
                raise TopologyUnavailable(
                    f"pgbouncer did not start on 127.0.0.1:{port}: "
                    f"{' '.join(found.log().split())[-600:]}"
                )
            time.sleep(0.05)
        yield found
    finally:
        if process.poll() is None:
            process.terminate()  # SIGTERM: PgBouncer closes its connections and exits
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        shutil.rmtree(folder, ignore_errors=True)
