"""``backup_scope``: the backup before a risky run, of the whole database or of just the tables
the run touches, on a big database.

For each engine it builds a database of about ``--gb`` GB spread over ``--tables`` tables of
random-looking text (plus one small table), applies a first migration that creates nothing big,
then times ``lamina up`` of one risky migration (``DELETE FROM small``) three ways: without a
backup, with ``backup_scope = database`` and with ``backup_scope = touched``, rolling the step
back (without a backup) between runs. It prints a markdown table of the run times (median of
``--runs``) and the backup sizes, and, with ``--restore``, how long restoring each backup took.
Every database it builds is dropped at the end, and the backups with it.

Usage (the dev venv's Python, with this checkout installed editable)::

    .venv/bin/python benchmarks/bench_backup_scope.py
    .venv/bin/python benchmarks/bench_backup_scope.py --engines duckdb --gb 0.2 --runs 1

The servers' admin URLs come from ``LAMINA_TEST_PG_URL`` / ``LAMINA_TEST_MYSQL_URL`` (defaults
``postgresql://postgres@127.0.0.1:5432/postgres``, ``mysql://root@127.0.0.1:3306/mysql``).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from lamina import Lamina
from lamina.config import load_settings

DATABASE = "lamina_bench_scope"
PG_URL = os.environ.get("LAMINA_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
MYSQL_URL = os.environ.get("LAMINA_TEST_MYSQL_URL", "mysql://root@127.0.0.1:3306/mysql")
#: Hex characters of text per row: 16 md5 digests.
PAYLOAD = 512
SMALL = """-- migrate:up
CREATE TABLE small (id INTEGER PRIMARY KEY, v VARCHAR(20));
INSERT INTO small VALUES (1, 'one'), (2, 'two'), (3, 'three');
-- migrate:down
DROP TABLE small;
"""
RISKY = """-- migrate:up
DELETE FROM small;
-- migrate:down
INSERT INTO small VALUES (1, 'one'), (2, 'two'), (3, 'three');
"""


@dataclass
class Figure:
    mode: str
    seconds: list[float]
    backup_bytes: int | None = None
    restore_s: float | None = None


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


# -- building a big database ------------------------------------------------------------------
def _with_database(url: str, database: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{database}", query=""))


def _md5s(expression: str, count: int, concat: Callable[[list[str]], str]) -> str:
    return concat([f"md5({expression} + {k})" for k in range(count)])


@contextmanager
def postgresql(tables: int, rows: int) -> Iterator[tuple[str, int]]:
    import psycopg

    admin = urlsplit(PG_URL)
    args: dict[str, Any] = {
        "host": admin.hostname, "port": admin.port or 5432, "user": admin.username,
        "password": admin.password, "autocommit": True,
    }  # fmt: skip
    with psycopg.connect(dbname=admin.path.lstrip("/") or "postgres", **args) as con:
        con.execute(f"DROP DATABASE IF EXISTS {DATABASE}")
        con.execute(f"CREATE DATABASE {DATABASE}")
    try:
        with psycopg.connect(dbname=DATABASE, **args) as con:
            payload = " || ".join(f"md5((g * 16 + {k})::text)" for k in range(PAYLOAD // 32))
            con.execute(
                f"CREATE TABLE seed AS SELECT g AS id, {payload} AS payload "
                f"FROM generate_series(1, {rows}) g"
            )
            for i in range(tables):
                log(f"  postgresql: big_{i:02d}")
                con.execute(f"CREATE TABLE big_{i:02d} (id INTEGER PRIMARY KEY, payload TEXT)")
                con.execute(f"INSERT INTO big_{i:02d} SELECT * FROM seed")
            con.execute("DROP TABLE seed")
            con.execute("VACUUM ANALYZE")
            size = int(con.execute("SELECT pg_database_size(current_database())").fetchone()[0])
        yield _with_database(PG_URL, DATABASE) + "?schema=public", size
    finally:
        with psycopg.connect(dbname=admin.path.lstrip("/") or "postgres", **args) as con:
            con.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")


@contextmanager
def mysql(tables: int, rows: int) -> Iterator[tuple[str, int]]:
    import pymysql

    admin = urlsplit(MYSQL_URL)
    args: dict[str, Any] = {
        "host": admin.hostname, "port": admin.port or 3306, "user": admin.username or "root",
        "password": admin.password or "", "autocommit": True,
    }  # fmt: skip
    con = pymysql.connect(**args)
    try:
        with con.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS {DATABASE}")
            cur.execute(f"CREATE DATABASE {DATABASE} CHARACTER SET utf8mb4")
            cur.execute(f"USE {DATABASE}")
            payload = ", ".join(f"MD5(seq * 16 + {k})" for k in range(PAYLOAD // 32))
            cur.execute("CREATE TABLE seed (id INT PRIMARY KEY, payload TEXT)")
            cur.execute(
                f"INSERT INTO seed SELECT seq, CONCAT({payload}) FROM mysql.seq_1_to_{rows}"
            )
            for i in range(tables):
                log(f"  mysql: big_{i:02d}")
                cur.execute(f"CREATE TABLE big_{i:02d} (id INT PRIMARY KEY, payload TEXT)")
                cur.execute(f"INSERT INTO big_{i:02d} SELECT * FROM seed")
            cur.execute("DROP TABLE seed")
            cur.execute(
                "SELECT SUM(data_length + index_length) FROM information_schema.tables "
                "WHERE table_schema = %s",
                (DATABASE,),
            )
            size = int(cur.fetchone()[0])
        yield _with_database(MYSQL_URL, DATABASE), size
    finally:
        with con.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS {DATABASE}")
        con.close()


@contextmanager
def duckdb(tables: int, rows: int) -> Iterator[tuple[str, int]]:
    import duckdb as driver

    folder = Path(tempfile.mkdtemp(prefix="lamina-bench-scope-"))
    path = folder / "big.duckdb"
    try:
        con = driver.connect(str(path))
        payload = " || ".join(f"md5((range * 16 + {k})::VARCHAR)" for k in range(PAYLOAD // 32))
        con.execute(
            f"CREATE TABLE seed AS SELECT range AS id, {payload} AS payload FROM range({rows})"
        )
        for i in range(tables):
            log(f"  duckdb: big_{i:02d}")
            con.execute(f"CREATE TABLE big_{i:02d} (id BIGINT PRIMARY KEY, payload VARCHAR)")
            con.execute(f"INSERT INTO big_{i:02d} SELECT * FROM seed")
        con.execute("DROP TABLE seed")
        con.execute("CHECKPOINT")
        con.close()
        yield f"duckdb:///{path}", path.stat().st_size
    finally:
        shutil.rmtree(folder, ignore_errors=True)


#: Rows for 1 GiB on each engine (512 characters of text a row, as each stores it).
ROWS_PER_GB = {"postgresql": 1_750_000, "mysql": 2_100_000, "duckdb": 3_800_000}
BUILDERS = {"postgresql": postgresql, "mysql": mysql, "duckdb": duckdb}


# -- timing -------------------------------------------------------------------------------------
def measure(url: str, runs: int, restore: bool) -> list[Figure]:
    work = Path(tempfile.mkdtemp(prefix="lamina-bench-scope-run-"))
    try:
        migrations = work / "migrations"
        migrations.mkdir()
        (migrations / "001_small.sql").write_text(SMALL)

        def lamina(**values: object) -> Lamina:
            base = {"database_url": url, "migrations_dir": str(migrations),
                    "backup_dir": str(work / "backups"), "backup_keep": "all"}  # fmt: skip
            return Lamina(load_settings({**base, **values}, environ={}, cwd=work))

        lamina(backup_enabled=False).up()
        (migrations / "002_clear_small.sql").write_text(RISKY)
        figures = []
        for mode in ("no backup", "database", "touched"):
            options: dict[str, object] = (
                {"backup_enabled": False} if mode == "no backup" else {"backup_scope": mode}
            )
            figure = Figure(mode, [])
            for _ in range(runs):
                started = time.perf_counter()
                result = lamina(**options).up()
                figure.seconds.append(time.perf_counter() - started)
                if result.backups:
                    [backup] = result.backups
                    assert backup.scope == mode, backup.scope_note
                    figure.backup_bytes = backup.size
                lamina(backup_enabled=False).rollback(1, force=True, yes=True)
            if restore and result.backups:
                started = time.perf_counter()
                lamina().restore(result.backups[0].id, yes=True)
                figure.restore_s = time.perf_counter() - started
                lamina(backup_enabled=False).rollback(1, force=True, yes=True)
            log(f"  {mode}: {', '.join(f'{s:.2f}' for s in figure.seconds)} s")
            figures.append(figure)
        return figures
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _size(size: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GiB"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--engines", default="postgresql,mysql,duckdb")
    parser.add_argument("--gb", type=float, default=1.1, help="database size to build, GiB")
    parser.add_argument("--tables", type=int, default=40)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--restore", action="store_true", help="also time each restore")
    options = parser.parse_args()
    print("| engine | database | tables | backup | run (median s) | backup size | restore (s) |")
    print("|---|---|---|---|---|---|---|")
    for engine in options.engines.split(","):
        rows = int(ROWS_PER_GB[engine] * options.gb / options.tables)
        log(f"{engine}: building {options.tables} tables of {rows} rows")
        started = time.perf_counter()
        with BUILDERS[engine](options.tables, rows) as (url, size):
            log(f"{engine}: built {_size(size)} in {time.perf_counter() - started:.0f} s")
            for figure in measure(url, options.runs, options.restore):
                backup = "" if figure.backup_bytes is None else _size(figure.backup_bytes)
                restore = "" if figure.restore_s is None else f"{figure.restore_s:.2f}"
                print(
                    f"| {engine} | {_size(size)} | {options.tables + 1} | {figure.mode} | "
                    f"{statistics.median(figure.seconds):.2f} | {backup} | {restore} |",
                    flush=True,
                )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
