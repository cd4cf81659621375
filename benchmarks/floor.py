"""The floor: the least work any migration tool must do, with the raw driver and no tool.

run.py times this script as a process next to lamina, on the same engine and the same files,
and reports every lamina figure as a ratio to it. A ratio of 1.0 means lamina adds nothing
measurable on top of starting Python, importing the driver and talking to the database; the
ratio is the tool's overhead, whatever the machine.

What each command does (and nothing more):

- ``up``: read every migration file, read the applied ids once, then per pending migration
  one transaction holding its up statement(s) and one insert into a simple history table.
- ``status``: read every file, hash each (SHA-256), one query of the history table, compare
  (applied, pending, modified, missing).
- ``rollback``: read the history newest first; per migration one transaction holding its down
  statement(s) and the delete of its history row.
- ``history``: read the history table once (the floor of ``lamina.startup()``'s no-op check).

It runs with the interpreter that runs lamina, so both import the same driver builds.
Usage: ``python floor.py up|status|rollback|history --url URL --dir MIGRATIONS``, with the
URL forms lamina takes (duckdb:///, sqlite:///, postgresql://, mysql://).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

HISTORY = "floor_history"
CREATE_HISTORY = (
    f"CREATE TABLE IF NOT EXISTS {HISTORY} "
    "(id VARCHAR(255) PRIMARY KEY, checksum CHAR(64) NOT NULL, "
    "applied_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP)"
)
UP_MARK = "-- migrate:up"
DOWN_MARK = "-- migrate:down"


class Database:
    """One connection with explicit transactions, whatever the driver's defaults are.

    The placeholder differs per driver (``?`` or ``%s``); ``begin`` is a no-op where the
    driver opens a transaction on the first statement by itself (psycopg, PyMySQL).
    """

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.scheme = parts.scheme.split("+")[0]
        self.placeholder = "?"
        self.explicit_begin = True
        self.conn: Any = self._connect(parts)

    def _connect(self, parts: Any) -> Any:
        """Open the connection the way lamina's backends do (same driver, default settings)."""
        if self.scheme == "duckdb":
            import duckdb

            return duckdb.connect(_file_path(parts))
        if self.scheme == "sqlite":
            import sqlite3

            # autocommit mode, so BEGIN/COMMIT below are the only transactions (as in lamina)
            return sqlite3.connect(_file_path(parts), isolation_level=None)
        self.placeholder = "%s"
        self.explicit_begin = False
        if self.scheme in {"postgresql", "postgres"}:
            import psycopg

            return psycopg.connect(parts.geturl().replace(parts.scheme + "://", "postgresql://"))
        if self.scheme == "mysql":
            import pymysql

            return pymysql.connect(
                host=parts.hostname or "127.0.0.1",
                port=parts.port or 3306,
                user=unquote(parts.username or "root"),
                password=unquote(parts.password or ""),
                database=parts.path.lstrip("/"),
                autocommit=False,
            )
        raise SystemExit(f"floor.py: unknown scheme {self.scheme!r}")

    def execute(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        """Run one statement and return its rows (an empty list for statements without any)."""
        sql = sql.replace("?", self.placeholder)
        if self.scheme == "mysql":  # PyMySQL has no Connection.execute
            with self.conn.cursor() as cur:
                cur.execute(sql, params)
                return list(cur.fetchall()) if cur.description else []
        # DuckDB's cursor() is a second connection with its own transaction, so use the
        # connection's own execute (sqlite3 and psycopg have one too).
        cur = self.conn.execute(sql, params)
        return list(cur.fetchall()) if cur.description else []

    def begin(self) -> None:
        """Start a transaction where the driver does not start one by itself."""
        if self.explicit_begin:
            self.execute("BEGIN")

    def commit(self) -> None:
        """Commit the way the transaction was started: SQL for ours, the driver for its own."""
        if self.explicit_begin:
            self.execute("COMMIT")
        else:
            self.conn.commit()

    def create_history(self) -> None:
        """The simple history table, committed before the first migration runs."""
        self.begin()
        self.execute(CREATE_HISTORY)
        self.commit()

    def history(self) -> dict[str, str]:
        """Applied id -> checksum, in one query; empty when the table does not exist yet."""
        try:
            return dict(self.execute(f"SELECT id, checksum FROM {HISTORY}"))  # type: ignore[arg-type]
        except Exception:  # the table is created by the first `up`
            self._reset_after_error()
            return {}

    def _reset_after_error(self) -> None:
        """Leave an aborted transaction (PostgreSQL refuses every statement until then)."""
        if self.scheme in {"postgresql", "postgres", "mysql"}:
            self.conn.rollback()


def _file_path(parts: Any) -> str:
    """The file of a duckdb:/// or sqlite:/// URL: three slashes relative, four absolute."""
    return unquote(parts.path[1:]) if parts.path.startswith("/") else unquote(parts.path)


def read_migrations(folder: Path) -> dict[str, bytes]:
    """Every ``<version>_<slug>.sql`` file, id (the name without .sql) -> content, by name."""
    return {
        name[: -len(".sql")]: (folder / name).read_bytes()
        for name in sorted(os.listdir(folder))
        if name.endswith(".sql") and name[:1].isdigit()
    }


def sections(content: bytes) -> tuple[list[str], list[str]]:
    """The up and down statements of a dbmate-style file (split on ``;``; enough here)."""
    text = content.decode()
    up, _, down = text.partition(DOWN_MARK)
    up = up.split(UP_MARK, 1)[-1]
    return _statements(up), _statements(down)


def _statements(script: str) -> list[str]:
    return [s.strip() for s in script.split(";") if s.strip()]


def up(db: Database, folder: Path) -> str:
    """Apply every pending migration, each in its own transaction with its history row."""
    files = read_migrations(folder)
    db.create_history()
    applied = db.history()
    count = 0
    for mid, content in files.items():
        if mid in applied:
            continue
        statements, _ = sections(content)
        db.begin()
        for statement in statements:
            db.execute(statement)
        db.execute(
            f"INSERT INTO {HISTORY} (id, checksum) VALUES (?, ?)",
            (mid, hashlib.sha256(content).hexdigest()),
        )
        db.commit()
        count += 1
    return f"applied {count}"


def status(db: Database, folder: Path) -> str:
    """Compare the files' checksums with the history: applied, pending, modified, missing."""
    files = {mid: hashlib.sha256(c).hexdigest() for mid, c in read_migrations(folder).items()}
    applied = db.history()
    pending = [mid for mid in files if mid not in applied]
    modified = [mid for mid, digest in applied.items() if mid in files and files[mid] != digest]
    missing = [mid for mid in applied if mid not in files]
    return (
        f"applied {len(applied)}, pending {len(pending)}, "
        f"modified {len(modified)}, missing {len(missing)}"
    )


def rollback(db: Database, folder: Path) -> str:
    """Revert every applied migration, newest first, one transaction each with its delete."""
    files = read_migrations(folder)
    ids = [row[0] for row in db.execute(f"SELECT id FROM {HISTORY} ORDER BY id DESC")]
    for mid in ids:
        _, statements = sections(files[mid])
        db.begin()
        for statement in statements:
            db.execute(statement)
        db.execute(f"DELETE FROM {HISTORY} WHERE id = ?", (mid,))
        db.commit()
    return f"reverted {len(ids)}"


def history(db: Database, folder: Path) -> str:
    """Read the history once: what an application's no-op startup check cannot avoid."""
    del folder  # the floor of the startup check is reading history, nothing else
    return f"{len(db.history())} applied"


COMMANDS = {"up": up, "status": status, "rollback": rollback, "history": history}


def main(argv: list[str] | None = None) -> int:
    """Parse the command line, run one command, print its one-line summary."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=sorted(COMMANDS))
    parser.add_argument("--url", required=True, help="database URL, in lamina's forms")
    parser.add_argument("--dir", required=True, type=Path, help="folder of .sql migrations")
    args = parser.parse_args(argv)
    db = Database(args.url)
    print(COMMANDS[args.command](db, args.dir))
    db.conn.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
