"""SQLite really refuses what sqlite's risk rules say it refuses, and runs what they let through.

Every case of ``support.risk_cases.sqlite`` runs on a real SQLite file built from its ``SCHEMA``,
through lamina's own SQLite backend the way a migration runs (its session, then one
transaction unless the case says ``transactional=False``). A positive case must fail, at the
statement its finding names; a negative case must run to the end. The rules and these tests
read the same cases, so a rule cannot claim what SQLite does not do.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from lamina.engines.sqlite import backend as sqlite_backend
from lamina.engines.sqlite import facts as sqlite_facts
from lamina.engines.sqlite.backend import SQLiteBackend
from lamina.risk import RULES, RiskLevel
from lamina.risk.catalogue import sqlite as sqlite_catalogue
from lamina.risk.rules.sqlite import REFUSED_PRAGMAS
from lamina.urls import parse_url
from support.risk_cases import Case, fired, first_refused, report
from support.risk_cases.sqlite import (
    FACTS,
    NEGATIVE,
    ON_ROWS,
    POSITIVE,
    REBUILD_USERS,
    SCHEMA,
)

SQLITE_RULES = {info.id for info in sqlite_catalogue.ENTRIES}
INSTALLED = sqlite3.sqlite_version_info


def _runnable_here(case: Case) -> bool:
    """A case about an older SQLite (from the live facts) cannot be proven on this one."""
    facts = case.kwargs.get("facts")
    version = facts.server_version if facts is not None else None
    return version is None or version >= INSTALLED or case in NEGATIVE


def _params(cases: Sequence[Case]) -> list[Any]:
    return [
        pytest.param(case, id=case.label("sqlite"))
        for case in cases
        if case.rule in SQLITE_RULES and _runnable_here(case)
    ]


def _backend(path: Path) -> SQLiteBackend:
    backend = SQLiteBackend(parse_url(f"sqlite:///{path}"))
    backend.connect()
    return backend


def run_as_migration(path: Path, statements: Sequence[str], *, transactional: bool) -> str | None:
    """Build ``SCHEMA`` in a new file, then run ``statements`` as lamina runs a migration.

    Returns the statement SQLite or lamina refused, or None when every statement ran.
    """
    backend = _backend(path)
    try:
        for sql in SCHEMA:
            backend.execute(sql)
        return first_refused(backend, statements, transactional=transactional)
    finally:
        backend.close()


@pytest.mark.parametrize("case", _params(POSITIVE))
def test_sqlite_refuses_every_positive_case_where_its_finding_says(
    case: Case, tmp_path: Path
) -> None:
    finding = next(
        f for f in report(case.sql, "sqlite", **case.kwargs).findings if f.rule == case.rule
    )
    transactional = case.kwargs.get("transactional", True)
    refused = run_as_migration(tmp_path / "db.sqlite3", case.sql, transactional=transactional)
    assert refused == finding.statement


@pytest.mark.parametrize("case", _params(NEGATIVE))
def test_sqlite_runs_every_negative_case(case: Case, tmp_path: Path) -> None:
    transactional = case.kwargs.get("transactional", True)
    assert run_as_migration(tmp_path / "db.sqlite3", case.sql, transactional=transactional) is None


def test_every_sqlite_rule_is_proven_on_this_sqlite() -> None:
    """The cases about older versions are not run here: each rule needs others that are."""
    proven = {case.rule for case in POSITIVE if _runnable_here(case)}
    cleared = {case.rule for case in NEGATIVE}
    assert proven >= SQLITE_RULES
    assert cleared >= SQLITE_RULES


@pytest.mark.parametrize("case", [c for c in POSITIVE if c.rule in SQLITE_RULES])
def test_sqlite_refusal_is_danger_unless_it_depends_on_rows_nobody_counted(case: Case) -> None:
    """A failure that depends on the table's rows is certain only with the live facts."""
    (finding,) = [
        f for f in report(case.sql, "sqlite", **case.kwargs).findings if f.rule == case.rule
    ]
    uncounted = case.sql[-1] in ON_ROWS and not case.kwargs
    assert finding.level is (RiskLevel.WARNING if uncounted else RiskLevel.DANGER)


def test_sqlite_itself_refuses_vacuum_in_a_transaction(tmp_path: Path) -> None:
    """The backend refuses VACUUM before BEGIN; SQLite would refuse it anyway."""
    connection = sqlite3.connect(tmp_path / "db.sqlite3", isolation_level=None)
    try:
        connection.execute("BEGIN")
        with pytest.raises(sqlite3.OperationalError, match="within a transaction"):
            connection.execute("VACUUM")
        connection.execute("ROLLBACK")
        connection.execute("VACUUM")
    finally:
        connection.close()


# A value that sets each PRAGMA the rule knows (wal_checkpoint acts when it runs).
_PRAGMA_VALUES = {
    "journal_mode": "WAL",
    "synchronous": "OFF",
    "page_size": "8192",
    "auto_vacuum": "FULL",
    "encoding": "'UTF-16'",
    "wal_checkpoint": None,
}


def test_the_rule_knows_exactly_the_pragmas_lamina_refuses_in_a_transaction() -> None:
    # The backend's list is private; the rule's must not drift from it.
    assert set(REFUSED_PRAGMAS) == set(sqlite_backend._REFUSED_PRAGMAS)
    assert set(_PRAGMA_VALUES) == set(REFUSED_PRAGMAS)


@pytest.mark.parametrize("name", sorted(_PRAGMA_VALUES))
def test_sqlite_refused_pragma_is_reported_and_refused(name: str, tmp_path: Path) -> None:
    value = _PRAGMA_VALUES[name]
    sql = f"PRAGMA {name}" if value is None else f"PRAGMA {name} = {value}"
    assert fired([sql], "sqlite") == ["sqlite-not-in-transaction"]
    assert run_as_migration(tmp_path / "db.sqlite3", [sql], transactional=True) == sql
    assert fired([sql], "sqlite", transactional=False) == []
    assert run_as_migration(tmp_path / "other.sqlite3", [sql], transactional=False) is None


def test_sqlite_rebuild_with_foreign_keys_keeps_every_row_and_is_not_data_loss(
    tmp_path: Path,
) -> None:
    """The rebuild the advice gives runs in lamina with the child's ON DELETE CASCADE intact,
    and lamina reports it as a rebuild (a warning), not as a lost table."""
    path = tmp_path / "db.sqlite3"
    assert run_as_migration(path, REBUILD_USERS, transactional=True) is None
    connection = sqlite3.connect(path)
    try:
        assert connection.execute("SELECT count(*) FROM orders").fetchone() == (2,)
        assert connection.execute("SELECT count(*) FROM users").fetchone() == (2,)
        with pytest.raises(sqlite3.IntegrityError):
            connection.execute("INSERT INTO users (id, name, age) VALUES (3, 'cy', -1)")
    finally:
        connection.close()
    result = report(REBUILD_USERS, "sqlite")
    assert [f.rule for f in result.findings] == ["table-rebuild"]
    assert not result.risky
    assert "PRAGMA foreign_keys = OFF" in RULES["sqlite-unsupported"].alternative


def test_sqlite_facts_are_what_the_cases_assume(tmp_path: Path) -> None:
    """The version of the SQLite lamina runs, and which tables hold rows."""
    backend = _backend(tmp_path / "db.sqlite3")
    try:
        for sql in SCHEMA:
            backend.execute(sql)
        facts = sqlite_facts.read(backend)
    finally:
        backend.close()
    assert facts.tables == FACTS.tables
    assert facts.server_version == INSTALLED


def test_sqlite_facts_know_emptiness_without_rowids(tmp_path: Path) -> None:
    backend = _backend(tmp_path / "db.sqlite3")
    try:
        backend.execute("CREATE TABLE pairs (a TEXT PRIMARY KEY, b TEXT) WITHOUT ROWID")
        backend.execute("CREATE TABLE zero (x INTEGER)")
        backend.execute('CREATE TABLE "Odd ""Name""" (x INTEGER)')
        backend.execute("INSERT INTO zero (rowid, x) VALUES (0, 1)")
        empty = sqlite_facts.read(backend).tables
        backend.execute("INSERT INTO pairs VALUES ('a', 'b')")
        backend.execute('INSERT INTO "Odd ""Name""" VALUES (1)')
        full = sqlite_facts.read(backend).tables
    finally:
        backend.close()
    assert (empty["pairs"].rows, empty["zero"].rows, empty['odd "name"'].rows) == (0, None, 0)
    assert (full["pairs"].rows, full['odd "name"'].rows) == (None, 1)


#: What no SQLite lets DROP COLUMN remove, as the drop-column advice on SQLite names it: the
#: column c of t, and what depends on it.
_DROP_COLUMN_BLOCKERS = {
    "indexed": ("CREATE TABLE t (id INTEGER, c INTEGER)", "CREATE INDEX t_c ON t (c)"),
    "UNIQUE": ("CREATE TABLE t (id INTEGER, c INTEGER UNIQUE)",),
    "PRIMARY KEY": ("CREATE TABLE t (id INTEGER, c INTEGER PRIMARY KEY)",),
    "FOREIGN KEY": (
        "CREATE TABLE p (id INTEGER PRIMARY KEY)",
        "CREATE TABLE t (id INTEGER, c INTEGER, FOREIGN KEY (c) REFERENCES p (id))",
    ),
    "CHECK": ("CREATE TABLE t (id INTEGER, c INTEGER, CHECK (c > 0))",),
    "generated column": ("CREATE TABLE t (id INTEGER, c INTEGER, d INTEGER AS (c + 1))",),
    "trigger": (
        "CREATE TABLE t (id INTEGER, c INTEGER)",
        "CREATE TRIGGER t_touch AFTER INSERT ON t BEGIN UPDATE t SET c = c; END",
    ),
    "view": ("CREATE TABLE t (id INTEGER, c INTEGER)", "CREATE VIEW v AS SELECT c FROM t"),
}


@pytest.mark.parametrize("blocker", sorted(_DROP_COLUMN_BLOCKERS))
def test_sqlite_cannot_drop_a_column_something_depends_on(blocker: str) -> None:
    assert blocker in RULES["drop-column"].alternative_for("sqlite")
    connection = sqlite3.connect(":memory:")
    try:
        for sql in _DROP_COLUMN_BLOCKERS[blocker]:
            connection.execute(sql)
        with pytest.raises(sqlite3.OperationalError):
            connection.execute("ALTER TABLE t DROP COLUMN c")
        connection.execute("ALTER TABLE t DROP COLUMN id")  # the blocker is c's, not t's
    finally:
        connection.close()


def test_sqlite_rebuild_without_the_legacy_rename_stops_at_a_view(tmp_path: Path) -> None:
    """Why the advice sets legacy_alter_table: SQLite checks every view and trigger that names
    the table when the copy takes its name, and finds the table gone."""
    plain = tuple(sql for sql in REBUILD_USERS if "legacy_alter_table" not in sql)
    refused = run_as_migration(tmp_path / "db.sqlite3", plain, transactional=True)
    assert refused == "ALTER TABLE new_users RENAME TO users"
    assert "legacy_alter_table" in RULES["sqlite-unsupported"].alternative
