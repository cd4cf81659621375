"""The rules of ``backup_scope = touched`` without a database: which tables statements touch,
which tables join the scope, when a restore refuses, and manifests old and new."""

from __future__ import annotations

import json

import pytest

from lamina.backup import BackupError, BackupStore
from lamina.backup.scope import (
    HISTORY,
    ForeignKey,
    LiveTables,
    TableScope,
    Trigger,
    WholeDatabase,
    plan_backup,
    plan_restore,
)
from lamina.models import StatementRecord
from lamina.risk.touched import TableName, Touched, touched_by


def touched(sql: str, dialect: str = "postgres") -> Touched:
    return touched_by([("007_x", [StatementRecord(sql)])], dialect)


def names(found: tuple[TableName, ...]) -> list[str]:
    return [str(name) for name in found]


# -- which tables a statement touches -------------------------------------------------------------
@pytest.mark.parametrize(
    ("dialect", "sql", "tables", "dropped"),
    [
        ("postgres", "DELETE FROM orders", ["orders"], []),
        ("postgres", "DROP TABLE legacy, older CASCADE", ["legacy", "older"], ["legacy", "older"]),
        ("postgres", 'ALTER TABLE "Mixed" ADD COLUMN x INT', ["Mixed"], []),
        ("postgres", "ALTER TABLE Folded ADD COLUMN x INT", ["folded"], []),
        (
            "postgres",
            "ALTER TABLE billing.a RENAME TO b",
            ["billing.a", "billing.b"],
            ["billing.a"],
        ),
        ("postgres", "ALTER TABLE t RENAME a TO b", ["t"], []),  # a column, not the table
        ("postgres", "TRUNCATE a, b", ["a", "b"], []),
        ("postgres", "UPDATE a SET x = 1 FROM b WHERE a.id = b.id", ["a"], []),
        ("postgres", "INSERT INTO a (x) SELECT x FROM b", ["a"], []),
        ("postgres", "CREATE INDEX i ON a (x)", ["a"], []),
        ("postgres", "CREATE TABLE c AS SELECT * FROM a", ["c"], []),
        ("postgres", "SELECT * INTO d FROM a", ["d"], []),
        (
            "postgres",
            "WITH gone AS (DELETE FROM q RETURNING *) INSERT INTO b SELECT * FROM gone",
            ["b", "q"],
            [],
        ),
        ("postgres", "SELECT count(*) FROM a", [], []),
        ("postgres", "SET lock_timeout = '1s'", [], []),
        ("postgres", "ANALYZE a", [], []),
        ("postgres", "ALTER TABLE a VALIDATE CONSTRAINT a_b", ["a"], []),
        ("postgres", "CLUSTER a USING a_pkey", ["a"], []),
        ("mysql", "RENAME TABLE a TO b, c TO d", ["a", "b", "c", "d"], ["a", "c"]),
        ("mysql", "DROP INDEX i ON t", ["t"], []),
        ("mysql", "UPDATE a JOIN b ON a.id = b.id SET a.x = 1, b.y = 2", ["a", "b"], []),
        ("mysql", "DELETE a, b FROM a JOIN b ON a.id = b.id", ["a", "b"], []),
        ("mysql", "REPLACE INTO a VALUES (1)", ["a"], []),
        ("sqlite", "INSERT OR REPLACE INTO main.a VALUES (1)", ["main.a"], []),
        ("duckdb", "CHECKPOINT", [], []),
        ("duckdb", "COPY a FROM 'rows.csv'", ["a"], []),
    ],
)
def test_the_tables_a_statement_touches(dialect, sql, tables, dropped) -> None:
    found = touched(sql, dialect)
    assert found.whole is None
    assert (names(found.tables), names(found.dropped)) == (tables, dropped)


def test_an_index_dropped_by_name_is_left_for_the_live_database_to_place() -> None:
    found = touched("DROP INDEX CONCURRENTLY IF EXISTS i")
    assert (found.tables, names(found.indexes)) == ((), ["i"])
    assert names(touched("DROP INDEX i, j").indexes) == ["i", "j"]


@pytest.mark.parametrize(
    ("dialect", "sql", "why"),
    [
        ("postgres", "DROP SCHEMA billing CASCADE", "DROP SCHEMA is more than a table"),
        ("postgres", "CREATE VIEW v AS SELECT 1", "CREATE VIEW is more than a table"),
        ("postgres", "DO $$ BEGIN END $$", "no grammar for DO"),
        ("postgres", "SELECT archive_everything()", "calls archive_everything()"),
        ("postgres", "SET search_path TO other", "search_path"),
        ("postgres", "ALTER TYPE mood ADD VALUE 'meh'", "changes a type"),
        ("postgres", "ALTER TABLE p DETACH PARTITION p1", "partition"),
        ("mysql", "DO 1", "sqlglot cannot parse it"),
        ("mysql", "USE other", "USE"),
        ("sqlite", "this is not sql", "as an expression"),
    ],
)
def test_what_lamina_cannot_pin_to_tables_asks_for_the_whole_database(dialect, sql, why) -> None:
    found = touched(sql, dialect)
    assert found.whole is not None and why in found.whole
    assert found.whole.startswith("007_x: ")  # names the step


def test_a_migration_that_reads_rows_first_asks_for_the_whole_database() -> None:
    statements = [
        StatementRecord("SELECT id FROM a", is_query=True),
        StatementRecord("DELETE FROM a"),
    ]
    found = touched_by([("008_py", statements)], "postgres")
    assert found.whole is not None and "008_py reads rows" in found.whole


# -- which tables join the scope ------------------------------------------------------------------
def live(**values) -> LiveTables:
    values.setdefault("tables", frozenset({"a", "b", "c", *HISTORY}))
    return LiveTables(**values)


def test_the_scope_adds_history_and_skips_tables_not_there_yet() -> None:
    scope = plan_backup(touched("ALTER TABLE a RENAME TO z"), live(), "cascading")
    assert scope == TableScope(tables=("a", *sorted(HISTORY)), absent=("z",), dropped=("a",))


def test_foreign_key_neighbours_join_as_the_engine_needs() -> None:
    keys = (ForeignKey("b", "a"), ForeignKey("a", "c"), ForeignKey("c", "a", cascades=False))
    request = touched("DELETE FROM a")
    joined = {
        follow: set(plan_backup(request, live(foreign_keys=keys), follow).tables) - set(HISTORY)
        for follow in ("cascading", "inbound", "both")
    }
    assert joined == {"cascading": {"a"}, "inbound": {"a", "b", "c"}, "both": {"a", "b", "c"}}
    cascading = (ForeignKey("b", "a", cascades=True),)
    scope = plan_backup(request, live(foreign_keys=cascading), "cascading")
    assert "b" in scope.tables


@pytest.mark.parametrize(
    ("values", "why"),
    [
        ({"others": {"a": "view"}}, "a is a view"),
        ({"alone": {"a": "it is partitioned"}}, "it is partitioned"),
        ({"triggers": {"a": (Trigger("audit", None),)}}, "trigger audit"),
        ({"foreign_keys": (ForeignKey("x.b", "a", cascades=True, outside=True),)}, "outside"),
    ],
)
def test_what_keeps_a_table_from_being_backed_up_alone(values, why) -> None:
    with pytest.raises(WholeDatabase, match=why):
        plan_backup(touched("DELETE FROM a"), live(**values), "cascading")


def test_tables_a_trigger_writes_join_and_names_elsewhere_fall_back() -> None:
    triggers = {"a": (Trigger("copy", ("b",)),)}
    assert "b" in plan_backup(touched("DELETE FROM a"), live(triggers=triggers), "cascading").tables
    with pytest.raises(WholeDatabase, match=r"other\.a is outside"):
        plan_backup(touched("DELETE FROM other.a"), live(), "cascading")
    folded = live(fold=True, qualifiers=frozenset({(), ("main",)}))
    assert "a" in plan_backup(touched("DELETE FROM MAIN.A", "sqlite"), folded, "cascading").tables


def test_an_index_dropped_by_name_brings_its_table() -> None:
    scope = plan_backup(touched("DROP INDEX i"), live(indexes={"i": "b"}), "cascading")
    assert "b" in scope.tables


# -- when a restore refuses -----------------------------------------------------------------------
SCOPE = TableScope(tables=("a", *HISTORY), absent=("z",), dropped=("b",))


def test_a_restore_drops_what_exists_and_puts_back_keys_from_other_tables() -> None:
    keys = (ForeignKey("c", "a", name="c_a"), ForeignKey("a", "c"))
    plan = plan_restore("B1", SCOPE, live(foreign_keys=keys), "cascading")
    assert set(plan.drop) == {"a", *HISTORY} and plan.load == SCOPE.tables
    assert [k.name for k in plan.keys] == ["c_a"]


@pytest.mark.parametrize(
    ("values", "follow", "why"),
    [
        ({"tables": frozenset(HISTORY)}, "cascading", "no longer exist"),
        ({"others": {"a": "view"}}, "cascading", "is now a view"),
        (
            {
                "tables": frozenset({"a", "z", "c", *HISTORY}),
                "foreign_keys": (ForeignKey("c", "z"),),
            },
            "cascading",
            "did not exist",
        ),
        ({"foreign_keys": (ForeignKey("c", "a"),)}, "inbound", "cannot restore apart"),
        ({"foreign_keys": (ForeignKey("a", "c"),)}, "both", "MySQL cannot move"),
    ],
)
def test_a_restore_refuses_before_changing_anything(values, follow, why) -> None:
    with pytest.raises(BackupError, match=why) as caught:
        plan_restore("B1", SCOPE, live(**values), follow)
    assert "nothing was restored" in caught.value.message


def test_a_table_the_run_dropped_may_be_missing() -> None:
    scope = TableScope(tables=("b", *HISTORY), dropped=("b",))
    plan = plan_restore("B1", scope, live(tables=frozenset(HISTORY)), "cascading")
    assert "b" in plan.load and "b" not in plan.drop


# -- manifests ------------------------------------------------------------------------------------
def manifest(store: BackupStore, **changes) -> dict:
    data = {
        "manifest_version": 1, "id": "20261125T141233Z-3fa9c1", "engine": "sqlite",
        "database": "sqlite:///x", "location": "/x", "schema": None, "schema_version": 3,
        "created_at": "2026-11-25T14:12:33.000000+00:00", "size": 0, "sha256": "0" * 64,
        "trigger": "manual", "file": "20261125T141233Z-3fa9c1.sqlite3", "format": "sqlite-file",
        "tool": None,
    }  # fmt: skip
    data.update(changes)
    store.ensure_folder()
    (store.folder / f"{data['id']}.json").write_text(json.dumps(data))
    return data


def test_a_manifest_without_a_scope_is_a_whole_database_backup(store) -> None:
    manifest(store)
    [record] = store.list()
    assert (record.scope, record.tables, record.touched) == ("database", (), False)


def test_a_touched_manifest_is_version_2_so_older_lamina_never_restores_it(store) -> None:
    manifest(store, manifest_version=2, scope="touched", tables=["a"], dropped=["a"])
    [record] = store.list()
    assert (record.touched, record.tables, record.dropped) == (True, ("a",), ("a",))
    manifest(store, manifest_version=1, scope="touched", tables=["a"])
    records, broken = store.scan()
    assert records == [] and "does not match scope" in broken[0].problem
    manifest(store, manifest_version=2, scope="some", tables=["a"])
    assert "scope" in store.scan()[1][0].problem
