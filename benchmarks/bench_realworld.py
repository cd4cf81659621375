"""W7: lamina, dbmate and alembic on a real-world migration history, as whole processes.

For each engine, a seeded history of a few hundred realistic migrations (realworld_sets.py:
tables with foreign keys and indexes, added/renamed/dropped columns, renamed tables, index
churn, small data migrations, views, functions) is applied from an empty database (``up``)
and its last 100 are rolled back (``rollback``), by:

- lamina with its default settings: backups on (into a temporary LAMINA_BACKUP_DIR), only
  MIGRATION_REQUIRE_CONFIRMATION=false so that nothing waits for input, and ``rollback
  VERSION --force --yes`` (a rollback's DROP TABLE is a risky step);
- lamina with BACKUP_ENABLED=false (what run.py measures everywhere);
- dbmate (``--no-dump-schema up``; ``rollback`` undoes one migration per process and has no
  count, so its figure is the whole loop of 100 processes), not on DuckDB (no driver);
- alembic (``upgrade head``, ``downgrade -100``), with run.py's env.py.

Each figure is the median of K runs after warm-up runs, the tools alternating round after
round as in run.py; every round starts from a fresh database (rollback: a fresh database with
everything applied, untimed). The report is a markdown table with medians, min-max, and the
ratios lamina/dbmate and lamina/alembic against the issue's targets: lamina (default settings)
at most 1.5x dbmate, and faster than alembic. ``--verify`` checks the sets instead: every tool
applies and rolls back cleanly, and leaves the same schema (and rows) as applying only the
first ones. See benchmarks/README.md, "W7: a real-world set".
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import bench_peers
import realworld_sets
from bench_engines import ALL_ENGINES, EMBEDDED, AdminConnection, Place, probe
from bytecode import allow_bytecode, compile_tree
from realworld_sets import AVOIDED, RealWorldSet
from run import Measurement

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
PY = sys.executable
TOOLS = ("lamina", "lamina no-backup", "dbmate", "alembic")
# Settings that would change what lamina does, removed from the caller's environment.
LAMINA_VARIABLES = ("DATABASE_URL", "DB_PATH", "AUTO_MIGRATE", "BACKUP_", "MIGRATION_", "MAX_MI")
NO_DBMATE = "dbmate has no DuckDB driver (PostgreSQL, MySQL, SQLite, ClickHouse, ...)"
DBMATE_URL = {"postgresql": "postgres", "mysql": "mysql"}
PROCESS_TIMEOUT_S = 1800
TARGET_DBMATE = 1.5
Invocation = tuple[list[str], dict[str, str]]


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# -- the tools ----------------------------------------------------------------------------------
def find_dbmate(explicit: str | None) -> tuple[str | None, str]:
    """dbmate's native binary and its version, or (None, why not).

    ``--dbmate PATH``, else ``dbmate`` on PATH, else the npm package in ``~/.cache/lamina-bench``
    (installed there with ``npm install dbmate`` on first use). The npm package's ``.bin/dbmate``
    is a Node wrapper that starts the Go binary; the binary itself is measured (Node's start-up
    is not dbmate's cost).
    """
    path = explicit or shutil.which("dbmate")
    if path is None:
        cache = Path.home() / ".cache" / "lamina-bench" / "dbmate"
        found = sorted(cache.glob("node_modules/@dbmate/*/bin/dbmate"))
        if not found and shutil.which("npm"):
            log(f"installing dbmate from npm into {cache} (first use)")
            cache.mkdir(parents=True, exist_ok=True)
            if not (cache / "package.json").exists():
                (cache / "package.json").write_text(
                    '{"name": "lamina-bench-dbmate", "private": true}\n'
                )
            subprocess.run(
                ["npm", "install", "--no-audit", "--no-fund", "--prefix", str(cache), "dbmate"],
                check=False,
                stdout=subprocess.DEVNULL,
            )
            found = sorted(cache.glob("node_modules/@dbmate/*/bin/dbmate"))
        if not found:
            return None, "dbmate not found: pass --dbmate PATH (npm install dbmate gives it)"
        path = str(found[0])
    native = sorted(Path(path).resolve().parent.parent.glob("@dbmate/*/bin/dbmate"))
    if native:  # given node_modules/.bin/dbmate: use the binary it would start
        path = str(native[0])
    try:
        out = subprocess.run([path, "--version"], capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError) as exc:
        return None, f"dbmate at {path} does not run ({exc})"
    return path, out.stdout.strip()


def find_alembic(explicit: Path | None) -> tuple[Path | None, str]:
    """alembic from ``--peers-venv DIR`` (made if missing), else run.py's benchmarks/.venv."""
    if explicit is None:
        reason = bench_peers.ensure_venv(log)
        if reason:
            return None, reason
        venv = bench_peers.VENV
    else:
        venv = explicit
        if not (venv / "bin" / "alembic").exists():
            log(f"creating {venv} with alembic and the drivers (first use)")
            subprocess.run([PY, "-m", "venv", str(venv)], check=True)
            wanted = [r for r in bench_peers.requirements() if not r.startswith("yoyo")]
            pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q"]
            subprocess.run([*pip, "--disable-pip-version-check", *wanted], check=True)
    code = "import alembic, sqlalchemy; print(alembic.__version__, sqlalchemy.__version__)"
    out = subprocess.run(
        [str(venv / "bin" / "python"), "-c", code], capture_output=True, text=True, check=False
    )
    if out.returncode != 0:
        return None, f"alembic does not import in {venv}"
    alembic_v, sqlalchemy_v = out.stdout.split()
    return venv / "bin" / "alembic", f"alembic {alembic_v}, SQLAlchemy {sqlalchemy_v}"


@dataclass
class Setup:
    """What the command line chose, and the tools found."""

    engines: list[str]
    runs: int
    warmup: int
    count: int
    seed: int
    rollback: int
    lamina_src: Path
    pg_url: str
    mysql_url: str
    json_path: Path | None
    verify: bool
    dbmate: str | None = None
    dbmate_na: str = ""
    alembic: Path | None = None
    alembic_na: str = ""
    versions: dict[str, str] = field(default_factory=dict)
    argv: list[str] = field(default_factory=list)


class Tools:
    """Each tool's up and rollback for one engine's place and set, as argv and environment."""

    def __init__(self, setup: Setup, work: Path) -> None:
        self.setup = setup
        self.work = work
        self.cwd = work / "cwd"  # empty: no lamina.toml, .lamina/ or .env is found
        self.cwd.mkdir(parents=True, exist_ok=True)
        base = allow_bytecode(
            {
                k: v
                for k, v in os.environ.items()
                if not k.startswith(("LAMINA_", "DBMATE_", *LAMINA_VARIABLES))
            }
        )
        self.env = base
        src = str(setup.lamina_src)
        pythonpath = os.pathsep.join(filter(None, [src, os.environ.get("PYTHONPATH")]))
        lamina = base | {"PYTHONPATH": pythonpath, "MIGRATION_REQUIRE_CONFIRMATION": "false"}
        self.lamina_env = {
            "lamina": lamina,  # backups on (the default), into a folder of the run's own
            "lamina no-backup": lamina | {"BACKUP_ENABLED": "false"},
        }

    def backup_dir(self, engine: str) -> Path:
        return self.work / "backups" / engine

    def env_of(self, tool: str, place: Place) -> dict[str, str]:
        if tool == "lamina":
            return self.lamina_env[tool] | {"LAMINA_BACKUP_DIR": str(self.backup_dir(place.engine))}
        if tool == "lamina no-backup":
            return self.lamina_env[tool]
        if tool == "alembic":
            return self.env | {"BENCH_DB_URL": place.url("sqlalchemy")}
        return self.env

    def lamina(self, tool: str, place: Place, rws: RealWorldSet, *args: str) -> Invocation:
        argv = [PY, "-m", "lamina", "--database-url", place.url(), "--migrations-dir"]
        return [*argv, str(rws.sql), *args], self.env_of(tool, place)

    def dbmate_url(self, place: Place) -> str:
        if place.engine == "sqlite":
            return "sqlite:" + place.url().removeprefix("sqlite:///")
        url = DBMATE_URL[place.engine] + ":" + place.url().split(":", 1)[1]
        if place.engine == "postgresql" and "sslmode=" not in url:
            url += ("&" if "?" in url else "?") + "sslmode=disable"  # dbmate's default: require
        return url

    def dbmate(self, place: Place, rws: RealWorldSet, command: str) -> Invocation:
        assert self.setup.dbmate is not None
        argv = [self.setup.dbmate, "--url", self.dbmate_url(place), "--migrations-dir"]
        return [*argv, str(rws.sql), "--no-dump-schema", command], self.env

    def alembic(self, place: Place, rws: RealWorldSet, *args: str) -> Invocation:
        argv = [str(self.setup.alembic), "-c", str(rws.alembic_ini), *args]
        return argv, self.env_of("alembic", place)

    def up(self, tool: str, place: Place, rws: RealWorldSet) -> list[Invocation]:
        if tool.startswith("lamina"):
            return [self.lamina(tool, place, rws, "up")]
        if tool == "dbmate":
            return [self.dbmate(place, rws, "up")]
        return [self.alembic(place, rws, "upgrade", "head")]

    def up_to(self, place: Place, rws: RealWorldSet, version: int) -> list[Invocation]:
        """lamina (no backup) applying the first ``version`` only: --verify's reference."""
        return [self.lamina("lamina no-backup", place, rws, "up", "--to", str(version))]

    def rollback(self, tool: str, place: Place, rws: RealWorldSet) -> list[Invocation]:
        n = self.setup.rollback
        if tool.startswith("lamina"):
            target = str(rws.rollback_target(n))
            return [self.lamina(tool, place, rws, "rollback", target, "--force", "--yes")]
        if tool == "dbmate":  # one migration per process, no count: the loop is the figure
            return [self.dbmate(place, rws, "rollback")] * n
        return [self.alembic(place, rws, "downgrade", f"-{n}")]

    def show(self, commands: list[Invocation], tool: str) -> str:
        """The command as the report shows it (a loop of N the same shown once, times N)."""
        argv = commands[0][0]
        text = shlex.join(argv)
        replacements = [(PY, "python"), (str(self.work) + "/", "$WORK/")]
        if self.setup.dbmate:
            replacements.append((self.setup.dbmate, "dbmate"))
        if self.setup.alembic:
            replacements.append((str(self.setup.alembic), "alembic"))
        for old, new in replacements:
            text = text.replace(old, new)
        if tool == "lamina":
            text = "LAMINA_BACKUP_DIR=$WORK/backups " + text
        elif tool == "lamina no-backup":
            text = "BACKUP_ENABLED=false " + text
        return f"{text}  (x{len(commands)}, one process each)" if len(commands) > 1 else text


# -- running and measuring ----------------------------------------------------------------------
def run(commands: list[Invocation], cwd: Path) -> tuple[float, str | None]:
    """Wall time of the commands run one after another; the first failure stops them."""
    start = time.perf_counter()
    for argv, env in commands:
        proc = subprocess.run(
            argv,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            timeout=PROCESS_TIMEOUT_S,
            check=False,
        )
        if proc.returncode != 0:
            tail = proc.stderr.decode(errors="replace").strip().splitlines()[-4:]
            return time.perf_counter() - start, f"exit {proc.returncode}: " + " | ".join(tail)
    return time.perf_counter() - start, None


@dataclass
class Contender:
    tool: str
    commands: list[Invocation]
    prepare: Callable[[], None]


class Bench:
    def __init__(self, setup: Setup, work: Path) -> None:
        self.setup = setup
        self.work = work
        self.tools = Tools(setup, work)
        self.results: list[Measurement] = []
        self.places: dict[tuple[str, str], Place] = {}
        self.sets: dict[str, RealWorldSet] = {}

    def place(self, engine: str, tool: str) -> Place:
        key = (engine, tool)
        if key not in self.places:
            admin = {"postgresql": self.setup.pg_url, "mysql": self.setup.mysql_url}
            name = "w7_" + tool.replace(" ", "_").replace("-", "_")  # lamina_bench_w7_*
            root = self.work / "db" / f"{engine}-{name}"
            self.places[key] = Place(engine, name, root, admin.get(engine, ""))
        return self.places[key]

    def rws(self, engine: str) -> RealWorldSet:
        if engine not in self.sets:
            s = self.setup
            self.sets[engine] = realworld_sets.write(self.work / "sets", engine, s.count, s.seed)
        return self.sets[engine]

    def na(self, tool: str, engine: str) -> str | None:
        if tool == "dbmate":
            return NO_DBMATE if engine == "duckdb" else (self.setup.dbmate_na or None)
        if tool == "alembic":
            return self.setup.alembic_na or None
        return None

    def contenders(self, engine: str, action: str) -> list[Contender]:
        rws = self.rws(engine)
        chosen = []
        for tool in TOOLS:
            reason = self.na(tool, engine)
            if reason:
                self.results.append(Measurement(action, engine, None, tool, na=reason))
                continue
            place = self.place(engine, tool)
            if action == "up":
                commands, prepare = self.tools.up(tool, place, rws), place.fresh
            else:
                commands = self.tools.rollback(tool, place, rws)
                prepare = self.applied(tool, place, rws)
            chosen.append(Contender(tool, commands, prepare))
        return chosen

    def applied(self, tool: str, place: Place, rws: RealWorldSet) -> Callable[[], None]:
        """A fresh database with the whole set applied by the tool itself (untimed); lamina's
        two contenders apply without a backup, as the state is the same either way."""
        setup_tool = "lamina no-backup" if tool.startswith("lamina") else tool

        def prepare() -> None:
            place.fresh()
            _, error = run(self.tools.up(setup_tool, place, rws), self.tools.cwd)
            if error:
                raise RuntimeError(f"applying the set (untimed) failed: {error}")

        return prepare

    def measure(self, engine: str, action: str) -> None:
        """Alternating rounds as in run.py: prepare everyone, then time each once, starting
        with a different tool each round; the warm-up rounds are not counted."""
        log(f"W7 {action}, {engine}, {self.setup.count} migrations")
        contenders = self.contenders(engine, action)
        found = {c.tool: Measurement(action, engine, None, c.tool) for c in contenders}
        for c in contenders:
            found[c.tool].command = self.tools.show(c.commands, c.tool)
        for number in range(self.setup.warmup + self.setup.runs):
            live = [c for c in contenders if not found[c.tool].error]
            for c in live:
                try:
                    c.prepare()
                except Exception as exc:  # spoils this tool's cell only, and says why
                    found[c.tool].error = f"setup failed: {type(exc).__name__}: {exc}"
            live = [c for c in live if not found[c.tool].error]
            start = number % len(live) if live else 0
            for c in live[start:] + live[:start]:
                elapsed, error = run(c.commands, self.tools.cwd)
                found[c.tool].error = error
                if not error and number >= self.setup.warmup:
                    found[c.tool].times_s.append(elapsed)
        self.results.extend(found.values())
        parts = []
        for m in found.values():
            median = m.median_s
            parts.append(
                f"{m.tool} {median:.2f} s" if median is not None else f"{m.tool} {m.error}"
            )
        log("  " + ", ".join(parts))

    def drop_all(self) -> None:
        for place in self.places.values():
            try:
                place.drop()
            except Exception as exc:  # a server gone away must not hide the figures
                log(f"could not drop {place.dbname}: {exc}")


# -- --verify: the sets apply, roll back, and the downs undo the ups ----------------------------
TOOL_TABLES = ("lamina_", "schema_migrations", "alembic_version")


def fingerprint(place: Place) -> dict[str, Any]:
    """The schema and row counts of the generated objects, in a form every path shares.

    Implicit names (primary keys, constraints, MySQL's foreign-key indexes) are left out: a
    table dropped by an up and created again by its down gets them from its current name.
    Column order is left out too (a dropped column comes back last).
    """
    if place.engine == "sqlite":
        import sqlite3

        conn = sqlite3.connect(place.url().removeprefix("sqlite:///"))
        rows = conn.execute("SELECT type, name, tbl_name FROM sqlite_master").fetchall()
        result: dict[str, Any] = {"objects": [], "columns": [], "indexes": [], "rows": {}}
        for kind, name, table in sorted(rows):
            if name.startswith(TOOL_TABLES) or name.startswith("sqlite_"):
                continue
            result["objects"].append((kind, name, table))
            if kind in ("table", "view"):
                info = conn.execute(f'PRAGMA table_info("{name}")').fetchall()
                result["columns"] += sorted((name, c[1], c[2], c[3], c[4], c[5]) for c in info)
            if kind == "table":
                count = conn.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0]
                result["rows"][name] = count
            if kind == "index":
                cols = [c[2] for c in conn.execute(f'PRAGMA index_info("{name}")')]
                result["indexes"].append((name, table, cols))
        conn.close()
        return result
    queries = FINGERPRINT_QUERIES[place.engine]
    if place.engine == "duckdb":
        import duckdb

        duck = duckdb.connect(place.url().removeprefix("duckdb:///"), read_only=True)

        def query(sql: str) -> list[tuple[Any, ...]]:
            return [tuple(r) for r in duck.execute(sql).fetchall()]

        try:
            return collect(queries, query, place.dbname)
        finally:
            duck.close()
    with AdminConnection(place.engine, place.url()) as server:
        if place.engine == "mysql":
            server(f"USE `{place.dbname}`")
        return collect(queries, server, place.dbname)


def collect(
    queries: dict[str, str], query: Callable[[str], list[tuple[Any, ...]]], dbname: str
) -> dict[str, Any]:
    """Run the catalog queries; the database's own name (in MySQL's view text) is masked."""
    result: dict[str, Any] = {}
    for key, sql in queries.items():
        rows = [r for r in query(sql) if not str(r[0]).startswith(TOOL_TABLES)]
        result[key] = sorted(tuple(str(v).replace(dbname, "DB") for v in r) for r in rows)
    tables = [r[0] for r in result["tables"]]
    result["rows"] = {t: query(f"SELECT count(*) FROM {t}")[0][0] for t in tables}
    return result


FINGERPRINT_QUERIES = {
    "postgresql": {
        "tables": "SELECT table_name FROM information_schema.tables "
        "WHERE table_schema = 'public' AND table_type = 'BASE TABLE'",
        "columns": "SELECT table_name, column_name, data_type, character_maximum_length, "
        "is_nullable, column_default FROM information_schema.columns "
        "WHERE table_schema = 'public'",
        "indexes": "SELECT tablename, indexname, indexdef FROM pg_indexes "
        "WHERE schemaname = 'public' AND (indexname LIKE 'idx%' OR indexname LIKE 'uq%')",
        "views": "SELECT table_name, view_definition FROM information_schema.views "
        "WHERE table_schema = 'public'",
        "functions": "SELECT p.proname, p.prosrc FROM pg_proc p "
        "JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'public'",
        "triggers": "SELECT event_object_table, trigger_name FROM information_schema.triggers "
        "WHERE trigger_schema = 'public'",
        "foreign_keys": "SELECT tc.table_name, kcu.column_name, ccu.table_name "
        "FROM information_schema.table_constraints tc "
        "JOIN information_schema.key_column_usage kcu USING (constraint_schema, constraint_name) "
        "JOIN information_schema.constraint_column_usage ccu "
        "USING (constraint_schema, constraint_name) "
        "WHERE tc.constraint_type = 'FOREIGN KEY' AND tc.table_schema = 'public'",
    },
    "mysql": {
        "tables": "SELECT table_name FROM information_schema.tables "
        "WHERE table_schema = DATABASE() AND table_type = 'BASE TABLE'",
        "columns": "SELECT table_name, column_name, column_type, is_nullable, column_default, "
        "extra FROM information_schema.columns WHERE table_schema = DATABASE()",
        "indexes": "SELECT table_name, index_name, seq_in_index, column_name, non_unique "
        "FROM information_schema.statistics WHERE table_schema = DATABASE() "
        "AND (index_name LIKE 'idx%' OR index_name LIKE 'uq%')",
        "views": "SELECT table_name, view_definition FROM information_schema.views "
        "WHERE table_schema = DATABASE()",
        "functions": "SELECT routine_name, routine_definition FROM information_schema.routines "
        "WHERE routine_schema = DATABASE()",
        "foreign_keys": "SELECT table_name, column_name, referenced_table_name "
        "FROM information_schema.key_column_usage WHERE table_schema = DATABASE() "
        "AND referenced_table_name IS NOT NULL",
    },
    "duckdb": {
        "tables": "SELECT table_name FROM duckdb_tables() WHERE NOT internal",
        "columns": "SELECT table_name, column_name, data_type, is_nullable, column_default "
        "FROM duckdb_columns() WHERE NOT internal",
        "indexes": "SELECT table_name, index_name, sql FROM duckdb_indexes()",
        "views": "SELECT view_name, sql FROM duckdb_views() WHERE NOT internal",
        "functions": "SELECT function_name, macro_definition FROM duckdb_functions() "
        "WHERE NOT internal AND function_type = 'macro'",
        "foreign_keys": "SELECT table_name, constraint_text FROM duckdb_constraints() "
        "WHERE constraint_type = 'FOREIGN KEY'",
    },
}


def differences(a: dict[str, Any], b: dict[str, Any]) -> list[str]:
    """What differs between two fingerprints, briefly."""
    found = []
    for key in sorted(set(a) | set(b)):
        left, right = a.get(key), b.get(key)
        if left == right:
            continue
        if isinstance(left, list) and isinstance(right, list):
            only_a = [x for x in left if x not in right][:3]
            only_b = [x for x in right if x not in left][:3]
            found.append(f"{key}: only in first {only_a}, only in second {only_b}")
        else:
            found.append(f"{key}: {str(left)[:300]} != {str(right)[:300]}")
    return found


def verify(bench: Bench, engine: str) -> list[str]:
    """Each tool: up, the same schema as lamina's up; rollback, the same as up --to."""
    rws = bench.rws(engine)
    target = rws.rollback_target(bench.setup.rollback)
    problems = []
    reference = bench.place(engine, "reference")
    reference.fresh()
    _, error = run(bench.tools.up_to(reference, rws, target), bench.tools.cwd)
    if error:
        return [f"{engine}: lamina up --to {target}: {error}"]
    expected_down = fingerprint(reference)
    expected_up = None
    for tool in TOOLS:
        if bench.na(tool, engine):
            continue
        place = bench.place(engine, tool)
        if tool == "lamina":
            shutil.rmtree(bench.tools.backup_dir(engine), ignore_errors=True)
        place.fresh()
        for action, commands in (
            ("up", bench.tools.up(tool, place, rws)),
            ("rollback", bench.tools.rollback(tool, place, rws)),
        ):
            started = time.perf_counter()
            _, error = run(commands, bench.tools.cwd)
            took = time.perf_counter() - started
            if error:
                problems.append(f"{engine} {tool} {action}: {error}")
                break
            state = fingerprint(place)
            if action == "up":
                expected_up = expected_up or state
                diff = differences(expected_up, state)
                what = "differs from lamina's up"
            else:  # rows of tables dropped by the rolled-back ups are gone: not compared
                lost = realworld_sets.emptied(rws.migrations[target:])
                for fp in (state, expected_down):
                    fp["rows"] = {t: n for t, n in fp["rows"].items() if t not in lost}
                diff = differences(expected_down, state)
                what = f"differs from lamina up --to {target}"
            problems += [f"{engine} {tool} {action} {what}: {d}" for d in diff]
            extra = ""
            if tool == "lamina":
                backups = bench.tools.backup_dir(engine)
                n = len(list(backups.iterdir())) if backups.exists() else 0
                extra = f", {n} entries in the backup folder"
            if not diff:
                log(f"  {engine} {tool} {action}: ok in {took:.1f} s{extra}")
    return problems


# -- the report ---------------------------------------------------------------------------------
def cell(m: Measurement | None) -> str:
    if m is None:
        return "—"
    if m.na:
        return "n/a"
    if m.error or m.median_s is None:
        return "failed"
    return f"{m.median_s:.2f} ({min(m.times_s):.2f}–{max(m.times_s):.2f})"


def ratio(a: Measurement | None, b: Measurement | None) -> float | None:
    if a is None or b is None or a.median_s is None or b.median_s is None:
        return None
    return a.median_s / b.median_s


Target = tuple[str, float, bool]


def table_row(
    by: dict[tuple[str, str, str], Measurement], engine: str, action: str
) -> tuple[str, list[Target]]:
    """One row of the table, and the targets it decides (lamina with its defaults)."""
    got = {tool: by.get((engine, action, tool)) for tool in TOOLS}
    lamina, no_backup = got["lamina"], got["lamina no-backup"]
    ratios = [
        ratio(lamina, got["dbmate"]),
        ratio(lamina, got["alembic"]),
        ratio(no_backup, got["dbmate"]),
        ratio(no_backup, got["alembic"]),
    ]
    shown = ["—" if r is None else f"{r:.2f}×" for r in ratios]
    line = f"| {engine} | {action} | " + " | ".join([*map(cell, got.values()), *shown]) + " |"
    targets = []
    if ratios[0] is not None:
        name = f"{engine} {action}: lamina ≤ {TARGET_DBMATE}× dbmate"
        targets.append((name, ratios[0], ratios[0] <= TARGET_DBMATE))
    if ratios[1] is not None:
        targets.append((f"{engine} {action}: lamina faster than alembic", ratios[1], ratios[1] < 1))
    return line, targets


def render(
    setup: Setup, machine: dict[str, str], results: list[Measurement], sets: dict[str, RealWorldSet]
) -> str:
    title = f"# W7: a real-world set ({setup.count} migrations, rollback of the last "
    out = [f"{title}{setup.rollback})", "", *(f"- {k}: {v}" for k, v in machine.items()), ""]
    out += [
        f"Seconds, wall time of whole processes: median of {setup.runs} runs (min–max), after "
        f"{setup.warmup} warm-up run(s). dbmate's rollback is {setup.rollback} processes "
        "(it has no count), timed together.",
        "",
        "| engine | action | lamina (default: backups) | lamina no-backup | dbmate | alembic "
        "| lamina/dbmate | lamina/alembic | no-backup/dbmate | no-backup/alembic |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    by = {(m.engine, m.workload, m.tool): m for m in results}
    targets: list[Target] = []
    for engine in setup.engines:
        for action in ("up", "rollback"):
            line, decided = table_row(by, engine, action)
            out.append(line)
            targets += decided
    out += ["", "Targets (issue 16), lamina with its default settings:", ""]
    out += [f"- {'met' if ok else 'MISSED'}: {name} ({value:.2f}×)" for name, value, ok in targets]
    notes = [m for m in results if m.na or m.error]
    if notes:
        out += ["", "Not measured:", ""]
        out += [f"- {m.engine} {m.workload} {m.tool}: {m.na or m.error}" for m in notes]
    out += ["", "Commands:", ""]
    out += [f"- {m.engine} {m.workload}, {m.tool}: `{m.command}`" for m in results if m.command]
    out += ["", "The sets (kind of migration: in the whole history / in the last rolled back):", ""]
    for engine, rws in sets.items():
        whole, last = rws.kinds(), rws.kinds(setup.rollback)
        kinds = ", ".join(f"{k} {n}/{last.get(k, 0)}" for k, n in whole.most_common())
        out.append(f"- {engine}: {kinds}")
        out += [f"  - avoided: {avoided}" for avoided in AVOIDED[engine]]
    return "\n".join(out) + "\n"


# -- the command line ---------------------------------------------------------------------------
def parse_args(argv: list[str]) -> Setup:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engines", default=",".join(ALL_ENGINES), help="comma-separated")
    parser.add_argument("--runs", type=int, default=3, help="measured runs per figure (3)")
    parser.add_argument("--warmup", type=int, default=1, help="uncounted runs first (1)")
    parser.add_argument(
        "--count", type=int, default=realworld_sets.DEFAULT_COUNT, help="migrations (300)"
    )
    parser.add_argument(
        "--rollback", type=int, default=realworld_sets.ROLLBACK, help="how many to roll back (100)"
    )
    parser.add_argument("--seed", type=int, default=realworld_sets.DEFAULT_SEED)
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write the figures here")
    parser.add_argument(
        "--verify",
        action="store_true",
        help="time nothing: check that every tool applies and rolls back each set, and that the "
        "rollback leaves the schema and rows of applying only the first ones",
    )
    parser.add_argument(
        "--lamina-src",
        type=Path,
        default=REPO / "src",
        metavar="DIR",
        help="the lamina to measure (default: this checkout's src)",
    )
    parser.add_argument(
        "--dbmate",
        metavar="PATH",
        help="dbmate's binary (default: on PATH, else npm's package in ~/.cache/lamina-bench)",
    )
    parser.add_argument(
        "--peers-venv",
        type=Path,
        metavar="DIR",
        help="a venv with alembic (default: run.py's benchmarks/.venv)",
    )
    parser.add_argument(
        "--pg-url",
        default=os.environ.get(
            "LAMINA_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
        ),
    )
    parser.add_argument(
        "--mysql-url",
        default=os.environ.get("LAMINA_TEST_MYSQL_URL", "mysql://root@127.0.0.1:3306/mysql"),
    )
    args = parser.parse_args(argv)
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    unknown = sorted(set(engines) - set(ALL_ENGINES))
    if unknown:
        parser.error(f"unknown engine(s): {', '.join(unknown)}")
    if args.runs < 1 or args.warmup < 0 or not 0 < args.rollback <= args.count:
        parser.error("--runs ≥ 1, --warmup ≥ 0, 0 < --rollback ≤ --count")
    setup = Setup(
        engines, args.runs, args.warmup, args.count, args.seed, args.rollback,
        args.lamina_src.resolve(), args.pg_url, args.mysql_url, args.json, args.verify, argv=argv,
    )  # fmt: skip
    setup.dbmate, found = find_dbmate(args.dbmate)
    setup.dbmate_na = "" if setup.dbmate else found
    setup.versions["dbmate"] = found
    setup.alembic, found = find_alembic(args.peers_venv)
    setup.alembic_na = "" if setup.alembic else found
    setup.versions["alembic"] = found
    return setup


def describe(setup: Setup, engines: list[str], skipped: dict[str, str]) -> dict[str, str]:
    code = "import lamina; print(lamina.__version__, lamina.__file__)"
    compiled = compile_tree(setup.lamina_src)
    env = {**os.environ, "PYTHONPATH": str(setup.lamina_src)}
    out = subprocess.run([PY, "-c", code], capture_output=True, text=True, env=env, check=True)
    version, origin = out.stdout.split()
    import sqlite3

    import duckdb

    machine = {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "command": shlex.join(["python", "benchmarks/bench_realworld.py", *setup.argv]),
        "machine": f"{os.cpu_count()} cores, {platform.platform()}",
        "python": f"{platform.python_version()} ({PY})",
        "lamina": f"{version} from {Path(origin).parent}",
        "dbmate": setup.versions.get("dbmate", ""),
        "alembic": setup.versions.get("alembic", ""),
        "engines": f"DuckDB {duckdb.__version__}, SQLite {sqlite3.sqlite_version}",
        "load average at start": " ".join(f"{x:.2f}" for x in os.getloadavg()),
        "bytecode": compiled,
    }
    for engine in engines:
        if engine not in EMBEDDED:
            url = setup.pg_url if engine == "postgresql" else setup.mysql_url
            machine["engines"] += f", {probe(engine, url)[1]}"
    for engine, reason in skipped.items():
        machine[f"{engine} skipped"] = reason
    return machine


def main(argv: list[str] | None = None) -> int:
    setup = parse_args(sys.argv[1:] if argv is None else argv)
    engines, skipped = [], {}
    for engine in setup.engines:
        if engine not in EMBEDDED:
            url = setup.pg_url if engine == "postgresql" else setup.mysql_url
            reason, _ = probe(engine, url)
            if reason:
                skipped[engine] = reason
                log(f"{engine}: not measured ({reason})")
                continue
        engines.append(engine)
    setup.engines = engines
    machine = describe(setup, engines, skipped)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="lamina-w7-") as tmp:
        bench = Bench(setup, Path(tmp))
        try:
            if setup.verify:
                problems = []
                for engine in engines:
                    log(f"verifying {engine}")
                    problems += verify(bench, engine)
                for p in problems:
                    print(f"problem: {p}")
                print(f"{'FAILED' if problems else 'ok'}: {len(problems)} problem(s)")
                return 1 if problems else 0
            for engine in engines:
                bench.measure(engine, "up")
                bench.measure(engine, "rollback")
        finally:
            bench.drop_all()
    machine["load average at end"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    machine["duration"] = f"{time.perf_counter() - started:.0f} s"
    print(render(setup, machine, bench.results, bench.sets))
    if setup.json_path:
        document = {
            "machine": machine,
            "sets": {e: dict(s.kinds()) for e, s in bench.sets.items()},
            "measurements": [m.as_dict() for m in bench.results],
        }
        setup.json_path.write_text(json.dumps(document, indent=2) + "\n")
        log(f"wrote {setup.json_path}")
    failed = [m for m in bench.results if m.error]
    for m in failed:
        log(f"error: {m.engine} {m.workload} {m.tool}: {m.error}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
