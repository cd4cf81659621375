"""Benchmark lamina's CLI against the floor (raw driver, no tool) and its peers.

Every figure is the wall time of a whole process (``time.perf_counter`` around
``subprocess.run``), because that is what a user or a deploy script waits for: interpreter
start, imports, connecting, reading files and the database work together. Each workload runs
lamina, the floor (floor.py) and the peers (alembic, yoyo-migrations) in alternation, round
after round, so that machine noise hits all of them alike; a figure is the median of the
measured rounds, with their min-max, after warm-up rounds that are not counted.

The lamina under test is this checkout's: ``sys.executable -m lamina`` with this checkout's
``src`` first on PYTHONPATH, so ``/tmp/venv/bin/python benchmarks/run.py`` measures the dev
tree. Nothing here asserts a timing: targets are printed as met or missed, and the exit code
says only whether the benchmark itself could run. See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shlex
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import bench_peers
from bench_engines import ALL_ENGINES, EMBEDDED, NO_YOYO, Place, probe
from bench_report import Machine, render_markdown, targets
from bench_sets import MigrationSet, write_set
from bytecode import allow_bytecode, compile_tree

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
FLOOR = HERE / "floor.py"
PY = sys.executable
# lamina's settings for every benchmark process: no backup before risky steps (a rollback's
# DROP TABLE is one) and no confirmation, so no workload measures a backup or waits for input.
LAMINA_SETTINGS = {"BACKUP_ENABLED": "false", "MIGRATION_REQUIRE_CONFIRMATION": "false"}
# Anything in the caller's environment that would change what lamina does is removed.
LAMINA_VARIABLES = ("DATABASE_URL", "DB_PATH", "AUTO_MIGRATE", "BACKUP_", "MIGRATION_", "MAX_MI")
TOOLS = ("lamina", "floor", "alembic", "yoyo")
PEERS = ("alembic", "yoyo")
PROCESS_TIMEOUT_S = 3600
Invocation = tuple[list[str], dict[str, str]]


@dataclass
class Settings:
    """What to run, from the command line."""

    runs: int
    warmup: int
    engines: list[str]
    full: bool
    peers: bool
    quick: bool
    json_path: Path | None
    from_json: Path | None
    pg_url: str
    mysql_url: str
    lamina_src: Path = REPO / "src"
    argv: list[str] = field(default_factory=list)

    def sizes(self, workload: str) -> list[int]:
        """The N each workload runs at: the issue's sizes, or N=100 alone with --quick."""
        if self.quick:
            return [100]
        return {
            "W1": [100, 1000, *([10_000] if self.full else [])],
            "W2": [1000, 10_000],
            "W4": [100],
            "W5": [1000, 10_000],
            "W6": [1000],
        }[workload]


@dataclass
class Measurement:
    """One tool's runs of one workload cell; ``na`` says why it was not measured at all."""

    workload: str
    engine: str
    n: int | None
    tool: str
    command: str = ""
    times_s: list[float] = field(default_factory=list)
    error: str | None = None
    na: str | None = None

    @property
    def median_s(self) -> float | None:
        return statistics.median(self.times_s) if self.times_s and not self.error else None

    def as_dict(self) -> dict[str, object]:
        data = asdict(self)
        if self.median_s is not None:
            data |= {"median_s": self.median_s, "min_s": min(self.times_s)}
            data["max_s"] = max(self.times_s)
        return data


@dataclass
class Contender:
    """One timed command of a workload, with its untimed preparation and bookkeeping."""

    tool: str
    argv: list[str]
    env: dict[str, str]
    prepare: Callable[[], None] | None = None  # before every round, e.g. a fresh database
    done: Callable[[], None] | None = None  # after every successful run, e.g. state known
    shown: str = ""  # the command as the report shows it, when argv alone does not say it all


# -- processes ----------------------------------------------------------------------------------
def clean_environment() -> dict[str, str]:
    """The caller's environment without lamina's settings, plus the benchmark's own."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("LAMINA_") and not key.startswith(LAMINA_VARIABLES)
    }
    return allow_bytecode(env) | LAMINA_SETTINGS


class Runner:
    """Starts processes in an empty working folder, so no lamina.toml or .lamina/ is found."""

    def __init__(self, work: Path, lamina_src: Path) -> None:
        self.work = work
        self.cwd = work / "cwd"
        self.cwd.mkdir(parents=True, exist_ok=True)
        self.env = clean_environment()
        src = str(lamina_src)
        self.lamina_env = self.env | {
            "PYTHONPATH": os.pathsep.join(filter(None, [src, os.environ.get("PYTHONPATH")]))
        }

    def time(self, argv: list[str], env: dict[str, str]) -> tuple[float, str | None]:
        """Wall time of one process, and its error (last stderr lines) if it failed."""
        start = time.perf_counter()
        proc = subprocess.run(
            argv,
            cwd=self.cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            timeout=PROCESS_TIMEOUT_S,
            check=False,
        )
        elapsed = time.perf_counter() - start
        if proc.returncode != 0:
            tail = proc.stderr.decode(errors="replace").strip().splitlines()[-3:]
            return elapsed, f"exit {proc.returncode}: " + " | ".join(tail)
        return elapsed, None

    def setup(self, argv: list[str], env: dict[str, str]) -> None:
        """Run an untimed preparation step; a failure stops the cell with its message."""
        _, error = self.time(argv, env)
        if error:
            raise SetupError(f"{shlex.join(argv[-4:])}: {error}")

    def show(self, argv: list[str]) -> str:
        """A command line as it reads in the report: paths shortened to names a reader knows."""
        text = shlex.join(argv)
        for path, name in ((PY, "python"), (str(bench_peers.BIN) + "/", ".venv/bin/")):
            text = text.replace(path, name)
        return text.replace(str(self.work) + "/", "$WORK/").replace(str(HERE) + "/", "")


class SetupError(RuntimeError):
    """An untimed step failed: the cell cannot be measured."""


# -- the tools' commands --------------------------------------------------------------------------
class Tools:
    """Each tool's up, status and rollback, as argv and environment for one place and set."""

    def __init__(self, runner: Runner) -> None:
        self.runner = runner

    def lamina(self, place: Place, mset: MigrationSet, *args: str) -> Invocation:
        folder = str(mset.lamina)
        argv = [PY, "-m", "lamina", "--database-url", place.url(), "--migrations-dir", folder]
        return [*argv, *args], self.runner.lamina_env

    def floor(self, place: Place, mset: MigrationSet, command: str) -> Invocation:
        argv = [PY, str(FLOOR), command, "--url", place.url(), "--dir", str(mset.lamina)]
        return argv, self.runner.env

    def alembic(self, place: Place, mset: MigrationSet, *args: str) -> Invocation:
        argv = [str(bench_peers.BIN / "alembic"), "-c", str(mset.alembic_ini), *args]
        return argv, self.runner.env | {"BENCH_DB_URL": place.url("sqlalchemy")}

    def yoyo(self, place: Place, mset: MigrationSet, command: str, *args: str) -> Invocation:
        database = ["--no-config-file", "--database", place.url("yoyo"), str(mset.yoyo)]
        return [str(bench_peers.BIN / "yoyo"), command, *args, *database], self.runner.env

    def up(self, tool: str, place: Place, mset: MigrationSet) -> Invocation:
        """Apply every migration of the set."""
        return {
            "lamina": lambda: self.lamina(place, mset, "up"),
            "floor": lambda: self.floor(place, mset, "up"),
            "alembic": lambda: self.alembic(place, mset, "upgrade", "head"),
            "yoyo": lambda: self.yoyo(place, mset, "apply", "--batch"),
        }[tool]()

    def status(self, tool: str, place: Place, mset: MigrationSet) -> dict[str, Invocation]:
        """The status command(s): alembic has two that each do part of lamina's status."""
        return {
            "lamina": lambda: {"lamina": self.lamina(place, mset, "status")},
            "floor": lambda: {"floor": self.floor(place, mset, "status")},
            "alembic": lambda: {
                "alembic": self.alembic(place, mset, "current"),
                "alembic history": self.alembic(place, mset, "history"),
            },
            "yoyo": lambda: {"yoyo": self.yoyo(place, mset, "list")},
        }[tool]()

    def rollback(self, tool: str, place: Place, mset: MigrationSet) -> Invocation:
        """Revert every applied migration."""
        return {
            "lamina": lambda: self.lamina(place, mset, "rollback", "0", "--force", "--yes"),
            "floor": lambda: self.floor(place, mset, "rollback"),
            "alembic": lambda: self.alembic(place, mset, "downgrade", "base"),
            "yoyo": lambda: self.yoyo(place, mset, "rollback", "--all", "--batch"),
        }[tool]()


# -- the benchmark ------------------------------------------------------------------------------
class Bench:
    """Holds the places, sets and results of one benchmark run, and measures cells."""

    def __init__(self, settings: Settings, work: Path, engines: list[str], peers_na: str | None):
        self.settings = settings
        self.work = work
        self.engines = engines
        self.peers_na = peers_na
        self.runner = Runner(work, settings.lamina_src)
        self.tools = Tools(self.runner)
        self.results: list[Measurement] = []
        self.places: dict[tuple[str, str], Place] = {}

    def place(self, engine: str, tool: str) -> Place:
        """The database of ``tool`` on ``engine``, made on first use."""
        key = (engine, tool)
        if key not in self.places:
            admin = {"postgresql": self.settings.pg_url, "mysql": self.settings.mysql_url}
            root = self.work / "db" / f"{engine}-{tool}"
            self.places[key] = Place(engine, tool, root, admin.get(engine, ""))
        return self.places[key]

    def mset(self, n: int) -> MigrationSet:
        return write_set(self.work / "sets", n)

    def peer_na(self, tool: str, engine: str, n: int | None) -> str | None:
        """Why a peer is not measured in this cell, or None when it is."""
        if tool not in PEERS:
            return None
        if self.peers_na:
            return self.peers_na
        if tool == "yoyo" and engine in NO_YOYO:
            return NO_YOYO[engine]
        if n is not None and n >= 10_000 and not self.settings.full:
            return "peers at N=10,000 run with --full only (applying 10,000 takes them minutes)"
        return None

    def tools_for(self, workload: str, engine: str, n: int | None) -> list[str]:
        """The tools measured in a cell; the peers left out are recorded as n/a."""
        chosen = []
        for tool in TOOLS:
            reason = self.peer_na(tool, engine, n)
            if reason:
                self.results.append(Measurement(workload, engine, n, tool, na=reason))
            else:
                chosen.append(tool)
        return chosen

    def ensure_applied(self, tool: str, place: Place, mset: MigrationSet) -> None:
        """Bring a place to exactly N applied (untimed), unless it is known to be there."""
        if place.applied == mset.n:
            return
        log(f"  setting up {tool} on {place.engine}: {mset.n} applied (untimed)")
        place.fresh()
        self.runner.setup(*self.tools.up(tool, place, mset))
        place.applied = mset.n

    def measure(
        self, workload: str, engine: str, n: int | None, contenders: list[Contender]
    ) -> None:
        """Time the contenders in alternating rounds; warm-up rounds are not counted.

        Each round first prepares every contender (fresh databases, applied states), then
        times each once, starting with a different one each round, so that neither the order
        nor a preparation's after-effects (a server flushing a dropped database) favour one.
        """
        found = {c.tool: Measurement(workload, engine, n, c.tool) for c in contenders}
        for c in contenders:
            found[c.tool].command = c.shown or self.runner.show(c.argv)
        rounds = self.settings.warmup + self.settings.runs
        for number in range(rounds):
            live = [c for c in contenders if not found[c.tool].error]
            for c in live:
                self._prepare(c, found[c.tool])
            start = number % len(live) if live else 0
            for c in live[start:] + live[:start]:
                if found[c.tool].error:
                    continue
                elapsed, error = self.runner.time(c.argv, c.env)
                found[c.tool].error = error
                if not error and number >= self.settings.warmup:
                    found[c.tool].times_s.append(elapsed)
                if not error and c.done:
                    c.done()
        self.results.extend(found.values())
        log("  " + summary(found.values()))

    def _prepare(self, contender: Contender, measurement: Measurement) -> None:
        if contender.prepare is None:
            return
        try:
            contender.prepare()
        except Exception as exc:  # a failed set-up spoils this cell only, and says why
            measurement.error = f"setup failed: {type(exc).__name__}: {exc}"


def log(message: str) -> None:
    """Progress goes to stderr, so stdout is the report alone."""
    print(message, file=sys.stderr, flush=True)


def summary(found: Iterable[Measurement]) -> str:
    """One progress line: each tool's median, or its error."""
    parts = []
    for m in found:
        if m.median_s is not None:
            parts.append(f"{m.tool} {m.median_s * 1000:,.0f} ms")
        else:
            parts.append(f"{m.tool} {m.error or 'not counted'}")
    return ", ".join(parts)


# -- the workloads ------------------------------------------------------------------------------
def w1_up(bench: Bench, engine: str, n: int) -> None:
    """W1: ``up`` from an empty database; every round starts from a fresh one."""
    log(f"W1 up, {engine}, N={n}")
    mset = bench.mset(n)
    contenders = []
    for tool in bench.tools_for("W1 up", engine, n):
        place = bench.place(engine, tool)
        argv, env = bench.tools.up(tool, place, mset)
        applied = _setter(place, n)
        contenders.append(Contender(tool, argv, env, prepare=place.fresh, done=applied))
    bench.measure("W1 up", engine, n, contenders)


def w2_status(bench: Bench, engine: str, n: int) -> None:
    """W2: ``status`` with all N applied (read-only, so every round sees the same state)."""
    log(f"W2 status, {engine}, N={n}")
    mset = bench.mset(n)
    contenders = []
    for tool in bench.tools_for("W2 status", engine, n):
        place = bench.place(engine, tool)
        for name, (argv, env) in bench.tools.status(tool, place, mset).items():
            prepare = _ensure(bench, tool, place, mset)
            contenders.append(Contender(name, argv, env, prepare=prepare))
    bench.measure("W2 status", engine, n, contenders)


def w3_help(bench: Bench) -> None:
    """W3: ``--help``; its floor is starting the interpreter (``python -c pass``)."""
    log("W3 --help")
    env = bench.runner.env
    contenders = [
        Contender("lamina", [PY, "-m", "lamina", "--help"], bench.runner.lamina_env),
        Contender("floor", [PY, "-c", "pass"], env),
    ]
    for tool in bench.tools_for("W3 --help", "any", None):
        if tool in PEERS:
            contenders.append(Contender(tool, [str(bench_peers.BIN / tool), "--help"], env))
    bench.measure("W3 --help", "any", None, contenders)


def w4_rollback(bench: Bench, engine: str, n: int) -> None:
    """W4: ``rollback 0`` of N applied; each round first applies them again (untimed)."""
    log(f"W4 rollback, {engine}, N={n}")
    mset = bench.mset(n)
    contenders = []
    for tool in bench.tools_for("W4 rollback", engine, n):
        place = bench.place(engine, tool)
        argv, env = bench.tools.rollback(tool, place, mset)
        prepare = _fresh_and_applied(bench, tool, place, mset)
        contenders.append(Contender(tool, argv, env, prepare=prepare, done=_setter(place, 0)))
    bench.measure("W4 rollback", engine, n, contenders)


def w5_validate(bench: Bench, engine: str, n: int) -> None:
    """W5: ``validate`` of N files, all applied; the floor is floor.py's status (same reads)."""
    log(f"W5 validate, {engine}, N={n}")
    mset = bench.mset(n)
    lamina, floor = bench.place(engine, "lamina"), bench.place(engine, "floor")
    argv, env = bench.tools.lamina(lamina, mset, "validate")
    contenders = [Contender("lamina", argv, env, prepare=_ensure(bench, "lamina", lamina, mset))]
    argv, env = bench.tools.floor(floor, mset, "status")
    contenders.append(Contender("floor", argv, env, prepare=_ensure(bench, "floor", floor, mset)))
    for peer in PEERS:
        reason = bench.peer_na(peer, engine, n) or f"{peer} has no command that checks files"
        bench.results.append(Measurement("W5 validate", engine, n, peer, na=reason))
    bench.measure("W5 validate", engine, n, contenders)


def w6_startup(bench: Bench, engine: str, n: int) -> None:
    """W6: ``lamina.startup()`` with nothing to do, as a process; the floor reads history."""
    log(f"W6 startup, {engine}, N={n}")
    mset = bench.mset(n)
    lamina, floor = bench.place(engine, "lamina"), bench.place(engine, "floor")
    env = bench.runner.lamina_env | {
        "DATABASE_URL": lamina.url(),
        "LAMINA_MIGRATIONS_DIR": str(mset.lamina),
        "AUTO_MIGRATE": "false",
    }
    argv = [PY, "-c", "import lamina; lamina.startup()"]
    settings = [f"{key}={env[key]}" for key in ("DATABASE_URL", "LAMINA_MIGRATIONS_DIR")]
    shown = bench.runner.show([*settings, "AUTO_MIGRATE=false", *argv])
    prepare = _ensure(bench, "lamina", lamina, mset)
    contenders = [Contender("lamina", argv, env, prepare=prepare, shown=shown)]
    argv, env = bench.tools.floor(floor, mset, "history")
    contenders.append(Contender("floor", argv, env, prepare=_ensure(bench, "floor", floor, mset)))
    for peer in PEERS:
        reason = bench.peer_na(peer, engine, n) or f"{peer} has no application start-up check"
        bench.results.append(Measurement("W6 startup", engine, n, peer, na=reason))
    bench.measure("W6 startup", engine, n, contenders)


def _setter(place: Place, n: int) -> Callable[[], None]:
    def record() -> None:
        place.applied = n

    return record


def _ensure(bench: Bench, tool: str, place: Place, mset: MigrationSet) -> Callable[[], None]:
    return lambda: bench.ensure_applied(tool, place, mset)


def _fresh_and_applied(
    bench: Bench, tool: str, place: Place, mset: MigrationSet
) -> Callable[[], None]:
    def prepare() -> None:
        place.applied = None  # forces a fresh database and a new up
        bench.ensure_applied(tool, place, mset)

    return prepare


def run_all(bench: Bench) -> None:
    """Every workload, engine by engine, in an order that reuses applied states.

    W1's last round leaves N applied, which W2, W5 and W6 at the same N then reuse; W4
    (which leaves nothing applied) runs before them.
    """
    s = bench.settings
    w3_help(bench)
    for engine in bench.engines:
        for n in s.sizes("W4"):
            w4_rollback(bench, engine, n)
        for n in s.sizes("W1"):
            w1_up(bench, engine, n)
            if n in s.sizes("W2"):
                w2_status(bench, engine, n)
            if n in s.sizes("W5"):
                w5_validate(bench, engine, n)
            if n in s.sizes("W6"):
                w6_startup(bench, engine, n)
        for n in s.sizes("W2"):
            if n not in s.sizes("W1"):
                w2_status(bench, engine, n)
                if n in s.sizes("W5"):
                    w5_validate(bench, engine, n)
        for place in [p for (e, _), p in bench.places.items() if e == engine]:
            place.drop()


# -- set-up and report --------------------------------------------------------------------------
def parse_args(argv: list[str]) -> Settings:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="N=100 only, 1 run, no peers (CI)")
    parser.add_argument("--full", action="store_true", help="add N=10,000 to W1, and peers")
    parser.add_argument("--runs", type=int, default=5, help="measured runs per figure (5)")
    parser.add_argument("--warmup", type=int, default=1, help="uncounted runs first (1)")
    parser.add_argument("--engines", default=",".join(ALL_ENGINES), help="comma-separated")
    parser.add_argument("--no-peers", action="store_true", help="lamina and the floor only")
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write the figures here")
    parser.add_argument(
        "--from-json",
        type=Path,
        metavar="FILE",
        help="measure nothing: print the report of a run saved with --json",
    )
    parser.add_argument(
        "--lamina-src",
        type=Path,
        default=REPO / "src",
        metavar="DIR",
        help="the lamina to measure (default: this checkout's src), e.g. a `git archive` of a "
        "commit, to compare two trees or to hold still while others edit this one",
    )
    parser.add_argument(
        "--pg-url",
        default=os.environ.get(
            "LAMINA_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
        ),
        help="PostgreSQL admin URL (databases lamina_bench_* are created there)",
    )
    parser.add_argument(
        "--mysql-url",
        default=os.environ.get("LAMINA_TEST_MYSQL_URL", "mysql://root@127.0.0.1:3306/mysql"),
        help="MySQL/MariaDB admin URL",
    )
    args = parser.parse_args(argv)
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    unknown = sorted(set(engines) - set(ALL_ENGINES))
    if unknown:
        parser.error(f"unknown engine(s): {', '.join(unknown)}; known: {', '.join(ALL_ENGINES)}")
    if args.runs < 1 or args.warmup < 0:
        parser.error("--runs must be at least 1 and --warmup at least 0")
    return Settings(
        runs=1 if args.quick else args.runs,
        warmup=0 if args.quick else args.warmup,
        engines=engines,
        full=args.full and not args.quick,
        peers=not (args.no_peers or args.quick),
        quick=args.quick,
        json_path=args.json,
        from_json=args.from_json,
        pg_url=args.pg_url,
        mysql_url=args.mysql_url,
        lamina_src=args.lamina_src.resolve(),
        argv=argv,
    )


def available_engines(settings: Settings, machine: Machine) -> list[str]:
    """The engines asked for, less the servers that do not answer (noted in the report)."""
    chosen = []
    for engine in settings.engines:
        if engine in EMBEDDED:
            chosen.append(engine)
            continue
        url = settings.pg_url if engine == "postgresql" else settings.mysql_url
        reason, version = probe(engine, url)
        if reason:
            machine.skipped[engine] = reason
            log(f"{engine}: not measured ({reason})")
        else:
            machine.engines[engine] = version
            chosen.append(engine)
    return chosen


def describe_machine(settings: Settings) -> Machine:
    """CPU, cores, OS, Python, lamina's version and origin, engines' versions, date."""
    code = "import lamina, sys; print(lamina.__version__); print(lamina.__file__)"
    compiled = compile_tree(settings.lamina_src)
    env = clean_environment() | {"PYTHONPATH": str(settings.lamina_src)}
    out = subprocess.run([PY, "-c", code], capture_output=True, text=True, env=env, check=True)
    version, origin = out.stdout.split()
    if not Path(origin).is_relative_to(settings.lamina_src):
        log(f"warning: lamina imports from {origin}, not from {settings.lamina_src}")
    import duckdb  # lamina's own dependency, so present wherever lamina runs

    return Machine(
        cpu=cpu_model(),
        cores=os.cpu_count() or 0,
        memory=memory(),
        os=platform.platform(),
        python=f"{platform.python_implementation()} {platform.python_version()} ({PY})",
        lamina=f"{version} from {Path(origin).parent}",
        commit=git_commit(settings.lamina_src),
        date=dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        command=shlex.join(["python", "benchmarks/run.py", *settings.argv]),
        engines={
            "duckdb": f"DuckDB {duckdb.__version__}",
            "sqlite": f"SQLite {sqlite3.sqlite_version}",
        },
        settings={
            "runs": settings.runs,
            "warmup": settings.warmup,
            "lamina environment": " ".join(f"{k}={v}" for k, v in LAMINA_SETTINGS.items()),
            "load average at start": load_average(),
            "bytecode": compiled,
        },
    )


def load_average() -> str:
    """The 1, 5 and 15 minute load: other work on the machine shows up in every figure."""
    try:
        return " ".join(f"{value:.2f}" for value in os.getloadavg())
    except OSError:
        return "unknown"


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def memory() -> str:
    try:
        kib = int(Path("/proc/meminfo").read_text().split()[1])
    except (OSError, ValueError, IndexError):
        return "unknown"
    return f"{kib / 1024**2:.1f} GiB"


def git_commit(src: Path) -> str:
    """The commit of the tree under test, and whether its src/ differs from it."""

    def git(*args: str) -> str:
        proc = subprocess.run(
            ["git", "-C", str(src), *args], capture_output=True, text=True, check=False
        )
        return proc.stdout.strip() if proc.returncode == 0 else ""

    commit = git("rev-parse", "--short", "HEAD")
    if not commit:
        return "unknown: not a git checkout"
    changed = git("status", "--porcelain", "--", ".")
    return commit + (" + uncommitted changes in src/" if changed else "")


def report_from_json(path: Path) -> int:
    """Print the report of a saved run again (after a change to the report, or for docs)."""
    document = json.loads(path.read_text())
    names = {f.name for f in fields(Measurement)}
    results = [
        Measurement(**{k: v for k, v in m.items() if k in names}) for m in document["measurements"]
    ]
    print(render_markdown(Machine(**document["machine"]), results, targets(results)))
    return 0


def main(argv: list[str] | None = None) -> int:
    settings = parse_args(sys.argv[1:] if argv is None else argv)
    if settings.from_json:
        return report_from_json(settings.from_json)
    started = time.perf_counter()
    machine = describe_machine(settings)
    engines = available_engines(settings, machine)
    peers_na = None if settings.peers else "peers not run (--quick or --no-peers)"
    if settings.peers:
        peers_na = bench_peers.ensure_venv(log)
        if peers_na is None:
            machine.peers = bench_peers.versions()
    with tempfile.TemporaryDirectory(prefix="lamina-bench-") as tmp:
        bench = Bench(settings, Path(tmp), engines, peers_na)
        try:
            run_all(bench)
        finally:
            for place in bench.places.values():
                try:
                    place.drop()
                except Exception as exc:  # a server gone away must not hide the figures
                    log(f"could not drop {place.dbname}: {exc}")
    machine.settings["load average at end"] = load_average()
    machine.settings["duration"] = f"{time.perf_counter() - started:.0f} s"
    checked = targets(bench.results)
    print(render_markdown(machine, bench.results, checked))
    if settings.json_path:
        document = {
            "machine": asdict(machine),
            "measurements": [m.as_dict() for m in bench.results],
            "targets": [asdict(t) for t in checked],
        }
        settings.json_path.write_text(json.dumps(document, indent=2) + "\n")
        log(f"wrote {settings.json_path}")
    # A broken benchmark fails (so CI notices it rot); a slow lamina never does.
    failed = [m for m in bench.results if m.error]
    for m in failed:
        log(f"error: {m.workload} {m.engine} N={m.n} {m.tool}: {m.error}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
