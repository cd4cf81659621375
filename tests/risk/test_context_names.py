"""Tables are known by schema and name: ``archive.orders`` is not ``orders``, while ``orders``
and the default schema's ``public.orders`` (PostgreSQL) or ``main.orders`` (DuckDB, SQLite)
are one table. MySQL's default database is the connection's, unknown to the analyzer, so a
qualified name there is never taken for an unqualified one."""

from __future__ import annotations

import pytest

from support.risk_cases import fired

DEFAULT_SCHEMA = {"postgres": "public", "duckdb": "main", "sqlite": "main"}
ALL = ["postgres", "duckdb", "sqlite", "mysql"]


@pytest.mark.parametrize("dialect", ALL)
def test_a_table_of_another_schema_is_another_table(dialect: str) -> None:
    sql = ("CREATE TABLE archive.orders (id INT)", "DROP TABLE orders")
    assert "drop-table" in fired(sql, dialect)
    sql = ("CREATE TABLE orders (id INT)", "DROP TABLE archive.orders")
    assert "drop-table" in fired(sql, dialect)


@pytest.mark.parametrize("dialect", ALL)
def test_the_same_schema_and_name_is_the_same_table(dialect: str) -> None:
    sql = ("CREATE TABLE archive.orders (id INT)", "DROP TABLE ARCHIVE.Orders")
    assert "drop-table" not in fired(sql, dialect)


@pytest.mark.parametrize("dialect", sorted(DEFAULT_SCHEMA))
def test_the_default_schema_may_be_written_or_not(dialect: str) -> None:
    schema = DEFAULT_SCHEMA[dialect]
    assert "drop-table" not in fired(
        ("CREATE TABLE orders (id INT)", f"DROP TABLE {schema}.orders"), dialect
    )
    assert "drop-table" not in fired(
        (f"CREATE TABLE {schema}.orders (id INT)", "DROP TABLE orders"), dialect
    )


def test_mysql_never_takes_a_qualified_name_for_an_unqualified_one() -> None:
    """The connection's database is unknown offline: the finding stays, on the safe side."""
    assert "drop-table" in fired(
        ("CREATE TABLE orders (id INT)", "DROP TABLE shop.orders"), "mysql"
    )


def test_an_index_on_public_orders_is_not_on_the_new_archive_orders() -> None:
    created = "CREATE TABLE archive.orders (id INT)"
    rule = "create-index-not-concurrently"
    assert rule in fired((created, "CREATE INDEX orders_id ON public.orders (id)"), "postgres")
    assert rule in fired((created, "CREATE INDEX orders_id ON orders (id)"), "postgres")
    assert rule not in fired((created, "CREATE INDEX orders_id ON archive.orders (id)"), "postgres")


def test_an_index_lives_in_its_tables_schema() -> None:
    created = (
        "CREATE TABLE archive.orders (id INT)",
        "CREATE INDEX orders_id ON archive.orders (id)",
    )
    rule = "drop-index-not-concurrently"
    assert rule in fired((*created, "DROP INDEX orders_id"), "postgres")  # public.orders_id
    assert rule not in fired((*created, "DROP INDEX archive.orders_id"), "postgres")


@pytest.mark.parametrize("dialect", ALL)
def test_a_renamed_table_keeps_its_schema(dialect: str) -> None:
    sql = (
        "CREATE TABLE archive.draft (id INT)",
        "ALTER TABLE archive.draft RENAME TO final",
        "DROP TABLE archive.final",
    )
    assert "drop-table" not in fired(sql, dialect)


@pytest.mark.parametrize("dialect", ALL)
def test_a_rebuild_in_another_schema_is_a_rebuild(dialect: str) -> None:
    sql = (
        "CREATE TABLE archive.new_users (id INT, name TEXT)",
        "INSERT INTO archive.new_users (id, name) SELECT id, name FROM archive.users",
        "DROP TABLE archive.users",
        "ALTER TABLE archive.new_users RENAME TO users",
    )
    rules = fired(sql, dialect)
    assert "table-rebuild" in rules and "drop-table" not in rules


def test_locks_are_held_per_schema() -> None:
    """An ALTER of archive.orders holds nothing on orders: a backfill of orders is free."""
    sql = ("ALTER TABLE archive.orders ADD COLUMN c INT", "UPDATE orders SET c = 0")
    assert "lock-held-during-long-statement" not in fired(sql, "postgres")
    sql = ("ALTER TABLE public.orders ADD COLUMN c INT", "UPDATE orders SET c = 0")
    assert "lock-held-during-long-statement" in fired(sql, "postgres")
