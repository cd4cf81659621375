"""verify on a realistic trigger-and-function-heavy PostgreSQL set.

A correct set reports ``ok`` with no false problems (a column re-added at the end is a note,
a view with a frozen ``'now'::timestamp`` is not a difference); a down that restores the wrong
function body, or leaves a duplicate unique key, is reported.
"""

from __future__ import annotations

import pytest

from lamina.verify import verify

#: Only PostgreSQL: the set uses its types, domains, triggers and materialised views.
pytestmark = [pytest.mark.server, pytest.mark.parametrize("engine", ["postgresql"])]

OLD_BODY = """CREATE OR REPLACE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.updated_at := now();
  RETURN NEW;
END;
$$;"""
NEW_BODY = """CREATE OR REPLACE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.updated_at := clock_timestamp();
  RETURN NEW;
END;
$$;"""
WRONG_BODY = OLD_BODY.replace("now()", "statement_timestamp()")

SET = {
    "001_users.sql": f"""-- migrate:up
CREATE TYPE user_status AS ENUM ('active', 'suspended');
CREATE DOMAIN email_address AS TEXT CHECK (VALUE LIKE '%@%');
CREATE SEQUENCE invoice_numbers START 1000 INCREMENT 10;
CREATE TABLE users (
  id BIGSERIAL PRIMARY KEY,
  email email_address NOT NULL UNIQUE,
  legacy_code TEXT,
  status user_status NOT NULL DEFAULT 'active',
  updated_at TIMESTAMPTZ
);
{OLD_BODY}
CREATE TRIGGER users_touch BEFORE UPDATE ON users FOR EACH ROW EXECUTE FUNCTION touch();
-- migrate:down
DROP TABLE users;
DROP FUNCTION touch();
DROP SEQUENCE invoice_numbers;
DROP DOMAIN email_address;
DROP TYPE user_status;
""",
    "002_orders.sql": """-- migrate:up
CREATE TABLE orders (
  id BIGSERIAL PRIMARY KEY,
  user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  total NUMERIC(12, 2) NOT NULL CHECK (total >= 0),
  placed_at TIMESTAMP NOT NULL DEFAULT now()
);
CREATE INDEX orders_user_placed ON orders (user_id, placed_at DESC);
CREATE VIEW recent_orders AS
  SELECT id, user_id, total FROM orders
  WHERE placed_at > 'now'::timestamp - interval '7 days';
CREATE MATERIALIZED VIEW order_totals AS
  SELECT user_id, sum(total) AS total FROM orders GROUP BY user_id;
CREATE FUNCTION order_count(who BIGINT) RETURNS BIGINT LANGUAGE sql STABLE
  AS $$ SELECT count(*) FROM orders WHERE user_id = who $$;
-- migrate:down
DROP FUNCTION order_count(BIGINT);
DROP MATERIALIZED VIEW order_totals;
DROP VIEW recent_orders;
DROP TABLE orders;
""",
    "003_touch_precisely.sql": f"""-- migrate:up
{NEW_BODY}
-- migrate:down
{OLD_BODY}
""",
    "004_drop_legacy_code.sql": """-- migrate:up
ALTER TABLE users DROP COLUMN legacy_code;
-- migrate:down
ALTER TABLE users ADD COLUMN legacy_code TEXT;
""",
    "005_rename_email_key.sql": """-- migrate:up
ALTER TABLE users RENAME CONSTRAINT users_email_key TO users_email_uq;
-- migrate:down
ALTER TABLE users RENAME CONSTRAINT users_email_uq TO users_email_key;
""",
}


def test_a_correct_set_is_ok_with_a_note_for_column_order(make_migrations, settings_for) -> None:
    make_migrations(SET)
    result = verify(settings_for())
    assert result.ok, [(s.migration_id, s.problems) for s in result.failed]
    assert [s.outcome for s in result.steps] == ["ok"] * len(SET)
    assert all(not s.problems for s in result.steps)
    noted = {s.migration_id: s.notes for s in result.steps if s.notes}
    assert list(noted) == ["004_drop_legacy_code"]
    assert "column order of table users" in noted["004_drop_legacy_code"][0]


def test_strict_column_order_fails_the_reordering_down(make_migrations, settings_for) -> None:
    make_migrations(SET)
    result = verify(settings_for(), strict_column_order=True)
    [failed] = result.failed
    assert failed.migration_id == "004_drop_legacy_code"
    assert "column order of table users" in failed.problems[0]


def test_a_down_restoring_the_wrong_function_body_is_shown_as_a_diff(
    make_migrations, settings_for
) -> None:
    wrong = f"-- migrate:up\n{NEW_BODY}\n-- migrate:down\n{WRONG_BODY}\n"
    make_migrations({**SET, "003_touch_precisely.sql": wrong})
    result = verify(settings_for())
    [failed] = result.failed
    assert failed.migration_id == "003_touch_precisely"
    problem = failed.problems[0]
    summary, *lines = problem.splitlines()
    assert "function touch()" in summary
    assert any(line.strip().startswith("-") and "now()" in line for line in lines), problem
    assert any(
        line.strip().startswith("+") and "statement_timestamp()" in line for line in lines
    ), problem
    assert len(problem) < 1500


def test_a_down_leaving_a_duplicate_unique_key_is_reported(make_migrations, settings_for) -> None:
    duplicate = (
        "-- migrate:up\nALTER TABLE users RENAME CONSTRAINT users_email_key TO users_email_uq;\n"
        "-- migrate:down\nALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE (email);\n"
    )
    make_migrations({**SET, "005_rename_email_key.sql": duplicate})
    result = verify(settings_for())
    [failed] = result.failed
    assert failed.migration_id == "005_rename_email_key"
    assert any("users_email_uq" in problem for problem in failed.problems), failed.problems
