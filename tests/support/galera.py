"""A real three-node MariaDB Galera cluster on loopback ports, for the tests and the soak.

Each node is a ``mariadbd`` of its own: its own data folder, socket, error log and four free
loopback ports (SQL, group communication, IST, SST). The first node is initialised with
``mariadb-install-db`` and bootstraps the cluster (``--wsrep-new-cluster``); the others start
empty and receive their data by state transfer (rsync), which is faster than initialising
three folders. :meth:`GaleraCluster.start` returns once every node reports
``wsrep_cluster_size = 3`` and ``wsrep_ready = ON``.

Group-communication timeouts are short, so a killed node leaves the cluster within seconds
(the surviving two keep quorum). :meth:`GaleraCluster.kill` and :meth:`GaleraCluster.rejoin`
let a test take a node down and bring it back (incremental state transfer from the gcache).

Example::

    cluster = GaleraCluster(Path(tempfile.mkdtemp(prefix="lg-")))
    try:
        cluster.start()
        url = cluster.url(0, "shop")   # mysql://root@127.0.0.1:PORT/shop
    finally:
        cluster.stop()
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from support.servers import under_ci

__all__ = [
    "PROVIDER",
    "GaleraCluster",
    "GaleraNode",
    "galera_cluster",
    "galera_cluster_running",
    "galera_problem",
    "node_state",
]

PROVIDER = Path("/usr/lib/galera/libgalera_smm.so")
#: How long one node may take to start (the joiners include their state transfer).
START_TIMEOUT_S = 90.0
#: Group communication: detect a dead peer within about three seconds.
_PROVIDER_OPTIONS = (
    "evs.keepalive_period=PT0.5S; evs.inactive_check_period=PT0.5S; "
    "evs.suspect_timeout=PT2S; evs.inactive_timeout=PT3S; evs.install_timeout=PT3S; "
    "gcache.size=64M; pc.wait_prim_timeout=PT10S"
)


def _tool(*names: str) -> str | None:
    for name in names:
        found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/bin:/sbin")
        if found:
            return found
    return None


def galera_problem() -> str | None:
    """Why a Galera cluster cannot be started on this machine, or None."""
    missing = []
    if _tool("mariadbd", "mysqld") is None:
        missing.append("mariadbd (apt-get install mariadb-server)")
    if _tool("mariadb-install-db", "mysql_install_db") is None:
        missing.append("mariadb-install-db (apt-get install mariadb-server)")
    if not PROVIDER.exists():
        missing.append(f"{PROVIDER} (apt-get install galera-4)")
    if _tool("rsync") is None or _tool("wsrep_sst_rsync") is None:
        missing.append("rsync and wsrep_sst_rsync (apt-get install rsync mariadb-server)")
    try:
        __import__("pymysql")
    except ImportError:
        missing.append("pymysql (pip install -e '.[dev]')")
    if missing:
        return "missing: " + ", ".join(missing) + " (or run .ci/install-galera)"
    return None


def free_ports(count: int) -> list[int]:
    """``count`` distinct loopback ports that were free a moment ago."""
    holders: list[socket.socket] = []
    try:
        for _ in range(count):
            holder = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            holder.bind(("127.0.0.1", 0))
            holders.append(holder)
        return [holder.getsockname()[1] for holder in holders]
    finally:
        for holder in holders:
            holder.close()


@dataclass
class GaleraNode:
    """One ``mariadbd`` of the cluster: its folder, ports and process."""

    index: int
    home: Path
    port: int
    gcomm_port: int
    ist_port: int
    sst_port: int
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def datadir(self) -> Path:
        return self.home / "data"

    @property
    def socket(self) -> Path:
        return self.home / "mysqld.sock"

    @property
    def config(self) -> Path:
        return self.home / "my.cnf"

    @property
    def error_log(self) -> Path:
        return self.home / "error.log"

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def connect(self, database: str | None = None, timeout: float = 3) -> Any:
        """An autocommit admin connection (root, no password, over TCP)."""
        import pymysql

        return pymysql.connect(
            host="127.0.0.1",
            port=self.port,
            user="root",
            password="",
            database=database,
            charset="utf8mb4",
            connect_timeout=timeout,
            read_timeout=30,
            autocommit=True,
        )

    def status(self) -> dict[str, str]:
        """The node's ``wsrep_%`` status variables."""
        with contextlib.closing(self.connect()) as conn, conn.cursor() as cursor:
            cursor.execute("SHOW GLOBAL STATUS LIKE 'wsrep%'")
            return {str(name): str(value) for name, value in cursor.fetchall()}

    def log_tail(self, lines: int = 25) -> str:
        try:
            text = self.error_log.read_text(errors="replace")
        except OSError:
            return "(no error log)"
        return "\n".join(text.splitlines()[-lines:])


class GaleraCluster:
    """Three (``size``) Galera nodes under ``base``; see the module docstring."""

    def __init__(self, base: Path, size: int = 3, name: str = "lamina_test") -> None:
        self.base = base
        self.name = name
        ports = free_ports(4 * size)
        self.nodes = []
        for i in range(size):  # four ports each: SQL, gcomm, IST, SST
            sql, gcomm, ist, sst = ports[4 * i : 4 * i + 4]
            self.nodes.append(GaleraNode(i, base / f"node{i}", sql, gcomm, ist, sst))

    # -- addresses ---------------------------------------------------------------------------
    def url(self, index: int, database: str, **query: str) -> str:
        """lamina's URL for ``database`` on node ``index``."""
        tail = "&".join(f"{key}={value}" for key, value in query.items())
        port = self.nodes[index].port
        return f"mysql://root@127.0.0.1:{port}/{database}" + (f"?{tail}" if tail else "")

    def cluster_address(self) -> str:
        return "gcomm://" + ",".join(f"127.0.0.1:{node.gcomm_port}" for node in self.nodes)

    # -- life cycle --------------------------------------------------------------------------
    def start(self) -> None:
        """Initialise and start every node; returns once the cluster is whole and ready.

        Raises:
            RuntimeError: a node did not start or join (with the tail of its error log).
        """
        self.base.mkdir(parents=True, exist_ok=True)
        # The SST's rsync daemon, started as root, writes as "nobody": the joiners' folders
        # must be reachable and writable by it.
        self.base.chmod(0o755)
        first = self.nodes[0]
        for node in self.nodes:
            node.datadir.mkdir(parents=True, exist_ok=True)
            node.home.chmod(0o755)
            node.datadir.chmod(0o777)
            node.config.write_text(self._config(node))
        self._install(first)
        self._launch(first, bootstrap=True)
        self._wait_ready(first, members=1)
        for node in self.nodes[1:]:
            self._launch(node)
        for node in self.nodes:
            self._wait_ready(node, members=len(self.nodes))

    def stop(self) -> None:
        """Stop every node (SIGTERM, then SIGKILL after a grace period); safe to call twice."""
        for node in self.nodes:
            if node.running():
                assert node.process is not None
                node.process.terminate()
        for node in self.nodes:
            process = node.process
            if process is None:
                continue
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
            node.process = None

    def kill(self, index: int, *, wait: bool = True) -> None:
        """SIGKILL node ``index`` (a crash: no goodbye to the group) and, with ``wait``,
        wait until the others count it gone (they must keep quorum)."""
        node = self.nodes[index]
        assert node.process is not None
        node.process.send_signal(signal.SIGKILL)
        node.process.wait(timeout=10)
        node.process = None
        if not wait:
            return
        survivors = [other for other in self.nodes if other.running()]
        for other in survivors:
            self._wait_ready(other, members=len(survivors))

    def bootstrap_survivor(self, index: int) -> None:
        """Make node ``index``, left alone without quorum, the primary component again
        (``pc.bootstrap``), as an operator does after losing the other nodes."""
        self.run_sql(index, "SET GLOBAL wsrep_provider_options = 'pc.bootstrap=YES'")
        self._wait_ready(self.nodes[index], members=1)

    def rejoin(self, index: int) -> None:
        """Start a stopped or killed node again, from an empty data folder (a full state
        transfer: a killed node's own files are not writable by the transfer's rsync), and
        wait until every running node counts it in."""
        node = self.nodes[index]
        if node.running():
            return
        shutil.rmtree(node.datadir, ignore_errors=True)
        node.datadir.mkdir()
        node.datadir.chmod(0o777)
        self._launch(node)
        running = [other for other in self.nodes if other.running()]
        for other in running:
            self._wait_ready(other, members=len(running))

    def run_sql(self, index: int, sql: str, database: str | None = None) -> list[tuple[Any, ...]]:
        """One statement as root on node ``index``; its rows (empty for a command)."""
        with contextlib.closing(self.nodes[index].connect(database)) as conn, conn.cursor() as cur:
            cur.execute(sql)
            return [tuple(row) for row in cur.fetchall()]

    @contextlib.contextmanager
    def database(self, name: str) -> Iterator[str]:
        """A database made on node 0 (replicated to all), dropped after the block."""
        self.run_sql(0, f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
        try:
            yield name
        finally:
            live = next((node for node in self.nodes if node.running()), None)
            if live is not None:
                with contextlib.suppress(Exception):
                    self.run_sql(live.index, f"DROP DATABASE IF EXISTS `{name}`")

    # -- internals ---------------------------------------------------------------------------
    def _config(self, node: GaleraNode) -> str:
        lines = [
            "[mysqld]",
            f"datadir={node.datadir}",
            f"socket={node.socket}",
            f"pid-file={node.home / 'mysqld.pid'}",
            f"log-error={node.error_log}",
            f"port={node.port}",
            "bind-address=127.0.0.1",
            "user=root",
            "skip-name-resolve",
            "performance_schema=OFF",
            "innodb_buffer_pool_size=32M",
            "innodb_log_file_size=16M",
            "innodb_flush_log_at_trx_commit=0",
            "innodb_use_native_aio=0",
            "max_connections=300",
            "binlog_format=ROW",
            "default_storage_engine=InnoDB",
            "innodb_autoinc_lock_mode=2",
            "wsrep_on=ON",
            f"wsrep_provider={PROVIDER}",
            f"wsrep_cluster_name={self.name}",
            f"wsrep_cluster_address={self.cluster_address()}",
            f"wsrep_node_name=node{node.index}",
            f"wsrep_node_address=127.0.0.1:{node.gcomm_port}",
            f"wsrep_node_incoming_address=127.0.0.1:{node.port}",
            f'wsrep_provider_options="{_PROVIDER_OPTIONS}; '
            f'ist.recv_addr=127.0.0.1:{node.ist_port}"',
            "wsrep_sst_method=rsync",
            f"wsrep_sst_receive_address=127.0.0.1:{node.sst_port}",
            "wsrep_slave_threads=2",
            "",
        ]
        return "\n".join(lines)

    def _install(self, node: GaleraNode) -> None:
        tool = _tool("mariadb-install-db", "mysql_install_db")
        assert tool is not None
        done = subprocess.run(
            [
                tool,
                "--no-defaults",
                f"--datadir={node.datadir}",
                "--user=root",
                "--auth-root-authentication-method=normal",
                "--skip-test-db",
                "--skip-name-resolve",
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"mariadb-install-db failed: {done.stderr.strip()[-2000:]}")

    def _launch(self, node: GaleraNode, *, bootstrap: bool = False) -> None:
        server = _tool("mariadbd", "mysqld")
        assert server is not None
        args = [server, f"--defaults-file={node.config}"]
        if bootstrap:
            args.append("--wsrep-new-cluster")
        env = dict(os.environ, PATH=os.environ.get("PATH", "") + ":/usr/sbin:/usr/bin")
        node.process = subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
            start_new_session=True,  # a Ctrl-C at the test runner is not the server's
        )

    def _wait_ready(self, node: GaleraNode, *, members: int) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        last = "no answer yet"
        while time.monotonic() < deadline:
            if not node.running():
                raise RuntimeError(
                    f"Galera node{node.index} exited while starting:\n{node.log_tail()}"
                )
            try:
                status = node.status()
            except Exception as exc:  # still starting: the port is not open yet
                last = " ".join(str(exc).split())
            else:
                size = status.get("wsrep_cluster_size")
                ready = status.get("wsrep_ready")
                last = f"wsrep_cluster_size={size}, wsrep_ready={ready}"
                if ready == "ON" and size == str(members):
                    return
            time.sleep(0.2)
        raise RuntimeError(
            f"Galera node{node.index} not ready within {START_TIMEOUT_S:g} s ({last}):\n"
            f"{node.log_tail()}"
        )


def node_state(cluster: GaleraCluster, index: int, database: str) -> dict[str, Any]:
    """What node ``index`` holds of ``database``: tables with their columns, lamina's history
    and the journal (the ``journal`` table's ``migration`` column, when there is one). Read
    with ``wsrep_sync_wait = 15``, so it includes everything the cluster committed before."""
    with contextlib.closing(cluster.nodes[index].connect()) as conn, conn.cursor() as cur:
        cur.execute("SET SESSION wsrep_sync_wait = 15")
        cur.execute(
            "SELECT table_name, column_name, column_type FROM information_schema.columns "
            "WHERE table_schema = %s ORDER BY table_name, ordinal_position",
            (database,),
        )
        columns = [tuple(row) for row in cur.fetchall()]
        tables = {str(row[0]) for row in columns}
        history: list[tuple[Any, ...]] = []
        journal: list[tuple[Any, ...]] = []
        if "lamina_migrations" in tables:
            cur.execute(f"SELECT id, state FROM `{database}`.lamina_migrations ORDER BY id")
            history = [tuple(row) for row in cur.fetchall()]
        if "journal" in tables:
            cur.execute(f"SELECT migration FROM `{database}`.journal ORDER BY migration")
            journal = [tuple(row) for row in cur.fetchall()]
    return {"columns": columns, "tables": tables, "history": history, "journal": journal}


@contextlib.contextmanager
def galera_cluster_running() -> Iterator[GaleraCluster]:
    """A started cluster in a folder of its own under the system temp folder (not pytest's,
    which is private to root: the state transfer's rsync runs as "nobody"), stopped and
    removed after, also when starting it failed half-way."""
    problem = galera_problem()
    if problem is not None:
        raise RuntimeError(problem)
    base = Path(tempfile.mkdtemp(prefix="lamina-galera-"))
    cluster = GaleraCluster(base)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session")
def galera_cluster() -> Iterator[GaleraCluster]:
    """A three-node MariaDB Galera cluster for the whole test session (started once: about
    15 s). One that cannot start skips its tests with the reason, or fails them under
    ``CI=true``."""
    try:
        with galera_cluster_running() as cluster:
            yield cluster
    except RuntimeError as exc:
        message = f"a Galera cluster cannot be started here: {exc}"
        if under_ci():
            pytest.fail(f"{message} (CI=true, so this fails instead of skipping)", pytrace=False)
        pytest.skip(message)
