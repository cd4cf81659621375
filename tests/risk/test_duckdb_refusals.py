"""DuckDB really refuses what duckdb's risk rules say it refuses, and runs what they let through.

Every case of ``support.risk_cases.duckdb`` runs on a real DuckDB file built from its ``SCHEMA``,
through lamina's own DuckDB backend the way a migration runs (its session, then one
transaction unless the case says ``transactional=False``), with the facts lamina reads from
that file. A positive case must fail, at the statement its finding names; a negative case must
run to the end. The rules and these tests read the same cases, so a rule cannot claim what
DuckDB does not do.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import duckdb
import pytest

from lamina.engines import risk_facts
from lamina.engines.duckdb import facts as duckdb_facts
from lamina.engines.duckdb.backend import DuckDBBackend
from lamina.risk import LiveFacts, RiskLevel, TableFacts
from lamina.risk.catalogue import duckdb as duckdb_catalogue
from lamina.urls import parse_url
from support.risk_cases import Case, fired, first_refused, report
from support.risk_cases.duckdb import FACTS, INDEXED, NEGATIVE, POSITIVE, REFERENCED, SCHEMA

DUCKDB_RULES = {info.id for info in duckdb_catalogue.ENTRIES}


def _params(cases: Sequence[Case]) -> list[Any]:
    return [pytest.param(case, id=case.label("duckdb")) for case in cases]


def _backend(path: Path) -> DuckDBBackend:
    backend = DuckDBBackend(parse_url(f"duckdb:///{path}"))
    backend.connect()
    return backend


def _execute_all(backend: DuckDBBackend, statements: Sequence[str]) -> None:
    for sql in statements:
        backend.execute(sql)


def run_as_migration(
    path: Path, statements: Sequence[str], *, transactional: bool = True, schema: bool = True
) -> str | None:
    """Build ``SCHEMA`` in a new file (unless told not to), then run ``statements`` as lamina
    runs a migration. Returns the statement DuckDB or lamina refused, or None."""
    backend = _backend(path)
    try:
        if schema:
            _execute_all(backend, SCHEMA)
        return first_refused(backend, statements, transactional=transactional)
    finally:
        backend.close()


@pytest.fixture
def live_facts(tmp_path: Path) -> Iterator[LiveFacts]:
    """The facts lamina reads from a fresh SCHEMA database, as ``lamina up`` would."""
    backend = _backend(tmp_path / "facts.duckdb")
    try:
        _execute_all(backend, SCHEMA)
        yield risk_facts(backend)
    finally:
        backend.close()


@pytest.mark.parametrize("case", _params(POSITIVE))
def test_duckdb_refuses_every_positive_case_where_its_finding_says(
    case: Case, tmp_path: Path, live_facts: LiveFacts
) -> None:
    kwargs = {**case.kwargs, "facts": live_facts}
    findings = [f for f in report(case.sql, "duckdb", **kwargs).findings if f.rule == case.rule]
    transactional = case.kwargs.get("transactional", True)
    refused = run_as_migration(tmp_path / "db.duckdb", case.sql, transactional=transactional)
    assert refused == findings[0].statement


@pytest.mark.parametrize("case", _params(NEGATIVE))
def test_duckdb_runs_every_negative_case(case: Case, tmp_path: Path, live_facts: LiveFacts) -> None:
    kwargs = {**case.kwargs, "facts": live_facts}
    assert case.rule not in fired(case.sql, "duckdb", **kwargs)
    transactional = case.kwargs.get("transactional", True)
    assert run_as_migration(tmp_path / "db.duckdb", case.sql, transactional=transactional) is None


def test_every_duckdb_rule_has_cases_run_on_duckdb() -> None:
    assert {case.rule for case in POSITIVE} >= DUCKDB_RULES
    assert {case.rule for case in NEGATIVE} >= DUCKDB_RULES


def test_duckdb_refusals_are_danger_except_a_dropped_index_whose_columns_are_unknown() -> None:
    for case in POSITIVE:
        for finding in report(case.sql, "duckdb", **case.kwargs).findings:
            if finding.rule in DUCKDB_RULES:
                after_drop = case.sql[0].startswith("DROP INDEX")
                assert finding.level is (RiskLevel.WARNING if after_drop else RiskLevel.DANGER)


# --------------------------------------------------------------------------------------------
# The facts: read from any DuckDB file, lamina's or not
# --------------------------------------------------------------------------------------------


def test_duckdb_facts_are_what_the_cases_assume(live_facts: LiveFacts) -> None:
    assert live_facts.tables == FACTS.tables
    assert live_facts.server_version == duckdb_facts._version(duckdb.__version__)


def test_duckdb_facts_of_a_file_lamina_never_touched(tmp_path: Path) -> None:
    """Names in any case, several referencing tables, other schemas left out, and no lamina
    tables: the facts come from DuckDB's catalog, not from lamina's history."""
    path = tmp_path / "foreign.duckdb"
    connection = duckdb.connect(str(path))
    for sql in (
        "CREATE TABLE Parents (id INTEGER PRIMARY KEY, name VARCHAR)",
        "CREATE TABLE kids (id INTEGER, parent INTEGER REFERENCES Parents (id))",
        "CREATE TABLE pets (id INTEGER, owner INTEGER REFERENCES parents (id))",
        "CREATE INDEX Parents_Name ON Parents (name)",
        "CREATE SCHEMA archive",
        "CREATE TABLE archive.old (id INTEGER PRIMARY KEY)",
        "CREATE INDEX old_id ON archive.old (id)",
    ):
        connection.execute(sql)
    connection.close()
    backend = _backend(path)
    try:
        assert not backend.table_exists("lamina_migrations")
        facts = risk_facts(backend)
    finally:
        backend.close()
    assert facts.tables == {
        "parents": TableFacts(indexes=("Parents_Name",), referenced_by=("kids", "pets")),
    }


def test_duckdb_facts_of_an_empty_file(tmp_path: Path) -> None:
    backend = _backend(tmp_path / "empty.duckdb")
    try:
        assert risk_facts(backend).tables == {}
    finally:
        backend.close()


# --------------------------------------------------------------------------------------------
# Which ALTER forms an index or a foreign key blocks: the rule against the engine, form by form
# --------------------------------------------------------------------------------------------

ALTERS = (
    "ALTER TABLE t ADD COLUMN c INTEGER",
    "ALTER TABLE t ADD COLUMN c INTEGER DEFAULT 1",
    "ALTER TABLE t ADD COLUMN c INTEGER NOT NULL DEFAULT 0",
    "ALTER TABLE t ADD COLUMN c VARCHAR UNIQUE",
    "ALTER TABLE t DROP COLUMN b",
    "ALTER TABLE t ALTER COLUMN b TYPE BIGINT",
    "ALTER TABLE t ALTER COLUMN b SET NOT NULL",
    "ALTER TABLE t ALTER COLUMN b DROP NOT NULL",
    "ALTER TABLE t ALTER COLUMN b SET DEFAULT 5",
    "ALTER TABLE t ALTER COLUMN b DROP DEFAULT",
    "ALTER TABLE t RENAME COLUMN b TO b2",
    "ALTER TABLE t RENAME TO t2",
    "ALTER TABLE t ADD UNIQUE (b)",
    "ALTER TABLE t ADD PRIMARY KEY (a)",
    "DROP TABLE t",
)

#: t with an index on a; t referenced by another table's foreign key (t.id is its key).
DEPENDENTS = {
    INDEXED: ("CREATE TABLE t (id INTEGER, a INTEGER, b INTEGER)", "CREATE INDEX t_a ON t (a)"),
    REFERENCED: (
        "CREATE TABLE t (id INTEGER UNIQUE, a INTEGER, b INTEGER)",
        "CREATE TABLE child (t_id INTEGER REFERENCES t (id))",
    ),
}


def _refused_by_duckdb(setup: Sequence[str], statements: Sequence[str]) -> str | None:
    connection = duckdb.connect()
    try:
        for sql in setup:
            connection.execute(sql)
        connection.execute("INSERT INTO t VALUES (1, 1, 1)")
        connection.execute("BEGIN")
        for sql in statements:
            try:
                connection.execute(sql)
            except duckdb.Error as exc:
                return str(exc)
        return None
    finally:
        connection.close()


@pytest.mark.parametrize("dependent", sorted(DEPENDENTS))
@pytest.mark.parametrize("alter", ALTERS)
def test_duckdb_rule_fires_exactly_for_what_a_dependency_blocks(alter: str, dependent: str) -> None:
    setup = DEPENDENTS[dependent]
    plain = _refused_by_duckdb(setup[:1], [alter])
    blocked = _refused_by_duckdb(setup, [alter])
    facts = {
        INDEXED: LiveFacts({"t": TableFacts(indexes=("t_a",))}),
        REFERENCED: LiveFacts({"t": TableFacts(referenced_by=("child",))}),
    }[dependent]
    flagged = dependent in fired([alter], "duckdb", facts=facts)
    # What the dependency adds: refused with it, accepted without it.
    assert flagged == (blocked is not None and plain is None)
    if flagged:
        assert "depend" in blocked or "main key table" in blocked


#: Which column the dropped index covered, what the migration then does, and whether DuckDB
#: refuses it in the same transaction: what the warning's message says, form by form.
DROPPED_INDEX = (
    ("b", "ALTER TABLE t ALTER COLUMN b TYPE BIGINT", True),
    ("b", "ALTER TABLE t DROP COLUMN b", True),
    ("b", "ALTER TABLE t DROP COLUMN a", True),  # a column before the one it covered
    ("b", "ALTER TABLE t ALTER COLUMN a TYPE BIGINT", False),
    ("a", "ALTER TABLE t DROP COLUMN b", False),
    ("a", "ALTER TABLE t ALTER COLUMN b TYPE BIGINT", False),
)


@pytest.mark.parametrize(("covered", "alter", "refused"), DROPPED_INDEX)
def test_duckdb_dropped_index_blocks_its_columns_for_the_rest_of_the_transaction(
    covered: str, alter: str, refused: bool
) -> None:
    """lamina cannot see which columns a live index covered, so it warns in every case, with a
    message that says when DuckDB refuses; DuckDB must refuse exactly then."""
    setup = (
        "CREATE TABLE t (id INTEGER, a INTEGER, b INTEGER)",
        f"CREATE INDEX t_i ON t ({covered})",
    )
    error = _refused_by_duckdb(setup, ["DROP INDEX t_i", alter])
    assert (error is not None) == refused
    if error is not None:
        assert "an index depends on" in error
    facts = LiveFacts({"t": TableFacts(indexes=("t_i",))})
    (finding,) = [
        f
        for f in report(["DROP INDEX t_i", alter], "duckdb", facts=facts).findings
        if f.rule == INDEXED
    ]
    assert finding.level is RiskLevel.WARNING
    later = "" if "TYPE" in alter else " or a later column"
    assert f"DuckDB refuses it if that index covered it{later}" in finding.message


# --------------------------------------------------------------------------------------------
# The advice works on DuckDB, in one transaction
# --------------------------------------------------------------------------------------------


def test_duckdb_rebuild_advice_recreates_the_index_after_the_rename(tmp_path: Path) -> None:
    """The rebuild drops the index with the old table; an index on the copy would block the
    rename, which is why the advice creates it after."""
    early = (
        "CREATE TABLE events_new (id INTEGER, kind VARCHAR, payload VARCHAR)",
        "INSERT INTO events_new SELECT * FROM events",
        "CREATE INDEX events_new_kind ON events_new (kind)",
        "DROP TABLE events",
        "ALTER TABLE events_new RENAME TO events",
    )
    assert run_as_migration(tmp_path / "early.duckdb", early) == early[-1]


def test_duckdb_referenced_table_advice_keeps_every_row(tmp_path: Path) -> None:
    """Move the referencing table aside, change the table, put the referencing table back."""
    steps = (
        "CREATE TABLE orders_copy AS SELECT * FROM orders",
        "DROP TABLE orders",
        "ALTER TABLE users RENAME COLUMN name TO full_name",
        "CREATE TABLE orders (id INTEGER, user_id INTEGER REFERENCES users (id), "
        "amount INTEGER, note VARCHAR)",
        "INSERT INTO orders SELECT * FROM orders_copy",
        "DROP TABLE orders_copy",
    )
    path = tmp_path / "db.duckdb"
    assert run_as_migration(path, steps) is None
    connection = duckdb.connect(str(path))
    try:
        assert connection.execute("SELECT count(*) FROM orders").fetchone() == (2,)
        assert connection.execute("SELECT full_name FROM users ORDER BY id").fetchall() == [
            ("ada",),
            ("bob",),
        ]
        with pytest.raises(duckdb.ConstraintException):
            connection.execute("INSERT INTO orders VALUES (3, 99, 1, NULL)")
    finally:
        connection.close()


def test_duckdb_referencing_table_keeps_only_its_foreign_key_column(tmp_path: Path) -> None:
    """What the docs say of the table that holds the foreign key: free, but for that column."""
    path = tmp_path / "db.duckdb"
    assert run_as_migration(path, ["ALTER TABLE orders RENAME TO purchases"]) is None
    dropped = "ALTER TABLE orders DROP COLUMN user_id"
    assert run_as_migration(tmp_path / "other.duckdb", [dropped]) == dropped


def test_duckdb_multi_change_advice_one_alter_per_change(tmp_path: Path) -> None:
    split = (
        "ALTER TABLE notes ADD COLUMN tag VARCHAR",
        "ALTER TABLE notes ADD COLUMN rank INTEGER",
    )
    assert fired(split, "duckdb", facts=FACTS) == []
    assert run_as_migration(tmp_path / "db.duckdb", split) is None
