"""The soak's production topologies (``galera``, ``standby``), each started for real with the
tests' fixtures (tests/support/galera.py, tests/support/standby.py). See soak.py's docstring
for what each checks; this module only holds their cycles.

``galera``: a three-node MariaDB Galera cluster, lamina in ``LAMINA_LOCK_MODE=table`` with a
short time limit and lock life, so a killed runner's lock row is taken over within seconds.
Each cycle starts several runners spread over the nodes (``up``, ``up --to V``, ``rollback
V``), kills some of them at random points and, in some cycles, kills a node (SIGKILL, a crash)
while they run and brings it back afterwards (a full state transfer). Then, on every node:
schema matches history, a journal table written by each migration holds one row per applied
migration (a migration applied twice, or on two nodes, would leave two), and all nodes hold
the same tables, columns, history and journal.

``standby``: the ``postgresql`` soak on the primary, while a reader loops ``status``,
``health`` and ``diff`` (``--json``) against a hot standby of it, and now and then ``up``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import soak as base

#: Galera: the time limit and a lock life just above it (lamina requires TTL >= the limit).
GALERA_SETTINGS = {
    "LAMINA_LOCK_MODE": "table",
    "MAX_MIGRATION_TIME": "3000",
    "LAMINA_LOCK_TTL": "4",
}
GALERA_API_SETTINGS = {"lock_mode": "table", "max_migration_time_ms": 3000, "lock_ttl_s": 4.0}
#: How long a killed runner's lock row may stay after the runners end: its life, and slack.
GALERA_LOCK_WAIT_S = 12.0
#: The pause inside each Galera migration, between its DDL and its journal row.
STEP_PAUSE_S = 0.2
STANDBY_QUICK_CYCLES = 10
STANDBY_REFUSAL = "this server is a read-only standby; point DATABASE_URL at the primary"


def _support() -> None:
    """Make the tests' ``support`` package importable (the fixtures live with the tests)."""
    tests = str(base.REPO / "tests")
    if tests not in sys.path:
        sys.path.insert(0, tests)


def _short(result: subprocess.CompletedProcess[str]) -> str:
    """The output on one line: its start and its end (where the error is)."""
    text = " | ".join((result.stdout + result.stderr).strip().split("\n"))
    return text if len(text) <= 700 else f"{text[:200]} ... {text[-500:]}"


# -- galera -------------------------------------------------------------------------------------


class GaleraSoak:
    """Runners on three nodes, runner kills and node kills; see the module docstring."""

    def __init__(self, args: argparse.Namespace, api: Any) -> None:
        self.engine = "galera"
        self.args = args
        self.api = api
        self.rng = random.Random(f"{args.seed}-galera")
        self.stats = base.Stats("galera")
        self.work = Path(tempfile.mkdtemp(prefix="lamina-soak-galera-"))
        self.folder = self.work / "migrations"
        self.count = args.migrations
        self.cycles = args.galera_cycles
        self.max_runners = 3 if args.quick else 5
        self.node_kill_rate = args.galera_node_kills
        self.typical_s = 2.0
        self.node_kills = 0
        self.victim: int | None = None  # the node killed in this cycle
        self.cluster: Any = None
        self.database = f"soak_{uuid.uuid4().hex[:10]}"

    def run(self) -> base.Stats:
        started = time.perf_counter()
        try:
            with contextlib.ExitStack() as stack:
                try:
                    _support()
                    from support.galera import galera_cluster_running

                    self.cluster = stack.enter_context(galera_cluster_running())
                    stack.enter_context(self.cluster.database(self.database))
                except Exception as exc:
                    self.stats.skipped = f"cannot start: {' '.join(str(exc).split())[:300]}"
                    return self.stats
                self.stats.details.append(
                    f"galera: cluster of 3 ready in {time.perf_counter() - started:.1f} s"
                )
                self._write_migrations()
                for cycle in range(1, self.cycles + 1):
                    self._cycle(cycle)
                    self.stats.cycles = cycle
        except Exception as exc:  # the soak itself could not go on: say where, loudly
            self.stats.violations.append(
                f"cycle {self.stats.cycles + 1}: soak stopped: {type(exc).__name__}: {exc}"
            )
        finally:
            self.stats.seconds = time.perf_counter() - started
            shutil.rmtree(self.work, ignore_errors=True)
        if not self.stats.skipped:
            self.stats.details.append(
                f"galera: {self.stats.runners} runners over 3 nodes ({self.max_runners} at most "
                f"per cycle), {self.stats.kills} runners killed, {self.node_kills} nodes killed "
                f"and rejoined, expected failures: "
                + (", ".join(f"{k} {v}" for k, v in sorted(self.stats.expected.items())) or "none")
            )
        return self.stats

    def _write_migrations(self) -> None:
        """001 makes the journal; each later one a table and its journal row (its down
        deletes the row first, then drops the table), with a pause between the two, so a
        kill can land in the middle of a step."""
        self.folder.mkdir(parents=True)
        (self.folder / "001_journal.sql").write_text(
            "-- migrate:up\nCREATE TABLE journal (seq BIGINT AUTO_INCREMENT PRIMARY KEY, "
            "migration VARCHAR(16) NOT NULL);\n-- migrate:down\nDROP TABLE journal;\n"
        )
        for number in range(2, self.count + 1):
            (self.folder / f"{number:03d}_t{number:02d}.sql").write_text(
                f"-- migrate:up\nCREATE TABLE t{number:02d} (id INTEGER PRIMARY KEY);\n"
                f"DO SLEEP({STEP_PAUSE_S});\n"
                f"INSERT INTO journal (migration) VALUES ('{number:03d}');\n"
                f"-- migrate:down\nDELETE FROM journal WHERE migration = '{number:03d}';\n"
                f"DO SLEEP({STEP_PAUSE_S});\nDROP TABLE t{number:02d};\n"
            )

    # -- a cycle ----------------------------------------------------------------------------
    def _cycle(self, cycle: int) -> None:
        top = max((int(i[:3]) for i, s in self._history(0) if s == "applied"), default=0)
        count = self.rng.randint(2, self.max_runners)
        first = self.rng.randrange(3)
        runners = []
        for n in range(count):
            node = (first + n) % 3
            if top == 0 or self.rng.random() < 0.6:
                args = ["up"]
                if self.rng.random() < 0.3:
                    args += ["--to", str(self.rng.randint(1, self.count))]
            else:
                args = ["rollback", str(self.rng.randint(0, top - 1)), "--force", "--yes"]
            kill_after = None
            if self.rng.random() < self.args.kill_rate:
                kill_after = self.rng.uniform(0.0, self.typical_s * 1.5)
            runners.append((node, args, kill_after))
        victim = None
        if self.rng.random() < self.node_kill_rate or (
            self.args.quick and cycle == max(2, self.cycles // 2)
        ):
            victim = self.rng.randrange(3)
        self.stats.runners += count
        self.stats.ups += sum(1 for _, a, _ in runners if a[0] == "up")
        self.stats.rollbacks += sum(1 for _, a, _ in runners if a[0] == "rollback")
        self.victim = victim
        results = self._run_all(runners, victim)
        faulted = victim is not None or any(killed for _, killed in results)
        for (node, args, _), (result, killed) in zip(runners, results, strict=True):
            if killed:
                continue
            where = f"cycle {cycle}: node{node} lamina {' '.join(args)}"
            if victim is not None:
                where += f" (node{victim} killed this cycle)"
            self._check_outcome(where, result, faulted, node == victim)
        where = f"cycle {cycle}"
        if victim is not None:
            try:
                self.cluster.rejoin(victim)
            except Exception as exc:
                self.stats.violations.append(f"{where}: node{victim} did not rejoin: {exc}")
                raise
        self._settle(where)
        self._repair(where)
        self._check(where)

    def _run_all(
        self, runners: list[tuple[int, list[str], float | None]], victim: int | None
    ) -> list[tuple[subprocess.CompletedProcess[str], bool]]:
        """Start every runner at once (and kill the victim node meanwhile); wait for all."""
        results: list[Any] = [None] * len(runners)
        started = time.perf_counter()

        def one(i: int) -> None:
            node, args, kill_after = runners[i]
            results[i] = self._lamina(args, node, kill_after)

        threads = [threading.Thread(target=one, args=(i,)) for i in range(len(runners))]
        for thread in threads:
            thread.start()
        if victim is not None:
            time.sleep(self.rng.uniform(0.3, self.typical_s))
            self.cluster.kill(victim)
            self.node_kills += 1
            self.stats.faults["node-kill"] += 1
        for thread in threads:
            thread.join()
        if victim is None and not any(killed for _, killed in results):
            self.typical_s = 0.7 * self.typical_s + 0.3 * (time.perf_counter() - started)
        return results

    def _lamina(
        self, args: list[str], node: int, kill_after: float | None = None
    ) -> tuple[subprocess.CompletedProcess[str], bool]:
        env = base.lamina_env(
            self.args, self.cluster.url(node, self.database), self.folder, self.work / "backups"
        )
        env.update(GALERA_SETTINGS, LAMINA_LOCK_TIMEOUT="60")
        result, killed = base.run_lamina(args, env, self.work, self.stats, kill_after)
        if killed:
            self.stats.faults["runner-kill"] += 1
        return result, killed

    # -- checking ---------------------------------------------------------------------------
    def _check_outcome(
        self, where: str, result: subprocess.CompletedProcess[str], faulted: bool, on_victim: bool
    ) -> None:
        """0, or, in a cycle with a kill, one of the clean failures the kill explains."""
        err = result.stderr
        if "Traceback" in err or "unexpected" in err:
            self.stats.violations.append(f"{where}: crashed: {_short(result)}")
            return
        if result.returncode == 0:
            return
        kind = _expected_failure(result) if faulted else None
        if (
            kind is None
            or (kind in NODE_LOSS and not on_victim)
            or (kind in CLUSTER_PAUSE and self.victim is None)
        ):
            self.stats.violations.append(f"{where}: exit {result.returncode}: {_short(result)}")
        else:
            self.stats.expected[kind] += 1

    def _settle(self, where: str) -> None:
        """Wait until no lock is held (a killed runner's row expires after its life)."""
        deadline = time.monotonic() + GALERA_LOCK_WAIT_S
        while True:
            try:
                holder = self.api.Lamina(self._settings(0)).status(drift=False).lock_holder
            except Exception as exc:
                self.stats.violations.append(f"{where}: status failed: {exc}")
                return
            if holder is None:
                return
            if time.monotonic() > deadline:
                self.stats.violations.append(
                    f"{where}: lock still held {GALERA_LOCK_WAIT_S:g} s later: {holder.describe()}"
                )
                return
            time.sleep(0.2)

    def _repair(self, where: str) -> None:
        """A row left ``running``/``failed`` by a killed runner (or node) is finished by hand
        from the schema, as a person would: the table there -> its journal row made sure of,
        ``--mark-applied``; not there -> journal row removed, ``--mark-rolled-back``."""
        for migration_id, state in self._history(0):
            if state == "applied":
                continue
            node = self.rng.randrange(3)
            table = "journal" if migration_id == "001_journal" else migration_id.split("_", 1)[1]
            tables = self._state(node)["tables"]
            present = table in tables
            if table != "journal" and "journal" in tables:
                number = migration_id[:3]
                rows = self.cluster.run_sql(
                    node,
                    f"SELECT COUNT(*) FROM journal WHERE migration = '{number}'",
                    self.database,
                )[0][0]
                if present and rows == 0:
                    self.cluster.run_sql(
                        node, f"INSERT INTO journal (migration) VALUES ('{number}')", self.database
                    )
                elif not present and rows:
                    self.cluster.run_sql(
                        node, f"DELETE FROM journal WHERE migration = '{number}'", self.database
                    )
            mark = "--mark-applied" if present else "--mark-rolled-back"
            result, _ = self._lamina(["repair", migration_id, mark], node)
            self.stats.repairs += 1
            if result.returncode != 0:
                self.stats.violations.append(
                    f"{where}: repair {migration_id} {mark} on node{node}: {_short(result)}"
                )

    def _check(self, where: str) -> None:
        states = [self._state(index) for index in range(3)]
        for index, state in enumerate(states):
            history = state["history"]
            applied = [mid for mid, st in history if st == "applied"]
            if len(applied) != len(history):
                self.stats.violations.append(f"{where}: node{index} history not clean: {history}")
            expected = {
                "journal" if mid == "001_journal" else mid.split("_", 1)[1] for mid in applied
            }
            found = {name for name in state["tables"] if not name.startswith("lamina_")}
            if found != expected:
                self.stats.violations.append(
                    f"{where}: node{index} has tables {sorted(found)}, history says "
                    f"{sorted(expected)}"
                )
            journal = sorted(str(row[0]) for row in state["journal"])
            wanted = sorted(mid[:3] for mid in applied if mid != "001_journal")
            if journal != wanted:
                self.stats.violations.append(
                    f"{where}: node{index} journal {journal}, applied {wanted} (each once)"
                )
        for index in (1, 2):
            if states[index] != states[0]:
                differs = _difference(states[0], states[index])
                self.stats.violations.append(f"{where}: node{index} differs from node0: {differs}")
        try:
            lamina = self.api.Lamina(self._settings(self.rng.randrange(3)))
            holder = lamina.status(drift=False).lock_holder
            errors = lamina.validate().errors
        except Exception as exc:
            self.stats.violations.append(f"{where}: status/validate failed: {exc}")
            return
        if holder is not None:
            self.stats.violations.append(f"{where}: lock held after the cycle: {holder.describe()}")
        if errors and all(p.code == "drift" for p in errors):
            self.stats.false_drift += 1
            if len(self.stats.drift_samples) < 3:
                self.stats.drift_samples.append(f"{where}: {errors[0].message}")
        elif errors:
            self.stats.violations.append(
                f"{where}: validate: " + "; ".join(p.render() for p in errors)
            )

    # -- access -----------------------------------------------------------------------------
    def _state(self, index: int) -> dict[str, Any]:
        from support.galera import node_state

        return node_state(self.cluster, index, self.database)

    def _history(self, index: int) -> list[tuple[str, str]]:
        return [(str(i), str(s)) for i, s in self._state(index)["history"]]

    def _settings(self, node: int) -> Any:
        return self.api.load_settings(
            {
                "database_url": self.cluster.url(node, self.database),
                "migrations_dir": str(self.folder),
                **GALERA_API_SETTINGS,
            },
            environ={},
            cwd=self.work,
        )


#: Failures only a runner on the killed node may meet.
NODE_LOSS = ("node lost", "node unreachable")
#: Failures any runner may meet in a cycle where a node was killed: the survivors hold DDL
#: in total order until they count the node gone (about 3 s), longer than the time limit.
CLUSTER_PAUSE = ("time limit (the cluster paused for a node's loss)",)


def _expected_failure(result: subprocess.CompletedProcess[str]) -> str | None:
    """The kind of a clean failure a kill explains, or None (a violation)."""
    err = result.stderr
    if result.returncode == 3 and "dirty" in err.lower():
        return "dirty (a killed run's row)"
    if result.returncode == 3 and "right now" in err:
        return "run in progress"
    if result.returncode == 1 and "exceeding MAX_MIGRATION_TIME" in err:
        return "time limit (the cluster paused for a node's loss)"
    if result.returncode == 1 and ("Lost connection" in err or "gone away" in err):
        return "node lost"
    if result.returncode == 1 and ("connection refused" in err or "not part of the cluster" in err):
        return "node unreachable"
    return None


def _difference(one: dict[str, Any], other: dict[str, Any]) -> str:
    keys = [key for key in one if one[key] != other.get(key)]
    return "; ".join(f"{key}: {one[key]} != {other.get(key)}" for key in keys)[:600]


# -- standby ------------------------------------------------------------------------------------


class StandbySoak(base.Soak):
    """The PostgreSQL soak on the primary, a reader on a hot standby of it meanwhile."""

    def __init__(self, args: argparse.Namespace, api: Any) -> None:
        super().__init__("standby", args, api)
        if args.quick:  # the reader costs as much again: fewer cycles keep --quick short
            self.cycles = STANDBY_QUICK_CYCLES
        self.folder_guard = threading.Lock()  # the reader copies the folder, the soak edits it
        self.done = threading.Event()
        self.standby: Any = None
        self.reader = threading.Thread(target=self._reader, name="standby-reader")
        self.reads: dict[str, int] = {"status": 0, "health": 0, "diff": 0}
        self.refusals = 0
        self.drift_reads = 0
        self.seen: set[str] = set()  # "applied/total" states status saw on the standby

    def run(self) -> base.Stats:
        started = time.perf_counter()
        _support()
        from support.servers import admin_address
        from support.standby import hot_standby

        with contextlib.ExitStack() as stack:
            try:
                self.standby = stack.enter_context(hot_standby(admin_address("postgresql")))
            except Exception as exc:
                self.stats.skipped = f"cannot start: {' '.join(str(exc).split())[:300]}"
                return self.stats
            stack.callback(self._cycles_ended)  # also when the cycles stop on an exception
            stats = super().run()
        stats.seconds = time.perf_counter() - started
        stats.details.append(
            f"standby: {sum(self.reads.values())} reads on the standby ("
            + ", ".join(f"{k} {v}" for k, v in self.reads.items())
            + f"), {len(self.seen)} distinct applied/total states seen, {self.drift_reads} "
            f"reporting drift, {self.refusals} `up` refused (exit 3)"
        )
        return stats

    def _cycles_ended(self) -> None:
        self.done.set()
        if self.reader.is_alive():
            self.reader.join()

    # The reader starts once the primary's place exists (base.Soak.run calls _write_base).
    def _write_base(self) -> None:
        super()._write_base()
        self.place.query("SELECT 1")  # the schema, so the standby has it to read
        self.reader.start()

    def _inject(self, cycle: int) -> str:
        with self.folder_guard:
            return super()._inject(cycle)

    def _repair_dirty(self, where: str) -> None:
        super()._repair_dirty(where)
        with self.folder_guard:
            for path in self.folder.glob("*_fault_*.sql"):
                path.unlink()

    # -- the reader -------------------------------------------------------------------------
    def _reader(self) -> None:
        try:
            self._read_until_done()
        except Exception as exc:  # the reader itself broke: no silent end of the checks
            self._violation("standby reader", f"stopped: {type(exc).__name__}: {exc}")

    def _read_until_done(self) -> None:
        mine = self.work / "reader"
        url = self.standby.url(self.place.url)
        commands: list[tuple[str, list[str], Callable[..., None]]] = [
            ("status", ["status", "--json"], self._judge_status),
            ("health", ["health", "--json", "--detailed"], self._judge_health),
            ("diff", ["diff", "--json"], self._judge_diff),
        ]
        turn = 0
        while not self.done.is_set():
            with self.folder_guard:
                shutil.rmtree(mine / "migrations", ignore_errors=True)
                shutil.copytree(self.folder, mine / "migrations")
            turn += 1
            for name, args, judge in commands:
                result, advisory = self._read(args, url, mine)
                self.reads[name] += 1
                where = f"standby {name} #{self.reads[name]}"
                if "Traceback" in result.stderr or "read-only transaction" in result.stderr:
                    self._violation(where, f"exit {result.returncode}: {_short(result)}")
                else:
                    judge(where, result)
                if advisory:
                    self._violation(where, f"{advisory} advisory lock(s) held on the standby")
            if turn % 3 == 0:
                self._refused_up(url, mine)
            self._check_standby_log()

    def _read(
        self, args: list[str], url: str, mine: Path
    ) -> tuple[subprocess.CompletedProcess[str], int]:
        """Run a command on the standby; also the most advisory locks seen there meanwhile."""
        env = base.lamina_env(self.args, url, mine / "migrations", mine / "backups")
        process = subprocess.Popen(
            [sys.executable, "-m", "lamina", *args],
            cwd=mine,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        advisory = 0
        with contextlib.closing(self._standby_connection()) as con:
            while process.poll() is None:
                row = con.execute(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"
                ).fetchone()
                advisory = max(advisory, int(row[0]))
                time.sleep(0.05)
        out, err = process.communicate(timeout=base.COMMAND_TIMEOUT_S)
        return subprocess.CompletedProcess(process.args, process.returncode, out, err), advisory

    def _standby_connection(self) -> Any:
        import psycopg

        return psycopg.connect(
            host="127.0.0.1", port=self.standby.port, user="postgres",
            dbname=base.PG_DATABASE, autocommit=True, connect_timeout=3,
        )  # fmt: skip

    def _document(self, where: str, result: subprocess.CompletedProcess[str]) -> Any:
        try:
            document = json.loads(result.stdout)
        except ValueError:
            self._violation(where, f"no JSON document: exit {result.returncode}: {_short(result)}")
            return None
        if isinstance(document, dict) and "error" in document and "exit_code" in document:
            self._violation(where, f"error document: {document['error']}")
            return None
        return document

    def _judge_status(self, where: str, result: subprocess.CompletedProcess[str]) -> None:
        document = self._document(where, result)
        if document is None:
            return
        self.seen.add(f"{document.get('applied')}/{document.get('total')}")
        if result.returncode == 0:
            return
        problems = document.get("problems") or []
        codes = {str(p.get("code")) for p in problems if isinstance(p, dict)}
        if result.returncode == 1 and codes and codes <= {"drift"}:
            self._drift(where, problems[0].get("message", ""))
        else:
            self._violation(where, f"exit {result.returncode}, problems {problems}")

    def _judge_health(self, where: str, result: subprocess.CompletedProcess[str]) -> None:
        document = self._document(where, result)
        if document is None:
            return
        replica = (document.get("details") or {}).get("replica") or {}
        if result.returncode != 0 or document.get("status") == "unhealthy":
            self._violation(where, f"exit {result.returncode}: {document.get('message')}")
        elif replica.get("standby") is not True or "read-only standby" not in str(
            document.get("message")
        ):
            self._violation(where, f"not said to be a standby: {document.get('message')}")

    def _judge_diff(self, where: str, result: subprocess.CompletedProcess[str]) -> None:
        document = self._document(where, result)
        if document is None:
            return
        differences = document.get("differences") or []
        if result.returncode == 1 and differences:
            self._drift(where, str(differences[0]))
        elif result.returncode != 0:
            self._violation(where, f"exit {result.returncode}: {_short(result)}")

    def _drift(self, where: str, sample: str) -> None:
        self.drift_reads += 1
        self.stats.false_drift += 1
        if len(self.stats.drift_samples) < 3:
            self.stats.drift_samples.append(f"{where}: {sample}")

    def _refused_up(self, url: str, mine: Path) -> None:
        backups = mine / "backups"
        env = base.lamina_env(self.args, url, mine / "migrations", backups)
        env["BACKUP_ENABLED"] = "true"  # a backup would be the first thing written
        result = subprocess.run(
            [sys.executable, "-m", "lamina", "up"],
            cwd=mine, env=env, capture_output=True, text=True,
            timeout=base.COMMAND_TIMEOUT_S, check=False,
        )  # fmt: skip
        self.refusals += 1
        where = f"standby up #{self.refusals}"
        if result.returncode != 3 or STANDBY_REFUSAL not in result.stderr:
            self._violation(where, f"not refused: exit {result.returncode}: {_short(result)}")
        elif "Traceback" in result.stderr or "read-only transaction" in result.stderr:
            self._violation(where, f"attempted before refusing: {_short(result)}")
        if backups.exists() and any(backups.rglob("*")):
            self._violation(where, f"wrote {sorted(p.name for p in backups.rglob('*'))}")

    def _check_standby_log(self) -> None:
        """A write attempted on the standby is an ERROR in its log: there must be none."""
        log = Path(self.standby.folder) / "log"
        try:
            text = log.read_text(errors="replace")
        except OSError:
            return
        bad = [line for line in text.splitlines() if "read-only transaction" in line]
        if bad and not any("standby log" in v for v in self.stats.violations):
            self._violation("standby log", f"{len(bad)} write(s) attempted: {bad[0][:300]}")
