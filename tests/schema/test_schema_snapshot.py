"""Snapshots of a real schema on every engine: content, stability, and each change detected."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace

import pytest

from lamina.engines.base import Backend
from lamina.schema import Column, ForeignKey, Index, Snapshot, diff, snapshot

#: A small shop: PK, composite PK, UNIQUE, FKs with ON DELETE CASCADE, string and number
#: defaults (one with a quote), NOT NULL, an index, a unique index and a view.
SCHEMA = (
    "CREATE TABLE users (id INTEGER NOT NULL PRIMARY KEY, email VARCHAR(200) NOT NULL, "
    "name VARCHAR(100) DEFAULT 'anon', label VARCHAR(30) DEFAULT 'it''s', "
    "score INTEGER NOT NULL DEFAULT 0, ratio NUMERIC(10,2) DEFAULT 1.5, "
    "CONSTRAINT users_email_key UNIQUE (email))",
    "CREATE TABLE orders (id INTEGER NOT NULL PRIMARY KEY, user_id INTEGER NOT NULL, "
    "status VARCHAR(20) NOT NULL DEFAULT 'new', note VARCHAR(50), "
    "CONSTRAINT orders_user_fk FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE)",
    "CREATE TABLE order_items (order_id INTEGER NOT NULL, line INTEGER NOT NULL, "
    "sku VARCHAR(40) NOT NULL, qty INTEGER NOT NULL DEFAULT 1, PRIMARY KEY (order_id, line), "
    "FOREIGN KEY (order_id) REFERENCES orders (id) ON DELETE CASCADE)",
    "CREATE INDEX orders_status ON orders (status)",
    "CREATE UNIQUE INDEX order_items_sku ON order_items (order_id, sku)",
    "CREATE VIEW big_users AS SELECT id, email FROM users WHERE score > 100",
)
DROP = (
    "DROP VIEW big_users",
    "DROP TABLE order_items",
    "DROP TABLE orders",
    "DROP TABLE users",
)


def without_extensions(snap: Snapshot) -> Snapshot:
    """``snap`` less PostgreSQL's extensions, which are database-wide (plpgsql is always
    there), for comparing a schema with an empty one."""
    return replace(snap, objects=tuple(o for o in snap.objects if o.kind != "extension"))


def statements(engine: str, edit: tuple[str, str] = ("", "")) -> list[str]:
    """SCHEMA with ``edit`` (old, new) applied; DuckDB has no ON DELETE CASCADE."""
    old, new = edit
    result = [s.replace(old, new) if old else s for s in SCHEMA]
    if engine == "duckdb":
        result = [s.replace(" ON DELETE CASCADE", "") for s in result]
    return result


def run(backend: Backend, sql: list[str] | tuple[str, ...]) -> None:
    for statement in sql:
        backend.execute(statement)


def expected_types(engine: str) -> dict[str, str]:
    """How each engine spells the declared types, normalised."""
    integer = "int" if engine == "mysql" else "integer"
    return {
        "integer": integer,
        "varchar(200)": "varchar" if engine == "duckdb" else "varchar(200)",
        "varchar(100)": "varchar" if engine == "duckdb" else "varchar(100)",
        "varchar(30)": "varchar" if engine == "duckdb" else "varchar(30)",
        "varchar(20)": "varchar" if engine == "duckdb" else "varchar(20)",
        "varchar(50)": "varchar" if engine == "duckdb" else "varchar(50)",
        "varchar(40)": "varchar" if engine == "duckdb" else "varchar(40)",
        "numeric(10,2)": {"duckdb": "decimal(10,2)", "mysql": "decimal(10,2)"}.get(
            engine, "numeric(10,2)"
        ),
    }


VIEW_DEFINITIONS = {
    "duckdb": "select id, email from users where (score > 100)",
    "sqlite": "select id, email from users where score > 100",
    "postgresql": "select users.id, users.email from users where users.score > 100",
    "mysql": "select users.id as id,users.email as email from users where users.score > 100",
}


def test_representative_schema_is_captured_normalised(engine: str, backend: Backend) -> None:
    run(backend, statements(engine))
    snap = snapshot(backend)
    t = expected_types(engine)
    ratio = "1.50" if engine == "mysql" else "1.5"  # MariaDB pads to the column's scale

    assert snap.engine == engine
    assert [table.name for table in snap.tables] == ["order_items", "orders", "users"]
    users = snap.table("users")
    assert users is not None
    assert users.columns == (
        Column("id", t["integer"], nullable=False),
        Column("email", t["varchar(200)"], nullable=False),
        Column("name", t["varchar(100)"], nullable=True, default="'anon'"),
        Column("label", t["varchar(30)"], nullable=True, default="'it''s'"),
        Column("score", t["integer"], nullable=False, default="0"),
        Column("ratio", t["numeric(10,2)"], nullable=True, default=ratio),
    )
    assert users.primary_key == ("id",)
    assert users.uniques == (("email",),)
    assert users.foreign_keys == ()
    assert users.indexes == ()

    orders = snap.table("orders")
    assert orders is not None
    assert orders.column("status") == Column("status", t["varchar(20)"], False, "'new'")
    assert orders.column("note") == Column("note", t["varchar(50)"], True, None)
    on_delete = "NO ACTION" if engine == "duckdb" else "CASCADE"  # DuckDB has no other action
    assert orders.foreign_keys == (ForeignKey(("user_id",), "users", ("id",), on_delete),)
    # MySQL's own index for the foreign key (orders_user_fk) is left out.
    assert orders.indexes == (Index("orders_status", ("status",), unique=False),)
    assert orders.uniques == ()

    items = snap.table("order_items")
    assert items is not None
    assert items.primary_key == ("order_id", "line")
    assert items.column("qty") == Column("qty", t["integer"], False, "1")
    assert items.foreign_keys == (ForeignKey(("order_id",), "orders", ("id",), on_delete),)
    if engine == "mysql":  # every unique key is a UNIQUE constraint to MySQL
        assert items.uniques == (("order_id", "sku"),)
        assert items.indexes == ()
    else:
        assert items.uniques == ()
        assert items.indexes == (Index("order_items_sku", ("order_id", "sku"), unique=True),)

    assert [(v.name, v.definition) for v in snap.views] == [("big_users", VIEW_DEFINITIONS[engine])]
    assert snap.sequences == ()


def test_recreating_the_schema_gives_the_same_snapshot(engine: str, backend: Backend) -> None:
    run(backend, statements(engine))
    first = snapshot(backend)
    run(backend, DROP)
    assert without_extensions(snapshot(backend)) == Snapshot(engine)
    run(backend, statements(engine))
    second = snapshot(backend)

    assert second == first
    assert second.digest() == first.digest()
    assert first.digest().startswith("sha256:")
    assert diff(first, second) == []
    restored = Snapshot.from_dict(json.loads(first.to_json(indent=2)))
    assert restored == first
    assert restored.digest() == first.digest()


@dataclass(frozen=True)
class Change:
    """One schema change: ``alter`` statements per engine that can ALTER it in place; the
    others rebuild the schema from SCHEMA with ``edit`` applied."""

    kind: str
    object: str
    alter: dict[str, tuple[str, ...]]
    edit: tuple[str, str] = ("", "")
    #: engine -> differences expected besides the one under test.
    also: dict[str, tuple[tuple[str, str], ...]] = field(default_factory=dict)
    detail: dict[str, str] = field(default_factory=dict)


ALL = ("duckdb", "sqlite", "postgresql", "mysql")


def on(engines: tuple[str, ...], *sql: str) -> dict[str, tuple[str, ...]]:
    return dict.fromkeys(engines, sql)


def everywhere(*sql: str) -> dict[str, tuple[str, ...]]:
    return on(ALL, *sql)


CHANGES = {
    "added column": Change(
        "added",
        "column users.phone",
        everywhere("ALTER TABLE users ADD COLUMN phone VARCHAR(20)"),
    ),
    "dropped column": Change(
        "missing",
        "column orders.note",
        on(("sqlite", "postgresql", "mysql"), "ALTER TABLE orders DROP COLUMN note"),
        edit=(", note VARCHAR(50)", ""),
    ),
    "type change": Change(
        "changed",
        "column order_items.qty",
        {
            "postgresql": ("ALTER TABLE order_items ALTER COLUMN qty TYPE BIGINT",),
            "mysql": ("ALTER TABLE order_items MODIFY qty BIGINT NOT NULL DEFAULT 1",),
        },
        edit=("qty INTEGER", "qty BIGINT"),
        detail={"mysql": "type int -> bigint", "*": "type integer -> bigint"},
    ),
    "nullability change": Change(
        "changed",
        "column orders.note",
        {
            "postgresql": ("ALTER TABLE orders ALTER COLUMN note SET NOT NULL",),
            "mysql": ("ALTER TABLE orders MODIFY note VARCHAR(50) NOT NULL",),
        },
        edit=("note VARCHAR(50)", "note VARCHAR(50) NOT NULL"),
        detail={"*": "nullable -> not null"},
    ),
    "default change": Change(
        "changed",
        "column orders.status",
        on(
            ("duckdb", "postgresql", "mysql"),
            "ALTER TABLE orders ALTER COLUMN status SET DEFAULT 'open'",
        ),
        edit=("DEFAULT 'new'", "DEFAULT 'open'"),
        detail={"*": "default 'new' -> 'open'"},
    ),
    "added index": Change(
        "added",
        "index users_name on users",
        everywhere("CREATE INDEX users_name ON users (name)"),
    ),
    "dropped index": Change(
        "missing",
        "index orders_status on orders",
        {
            **everywhere("DROP INDEX orders_status"),
            "mysql": ("DROP INDEX orders_status ON orders",),
        },
    ),
    "dropped foreign key": Change(
        "missing",
        "foreign key orders.user_id -> users.id",
        {
            "postgresql": ("ALTER TABLE orders DROP CONSTRAINT orders_user_fk",),
            "mysql": ("ALTER TABLE orders DROP FOREIGN KEY orders_user_fk",),
        },
        # SQLite and DuckDB cannot drop a constraint: the table is created without it.
        edit=(
            ", CONSTRAINT orders_user_fk FOREIGN KEY (user_id) REFERENCES users (id) "
            "ON DELETE CASCADE",
            "",
        ),
        # InnoDB keeps the index it made for the foreign key: now an ordinary index.
        also={"mysql": (("added", "index orders_user_fk on orders"),)},
    ),
    "added table": Change(
        "added",
        "table audit",
        everywhere("CREATE TABLE audit (id INTEGER NOT NULL PRIMARY KEY, what VARCHAR(50))"),
    ),
    "dropped view": Change("missing", "view big_users", everywhere("DROP VIEW big_users")),
}


@pytest.mark.parametrize("name", list(CHANGES))
def test_each_change_is_detected(engine: str, backend: Backend, name: str) -> None:
    change = CHANGES[name]
    run(backend, statements(engine))
    before = snapshot(backend)
    if engine in change.alter:
        run(backend, change.alter[engine])
    else:
        run(backend, DROP)
        run(backend, statements(engine, change.edit))
    after = snapshot(backend)

    found = diff(before, after)
    expected = [(change.kind, change.object), *change.also.get(engine, ())]
    assert sorted((d.kind, d.object) for d in found) == sorted(expected), [str(d) for d in found]
    detail = change.detail.get(engine, change.detail.get("*"))
    if detail is not None:
        assert next(d for d in found if d.object == change.object).detail == detail
    assert after.digest() != before.digest()
    # The same comparison the other way round names the opposite kind.
    opposite = {"added": "missing", "missing": "added", "changed": "changed"}
    assert (opposite[change.kind], change.object) in {
        (d.kind, d.object) for d in diff(after, before)
    }


@pytest.mark.server
@pytest.mark.parametrize("engine", ["postgresql", "mysql"], indirect=True)
def test_a_foreign_key_dropped_and_added_again_leaves_no_trace(
    engine: str, backend: Backend
) -> None:
    """Down then up again: on MySQL the re-added key reuses the index InnoDB kept."""
    run(backend, statements(engine))
    before = snapshot(backend)
    drop = "DROP CONSTRAINT" if engine == "postgresql" else "DROP FOREIGN KEY"
    backend.execute(f"ALTER TABLE orders {drop} orders_user_fk")
    backend.execute(
        "ALTER TABLE orders ADD CONSTRAINT orders_user_fk FOREIGN KEY (user_id) "
        "REFERENCES users (id) ON DELETE CASCADE"
    )
    assert diff(before, snapshot(backend)) == []
