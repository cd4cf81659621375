"""A real PostgreSQL hot standby of the test server, made with ``pg_basebackup -R``.

The copy goes to a fresh folder owned by ``postgres``, gets a ``postgresql.conf`` and
``pg_hba.conf`` of its own (a Debian cluster keeps them in /etc, so the copy has none), and
is started with the server's own ``pg_ctl`` on a free loopback port, as ``postgres`` (through
``runuser`` when the tests run as root). Stopped and deleted afterwards.

The primary must accept a replication connection from 127.0.0.1: when ``pg_basebackup``
is refused for want of a ``pg_hba.conf`` line, the fixture appends
``host replication all 127.0.0.1/32 trust`` to the primary's hba file (once; it checks first)
and reloads the configuration. See DEVELOPERS.md.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from support.pgbouncer import TopologyUnavailable, free_port, own_folder, run_as_postgres
from support.servers import ServerAddress

__all__ = ["Standby", "hot_standby", "wait_for_replay"]

REPLICATION_LINE = "host replication all 127.0.0.1/32 trust"
#: Settings a hot standby must have at least as high as its primary, or it will not start.
AT_LEAST_PRIMARY = (
    "max_connections",
    "max_worker_processes",
    "max_wal_senders",
    "max_prepared_transactions",
    "max_locks_per_transaction",
)
START_WAIT_S = 60
#: How long pg_basebackup (or pg_ctl) may take before the fixture gives up, with its output.
RUN_WAIT_S = 180


@dataclass(frozen=True)
class Standby:
    port: int
    folder: Path

    def url(self, server_url: str) -> str:
        """``server_url`` (on the primary) pointed at the standby."""
        from support.pgbouncer import PgBouncer

        return PgBouncer("127.0.0.1", self.port, self.folder).url(server_url)


def _run(command: list[str], what: str, *, strict: bool = True) -> subprocess.CompletedProcess[str]:
    """Run ``command``; a timeout (and, when ``strict``, a failure) is TopologyUnavailable."""
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=RUN_WAIT_S, check=False
        )
    except subprocess.TimeoutExpired as exc:
        said = exc.stderr.decode(errors="replace") if isinstance(exc.stderr, bytes) else ""
        raise TopologyUnavailable(
            f"{what} did not finish in {RUN_WAIT_S} s: {' '.join(said.split())[-600:]}"
        ) from exc
    if strict and done.returncode != 0:
        detail = " ".join((done.stderr or done.stdout).split())[-600:]
        raise TopologyUnavailable(f"{what} failed: {detail}")
    return done


def _bindir(admin: Any) -> Path:
    major = int(admin.execute("SHOW server_version_num").fetchone()[0]) // 10000
    bindir = Path(f"/usr/lib/postgresql/{major}/bin")
    if not (bindir / "pg_ctl").exists():
        found = shutil.which("pg_config")
        if found is None:
            raise TopologyUnavailable(f"no PostgreSQL {major} binaries in {bindir}")
        bindir = Path(_run([found, "--bindir"], "pg_config").stdout.strip())
    return bindir


def _allow_replication(admin: Any) -> None:
    """Let 127.0.0.1 make replication connections to the primary (idempotent)."""
    hba = Path(admin.execute("SHOW hba_file").fetchone()[0])
    try:
        lines = hba.read_text().splitlines()
        if REPLICATION_LINE not in (line.strip() for line in lines):
            with hba.open("a") as file:
                file.write("\n# added by lamina's tests (tests/support/standby.py)\n")
                file.write(REPLICATION_LINE + "\n")
    except OSError as exc:
        raise TopologyUnavailable(
            f"the primary refuses replication from 127.0.0.1 and {hba} cannot be changed "
            f"({exc}): add '{REPLICATION_LINE}' and reload"
        ) from exc
    admin.execute("SELECT pg_reload_conf()")
    time.sleep(0.5)  # the postmaster rereads the file asynchronously


@contextmanager
def hot_standby(primary: ServerAddress) -> Iterator[Standby]:
    """A hot standby of ``primary`` (streaming, read-only) on a free loopback port.

    Raises:
        TopologyUnavailable: the primary does not allow it, or the standby did not start.
    """
    admin = primary.connect()
    try:
        level = admin.execute("SHOW wal_level").fetchone()[0]
        senders = int(admin.execute("SHOW max_wal_senders").fetchone()[0])
        if level == "minimal" or senders < 1:
            raise TopologyUnavailable(
                f"the primary has wal_level={level}, max_wal_senders={senders}: a standby needs "
                "wal_level=replica and max_wal_senders >= 1 (a restart of the server)"
            )
        bindir = _bindir(admin)
        floors = {name: admin.execute(f"SHOW {name}").fetchone()[0] for name in AT_LEAST_PRIMARY}
        prefix = run_as_postgres()
        folder = own_folder("lamina-standby-")
        data = folder / "data"
        user = primary.user or "postgres"
        backup = [
            *prefix, str(bindir / "pg_basebackup"), "-R", "-D", str(data), "-X", "stream",
            "-c", "fast", "-h", primary.host, "-p", str(primary.port), "-U", user,
        ]  # fmt: skip
        try:
            done = _run(backup, "pg_basebackup", strict=False)
            if done.returncode != 0 and "pg_hba.conf" in done.stderr:
                _allow_replication(admin)
                shutil.rmtree(data, ignore_errors=True)
                done = _run(backup, "pg_basebackup", strict=False)
        except TopologyUnavailable:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        if done.returncode != 0:
            shutil.rmtree(folder, ignore_errors=True)
            raise TopologyUnavailable(f"pg_basebackup failed: {' '.join(done.stderr.split())}")
    finally:
        admin.close()
    port = free_port()
    settings = {
        "port": str(port),
        "listen_addresses": "'127.0.0.1'",
        "unix_socket_directories": f"'{folder}'",
        "hot_standby": "on",
        "hot_standby_feedback": "on",
        "fsync": "off",
        "shared_buffers": "'32MB'",
        **floors,
    }
    _write_as_postgres(data / "postgresql.conf", [f"{k} = {v}" for k, v in settings.items()])
    _write_as_postgres(
        data / "pg_hba.conf",
        ["local all all trust", "host all all 127.0.0.1/32 trust"],
    )
    _write_as_postgres(data / "pg_ident.conf", [])
    pg_ctl = [*prefix, str(bindir / "pg_ctl"), "-D", str(data), "-l", str(folder / "log")]
    try:
        try:
            _run([*pg_ctl, "-w", "-t", str(START_WAIT_S), "start"], "starting the standby")
        except TopologyUnavailable as exc:
            log = folder / "log"
            tail = log.read_text(errors="replace")[-600:] if log.exists() else ""
            raise TopologyUnavailable(f"{exc}; log: {' '.join(tail.split())}") from exc
        yield Standby(port=port, folder=folder)
    finally:
        subprocess.run([*pg_ctl, "-m", "immediate", "stop"], capture_output=True, check=False)
        shutil.rmtree(folder, ignore_errors=True)


def _write_as_postgres(path: Path, lines: list[str]) -> None:
    path.write_text("".join(f"{line}\n" for line in lines))
    if run_as_postgres():
        shutil.chown(path, "postgres", "postgres")


def wait_for_replay(primary: Any, standby: Any, timeout_s: float = 30.0) -> None:
    """Wait until ``standby`` (a connection) has replayed what ``primary`` wrote so far."""
    target = primary.execute("SELECT pg_current_wal_lsn()").fetchone()[0]
    deadline = time.monotonic() + timeout_s
    while True:
        row = standby.execute(
            "SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", (str(target),)
        ).fetchone()
        if row and row[0]:
            return
        assert time.monotonic() < deadline, f"the standby did not replay up to {target}"
        time.sleep(0.05)
