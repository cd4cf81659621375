"""A SQLite backup beside an application that keeps writing: SQLite's online backup starts
over whenever another connection commits, so a copy in steps never ended (it gave up after
30 s). After the first restart lamina takes the copy in one step: it finishes, and holds
one consistent snapshot."""

from __future__ import annotations

import itertools
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from lamina.backup import BackupStore, create_backup
from lamina.urls import parse_url

ROWS = 80_000  # about 20 MB: twenty 1 MiB steps

# Commits a single-row insert every millisecond or so until killed.
WRITER = """
import sqlite3, sys, time
con = sqlite3.connect(sys.argv[1], timeout=30, isolation_level=None)
print("ready", flush=True)
n = 0
while True:
    n += 1
    con.execute("INSERT INTO log (note) VALUES (?)", (f"write {n}",))
    time.sleep(0.001)
"""


def test_a_backup_finishes_beside_a_steady_writer(tmp_path: Path) -> None:
    path = tmp_path / "app.db"
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE big (id INTEGER PRIMARY KEY, pad TEXT)")
    con.execute("CREATE TABLE log (id INTEGER PRIMARY KEY, note TEXT)")
    con.executemany("INSERT INTO big (pad) VALUES (?)", [("x" * 200,) for _ in range(ROWS)])
    con.commit()
    con.close()
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert writer.stdout is not None and writer.stdout.readline().strip() == "ready"
        time.sleep(0.2)
        store = BackupStore(tmp_path / "backups")
        copied: list[int] = []
        record = create_backup(
            parse_url(f"sqlite:///{path}"), store, schema_version=1, trigger="manual",
            progress=lambda done, total: copied.append(done),
        )  # fmt: skip
        written = sqlite3.connect(path).execute("SELECT COUNT(*) FROM log").fetchone()[0]
    finally:
        writer.kill()
        writer.wait()
    assert written > 0  # the writer kept committing around the backup
    # The copy went back to the start at most once (then it was taken in one step).
    restarts = sum(1 for before, after in itertools.pairwise(copied) if after < before)
    assert restarts <= 1, copied
    copy = sqlite3.connect(store.path_of(record))
    try:
        assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert copy.execute("SELECT COUNT(*) FROM big").fetchone()[0] == ROWS
        logged = copy.execute("SELECT COUNT(*), COALESCE(MAX(id), 0) FROM log").fetchone()
    finally:
        copy.close()
    # One snapshot: the log rows it holds are exactly the first N, none missing.
    assert logged[0] == logged[1]
