"""The transaction a migration runs in, seen across its statements, for every kind of file:
a Python migration's recorded statements go through the same analysis as a ``.sql`` file's,
and ``-- transactional: false`` / ``transactional = False`` turn the carry-over off."""

from __future__ import annotations

import pytest

from lamina import Lamina

BACKFILL_PY = """
    from lamina import Migration


    class Backfill(Migration):
        {option}

        def up(self):
            self.execute_sql("ALTER TABLE orders ADD COLUMN IF NOT EXISTS status text")
            for status in ("new",):
                self.execute_sql(f"UPDATE orders SET status = '{{status}}'")

        def down(self):
            self.execute_sql("ALTER TABLE orders DROP COLUMN status")
"""
BACKFILL_SQL = """{option}
    -- migrate:up
    ALTER TABLE orders ADD COLUMN IF NOT EXISTS status text;
    UPDATE orders SET status = 'new';
    -- migrate:down
    ALTER TABLE orders DROP COLUMN status;
"""


def _up_rules(make_migrations, settings_for, files: dict[str, str]) -> list[str]:
    make_migrations(files)
    (entry,) = Lamina(settings_for()).lint(dialect="postgresql").entries
    return [finding.rule for finding in entry.up.findings]


@pytest.mark.parametrize("engine", ["sqlite"])
def test_a_python_migrations_recorded_statements_share_one_transaction(
    engine, make_migrations, settings_for
) -> None:
    files = {"001_backfill.py": BACKFILL_PY.format(option='category = "schema"')}
    assert _up_rules(make_migrations, settings_for, files) == ["lock-held-during-long-statement"]


@pytest.mark.parametrize("engine", ["sqlite"])
def test_a_python_migration_without_a_transaction_holds_no_lock_over(
    engine, make_migrations, settings_for
) -> None:
    files = {"001_backfill.py": BACKFILL_PY.format(option="transactional = False")}
    assert _up_rules(make_migrations, settings_for, files) == []


@pytest.mark.parametrize("engine", ["sqlite"])
@pytest.mark.parametrize(
    ("option", "expected"),
    [("", ["lock-held-during-long-statement"]), ("-- transactional: false", [])],
)
def test_a_sql_migration_is_judged_the_same_way(
    engine, make_migrations, settings_for, option: str, expected: list[str]
) -> None:
    files = {"001_backfill.sql": BACKFILL_SQL.format(option=option)}
    assert _up_rules(make_migrations, settings_for, files) == expected


@pytest.mark.parametrize("engine", ["sqlite"])
def test_two_migrations_are_two_transactions(engine, make_migrations, settings_for) -> None:
    """The recipe lamina advises: NOT VALID in one migration, VALIDATE in the next."""
    make_migrations(
        {
            "001_fk.sql": "-- migrate:up\nALTER TABLE orders ADD CONSTRAINT fk FOREIGN KEY "
            "(user_id) REFERENCES users (id) NOT VALID;\n-- migrate:down\n"
            "ALTER TABLE orders DROP CONSTRAINT fk;\n",
            "002_validate.sql": "-- migrate:up\nALTER TABLE orders VALIDATE CONSTRAINT fk;\n"
            "-- migrate:down\nSELECT 1;\n",
        }
    )
    result = Lamina(settings_for()).lint(dialect="postgresql")
    assert [[f.rule for f in entry.up.findings] for entry in result.entries] == [[], []]
