"""MariaDB/MySQL: "not atomic" is said only when true. Row changes alone, and an empty
migration, roll back with their transaction; DDL (and the other implicit-commit statements)
does not. Checked in the runner's announcement, the dry run and a real failure."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from lamina import Lamina
from lamina.cli import cli
from lamina.config import load_settings
from lamina.errors import ExecutionError
from lamina.runner import RunEvent

pytestmark = pytest.mark.server

TABLE = "-- migrate:up\nCREATE TABLE t (id INTEGER PRIMARY KEY);\n-- migrate:down\nDROP TABLE t;\n"
ROWS = (
    "-- category: data\n-- migrate:up\nINSERT INTO t VALUES (1);\nINSERT INTO t VALUES (2);\n"
    "-- migrate:down\nDELETE FROM t WHERE id IN (1, 2);\n"
)
EMPTY = "-- empty: true\n-- migrate:up\n-- nothing yet\n-- migrate:down\n-- nothing\n"
MIXED = (
    "-- migrate:up\nCREATE TABLE u (id INTEGER);\nINSERT INTO u VALUES (1);\n"
    "-- migrate:down\nDROP TABLE u;\n"
)
PY_ROWS = """
from lamina import Migration


class MoreRows(Migration):
    category = "data"

    def up(self) -> None:
        self.execute_sql("INSERT INTO t VALUES (3)")
        self.execute_sql("UPDATE t SET id = id + 10 WHERE id = 3")

    def down(self) -> None:
        self.execute_sql("DELETE FROM t WHERE id = 13")
"""
# The second insert violates the primary key: the first must vanish with it.
ROWS_FAIL = (
    "-- category: data\n-- migrate:up\nINSERT INTO t VALUES (7);\nINSERT INTO t VALUES (7);\n"
)


@pytest.fixture
def settings(mysql_url: str, tmp_path: Path):
    def make(**overrides: object):
        values: dict[str, object] = {
            "database_url": mysql_url,
            "migrations_dir": str(tmp_path / "migrations"),
            "lock_timeout_s": 5,
        }
        values.update(overrides)
        return load_settings(values, environ={}, cwd=tmp_path)

    return make


def test_only_steps_that_commit_implicitly_are_announced_not_atomic(
    make_migrations, settings
) -> None:
    make_migrations(
        {
            "001_table.sql": TABLE,
            "002_rows.sql": ROWS,
            "003_empty.sql": EMPTY,
            "004_mixed.sql": MIXED,
            "005_py_rows.py": PY_ROWS,
        }
    )
    lamina = Lamina(settings())
    preview = lamina.up(dry_run=True)
    atomic = {p.step.migration_id: p.atomic for p in preview.previews}
    assert atomic == {
        "001_table": False,
        "002_rows": True,
        "003_empty": True,
        "004_mixed": False,
        "005_py_rows": True,
    }
    events: list[RunEvent] = []
    Lamina(settings(), on_event=events.append).up()
    started = {e.migration_id: e.atomic for e in events if e.kind == "start"}
    assert started == atomic


def test_the_cli_says_not_atomic_only_for_ddl(
    make_migrations, mysql_url, tmp_path, monkeypatch
) -> None:
    make_migrations({"001_table.sql": TABLE, "002_rows.sql": ROWS, "004_mixed.sql": MIXED})
    monkeypatch.chdir(tmp_path)
    env = {"DATABASE_URL": mysql_url, "LAMINA_MIGRATIONS_DIR": str(tmp_path / "migrations")}
    dry = CliRunner().invoke(cli, ["up", "--dry-run"], env=env)
    assert dry.exit_code == 0, dry.output
    assert dry.output.count("not atomic") == 1  # 004_mixed only (001 has one statement)
    real = CliRunner().invoke(cli, ["up"], env=env)
    assert real.exit_code == 0, real.output
    assert "004_mixed is not atomic" in real.output
    assert "002_rows is not atomic" not in real.output


def test_a_failing_row_change_migration_rolls_back_whole_and_leaves_no_dirty_row(
    make_migrations, settings, raw_database, mysql_url
) -> None:
    make_migrations({"001_table.sql": TABLE})
    Lamina(settings()).up()
    make_migrations({"002_rows_fail.sql": ROWS_FAIL})
    events: list[RunEvent] = []
    with pytest.raises(ExecutionError) as caught:
        Lamina(settings(), on_event=events.append).up()
    assert caught.value.rolled_back
    assert "nothing of it was kept" in (caught.value.hint or "")
    [start] = [e for e in events if e.kind == "start" and e.migration_id == "002_rows_fail"]
    assert start.atomic
    raw = raw_database(mysql_url)
    assert raw.query("SELECT id FROM t") == []  # the first insert went with the second
    assert raw.applied_ids() == ["001_table"]
    assert Lamina(settings()).status().dirty == ()
