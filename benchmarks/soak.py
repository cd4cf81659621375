"""Soak: hundreds of ``up`` / ``rollback`` cycles per engine, with injected failures and kills.

Each cycle runs one ``lamina up`` (maybe ``--to V``) or ``lamina rollback V`` as a real process
(``sys.executable -m lamina``, this checkout's ``src`` first on PYTHONPATH). At random it first
writes a migration whose SQL fails into the folder, and at random it sends the process SIGKILL
after a random delay. After every cycle it checks, with the raw driver and lamina's API:

* the tables the migrations create are exactly those whose history rows say ``applied``. On
  MySQL/MariaDB (DDL commits implicitly) a ``failed``/``running`` row is allowed: the soak
  repairs it as a person would, with ``lamina repair`` (``--mark-applied`` when the base
  migration's table exists, else ``--mark-rolled-back``; an injected migration's table is
  dropped by hand and it is marked rolled back). Anywhere else a dirty row is a violation.
* no lock is left held: ``status().lock`` (what ``lamina status --json`` prints) is null once
  the process is gone (a server gets 5 s to notice a killed client's session end);
* ``lamina validate`` passes. Errors that are only schema drift are counted apart as
  ``false drift``: lamina records the schema after a run only when the run ended well, so a
  run that failed or was killed after applying steps leaves drift that lamina itself made.

``pgbouncer`` is PostgreSQL through a real PgBouncer in transaction pooling, started with the
tests' fixture (tests/support/pgbouncer.py; install it with .ci/install-pgbouncer), lamina in
``LAMINA_LOCK_MODE=table`` with a short lock expiry (``MAX_MIGRATION_TIME=1500``,
``LAMINA_LOCK_TTL=2.5``) so a killed run's lock row expires inside the 5 s the check waits.

``galera`` is a three-node MariaDB Galera cluster (tests/support/galera.py; .ci/install-galera),
``LAMINA_LOCK_MODE=table`` with ``MAX_MIGRATION_TIME=3000`` and ``LAMINA_LOCK_TTL=4``. Each
cycle starts 2-3 (``--quick``) or 2-5 runners at once, spread over the nodes, kills some of
them at random points and, in some cycles (``--galera-node-kills``, and once in ``--quick``),
SIGKILLs a node while they run and rejoins it after. A runner whose node died, or that met a
database a killed run left dirty, fails cleanly: counted as expected, not a violation. The
``running`` row a killed runner or node leaves is repaired from the schema, as above (the
journal row made to match). Then on every node: history all ``applied``, the tables exactly
those of the applied migrations, a journal table (each migration inserts its row, its down
deletes it) holding each applied migration once, and all three nodes identical.

``standby`` is the ``postgresql`` soak on the primary while a reader loops ``status``,
``health --detailed`` and ``diff`` (``--json``) on a hot standby of it (tests/support/standby.py),
and every third round ``up``: the reads must exit 0, or 1 for drift alone (counted as false
drift), with a JSON document and never an error one, no advisory lock may appear on the
standby while they run, the standby's log must hold no write attempt, and ``up`` must refuse
with exit 3 and the standby line, writing no backup.

Under ``CI=true`` an engine that cannot start (a server, a component) fails the soak.

It prints, per engine: cycles, faults injected by kind, kills, repairs, false drift,
invariant violations (must be 0) and the time taken; it exits 1 if any violation was found.
A server that does not answer is skipped, with the reason. Not a test: run it by hand or in
CI with ``--quick``::

    /tmp/venv/bin/python benchmarks/soak.py --quick  # 20 cycles (standby 10, Galera 5): < 2 min
    /tmp/venv/bin/python benchmarks/soak.py --cycles 500 --engines duckdb,sqlite --seed 7
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

REPO = Path(__file__).resolve().parent.parent
#: The lamina under test: this checkout's ``src`` unless --lamina-src says otherwise. The
#: checks import it too (see main), so they judge with the same code the processes run.
SRC = REPO / "src"

ENGINES = ("duckdb", "sqlite", "postgresql", "mysql", "pgbouncer", "galera", "standby")
#: The engines whose soak starts a component of its own (benchmarks/soak_topologies.py).
TOPOLOGIES = ("galera", "standby")
#: Settings per engine beyond the defaults (the pooler needs the table lock).
ENGINE_SETTINGS = {
    "pgbouncer": {
        "LAMINA_LOCK_MODE": "table",
        "MAX_MIGRATION_TIME": "1500",
        "LAMINA_LOCK_TTL": "2.5",
    },
}
ENGINE_API_SETTINGS = {
    "pgbouncer": {"lock_mode": "table", "max_migration_time_ms": 1500, "lock_ttl_s": 2.5},
}
SERVER_URLS = {
    "postgresql": ("LAMINA_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres"),
    "mysql": ("LAMINA_TEST_MYSQL_URL", "mysql://root@127.0.0.1:3306/mysql"),
}
PG_DATABASE = "lamina_test"
#: Environment variables of the caller that would change what lamina does: removed.
CALLER_SETTINGS = (
    "DATABASE_URL",
    "DB_PATH",
    "LAMINA_",
    "BACKUP_",
    "MIGRATION_",
    "MAX_MIGR",
    "AUTO_",
)
FAULT_KINDS = ("sql-error", "partial", "syntax")
FAULT_SQL = {
    # the first statement fails: nothing of it can be kept anywhere
    "sql-error": "INSERT INTO soak_no_such_table VALUES (1);",
    # a table is created, then a statement fails: MySQL keeps the table (DDL commits)
    "partial": "CREATE TABLE {table} (id INTEGER);\nINSERT INTO soak_no_such_table VALUES (1);",
    # the database cannot parse it
    "syntax": "CREATE TABEL {table} (id INTEGER);",
}
LOCK_RELEASE_WAIT_S = 5.0
COMMAND_TIMEOUT_S = 300


@dataclass
class Stats:
    """What one engine's soak did and found."""

    engine: str
    cycles: int = 0
    ups: int = 0
    rollbacks: int = 0
    faults: Counter[str] = field(default_factory=Counter)
    runners: int = 0  # lamina processes started by the cycles (Galera starts several a cycle)
    kills: int = 0  # SIGKILL sent to a live lamina process
    kills_too_late: int = 0  # the delay outlived the process: nothing to kill
    repairs: int = 0
    false_drift: int = 0
    drift_samples: list[str] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    seconds: float = 0.0
    skipped: str | None = None
    #: Failures a fault explains (a runner refused a database a killed run left dirty, a
    #: runner on a node that was killed): by kind, never violations.
    expected: Counter[str] = field(default_factory=Counter)
    #: Lines the report prints under the table (the topologies' own figures).
    details: list[str] = field(default_factory=list)


# -- the places ---------------------------------------------------------------------------------


class Place:
    """One engine's database, and raw access to it that does not go through lamina."""

    def __init__(self, engine: str, work: Path) -> None:
        #: The database engine: the pooler's place is a PostgreSQL schema, read directly.
        self.engine = "postgresql" if engine in ("pgbouncer", "standby") else engine
        self.pooled = engine == "pgbouncer"
        self.work = work
        self.url = ""
        self._admin: Any = None
        self._name = f"soak_{uuid.uuid4().hex[:10]}"
        self._components = ExitStack()

    def setup(self) -> None:
        """Create the empty place (raises when a server does not answer)."""
        if self.engine == "duckdb":
            self.url = f"duckdb:///{self.work / 'soak.duckdb'}"
        elif self.engine == "sqlite":
            self.url = f"sqlite:///{self.work / 'soak.sqlite3'}"
        elif self.engine == "postgresql":
            self._admin = urlsplit(_server_url("postgresql"))
            with self._pg(database=self._admin.path.lstrip("/") or "postgres") as con:
                found = con.execute(
                    "SELECT 1 FROM pg_database WHERE datname = %s", (PG_DATABASE,)
                ).fetchone()
                if found is None:
                    con.execute(f'CREATE DATABASE "{PG_DATABASE}"')
            self.url = _with_database(self._admin, PG_DATABASE) + f"?schema={self._name}"
            if self.pooled:
                self.url = self._pooler().url(self.url)
        else:
            self._admin = urlsplit(_server_url("mysql"))
            with self._my(database=None) as con, con.cursor() as cur:
                cur.execute(f"CREATE DATABASE `{self._name}` CHARACTER SET utf8mb4")
            self.url = _with_database(self._admin, self._name)

    def _pooler(self) -> Any:
        """A PgBouncer (transaction pooling) in front of the PostgreSQL server, stopped at
        teardown: the tests' fixture, so the soak runs the same component."""
        sys.path.insert(0, str(REPO / "tests"))
        from support.pgbouncer import pgbouncer

        a = self._admin
        user = unquote(a.username or "postgres")
        return self._components.enter_context(pgbouncer(a.hostname, a.port or 5432, [user]))

    def teardown(self) -> None:
        self._components.close()
        if self.engine == "postgresql":
            with self._pg(database=PG_DATABASE) as con:
                con.execute(f'DROP SCHEMA IF EXISTS "{self._name}" CASCADE')
        elif self.engine == "mysql":
            with self._my(database=None) as con, con.cursor() as cur:
                cur.execute(f"DROP DATABASE IF EXISTS `{self._name}`")

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        """Rows of ``sql``, on a connection opened and closed for it (never held open: a
        DuckDB reader would lock the file against the next lamina process)."""
        if self.engine == "duckdb":
            import duckdb

            path = self.work / "soak.duckdb"
            if not path.exists():
                return []
            con = duckdb.connect(str(path))
            try:
                return [tuple(r) for r in con.execute(sql).fetchall()]
            finally:
                con.close()
        if self.engine == "sqlite":
            lite = sqlite3.connect(self.work / "soak.sqlite3")
            try:
                rows = [tuple(r) for r in lite.execute(sql).fetchall()]
                lite.commit()
                return rows
            finally:
                lite.close()
        if self.engine == "postgresql":
            with self._pg(database=PG_DATABASE) as con:
                con.execute(f'CREATE SCHEMA IF NOT EXISTS "{self._name}"')
                con.execute(f'SET search_path = "{self._name}"')
                cursor = con.execute(sql)
                return [tuple(r) for r in cursor.fetchall()] if cursor.description else []
        with self._my(database=self._name) as con, con.cursor() as cur:
            cur.execute(sql)
            return [tuple(r) for r in cur.fetchall()] if cur.description else []

    def tables(self) -> set[str]:
        """The tables the soak's migrations make (t01..., f<cycle>) that exist now."""
        if self.engine in ("duckdb", "postgresql"):
            schema = "main" if self.engine == "duckdb" else self._name
            sql = (
                f"SELECT table_name FROM information_schema.tables WHERE table_schema = '{schema}'"
            )
        elif self.engine == "sqlite":
            sql = "SELECT name FROM sqlite_master WHERE type = 'table'"
        else:
            sql = "SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE()"
        return {str(r[0]) for r in self.query(sql) if re.fullmatch(r"[tf]\d+", str(r[0]))}

    def history(self) -> dict[str, str]:
        """Migration id -> state, from lamina_migrations (empty before the first run)."""
        try:
            return {
                str(i): str(s) for i, s in self.query("SELECT id, state FROM lamina_migrations")
            }
        except Exception as exc:  # no table yet: each driver says so its own way
            if "lamina_migrations" in str(exc) or "does not exist" in str(exc).lower():
                return {}
            raise

    def drop(self, table: str) -> None:
        self.query(f"DROP TABLE IF EXISTS {table}")

    @contextmanager
    def _pg(self, database: str) -> Any:
        import psycopg

        a = self._admin
        con = psycopg.connect(
            host=a.hostname, port=a.port or 5432, user=unquote(a.username or "postgres"),
            password=unquote(a.password) if a.password else None, dbname=database,
            autocommit=True, connect_timeout=3,
        )  # fmt: skip
        try:
            yield con
        finally:
            con.close()

    @contextmanager
    def _my(self, database: str | None) -> Any:
        import pymysql

        a = self._admin
        con = pymysql.connect(
            host=a.hostname, port=a.port or 3306, user=unquote(a.username or "root"),
            password=unquote(a.password or ""), database=database, autocommit=True,
            connect_timeout=3,
        )  # fmt: skip
        try:
            yield con
        finally:
            con.close()


def _server_url(engine: str) -> str:
    variable, default = SERVER_URLS[engine]
    return os.environ.get(variable) or default


def _with_database(parts: Any, database: str) -> str:
    return f"{parts.scheme}://{parts.netloc}/{database}"


# -- one engine's soak --------------------------------------------------------------------------


class Soak:
    """Cycles of up/rollback on one engine, with faults and kills, checked after each."""

    def __init__(self, engine: str, args: argparse.Namespace, api: Any) -> None:
        self.engine = engine
        self.args = args
        self.api = api  # the lamina package under test
        self.rng = random.Random(f"{args.seed}-{engine}")
        self.stats = Stats(engine)
        self.work = Path(tempfile.mkdtemp(prefix=f"lamina-soak-{engine}-"))
        self.folder = self.work / "migrations"
        self.place = Place(engine, self.work)
        self.base = args.migrations
        self.typical_s = 1.0  # how long a command usually takes here: the kill window
        self.cycles = args.cycles

    # -- running ---------------------------------------------------------------------------
    def run(self) -> Stats:
        started = time.perf_counter()
        try:
            self.place.setup()
        except Exception as exc:
            self.stats.skipped = f"does not answer: {' '.join(str(exc).split())[:160]}"
            shutil.rmtree(self.work, ignore_errors=True)
            return self.stats
        try:
            self._write_base()
            self.settings = self.api.load_settings(
                {
                    "database_url": self.place.url,
                    "migrations_dir": str(self.folder),
                    **ENGINE_API_SETTINGS.get(self.engine, {}),
                },
                environ={},
                cwd=self.work,
            )
            for cycle in range(1, self.cycles + 1):
                self._cycle(cycle)
                self.stats.cycles = cycle
        finally:
            self._cycles_ended()
            self.stats.seconds = time.perf_counter() - started
            try:
                self.place.teardown()
            finally:
                shutil.rmtree(self.work, ignore_errors=True)
        return self.stats

    def _cycles_ended(self) -> None:
        """Called after the last cycle, before the place is torn down (the standby's reader
        stops here)."""

    def _write_base(self) -> None:
        self.folder.mkdir()
        for number in range(1, self.base + 1):
            table = f"t{number:02d}"
            (self.folder / f"{number:03d}_{table}.sql").write_text(
                f"-- migrate:up\n"
                f"CREATE TABLE {table} (id INTEGER PRIMARY KEY, v VARCHAR(20));\n"
                f"INSERT INTO {table} (id, v) VALUES (1, 'soak');\n"
                f"-- migrate:down\n"
                f"DROP TABLE {table};\n"
            )

    def _cycle(self, cycle: int) -> None:
        applied = [i for i, s in self.place.history().items() if s == "applied"]
        top = max((int(i.split("_", 1)[0]) for i in applied), default=0)
        fault = None
        if top == 0 or self.rng.random() < 0.55:
            self.stats.ups += 1
            args = ["up"]
            if self.rng.random() < 0.3:
                args += ["--to", str(self.rng.randint(1, self.base))]
            elif self.rng.random() < self.args.fault_rate:
                fault = self._inject(cycle)
        else:
            self.stats.rollbacks += 1
            args = ["rollback", str(self.rng.randint(0, top - 1)), "--force", "--yes"]
        kill_after = None
        if self.rng.random() < self.args.kill_rate:
            kill_after = self.rng.uniform(0.0, self.typical_s * 1.2)
        result, killed = self._lamina(args, kill_after)
        where = f"cycle {cycle}: lamina {' '.join(args)}"
        if not killed:
            self._check_outcome(where, result, fault)
        self._settle(where)
        self._repair_dirty(where)
        for path in self.folder.glob("*_fault_*.sql"):
            path.unlink()
        self._check_invariants(where)

    def _inject(self, cycle: int) -> str:
        kind = self.rng.choice(FAULT_KINDS)
        self.stats.faults[kind] += 1
        migration_id = f"{900 + cycle}_fault_{kind.replace('-', '')}_{cycle}"
        sql = FAULT_SQL[kind].format(table=f"f{cycle}")
        (self.folder / f"{migration_id}.sql").write_text(
            f"-- migrate:up\n{sql}\n-- migrate:down\nDROP TABLE IF EXISTS f{cycle};\n"
        )
        return migration_id

    def _lamina(
        self, args: list[str], kill_after: float | None = None
    ) -> tuple[subprocess.CompletedProcess[str], bool]:
        """Run lamina; with ``kill_after``, SIGKILL it then. Returns (result, killed)."""
        env = lamina_env(self.args, self.place.url, self.folder, self.work / "backups")
        env.update(ENGINE_SETTINGS.get(self.engine, {}))
        started = time.perf_counter()
        result, killed = run_lamina(args, env, self.work, self.stats, kill_after)
        if not killed:
            elapsed = time.perf_counter() - started
            self.typical_s = 0.8 * self.typical_s + 0.2 * elapsed
        return result, killed

    # -- checking --------------------------------------------------------------------------
    def _violation(self, where: str, what: str) -> None:
        self.stats.violations.append(f"{where}: {what}")

    def _check_outcome(
        self, where: str, result: subprocess.CompletedProcess[str], fault: str | None
    ) -> None:
        shown = " | ".join((result.stdout + result.stderr).split("\n"))[:600]
        if "Traceback" in result.stderr or "unexpected" in result.stderr:
            self._violation(where, f"crashed: {shown}")
        elif fault is None and result.returncode != 0:
            self._violation(where, f"exit {result.returncode}: {shown}")
        elif fault is not None and (result.returncode != 1 or fault not in result.stderr):
            self._violation(where, f"injected {fault}: exit {result.returncode}: {shown}")

    def _settle(self, where: str) -> None:
        """Wait until no lock is held (a server may take a moment to end a killed session)."""
        deadline = time.monotonic() + LOCK_RELEASE_WAIT_S
        while True:
            try:
                lock = self.api.Lamina(self.settings).status(drift=False).lock_holder
            except Exception as exc:
                self._violation(where, f"status failed: {type(exc).__name__}: {exc}")
                return
            if lock is None:
                return
            if time.monotonic() > deadline:
                self._violation(
                    where, f"lock still held {LOCK_RELEASE_WAIT_S:g} s later: {lock.describe()}"
                )
                return
            time.sleep(0.05)

    def _repair_dirty(self, where: str) -> None:
        for migration_id, state in self.place.history().items():
            if state == "applied":
                continue
            if self.place.engine != "mysql":
                self._violation(where, f"{migration_id} left {state} on {self.engine}")
            table = _table_of(migration_id)
            if "_fault_" in migration_id:
                if table:
                    self.place.drop(table)  # undone by hand, then told so
                mark = "--mark-rolled-back"
            else:
                mark = "--mark-applied" if table in self.place.tables() else "--mark-rolled-back"
            result, _ = self._lamina(["repair", migration_id, mark])
            self.stats.repairs += 1
            if result.returncode != 0:
                self._violation(where, f"repair {migration_id} {mark}: {result.stderr.strip()}")
        for migration_id, state in self.place.history().items():
            if "_fault_" in migration_id and state == "applied":
                self._violation(where, f"injected {migration_id} is recorded applied")

    def _check_invariants(self, where: str) -> None:
        history = self.place.history()
        expected = {
            table
            for migration_id, state in history.items()
            if state == "applied" and (table := _table_of(migration_id))
        }
        found = self.place.tables()
        if expected != found:
            self._violation(
                where,
                f"tables {sorted(found)} but applied rows say {sorted(expected)} ({history})",
            )
        try:
            status = self.api.Lamina(self.settings).status(drift=False)
            result = self.api.Lamina(self.settings).validate()
        except Exception as exc:
            self._violation(where, f"status/validate failed: {type(exc).__name__}: {exc}")
            return
        if status.lock_holder is not None:
            self._violation(where, f"lock held after the run: {status.lock_holder.describe()}")
        errors = result.errors
        if errors and all(p.code == "drift" for p in errors):
            self.stats.false_drift += 1
            if len(self.stats.drift_samples) < 3:
                self.stats.drift_samples.append(f"{where}: {errors[0].message}")
        elif errors:
            self._violation(where, "validate: " + "; ".join(p.render() for p in errors))


def run_lamina(
    args: list[str], env: dict[str, str], cwd: Path, stats: Stats, kill_after: float | None
) -> tuple[subprocess.CompletedProcess[str], bool]:
    """``lamina ARGS``; with ``kill_after``, SIGKILL it then (counted in ``stats``).
    Returns (result, killed)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "lamina", *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    killed = False
    if kill_after is not None:
        try:
            process.wait(timeout=kill_after)
            stats.kills_too_late += 1
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGKILL)
            killed = True
            stats.kills += 1
    out, err = process.communicate(timeout=COMMAND_TIMEOUT_S)
    return subprocess.CompletedProcess(process.args, process.returncode, out, err), killed


def lamina_env(args: argparse.Namespace, url: str, folder: Path, backups: Path) -> dict[str, str]:
    """The environment of one lamina process: the caller's, without its lamina settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(CALLER_SETTINGS)}
    env.update(
        PYTHONPATH=os.pathsep.join(filter(None, [str(args.lamina_src), env.get("PYTHONPATH")])),
        DATABASE_URL=url,
        LAMINA_MIGRATIONS_DIR=str(folder),
        LAMINA_LOCK_TIMEOUT="20",
        LAMINA_BACKUP_DIR=str(backups),
        BACKUP_ENABLED="true" if args.backups else "false",
        MIGRATION_REQUIRE_CONFIRMATION="false",
        NO_COLOR="1",
    )
    return env


def _table_of(migration_id: str) -> str | None:
    """The table a migration creates: t01 for 001_t01, f<cycle> for a partial fault."""
    if "_fault_partial_" in migration_id:
        return "f" + migration_id.rsplit("_", 1)[1]
    if "_fault_" in migration_id:
        return None
    return migration_id.split("_", 1)[1]


# -- the command ---------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cycles", type=int, default=200, help="cycles per engine (200)")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="20 cycles per engine (standby 10, Galera 5), 5 migrations (CI)",
    )
    parser.add_argument(
        "--engines",
        default=",".join(ENGINES),
        help=f"comma-separated: {','.join(ENGINES)} (default all)",
    )
    parser.add_argument("--seed", type=int, default=None, help="random seed (default: random)")
    parser.add_argument("--migrations", type=int, default=8, help="base migrations (8)")
    parser.add_argument("--fault-rate", type=float, default=0.35, help="per up cycle (0.35)")
    parser.add_argument("--kill-rate", type=float, default=0.25, help="per cycle (0.25)")
    parser.add_argument(
        "--backups",
        action="store_true",
        help="keep BACKUP_ENABLED on (a backup before each risky step)",
    )
    parser.add_argument(
        "--galera-cycles", type=int, default=None, help="cycles on the Galera cluster (40)"
    )
    parser.add_argument(
        "--galera-node-kills",
        type=float,
        default=0.15,
        help="per Galera cycle: kill a node mid-cycle, then rejoin it (0.15)",
    )
    parser.add_argument("--serial", action="store_true", help="one engine after another")
    parser.add_argument(
        "--lamina-src",
        type=Path,
        default=SRC,
        help="the src/ folder of the lamina to soak (default: this checkout's)",
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.cycles, args.migrations = 20, 5
    if args.galera_cycles is None:
        args.galera_cycles = 5 if args.quick else 40
    args.engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    unknown = sorted(set(args.engines) - set(ENGINES))
    if unknown:
        parser.error(f"unknown engine(s): {', '.join(unknown)}")
    if args.seed is None:
        args.seed = random.SystemRandom().randrange(10**6)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    args.lamina_src = args.lamina_src.resolve()
    sys.path.insert(0, str(args.lamina_src))
    import lamina

    soaks = [make_soak(engine, args, lamina) for engine in args.engines]
    own = [f"{s.engine} {s.cycles}" for s in soaks if s.cycles != args.cycles]
    print(
        f"lamina soak ({args.lamina_src}): {args.cycles} cycles x {', '.join(args.engines)}"
        + (f" ({', '.join(own)})" if own else "")
        + f", seed {args.seed}, "
        f"{args.migrations} migrations, faults {args.fault_rate:g}/up, kills "
        f"{args.kill_rate:g}/cycle, backups {'on' if args.backups else 'off'}",
        flush=True,
    )
    started = time.perf_counter()
    if args.serial:
        for soak in soaks:
            soak.run()
    else:
        threads = [threading.Thread(target=soak.run, name=soak.engine) for soak in soaks]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    report([soak.stats for soak in soaks], time.perf_counter() - started)
    failed = any(soak.stats.violations for soak in soaks)
    if under_ci():
        for soak in soaks:
            if soak.stats.skipped:
                print(f"FAILED [{soak.stats.engine}] CI=true: it must run here, not be skipped")
                failed = True
    return 1 if failed else 0


def make_soak(engine: str, args: argparse.Namespace, api: Any) -> Any:
    """The soak of ``engine``: the topologies' are in soak_topologies.py."""
    if engine not in TOPOLOGIES:
        return Soak(engine, args, api)
    sys.modules.setdefault("soak", sys.modules[__name__])  # run as a script: one module
    import soak_topologies

    if engine == "galera":
        return soak_topologies.GaleraSoak(args, api)
    return soak_topologies.StandbySoak(args, api)


def under_ci() -> bool:
    """CI=true: a component that cannot start fails the soak instead of skipping it."""
    return os.environ.get("CI", "").strip().lower() == "true"


def report(all_stats: list[Stats], seconds: float) -> None:
    header = (
        f"{'engine':<11}{'cycles':>7}{'ups':>5}{'rollb':>6}{'faults':>7}  {'by kind':<30}"
        f"{'kills':>6}{'late':>5}{'repairs':>8}{'f.drift':>8}{'viol.':>6}{'time':>8}"
    )
    print(header)
    print("-" * len(header))
    for s in all_stats:
        if s.skipped:
            print(f"{s.engine:<11}skipped: {s.skipped}")
            continue
        shown = FAULT_KINDS if s.engine not in TOPOLOGIES or s.engine == "standby" else ()
        kinds = ", ".join(f"{k} {s.faults[k]}" for k in shown or sorted(s.faults))
        print(
            f"{s.engine:<11}{s.cycles:>7}{s.ups:>5}{s.rollbacks:>6}{sum(s.faults.values()):>7}  "
            f"{kinds:<30}{s.kills:>6}{s.kills_too_late:>5}{s.repairs:>8}{s.false_drift:>8}"
            f"{len(s.violations):>6}{s.seconds:>7.1f}s"
        )
    print(f"total wall time {seconds:.1f} s")
    for s in all_stats:
        for line in s.details:
            print(line)
    for s in all_stats:
        for sample in s.drift_samples:
            print(f"false drift [{s.engine}] {sample}")
    for s in all_stats:
        for violation in s.violations[:20]:
            print(f"VIOLATION [{s.engine}] {violation}")
        if len(s.violations) > 20:
            print(f"VIOLATION [{s.engine}] ... and {len(s.violations) - 20} more")
    if any(s.false_drift for s in all_stats):
        print(
            "note: 'f.drift' counts validate runs whose only errors were schema drift after a "
            "failed or killed run: lamina should report none (it records the schema after a "
            "failed run, and treats a snapshot older than history as unknown)"
        )


if __name__ == "__main__":
    sys.exit(main())
