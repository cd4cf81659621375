"""A step's history row and its audit row are written together, inside the step's transaction
(in one statement where the engine has data-modifying CTEs, ``lamina.history.store``).

On every engine and on each path a step takes (atomic; tracked, because it runs outside a
transaction or, on MySQL, because its DDL commits by itself): after ``up`` and ``rollback``
both rows are there with the audit row's full content, and a step that fails leaves neither,
only its ``fail`` row.
"""

from __future__ import annotations

import pytest

from lamina import Lamina
from lamina.engines import open_backend
from lamina.errors import ExecutionError
from lamina.history import History
from lamina.history.store import AuditEntry
from lamina.models import AppliedMigration, AuditAction, RowState
from lamina.urls import parse_url

FILES = {
    # DDL: atomic where DDL is transactional, tracked (a `running` row first) on MySQL.
    "001_items.sql": """
        -- migrate:up
        CREATE TABLE items (id INTEGER PRIMARY KEY);
        -- migrate:down
        DROP TABLE items;
    """,
    # Row changes only: atomic on every engine.
    "002_seed.sql": """
        -- category: data
        -- migrate:up
        INSERT INTO items (id) VALUES (1);
        -- migrate:down
        DELETE FROM items WHERE id = 1;
    """,
    # Outside a transaction in both directions: tracked on every engine.
    "003_loose_view.sql": """
        -- migrate:up transaction:false
        CREATE VIEW loose_view AS SELECT 3 AS x;
        -- migrate:down transaction:false
        DROP VIEW loose_view;
    """,
}

AUDIT = "SELECT action, migration_id, version, applied_by, host, duration_ms, detail"


def audit_rows(raw_db) -> list[tuple[object, ...]]:
    return raw_db.query(f"{AUDIT} FROM lamina_migration_log ORDER BY seq")


def history_rows(raw_db) -> list[tuple[object, ...]]:
    return raw_db.query("SELECT id, version, state FROM lamina_migrations ORDER BY id")


def check_audit(row: tuple[object, ...], action: str, migration_id: str, version: int) -> None:
    """One audit row as the step wrote it: who, where, how long, and no detail."""
    assert row[:3] == (action, migration_id, version)
    assert row[3] and row[4]  # applied_by, host
    assert isinstance(row[5], int) and row[5] >= 0
    assert row[6] is None


def test_up_and_rollback_write_the_history_row_and_the_audit_row_of_every_step(
    make_migrations, settings_for, raw_db
) -> None:
    make_migrations(FILES)
    settings = settings_for(backup_enabled=False, require_confirmation=False)

    assert Lamina(settings).up().applied == ("001_items", "002_seed", "003_loose_view")

    assert history_rows(raw_db) == [
        ("001_items", 1, "applied"),
        ("002_seed", 2, "applied"),
        ("003_loose_view", 3, "applied"),
    ]
    after_up = audit_rows(raw_db)
    assert len(after_up) == 3
    for row, (migration_id, version) in zip(
        after_up, [("001_items", 1), ("002_seed", 2), ("003_loose_view", 3)], strict=True
    ):
        check_audit(row, "apply", migration_id, version)

    result = Lamina(settings).rollback(1, force=True, yes=True)

    assert result.reverted == ("003_loose_view", "002_seed")
    assert history_rows(raw_db) == [("001_items", 1, "applied")]
    after_rollback = audit_rows(raw_db)
    assert after_rollback[:3] == after_up  # the log is only appended to
    reverts = [row for row in after_rollback[3:] if row[0] != "force"]
    assert len(reverts) == 2
    check_audit(reverts[0], "rollback", "003_loose_view", 3)
    check_audit(reverts[1], "rollback", "002_seed", 2)
    assert raw_db.query("SELECT id FROM items") == []


@pytest.mark.parametrize(
    "failing",
    [
        # Fails at its first statement, a DDL one (tracked on MySQL: its `running` row goes).
        "-- migrate:up\nCREATE TABLE items (id INTEGER PRIMARY KEY);\n",
        # Row changes only, the second fails: atomic everywhere, the first insert goes too.
        "-- category: data\n-- migrate:up\n"
        "INSERT INTO items (id) VALUES (5);\nINSERT INTO items (id) VALUES (5);\n",
        # Outside a transaction, fails at its first statement: tracked on every engine.
        "-- migrate:up transaction:false\nINSERT INTO no_such_table (id) VALUES (1);\n",
    ],
    ids=["ddl", "rows", "loose"],
)
def test_a_failed_step_leaves_no_history_row_and_no_apply_row_only_its_fail_row(
    failing, make_migrations, settings_for, raw_db
) -> None:
    make_migrations({"001_items.sql": FILES["001_items.sql"], "002_broken.sql": failing})
    settings = settings_for(backup_enabled=False, require_confirmation=False)

    with pytest.raises(ExecutionError) as caught:
        Lamina(settings).up()

    assert caught.value.rolled_back
    assert history_rows(raw_db) == [("001_items", 1, "applied")]
    assert raw_db.query("SELECT id FROM items") == []
    first, fail = audit_rows(raw_db)
    check_audit(first, "apply", "001_items", 1)
    assert fail[:3] == ("fail", "002_broken", 2)
    assert fail[3] and fail[4] and isinstance(fail[5], int)
    assert isinstance(fail[6], str) and fail[6].startswith("up: ")


def test_a_failed_down_keeps_the_history_row_and_writes_no_rollback_row_only_its_fail_row(
    make_migrations, settings_for, raw_db
) -> None:
    make_migrations(
        {
            "001_items.sql": FILES["001_items.sql"],
            # The down fails at its first statement, outside a transaction: tracked (its
            # row is marked `running`, then set back to `applied`).
            "002_view.sql": """
                -- migrate:up
                CREATE VIEW item_view AS SELECT id FROM items;
                -- migrate:down transaction:false
                DROP VIEW no_such_view;
            """,
        }
    )
    settings = settings_for(backup_enabled=False, require_confirmation=False)
    Lamina(settings).up()

    with pytest.raises(ExecutionError) as caught:
        Lamina(settings).rollback(1, force=True, yes=True)

    assert caught.value.rolled_back
    assert history_rows(raw_db) == [("001_items", 1, "applied"), ("002_view", 2, "applied")]
    actions = [(row[0], row[1]) for row in audit_rows(raw_db) if row[0] != "force"]
    assert actions == [
        ("apply", "001_items"),
        ("apply", "002_view"),
        ("fail", "002_view"),
    ]


def test_history_writes_a_change_and_its_audit_row_in_the_callers_transaction(db_url) -> None:
    """Both rows commit with the caller's transaction and vanish with its rollback, for each
    change that carries an audit row (insert, update, delete)."""
    row = AppliedMigration(
        id="001_x",
        version=1,
        name="x",
        category="schema",
        checksum="sha256:0",
        applied_at=History.now(),
        execution_ms=4,
        applied_by="ana",
        host="ci-7",
    )
    apply = AuditEntry(AuditAction.APPLY, row.id, row.version, 4, "out of order")
    with open_backend(parse_url(db_url)) as backend:
        backend.connect(5)
        history = History(backend, user="ana", host="ci-7")
        history.ensure()

        with pytest.raises(RuntimeError), backend.transaction():
            history.record_apply(row, audit=apply)
            raise RuntimeError("the step failed after its rows were written")
        assert history.applied() == [] and history.events() == []

        with backend.transaction():
            history.record_apply(row, audit=apply)
        with pytest.raises(RuntimeError), backend.transaction():
            history.mark(row.id, RowState.FAILED, audit=AuditEntry(AuditAction.FAIL, row.id))
            raise RuntimeError("rolled back")
        with pytest.raises(RuntimeError), backend.transaction():
            history.record_rollback(row.id, audit=AuditEntry(AuditAction.ROLLBACK, row.id))
            raise RuntimeError("rolled back")
        assert [(r.id, r.state) for r in history.applied()] == [(row.id, RowState.APPLIED)]
        [event] = history.events()
        assert (event.action, event.migration_id, event.version) == ("apply", "001_x", 1)
        assert (event.applied_by, event.host, event.duration_ms) == ("ana", "ci-7", 4)
        assert event.detail == "out of order"

        with backend.transaction():
            history.finish_apply(row, audit=AuditEntry(AuditAction.APPLY, row.id, 1, 5))
            history.record_rollback(row.id, audit=AuditEntry(AuditAction.ROLLBACK, row.id, 1))
        assert history.applied() == []
        assert [(e.action, e.duration_ms) for e in history.events()] == [
            ("rollback", None),
            ("apply", 5),
            ("apply", 4),
        ]
