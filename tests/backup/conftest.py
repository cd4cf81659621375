"""Fixtures for the backup tests: a backup folder, and sample data every engine stores alike."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from lamina.backup import BackupStore

#: The driver's placeholder per engine (RawDatabase passes parameters straight through).
PLACEHOLDER = {"duckdb": "?", "sqlite": "?", "postgresql": "%s", "mysql": "%s"}

PEOPLE = [
    (1, "O'Brien", 'said "hi"; then left', 10),
    (2, "Zoë Ünicode 🚀", None, None),
    (3, None, "back\\slash and\nnewline\ttab", -5),
    (4, "", "", 0),
]


class Sample:
    """Tables with awkward values (NULLs, quotes, unicode, backslashes) and ways to change them."""

    def __init__(self, raw_db: Any) -> None:
        self.db = raw_db
        self.p = PLACEHOLDER[raw_db.engine]

    def create_schema(self) -> None:
        if self.db.engine == "postgresql":
            self.db.execute(f'CREATE SCHEMA IF NOT EXISTS "{self.db.schema}"')

    def seed(self) -> None:
        self.create_schema()
        self.db.execute(
            "CREATE TABLE people (id INTEGER PRIMARY KEY, name VARCHAR(200), note TEXT, "
            "score INTEGER)"
        )
        self.db.execute(
            "CREATE TABLE orders (id INTEGER PRIMARY KEY, person_id INTEGER, "
            "amount DECIMAL(10, 2), label VARCHAR(50))"
        )
        self.db.execute("CREATE TABLE doomed (id INTEGER PRIMARY KEY, what VARCHAR(20))")
        p = self.p
        for row in PEOPLE:
            self.db.execute(f"INSERT INTO people VALUES ({p}, {p}, {p}, {p})", row)
        self.db.execute(
            "INSERT INTO orders VALUES (1, 1, 12.50, 'first'), (2, 2, NULL, NULL), "
            "(3, 1, 0.01, 'x''y')"
        )
        self.db.execute("INSERT INTO doomed VALUES (1, 'gone soon')")

    def mutate(self) -> None:
        """Every kind of change a restore must undo."""
        p = self.p
        self.db.execute(f"UPDATE people SET name = {p}, note = NULL WHERE id = 1", ("changed",))
        self.db.execute("DELETE FROM people WHERE id = 4")
        self.db.execute(f"INSERT INTO people VALUES (9, {p}, NULL, 1)", ("new row",))
        self.db.execute("UPDATE orders SET amount = 99.99")
        self.db.execute("CREATE TABLE extra (id INTEGER PRIMARY KEY)")
        self.db.execute("INSERT INTO extra VALUES (1)")
        self.db.execute("DROP TABLE doomed")

    def add_bulk(self, rows: int = 4000, width: int = 1000) -> None:
        """About ``rows * width`` bytes of incompressible text, so dumps stay megabytes too."""
        self.db.execute("CREATE TABLE bulk (id INTEGER PRIMARY KEY, payload TEXT)")
        batch = 200
        for start in range(0, rows, batch):
            values = ", ".join(
                f"({i}, '{os.urandom(width // 2).hex()}')" for i in range(start, start + batch)
            )
            self.db.execute(f"INSERT INTO bulk VALUES {values}")

    def snapshot(self) -> dict[str, list[tuple[object, ...]]]:
        """Every table and every row, in key order: what "equal to the backup" means."""
        return {
            table: self.db.query(f"SELECT * FROM {table} ORDER BY 1")
            for table in sorted(self.db.tables())
        }


@pytest.fixture
def sample(raw_db: Any) -> Sample:
    return Sample(raw_db)


@pytest.fixture
def store(tmp_path: Path) -> BackupStore:
    """A store in a folder that does not exist yet (with a missing parent)."""
    return BackupStore(tmp_path / "state" / "backups")


def flip_byte(path: Path, offset: int | None = None) -> None:
    data = bytearray(path.read_bytes())
    where = len(data) // 2 if offset is None else offset
    data[where] ^= 0xFF
    path.write_bytes(bytes(data))


@pytest.fixture
def corrupt() -> Any:
    return flip_byte


@pytest.fixture
def sample_for(raw_database: Any) -> Any:
    """``sample_for(url)``: a :class:`Sample` on any database URL (for single-engine tests)."""
    return lambda url: Sample(raw_database(url))


def with_password(url: str, password: str) -> str:
    """``url`` with ``password`` added to its user (percent-encoded)."""
    from urllib.parse import quote, urlsplit, urlunsplit

    parts = urlsplit(url)
    userinfo, _, hostport = parts.netloc.rpartition("@")
    user = userinfo.partition(":")[0]
    netloc = f"{user}:{quote(password, safe='')}@{hostport}"
    return urlunsplit(parts._replace(netloc=netloc))


@pytest.fixture
def add_password() -> Any:
    return with_password


class ArgvSpy:
    """Records the argv of every subprocess (the real ones still run)."""

    def __init__(self) -> None:
        self.argvs: list[list[str]] = []


@pytest.fixture
def argv_spy(monkeypatch: pytest.MonkeyPatch) -> ArgvSpy:
    import subprocess

    spy = ArgvSpy()
    real = subprocess.Popen

    class Recording(real):  # type: ignore[misc,valid-type]
        def __init__(self, args: Any, *rest: Any, **kwargs: Any) -> None:
            spy.argvs.append([str(arg) for arg in args])
            super().__init__(args, *rest, **kwargs)

    monkeypatch.setattr(subprocess, "Popen", Recording)
    return spy


def _rewrite_backup(store: BackupStore, backup_id: str, data: bytes) -> None:
    """Replace a backup's file AND update its manifest: a bad backup that passes the checksum."""
    import hashlib
    import json

    record = store.get(backup_id)
    store.path_of(record).write_bytes(data)
    manifest = store.folder / f"{backup_id}.json"
    saved = json.loads(manifest.read_text())
    saved.update(size=len(data), sha256=hashlib.sha256(data).hexdigest())
    manifest.write_text(json.dumps(saved))


@pytest.fixture
def rewrite_backup() -> Any:
    return _rewrite_backup
