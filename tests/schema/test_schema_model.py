"""The snapshot model, diff wording and text normalisation, without a database."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from lamina.schema import (
    Column,
    Difference,
    ForeignKey,
    Index,
    SchemaObject,
    Snapshot,
    Table,
    View,
    diff,
)
from lamina.schema.normalise import (
    index_parts,
    normalise_default,
    normalise_expression,
    normalise_type,
    reflow,
    split_top_level,
    view_body,
)


def users(*extra: Column, **changes: object) -> Table:
    fields: dict[str, object] = {
        "name": "users",
        "columns": (
            Column("id", "integer", nullable=False),
            Column("email", "varchar(100)", nullable=False),
            *extra,
        ),
        "primary_key": ("id",),
        "uniques": (("email",),),
        "indexes": (Index("users_email_lower", ("lower(email)",)),),
    }
    fields.update(changes)
    return Table(**fields)  # type: ignore[arg-type]


def orders() -> Table:
    return Table(
        "orders",
        (Column("id", "integer", False), Column("user_id", "integer", False)),
        primary_key=("id",),
        foreign_keys=(ForeignKey(("user_id",), "users", ("id",), "CASCADE"),),
    )


def shop(*tables: Table, views: tuple[View, ...] = ()) -> Snapshot:
    return Snapshot("postgresql", tables or (users(), orders()), views)


def test_snapshots_are_canonical_whatever_the_construction_order() -> None:
    a = Snapshot(
        "sqlite",
        (orders(), users()),
        (View("v2", "select 2"), View("v1", "select 1")),
        (SchemaObject("sequence", "s2"), SchemaObject("sequence", "s1")),
    )
    b = Snapshot(
        "sqlite",
        (users(), orders()),
        (View("v1", "select 1"), View("v2", "select 2")),
        (SchemaObject("sequence", "s1"), SchemaObject("sequence", "s2")),
    )
    assert a == b
    assert a.digest() == b.digest()
    assert [t.name for t in a.tables] == ["orders", "users"]
    assert Snapshot("duckdb", a.tables).digest() != Snapshot("sqlite", a.tables).digest()


def test_json_round_trip_is_exact_and_stable() -> None:
    snap = shop(views=(View("v", "select 1"),))
    text = snap.to_json()
    assert Snapshot.from_dict(json.loads(text)) == snap
    assert json.loads(text) == snap.to_dict()
    assert text == json.dumps(snap.to_dict(), sort_keys=True, separators=(",", ":"))
    with pytest.raises(ValueError, match="format"):
        Snapshot.from_dict({**snap.to_dict(), "format": 99})


def test_equal_snapshots_have_no_differences() -> None:
    assert diff(shop(), shop()) == []


def test_differences_read_well_and_describe_a_down_migration() -> None:
    phone = Column("phone_number", "varchar(20)")
    found = diff(shop(), shop(users(phone), orders()))
    assert [str(d) for d in found] == [
        "added column users.phone_number (varchar(20), nullable)",
    ]
    assert found[0].describe() == "down leaves column users.phone_number"
    missing = diff(shop(), shop(users(indexes=()), orders()))
    assert [str(d) for d in missing] == ["missing index users_email_lower on users (lower(email))"]
    assert missing[0].describe("down") == "down does not restore index users_email_lower on users"
    changed = Difference("changed", "column users.email", "type varchar(100) -> varchar(200)")
    assert str(changed) == "changed column users.email: type varchar(100) -> varchar(200)"
    assert changed.describe() == (
        "down leaves column users.email changed: type varchar(100) -> varchar(200)"
    )


def test_every_kind_of_change_in_a_fixed_order() -> None:
    before = shop(views=(View("old", "select 1"), View("same", "select 1")))
    new_users = Table(
        "users",
        (
            Column("email", "varchar(200)", nullable=True, default="'x'"),
            Column("id", "integer", nullable=False),
        ),
        primary_key=("id", "email"),
        uniques=(),
        checks=("id > 0",),
        indexes=(Index("users_email_lower", ("lower(email)",), unique=True),),
    )
    new_orders = Table(
        "orders",
        orders().columns,
        primary_key=("id",),
        foreign_keys=(ForeignKey(("user_id",), "users", ("id",), "NO ACTION"),),
    )
    audit = Table("audit", (Column("at", "text"),))
    after = Snapshot(
        "postgresql",
        (new_users, new_orders, audit),
        (View("same", "select 2"), View("new", "select 3")),
        (SchemaObject("sequence", "ids"),),
    )
    assert [str(d) for d in diff(before, after)] == [
        "added table audit (at)",
        "changed foreign key orders.user_id -> users.id: on delete cascade -> no action",
        "changed column users.email: type varchar(100) -> varchar(200); "
        "not null -> nullable; default none -> 'x'",
        "changed column order of table users: id, email -> email, id",
        "changed primary key of users: (id) -> (id, email)",
        "missing unique constraint users(email)",
        "added check constraint on users: id > 0",
        "changed index users_email_lower on users: lower(email) -> lower(email); unique",
        "added view new",
        "missing view old",
        "changed view same: definition select 1 -> select 2",
        "added sequence ids",
    ]


def test_multi_column_foreign_keys_and_primary_keys_are_named_in_full() -> None:
    fk = ForeignKey(("a", "b"), "parent", ("x", "y"))
    child = Table("child", (Column("a", "int"), Column("b", "int")), foreign_keys=(fk,))
    found = diff(Snapshot("mysql", (child,)), Snapshot("mysql", (Table("child", child.columns),)))
    assert [str(d) for d in found] == [
        "missing foreign key child(a, b) -> parent(x, y) (on delete no action)"
    ]
    keyless = Table("t", (Column("a", "int"),))
    keyed = Table("t", (Column("a", "int"),), primary_key=("a",))
    assert [str(d) for d in diff(Snapshot("x", (keyless,)), Snapshot("x", (keyed,)))] == [
        "added primary key of t (a)"
    ]


def test_snapshots_of_different_engines_are_not_compared() -> None:
    with pytest.raises(ValueError, match="duckdb"):
        diff(Snapshot("duckdb"), Snapshot("sqlite"))


@pytest.mark.parametrize(
    ("spelled", "mysql", "expected"),
    [
        ("character varying(200)", False, "varchar(200)"),
        ("CHARACTER(3)", False, "char(3)"),
        ("timestamp without time zone", False, "timestamp"),
        ("timestamp(3) with time zone", False, "timestamptz(3)"),
        ("TIMESTAMP WITH TIME ZONE", False, "timestamptz"),
        ("NUMERIC (10, 2)", False, "numeric(10,2)"),
        ("integer[]", False, "integer[]"),
        ("int(11)", True, "int"),
        ("bigint(20) unsigned", True, "bigint unsigned"),
        ("tinyint(1)", True, "tinyint(1)"),
        ("tinyint(4)", True, "tinyint"),
        ("INTEGER", False, "integer"),
    ],
)
def test_types_are_spelled_canonically(spelled: str, mysql: bool, expected: str) -> None:
    assert normalise_type(spelled, mysql=mysql) == expected


@pytest.mark.parametrize(
    ("default", "column_type", "expected"),
    [
        ("'x'::character varying", "varchar(10)", "'x'"),
        ("'It''s'::text", "text", "'It''s'"),
        ("CAST('q' AS VARCHAR)", "varchar", "'q'"),
        ("'-1'::integer", "integer", "-1"),
        ("'-1.5'::numeric", "numeric", "-1.5"),
        ("'42'", "varchar(10)", "'42'"),
        ("nextval('users_id_seq'::regclass)", "integer", "nextval('users_id_seq')"),
        ("'{}'::text[]", "text[]", "'{}'"),
        ("NULL::character varying", "varchar(20)", None),
        ("NULL", "int", None),
        ("(-1)", "int", "-1"),
        ("CURRENT_TIMESTAMP", "timestamp", "current_timestamp"),
        (
            "'2020-01-01 00:00:00'::timestamp without time zone",
            "timestamp",
            "'2020-01-01 00:00:00'",
        ),
        (None, "int", None),
    ],
)
def test_defaults_lose_casts_and_wrapping(
    default: str | None, column_type: str, expected: str | None
) -> None:
    assert normalise_default(default, column_type) == expected


def test_expressions_keep_quoted_text_untouched() -> None:
    assert (
        normalise_expression("(  Score >= 0 AND Name <> 'A  B' )")
        == "score >= 0 and name <> 'A  B'"
    )
    assert normalise_expression('("Mixed" + 1) * (2)') == '("Mixed" + 1) * (2)'
    assert split_top_level("a, lower(b, c), 'x,y'") == ["a", "lower(b, c)", "'x,y'"]
    assert split_top_level("") == []


def test_view_and_index_sql_are_taken_apart() -> None:
    assert view_body("CREATE VIEW v AS SELECT 1;") == "select 1"
    assert view_body('create or replace view "My View" (a) as\n  select A from t') == (
        "select a from t"
    )
    assert index_parts("CREATE INDEX i ON t (a DESC, lower(b)) WHERE a > 0") == (
        ("a desc", "lower(b)"),
        "a > 0",
    )
    assert index_parts("not an index") == ((), None)


def test_an_older_format_is_refused_not_misread() -> None:
    old = {"format": 1, "engine": "sqlite", "tables": {}, "views": {}, "sequences": ["s"]}
    with pytest.raises(ValueError, match="format 1"):
        Snapshot.from_dict(old)


def test_unique_keys_keep_their_multiplicity() -> None:
    once = users()
    twice = users(uniques=(("email",), ("email",)))
    assert twice.uniques == (("email",), ("email",))
    assert shop(once).digest() != shop(twice).digest()
    assert [str(d) for d in diff(shop(once), shop(twice))] == [
        "added unique constraint users(email) (duplicate)"
    ]
    assert [str(d) for d in diff(shop(users(uniques=())), shop(twice))] == [
        "added unique constraint users(email)",
        "added unique constraint users(email)",
    ]


def test_column_order_is_a_note_and_everything_else_is_not() -> None:
    swapped = users(
        columns=(Column("email", "varchar(100)", False), Column("id", "integer", False))
    )
    found = diff(shop(), shop(swapped, orders()))
    assert [(str(d), d.note) for d in found] == [
        ("changed column order of table users: id, email -> email, id", True)
    ]
    assert not any(d.note for d in diff(shop(), shop(users(Column("x", "text")), orders())))


def objects(*items: tuple[str, str, str | None]) -> Snapshot:
    return Snapshot("postgresql", objects=tuple(SchemaObject(*item) for item in items))


LONG_BODY = "create function f() returns integer language plpgsql as $function$ begin {} end"


def test_a_changed_long_definition_is_one_line_plus_a_short_diff() -> None:
    statements = [f"perform {n};" for n in range(40)]
    before = LONG_BODY.format(" ".join(statements))
    statements[5] = "perform 500;"
    after = LONG_BODY.format(" ".join(statements))
    found = diff(objects(("function", "f()", before)), objects(("function", "f()", after)))
    assert [str(d) for d in found] == ["changed function f(): definition differs"]
    assert found[0].describe() == "down leaves function f() changed: definition differs"
    assert found[0].lines == ("@@ -9,3 +9,3 @@", " perform 4;", "-perform 5;", "+perform 500;",
                              " perform 6;")  # fmt: skip

    every = [f"perform {n};" for n in range(40)]
    changed = [f"perform {n + 100};" for n in range(40)]
    found = diff(
        objects(("function", "f()", LONG_BODY.format(" ".join(every)))),
        objects(("function", "f()", LONG_BODY.format(" ".join(changed)))),
    )
    lines = found[0].lines
    # 1 hunk header, 2 lines of context, 40 removed and 40 added: 83, of which 20 are shown.
    assert len(lines) == 21
    assert lines[-1] == "… 63 more line(s)"


def test_definitions_are_reflowed_one_clause_per_line() -> None:
    assert reflow(
        "select a, b from t left join u on t.id = u.id where a > 'from x' group by a order by b"
    ) == [
        "select a, b",
        "from t",
        "left join u on t.id = u.id",
        "where a > 'from x'",
        "group by a",
        "order by b",
    ]


def test_added_and_missing_objects_are_named_by_kind() -> None:
    found = diff(
        objects(("trigger", "t on users", "x"), ("schema", "audit", None)),
        objects(("trigger", "t on users", "x"), ("sequence", "ids", "start 1")),
    )
    assert [d.describe("down") for d in found] == [
        "down does not restore schema audit",
        "down leaves sequence ids",
    ]


STAMPED = "select '{}'::timestamp without time zone as at, '2020-01-02'::date as fixed"


@pytest.mark.parametrize(
    "literal",
    [
        "2026-12-07 10:11:12.123456",
        "2026-12-07 10:11:12",
        "2026-12-07",
        "2026-12-07 10:11:12.5+05:30",
        "2026-12-07 10:11:12-08",
        "2026-12-06 02:00:00",  # 32 hours before: still the run's (time zones)
    ],
)
def test_creation_times_since_the_run_are_masked(literal: str) -> None:
    since = datetime(2026, 12, 7, 10, 0, 0)
    later = "2026-12-07 10:11:13.999"
    before = Snapshot("postgresql", views=(View("v", STAMPED.format(literal)),))
    after = Snapshot("postgresql", views=(View("v", STAMPED.format(later)),))
    assert [d.object for d in diff(before, after)] == ["view v"]
    assert diff(before, after, volatile_since=since) == []
    aware = since.replace(tzinfo=UTC)
    assert diff(before, after, volatile_since=aware) == []


def test_older_literals_are_compared_even_with_volatile_since() -> None:
    since = datetime(2026, 12, 7, 10, 0, 0)
    before = Snapshot("postgresql", views=(View("v", STAMPED.format("2026-12-05 10:00:00")),))
    after = Snapshot("postgresql", views=(View("v", STAMPED.format("2026-12-07 10:00:01")),))
    assert [d.object for d in diff(before, after, volatile_since=since)] == ["view v"]
    default = Table("t", (Column("at", "timestamp", True, "'2020-01-01 00:00:00'"),))
    moved = Table("t", (Column("at", "timestamp", True, "'2020-01-01 00:00:01'"),))
    assert len(diff(Snapshot("x", (default,)), Snapshot("x", (moved,)), volatile_since=since)) == 1
