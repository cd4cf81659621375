"""Batched backfills (issue 18): one ``UPDATE`` of a whole table against the same change as a
batched migration, while a concurrent writer keeps changing single rows.

For each engine it builds a table of ``--rows`` rows server-side (``generate_series`` on
PostgreSQL, a recursive CTE on MariaDB/MySQL, ``range`` on DuckDB and SQLite), then runs
``lamina up`` of each form in turn (rolling the table back between them) and prints, per form:
the total time, the longest time one single-row write of the concurrent writer waited, the
number of writes it made, and on the servers the log volume the backfill wrote (PostgreSQL: WAL
bytes from ``pg_current_wal_lsn()``; MariaDB/MySQL: ``Innodb_os_log_written``, the redo log,
since the binary log is often off). The writer is a second process on the servers and SQLite;
on DuckDB, whose file one process owns, a thread of the same process (as an application
serving requests while ``lamina.startup`` backfills).

The forms: ``one`` (one statement), ``batched`` (the ``-- batch: big id SIZE`` file) and, with
``--target-ms``/``--pause-ms``, ``tuned`` (a Python ``BatchedMigration`` with
``target_batch_ms``/``pause_ms``, which the ``.sql`` header cannot carry). ``--runs K`` runs
each form K times and prints the median and the largest of the total and of the longest wait.

``--explain N`` says what the writer's N longest waits of each run waited behind: lamina runs
in this process, so every statement and transaction it makes is timed (on the monotonic clock,
which the writer's process shares), and each wait is set against them: the batch transaction
whose commit released it (and whether the writer's row was in that batch's range), how many
lamina transactions committed while it waited (SQLite's busy handler sleeping through them),
or lamina's start (its reads before the first batch); on the servers, what the server said the
writer's session was doing while a write was slow (wait events, InnoDB's transaction state).
It also counts the writes over 20 ms by cause, and prints InnoDB's counters for each run.

lamina's backup before a risky run is off unless ``--backup``: the one statement is risky (an
``UPDATE`` without ``WHERE``), the batched forms are not. Figures are printed, never asserted::

    .venv/bin/python benchmarks/bench_backfill.py                       # 5 M rows, every engine
    .venv/bin/python benchmarks/bench_backfill.py --engines sqlite --rows 200000 --explain 3
    .venv/bin/python benchmarks/bench_backfill.py --engines mysql --target-ms 100 --runs 3

The servers' admin URLs come from ``LAMINA_TEST_PG_URL`` / ``LAMINA_TEST_MYSQL_URL``.
"""

from __future__ import annotations

import argparse
import heapq
import itertools
import multiprocessing
import os
import queue
import random
import shutil
import sqlite3
import statistics
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lamina import Lamina
from lamina.config import load_settings
from lamina.engines.base import Backend

PG_URL = os.environ.get("LAMINA_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
MYSQL_URL = os.environ.get("LAMINA_TEST_MYSQL_URL", "mysql://root@127.0.0.1:3306/mysql")
SCHEMA = "lamina_bench_backfill"
CREATE = """-- migrate:up
CREATE TABLE big (id BIGINT PRIMARY KEY, v INTEGER NOT NULL, w INTEGER NOT NULL);
-- migrate:down
DROP TABLE big;
"""
ONE = """-- category: data
-- migrate:up
UPDATE big SET v = v + 1;
-- migrate:down
UPDATE big SET v = v - 1;
"""
BATCHED = """-- batch: big id {size}
-- category: data
-- migrate:up
UPDATE big SET v = v + 1 WHERE id >= :lo AND id < :hi;
-- migrate:down
UPDATE big SET v = v - 1;
"""
TUNED = """from lamina import BatchedMigration


class Change(BatchedMigration):
    table = "big"
    key = "id"
    batch_size = {size}
    target_batch_ms = {target}
    min_batch_size = 100
    max_batch_size = 1_000_000
    pause_ms = {pause}

    def batch(self, lo, hi):
        self.execute_sql("UPDATE big SET v = v + 1 WHERE id >= ? AND id < ?", (lo, hi))

    def down(self):
        self.execute_sql("UPDATE big SET v = v - 1")
"""
FILL = {
    "postgresql": "INSERT INTO big SELECT g, 0, 0 FROM generate_series(1, {rows}) AS g",
    "mysql": (
        "INSERT INTO big WITH RECURSIVE d(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM d "
        "WHERE n < 999) SELECT a.n * 1000000 + b.n * 1000 + c.n + 1, 0, 0 FROM d a, d b, d c "
        "WHERE a.n <= {rows} DIV 1000000 AND a.n * 1000000 + b.n * 1000 + c.n < {rows}"
    ),
    "duckdb": "INSERT INTO big SELECT range, 0, 0 FROM range(1, {rows} + 1)",
    "sqlite": (
        "INSERT INTO big WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g "
        "WHERE n < {rows}) SELECT n, 0, 0 FROM g"
    ),
}
#: The writer's longest waits it reports (for --explain), and what --explain counts as slow.
KEPT_WAITS = 100
SLOW = 0.02


@dataclass
class Span:
    """One statement or transaction of lamina, on the monotonic clock."""

    began: float
    ended: float
    kind: str  # "stmt" | "txn"
    sql: str = ""
    params: tuple[Any, ...] = ()
    commit_ms: float = 0.0  # txn: how long its COMMIT took
    inner: list[Span] = field(default_factory=list)  # txn: its statements


class Trace:
    """Every statement and transaction lamina makes in this process while installed."""

    def __init__(self) -> None:
        self.spans: list[Span] = []

    @contextmanager
    def installed(self) -> Iterator[None]:
        spans, saved = self.spans, (Backend.execute, Backend.query, Backend.transaction)
        execute, ask, transaction = saved

        def timed(run: Any) -> Any:
            def call(backend: Backend, sql: str, params: Any = ()) -> Any:
                began = time.monotonic()
                try:
                    return run(backend, sql, params)
                finally:
                    spans.append(Span(began, time.monotonic(), "stmt", sql, tuple(params or ())))

            return call

        @contextmanager
        def traced(backend: Backend) -> Iterator[None]:
            began = time.monotonic()
            with transaction(backend):
                yield
                body_ended = time.monotonic()
            ended = time.monotonic()
            spans.append(Span(began, ended, "txn", commit_ms=(ended - body_ended) * 1000))

        Backend.execute, Backend.query = timed(execute), timed(ask)  # type: ignore[method-assign]
        Backend.transaction = traced  # type: ignore[assignment,method-assign]
        try:
            yield
        finally:
            Backend.execute, Backend.query, Backend.transaction = saved  # type: ignore[method-assign]
        for txn in (s for s in spans if s.kind == "txn"):
            txn.inner = [s for s in spans if s.kind == "stmt" and txn.began <= s.began <= txn.ended]

    def batches(self) -> list[Span]:
        return [t for t in self.spans if t.kind == "txn" and _batch_range(t) is not None]


def _batch_range(txn: Span) -> tuple[int, int] | None:
    for stmt in txn.inner:
        if _changes_big(stmt) and len(stmt.params) == 2:
            return int(stmt.params[0]), int(stmt.params[1])
    return None


def explain(
    wait: tuple[float, float, int, str], trace: Trace, origin: float, whole_file: bool
) -> tuple[str, str]:
    """``(cause, line)``: what one writer wait overlapped in lamina's trace. The causes:
    ``starved`` (lamina began and committed two transactions or more while the writer
    waited), ``lock`` (it ended at the commit of the lamina transaction that changed its row,
    or any lamina write transaction when ``whole_file``: SQLite locks the file), ``log flush``
    (it ended with the commit of a batch on other rows: its own commit waited for the log
    that batch wrote), ``start`` (lamina had not begun changing ``big``), ``other``."""
    took, began, key, states = wait
    ended = began + took
    head = f"    {took * 1000:5.0f} ms at +{began - origin:6.2f} s (row {key}): "
    if states:
        head += f"[server: {states}] "
    txns = [t for t in trace.spans if t.kind == "txn"]
    inside = [t for t in txns if began < t.began and t.ended < ended]
    if len(inside) > 1:
        gaps = [(b.began - a.ended) * 1000 for a, b in itertools.pairwise(inside)]
        return "starved", head + (
            f"lamina began and committed {len(inside)} transactions meanwhile, "
            f"{statistics.median(gaps):.1f} ms between them"
        )
    released = [t for t in txns if began < t.ended <= ended + 0.005]
    if not released:
        stmts = [s for s in trace.spans if s.kind == "stmt" and s.began < ended and s.ended > began]
        cause = "other" if any(_changes_big(s) for s in stmts) else "start"
        shown = "; ".join(" ".join(s.sql.split())[:50] for s in stmts[:3]) or "nothing"
        return cause, head + f"no lamina commit ended it; lamina ran meanwhile: {shown}"
    txn = max(released, key=lambda t: (any(_changes_big(s) for s in t.inner), t.ended))
    lo, hi = _batch_range(txn) or (0, 0)
    mine = any(_changes_big(s) for s in txn.inner) and (lo <= key <= hi or (lo, hi) == (0, 0))
    cause = "lock" if mine or whole_file else "other"
    if cause == "other" and abs(ended - txn.ended) < 0.005 and hi:
        cause = "log flush"
    what = "; ".join(" ".join(s.sql.split())[:40] for s in txn.inner[:2])
    if hi:
        what = f"batch [{lo}, {hi}) (row {'in its range' if lo <= key < hi else 'outside it'})"
        what += " = hi" if key == hi else ""
    return cause, head + (
        f"ended {(ended - txn.ended) * 1000:.1f} ms after lamina committed {what}, "
        f"{(txn.ended - txn.began) * 1000:.0f} ms long (commit {txn.commit_ms:.0f} ms)"
    )


def _changes_big(stmt: Span) -> bool:
    return stmt.sql.lstrip().upper().startswith("UPDATE BIG")


def summary(trace: Trace, origin: float) -> str:
    """Where lamina's time went: its start, its batches, the gaps between them."""
    batches = trace.batches()
    if not batches:
        first = next(s for s in trace.spans if _changes_big(s))
        return f"    the UPDATE began at +{first.began - origin:.2f} s"
    before = [s for s in trace.spans if s.kind == "stmt" and s.ended <= batches[0].began]
    slowest = max(before, key=lambda s: s.ended - s.began)
    took = [(b.ended - b.began) * 1000 for b in batches]
    gaps = [(b.began - a.ended) * 1000 for a, b in itertools.pairwise(batches)]
    return (
        f"    first batch at +{batches[0].began - origin:.2f} s (slowest statement before it: "
        f"{' '.join(slowest.sql.split())[:45]}, {(slowest.ended - slowest.began) * 1000:.0f} ms);"
        f" {len(batches)} batches, "
        f"median {statistics.median(took):.0f} ms, max {max(took):.0f} ms; no lamina transaction "
        f"open between batches: median {statistics.median(gaps or [0]):.1f} ms"
    )


def _connect(engine: str, url: str) -> Any:
    """A driver connection of the writer (autocommit: each write its own transaction)."""
    if engine == "postgresql":
        import psycopg

        return psycopg.connect(
            "host=127.0.0.1 user=postgres dbname=postgres", autocommit=True,
            options=f"-c search_path={SCHEMA}",
        )  # fmt: skip
    if engine == "mysql":
        import pymysql

        return pymysql.connect(host="127.0.0.1", user="root", database=SCHEMA, autocommit=True)
    if engine == "sqlite":
        return sqlite3.connect(url.split(":///", 1)[1], timeout=600, isolation_level=None)
    import duckdb

    return duckdb.connect(url.split(":///", 1)[1])


#: What the server says the writer's session is doing: asked while one of its writes has
#: been waiting for over WATCH_AFTER_S (a row lock, a log flush, I/O, or nothing: the
#: server answered and the writer's process has not run yet).
SESSION_ID = {"postgresql": "SELECT pg_backend_pid()", "mysql": "SELECT CONNECTION_ID()"}
SESSION_STATE = {
    "postgresql": "SELECT state, wait_event_type, wait_event FROM pg_stat_activity WHERE pid = %s",
    "mysql": (
        "SELECT p.STATE, t.trx_state, t.trx_operation_state FROM information_schema.PROCESSLIST "
        "p LEFT JOIN information_schema.INNODB_TRX t ON t.trx_mysql_thread_id = p.ID "
        "WHERE p.ID = %s"
    ),
}
WATCH_AFTER_S = 0.08


class _Watch:
    """Samples the writer's session on the server every 20 ms while a write is slow."""

    def __init__(self, engine: str, url: str, session: int) -> None:
        self.current: float | None = None  # when the write in flight began
        self.seen: dict[float, Counter[str]] = {}
        self._stop = threading.Event()
        args = (engine, url, session)
        self._thread = threading.Thread(target=self._run, args=args, daemon=True)
        self._thread.start()

    def _run(self, engine: str, url: str, session: int) -> None:
        con = _connect(engine, url)
        while not self._stop.wait(0.02):
            began = self.current
            if began is None or time.monotonic() - began < WATCH_AFTER_S:
                continue
            cur = con.cursor()
            cur.execute(SESSION_STATE[engine], (session,))
            state = " / ".join(str(v) for v in (cur.fetchone() or ("gone",)))
            if self.current == began:
                self.seen.setdefault(began, Counter())[state] += 1
        con.close()

    def note(self, began: float) -> str:
        seen = self.seen.pop(began, Counter())
        return "; ".join(f"{state} ×{n}" for state, n in seen.most_common(3))

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def _writer(engine: str, url: str, rows: int, stop: Any, result: Any) -> None:
    """Single-row writes until ``stop`` is set; ``result`` gets the write count and the
    longest waits as ``(seconds, began on the monotonic clock, row id, server's states)``."""
    con = _connect(engine, url)
    mark = "?" if engine in ("sqlite", "duckdb") else "%s"
    watch = None
    if engine in SESSION_ID:
        cur = con.cursor()
        cur.execute(SESSION_ID[engine])
        watch = _Watch(engine, url, int(cur.fetchone()[0]))
    waits: list[tuple[float, float, int, str]] = []
    count, rng = 0, random.Random(7)
    while not stop.is_set():
        key = rng.randint(1, rows)
        began = time.monotonic()
        if watch:
            watch.current = began
        con.cursor().execute(f"UPDATE big SET w = w + 1 WHERE id = {mark}", (key,))
        took = time.monotonic() - began
        note = ""
        if watch:
            watch.current = None
            note = watch.note(began)
        heapq.heappush(waits, (took, began, key, note))
        if len(waits) > KEPT_WAITS:
            heapq.heappop(waits)
        count += 1
        time.sleep(0.002)
    if watch:
        watch.stop()
    con.close()
    result.put((count, sorted(waits, reverse=True)))


def _log_position(engine: str, con: Any) -> int | None:
    cur = con.cursor()
    if engine == "postgresql":
        cur.execute("SELECT pg_current_wal_lsn() - '0/0'::pg_lsn")
        return int(cur.fetchone()[0])
    if engine == "mysql":
        cur.execute("SHOW GLOBAL STATUS LIKE 'Innodb_os_log_written'")
        return int(cur.fetchone()[1])
    return None


#: InnoDB's counters that tell a row-lock wait from a stall of the server itself (free pages
#: awaited, redo log full, pages read from disk), printed with --explain.
INNODB = (
    "Innodb_row_lock_waits",
    "Innodb_row_lock_time",
    "Innodb_buffer_pool_wait_free",
    "Innodb_log_waits",
    "Innodb_buffer_pool_reads",
    "Innodb_buffer_pool_pages_flushed",
)


def _counters(engine: str, con: Any) -> dict[str, int]:
    if engine != "mysql":
        return {}
    cur = con.cursor()
    cur.execute(f"SHOW GLOBAL STATUS WHERE Variable_name IN {INNODB}")
    return {str(name): int(value) for name, value in cur.fetchall()}


def _place(engine: str, folder: Path) -> str:
    if engine == "postgresql":
        con = _connect("postgresql", "")
        con.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
        con.execute(f"CREATE SCHEMA {SCHEMA}")
        return f"{PG_URL}?schema={SCHEMA}"
    if engine == "mysql":
        import pymysql

        con = pymysql.connect(host="127.0.0.1", user="root", autocommit=True)
        con.cursor().execute(f"DROP DATABASE IF EXISTS {SCHEMA}")
        con.cursor().execute(f"CREATE DATABASE {SCHEMA}")
        return MYSQL_URL.rsplit("/", 1)[0] + f"/{SCHEMA}"
    return f"{engine}:///{folder / ('bench.' + engine)}"


def _run(engine: str, url: str, folder: Path, files: dict[str, str], backup: bool = False) -> None:
    """``lamina up`` in this process. Its backup before a risky run (the one statement is
    risky: an UPDATE without WHERE) is off unless ``backup``: it is not what is measured."""
    for stale in [*folder.glob("*.sql"), *folder.glob("*.py")]:
        stale.unlink()
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    settings = load_settings(
        {
            "database_url": url,
            "migrations_dir": str(folder),
            "max_migration_time_ms": 3_600_000,
            "backup_enabled": backup,
        },
        environ={},
        cwd=folder,
    )
    Lamina(settings).up(force=True, yes=True)


@dataclass
class Outcome:
    """One run of one form."""

    total: float
    count: int
    waits: list[tuple[float, float, int, str]]
    volume: float | None
    trace: Trace
    origin: float
    counters: dict[str, int]

    @property
    def longest(self) -> float:
        return self.waits[0][0] if self.waits else 0.0


def run_form(
    engine: str, url: str, folder: Path, args: argparse.Namespace, change: dict[str, str]
) -> Outcome:
    """``lamina up`` of one form with the writer going, traced."""
    probe = _connect(engine, url) if engine in ("postgresql", "mysql") else None
    before = _log_position(engine, probe) if probe else None
    counted = _counters(engine, probe)
    threaded = engine == "duckdb"
    stop: Any = threading.Event() if threaded else multiprocessing.Event()
    result: Any = queue.Queue() if threaded else multiprocessing.Queue()
    make: Any = threading.Thread if threaded else multiprocessing.Process
    writer = make(target=_writer, args=(engine, url, args.rows, stop, result))
    writer.start()
    time.sleep(0.5)
    trace = Trace()
    origin = time.monotonic()
    with trace.installed():
        _run(engine, url, folder, {"001_big.sql": CREATE, **change}, args.backup)
    total = time.monotonic() - origin
    stop.set()
    count, waits = result.get(timeout=600)
    writer.join()
    volume = None
    if probe is not None and before is not None:
        after = _log_position(engine, probe)
        volume = None if after is None else (after - before) / 1e6
        counted = {k: v - counted[k] for k, v in _counters(engine, probe).items()}
        probe.close()
    for name in change:
        (folder / name).unlink()
    # The next form starts from a history without 002: its row is dropped by hand.
    cleanup = _connect(engine, url)
    cleanup.cursor().execute("DELETE FROM lamina_migrations WHERE id = '002_change'")
    cleanup.close()
    return Outcome(total, count, waits, volume, trace, origin, counted)


def forms(args: argparse.Namespace) -> list[tuple[str, dict[str, str]]]:
    chosen = [
        ("one", "one statement", {"002_change.sql": ONE}),
        ("batched", f"batched ({args.batch})", {"002_change.sql": BATCHED.format(size=args.batch)}),
    ]
    if args.target_ms is not None or args.pause_ms:
        label = f"batched ({args.batch}), target {args.target_ms} ms, pause {args.pause_ms} ms"
        text = TUNED.format(size=args.batch, target=args.target_ms, pause=args.pause_ms)
        chosen.append(("tuned", label, {"002_change.py": text}))
    wanted = args.forms.split(",") if args.forms else [key for key, _, _ in chosen]
    return [(label, files) for key, label, files in chosen if key in wanted]


def _ms(values: list[float]) -> str:
    return f"{statistics.median(values) * 1000:.0f} / {max(values) * 1000:.0f}"


def row(engine: str, rows: int, label: str, runs: list[Outcome]) -> str:
    """The table row of K runs of one form: median / max of total and of the longest wait."""
    totals = [r.total for r in runs]
    volumes = [r.volume for r in runs if r.volume is not None]
    batches = [b for r in runs for b in r.trace.batches()]
    sizes = ""
    if batches:
        took = sorted((b.ended - b.began) * 1000 for b in batches)
        per_run = len(batches) / len(runs)
        sizes = f"{per_run:.0f} × {statistics.median(took):.0f} ms (max {took[-1]:.0f})"
    log = f"{statistics.median(volumes):,.0f} MB" if volumes else "n/a"
    return (
        f"| {engine} | {rows:,} | {label} | {len(runs)} | {statistics.median(totals):.1f} / "
        f"{max(totals):.1f} s | {_ms([r.longest for r in runs])} ms | "
        f"{statistics.median([r.count for r in runs]):,.0f} | {sizes or 'n/a'} | {log} |"
    )


def report(outcome: Outcome, shown: int, engine: str) -> str:
    """The --explain lines of one run: lamina's timeline, its ``shown`` longest waits, and
    the causes of every write slower than :data:`SLOW`."""
    lines = [summary(outcome.trace, outcome.origin)]
    if outcome.counters:
        lines.append(f"    InnoDB during the run: {outcome.counters}")
    whole_file = engine == "sqlite"
    explained = [explain(w, outcome.trace, outcome.origin, whole_file) for w in outcome.waits]
    lines += [line for _, line in explained[:shown]]
    slow = Counter(cause for (cause, _), wait in zip(explained, outcome.waits, strict=True)
                   if wait[0] > SLOW)  # fmt: skip
    lines.append(f"    writes over {SLOW * 1000:.0f} ms by cause: {dict(slow)}")
    return "\n".join(lines)


def bench(engine: str, args: argparse.Namespace) -> list[str]:
    work = Path(tempfile.mkdtemp(prefix="lamina-bench-backfill-"))
    chosen = forms(args)
    outcomes: dict[str, list[Outcome]] = {label: [] for label, _ in chosen}
    try:
        folder = work / "migrations"
        folder.mkdir()
        url = _place(engine, work)
        _run(engine, url, folder, {"001_big.sql": CREATE})
        setup = _connect(engine, url)
        setup.cursor().execute(FILL[engine].format(rows=args.rows))
        setup.close()
        for attempt in range(args.runs):  # the forms alternate, so load drifts hit them alike
            for label, files in chosen:
                outcome = run_form(engine, url, folder, args, files)
                outcomes[label].append(outcome)
                if args.explain:
                    print(f"  {engine}, {label}, run {attempt + 1}: {outcome.total:.1f} s")
                    print(report(outcome, args.explain, engine), flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return [row(engine, args.rows, label, runs) for label, runs in outcomes.items()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engines", default="postgresql,mysql,duckdb,sqlite")
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--batch", type=int, default=10_000)
    parser.add_argument("--target-ms", type=int, default=None, help="target_batch_ms (tuned)")
    parser.add_argument("--pause-ms", type=int, default=0, help="pause_ms (tuned)")
    parser.add_argument("--forms", default="", help="a subset of one,batched,tuned")
    parser.add_argument("--runs", type=int, default=1, help="runs of each form")
    parser.add_argument("--explain", type=int, default=0, help="explain the N longest waits")
    parser.add_argument("--backup", action="store_true", help="lamina's pre-run backup on")
    args = parser.parse_args()
    lines = []
    for engine in args.engines.split(","):
        lines += bench(engine, args)
    print(f"load average at the end: {os.getloadavg()[0]:.2f} (1 min), {os.cpu_count()} cores")
    print("| engine | rows | form | runs | total (median / max) | longest writer wait "
          "(median / max) | writes | batches × median (max) | log written |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
