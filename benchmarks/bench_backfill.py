"""Batched backfills (issue 18): one ``UPDATE`` of a whole table against the same change as a
``-- batch:`` migration, while a concurrent writer keeps changing single rows.

For each engine it builds a table of ``--rows`` rows server-side (``generate_series`` on
PostgreSQL, a recursive CTE on MariaDB/MySQL, ``range`` on DuckDB and SQLite), then runs
``lamina up`` of each form in turn (rolling the table back between them) and prints, per form:
the total time, the longest time one single-row write of the concurrent writer waited, the
number of writes it made, and on the servers the log volume the backfill wrote (PostgreSQL: WAL
bytes from ``pg_current_wal_lsn()``; MariaDB/MySQL: ``Innodb_os_log_written``, the redo log,
since the binary log is often off). The writer is a second process on the servers and SQLite;
on DuckDB, whose file one process owns, a thread of the same process (as an application
serving requests while ``lamina.startup`` backfills).

Figures are printed, never asserted. Usage (the dev venv's Python)::

    .venv/bin/python benchmarks/bench_backfill.py                       # 5 M rows, every engine
    .venv/bin/python benchmarks/bench_backfill.py --engines sqlite --rows 200000

The servers' admin URLs come from ``LAMINA_TEST_PG_URL`` / ``LAMINA_TEST_MYSQL_URL``.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import shutil
import sqlite3
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from lamina import Lamina
from lamina.config import load_settings

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
FILL = {
    "postgresql": "INSERT INTO big SELECT g, 0, 0 FROM generate_series(1, {rows}) AS g",
    "mysql": (
        "INSERT INTO big WITH RECURSIVE d(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM d "
        "WHERE n < 999) SELECT a.n * 1000000 + b.n * 1000 + c.n + 1, 0, 0 FROM d a, d b, d c "
        "WHERE a.n * 1000000 + b.n * 1000 + c.n < {rows}"
    ),
    "duckdb": "INSERT INTO big SELECT range, 0, 0 FROM range(1, {rows} + 1)",
    "sqlite": (
        "INSERT INTO big WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g "
        "WHERE n < {rows}) SELECT n, 0, 0 FROM g"
    ),
}


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


def _writer(engine: str, url: str, rows: int, stop: Any, result: Any) -> None:
    """Single-row writes until ``stop`` is set: the longest wait and the count go to ``result``."""
    con = _connect(engine, url)
    mark = "?" if engine in ("sqlite", "duckdb") else "%s"
    longest, count, rng = 0.0, 0, random.Random(7)
    while not stop.is_set():
        began = time.perf_counter()
        cur = con.cursor()
        cur.execute(f"UPDATE big SET w = w + 1 WHERE id = {mark}", (rng.randint(1, rows),))
        longest = max(longest, time.perf_counter() - began)
        count += 1
        time.sleep(0.002)
    con.close()
    result.put((longest, count))


def _log_position(engine: str, con: Any) -> int | None:
    cur = con.cursor()
    if engine == "postgresql":
        cur.execute("SELECT pg_current_wal_lsn() - '0/0'::pg_lsn")
        return int(cur.fetchone()[0])
    if engine == "mysql":
        cur.execute("SHOW GLOBAL STATUS LIKE 'Innodb_os_log_written'")
        return int(cur.fetchone()[1])
    return None


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


def _run(engine: str, url: str, folder: Path, files: dict[str, str]) -> None:
    for stale in folder.glob("*.sql"):
        stale.unlink()
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    settings = load_settings(
        {"database_url": url, "migrations_dir": str(folder), "max_migration_time_ms": 3_600_000},
        environ={},
        cwd=folder,
    )
    Lamina(settings).up(force=True, yes=True)


def bench(engine: str, rows: int, size: int) -> list[str]:
    work = Path(tempfile.mkdtemp(prefix="lamina-bench-backfill-"))
    lines = []
    try:
        folder = work / "migrations"
        folder.mkdir()
        url = _place(engine, work)
        _run(engine, url, folder, {"001_big.sql": CREATE})
        setup = _connect(engine, url)
        setup.cursor().execute(FILL[engine].format(rows=rows))
        setup.close()
        for form, text in (
            ("one statement", ONE),
            (f"batched ({size})", BATCHED.format(size=size)),
        ):
            probe = _connect(engine, url) if engine in ("postgresql", "mysql") else None
            before = _log_position(engine, probe) if probe else None
            threaded = engine == "duckdb"
            stop: Any = threading.Event() if threaded else multiprocessing.Event()
            result: Any = __import__("queue").Queue() if threaded else multiprocessing.Queue()
            make = threading.Thread if threaded else multiprocessing.Process
            writer = make(target=_writer, args=(engine, url, rows, stop, result))
            writer.start()
            time.sleep(0.5)
            began = time.perf_counter()
            _run(engine, url, folder, {"001_big.sql": CREATE, "002_change.sql": text})
            total = time.perf_counter() - began
            stop.set()
            longest, count = result.get(timeout=600)
            writer.join()
            volume = None
            if probe is not None and before is not None:
                after = _log_position(engine, probe)
                volume = None if after is None else (after - before) / 1e6
                probe.close()
            lines.append(
                f"| {engine} | {rows:,} | {form} | {total:.1f} s | {longest * 1000:.0f} ms | "
                f"{count:,} | {'n/a' if volume is None else f'{volume:,.0f} MB'} |"
            )
            (folder / "002_change.sql").unlink()
            # The next form starts from a history without 002: its row is dropped by hand.
            cleanup = _connect(engine, url)
            cleanup.cursor().execute("DELETE FROM lamina_migrations WHERE id = '002_change'")
            cleanup.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engines", default="postgresql,mysql,duckdb,sqlite")
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--batch", type=int, default=10_000)
    args = parser.parse_args()
    print("| engine | rows | form | total | longest writer wait | writes | log written |")
    print("|---|---|---|---|---|---|---|")
    for engine in args.engines.split(","):
        for line in bench(engine, args.rows, args.batch):
            print(line, flush=True)


if __name__ == "__main__":
    main()
