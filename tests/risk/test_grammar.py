"""How lamina reads statements: sqlglot's own parser, lamina's reading of the PostgreSQL
statements sqlglot leaves opaque (from sqlglot's tokens), and the parse cache of one run.

lamina never subclasses a sqlglot class, so the compiled build (``sqlglot[c]``, which forbids
it) reads statements exactly as the pure-Python one: the test suite runs on either.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from typing import Any

import pytest

import lamina.risk
from lamina.models import StatementRecord
from lamina.risk import ParseCache, analyze
from lamina.risk import grammar as grammar_module
from lamina.risk.grammar import (
    AddCheck,
    AddConstraintUsingIndex,
    AddEnumValue,
    AlterDomain,
    AlterTable,
    AttachPartition,
    DetachPartition,
    ValidateConstraint,
    opaque_reason,
    parse,
)
from support.risk_cases import fired


def _one(sql: str) -> Any:
    (node,) = parse(sql, "postgres") or [None]
    return node


def test_no_lamina_class_inherits_from_sqlglot() -> None:
    """The compiled sqlglot refuses subclasses ("interpreted classes cannot inherit from
    compiled"): lamina reads what sqlglot lacks into classes of its own."""
    for module_info in pkgutil.walk_packages(lamina.risk.__path__, "lamina.risk."):
        module = importlib.import_module(module_info.name)
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if cls.__module__ == module.__name__:
                bases = [base.__module__ for base in cls.__mro__[1:]]
                assert not any(b.startswith("sqlglot") for b in bases), cls


@pytest.mark.parametrize(
    ("sql", "table", "actions"),
    [
        ("ALTER TABLE orders VALIDATE CONSTRAINT fk", "orders", (ValidateConstraint("fk"),)),
        (
            'ALTER TABLE IF EXISTS ONLY app."Orders" * VALIDATE CONSTRAINT "Fk", '
            "VALIDATE CONSTRAINT b",
            "app.Orders",
            (ValidateConstraint("Fk"), ValidateConstraint("b")),
        ),
        (
            "ALTER TABLE users ADD CONSTRAINT users_pkey PRIMARY KEY USING INDEX users_idx "
            "DEFERRABLE INITIALLY DEFERRED",
            "users",
            (AddConstraintUsingIndex("users_pkey", "PRIMARY KEY", "users_idx"),),
        ),
        ("ALTER TABLE t ADD CHECK (a > 0 AND (b, c) <> (1, 2))", "t", (AddCheck(),)),
        ("ALTER TABLE t ADD CHECK (a > 0) NO INHERIT NOT VALID", "t", (AddCheck(True),)),
    ],
)
def test_alter_table_actions_are_read_from_their_tokens(
    sql: str, table: str, actions: tuple[object, ...]
) -> None:
    node = _one(sql)
    assert isinstance(node, AlterTable)
    assert ".".join(part.name for part in node.table.parts) == table
    assert node.actions == actions
    assert opaque_reason(node, "postgres") is None


def test_partitions_are_read_with_their_options() -> None:
    detach = _one("ALTER TABLE events DETACH PARTITION archive.events_2020 FINALIZE")
    (action,) = detach.actions
    assert isinstance(action, DetachPartition) and action.finalize and not action.concurrently
    assert action.partition.db == "archive"
    attach = _one("ALTER TABLE events ATTACH PARTITION e21 FOR VALUES FROM (1) TO (10)")
    assert isinstance(attach.actions[0], AttachPartition)


@pytest.mark.parametrize(
    "sql",
    [
        # Mixed with an action sqlglot would read: the whole statement stays opaque.
        "ALTER TABLE orders ADD COLUMN note text, VALIDATE CONSTRAINT fk",
        "ALTER TABLE orders VALIDATE CONSTRAINT fk CASCADE",
        "ALTER TABLE orders ADD CONSTRAINT c UNIQUE USING INDEX i WITH (fillfactor = 70)",
        "ALTER TABLE events ATTACH PARTITION e21",
    ],
)
def test_what_lamina_cannot_read_whole_is_left_opaque(sql: str) -> None:
    assert fired([sql], "postgres") == ["unparsed-sql"]


def test_enum_values_keep_their_case_and_quotes() -> None:
    node = _one("ALTER TYPE app.mood ADD VALUE IF NOT EXISTS 'It''s Fine' BEFORE 'ok'")
    assert node == AddEnumValue(node.enum, "It's Fine", if_not_exists=True)
    assert _one("ALTER TYPE mood ADD VALUE $$Happy$$").value == "Happy"
    assert fired(["ALTER TYPE mood RENAME VALUE 'a' TO 'b'"], "postgres") == ["unparsed-sql"]


def test_domains_are_read_by_their_action() -> None:
    node = _one("ALTER DOMAIN posint ADD CONSTRAINT positive CHECK (VALUE > 0) NOT VALID")
    assert node == AlterDomain(node.domain, "ADD CONSTRAINT", not_valid=True)
    assert _one("ALTER DOMAIN posint OWNER TO admin").action == "OWNER TO"


@pytest.mark.parametrize(
    ("sql", "names", "exists", "cascade"),
    [
        ("DROP INDEX a, b", ["a", "b"], False, False),
        ("DROP INDEX IF EXISTS app.a, b CASCADE", ["a", "b"], True, True),
    ],
)
def test_several_indexes_dropped_at_once_read_as_sqlglot_reads_one(
    sql: str, names: list[str], exists: bool, cascade: bool
) -> None:
    node = _one(sql)
    assert [table.name for table in node.args["tables"]] == names
    assert (node.args["exists"], node.args["cascade"], node.args["concurrently"]) == (
        exists,
        cascade,
        False,
    )
    assert node.sql("postgres").startswith("DROP INDEX")


def test_a_record_with_several_statements_mixes_both_readings() -> None:
    nodes = parse("CLUSTER orders; SELECT 1; ALTER TABLE t VALIDATE CONSTRAINT c", "postgres")
    assert [type(node).__name__ for node in nodes or []] == ["Cluster", "Select", "AlterTable"]
    assert parse("CLUSTER orders USING", "postgres") is None


def test_only_postgres_reads_them() -> None:
    (node,) = parse("ALTER TABLE t VALIDATE CONSTRAINT c", "duckdb") or []
    assert opaque_reason(node, "duckdb") is not None


# -- the parse cache ------------------------------------------------------------------------

UP = ("CREATE TABLE audit (id int)", "ALTER TABLE users ADD COLUMN phone text")
DOWN = ("ALTER TABLE users DROP COLUMN phone", "DROP TABLE audit")


def _records(sql: tuple[str, ...]) -> list[StatementRecord]:
    return [StatementRecord(s, line) for line, s in enumerate(sql, start=1)]


def test_the_down_reads_the_up_from_the_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    parsed: list[str] = []
    real = grammar_module._parse

    def counting(sql: str, dialect: str) -> Any:
        parsed.append(sql)
        return real(sql, dialect)

    monkeypatch.setattr(grammar_module, "_parse", counting)
    cache = ParseCache()
    common = {"dialect": "postgres", "category": "schema", "parse_cache": cache}
    analyze("m", _records(UP), direction="up", **common)
    down = analyze("m", _records(DOWN), direction="down", up_statements=_records(UP), **common)
    assert [f.rule for f in down.findings] == ["down-loses-data", "down-loses-data"]
    assert parsed == [*UP, *DOWN]


def test_the_cache_forgets_the_oldest_beyond_its_size() -> None:
    cache = ParseCache(size=2)
    calls: list[str] = []

    def parse_one(sql: str, dialect: str) -> Any:
        calls.append(sql)
        return grammar_module._parse(sql, dialect)

    for sql in ("SELECT 1", "SELECT 2", "SELECT 1", "SELECT 3", "SELECT 2"):
        cache.fetch(sql, "postgres", parse_one)
    assert calls == ["SELECT 1", "SELECT 2", "SELECT 3", "SELECT 2"]


def test_analysis_leaves_cached_trees_as_they_were() -> None:
    cache = ParseCache()
    sql = (
        "ALTER TABLE orders ADD COLUMN region text DEFAULT 'n' REFERENCES regions (code)",
        "UPDATE orders SET region = 'north' WHERE user_id IN (1, 2)",
        "CREATE UNIQUE INDEX orders_region ON orders (region)",
    )
    before = [node.sql("postgres") for s in sql for node in parse(s, "postgres", cache) or []]
    for transactional in (True, False):
        analyze(
            "m", _records(sql), dialect="postgres", category="schema", direction="up",
            transactional=transactional, parse_cache=cache,
        )  # fmt: skip
    after = [node.sql("postgres") for s in sql for node in parse(s, "postgres", cache) or []]
    assert after == before


def test_a_statement_run_twice_is_judged_where_it_stands() -> None:
    """The cache gives the same tree for the same SQL; each run of it is its own statement:
    only the first of these two DROPs has another statement after it."""
    sql = ("DROP INDEX CONCURRENTLY i", "SELECT 1", "DROP INDEX CONCURRENTLY i")
    rules = fired(sql, "postgres", transactional=False)
    assert rules.count("not-retry-safe") == 1
