"""Reading migration files: static metadata, import failures, one class per file."""

from __future__ import annotations

import pytest

from lamina import Lamina, ValidationError

SIDE_EFFECT = """
    from pathlib import Path

    from lamina import Migration

    Path(__file__).with_name("imported.flag").write_text("module code ran")


    class Tracked(Migration):
        name = "Tracked"
        category = "index"
        dependencies = ("001_base",)

        def up(self):
            self.execute_sql("CREATE TABLE tracked (id INTEGER)")

        def down(self):
            self.execute_sql("DROP TABLE tracked")
"""
BASE = "-- migrate:up\nCREATE TABLE base (id INTEGER);\n-- migrate:down\nDROP TABLE base;\n"


def test_status_reads_python_metadata_without_running_module_code(
    make_migrations, settings_for
) -> None:
    folder = make_migrations({"001_base.sql": BASE, "002_tracked.py": SIDE_EFFECT})
    report = Lamina(settings_for()).status()
    tracked = report.migrations[1]
    assert (tracked.id, tracked.name, tracked.category) == ("002_tracked", "Tracked", "index")
    assert not (folder / "imported.flag").exists()
    # Running it is what imports it.
    Lamina(settings_for()).up()
    assert (folder / "imported.flag").exists()


def test_computed_metadata_falls_back_to_importing_that_file(make_migrations, settings_for) -> None:
    make_migrations(
        {
            "001_computed.py": """
                from lamina import Migration

                PREFIX = "Computed"


                class Computed(Migration):
                    name = PREFIX + " name"
                    category = "data"

                    def up(self):
                        pass
            """
        }
    )
    entry = Lamina(settings_for()).status().migrations[0]
    assert (entry.name, entry.category) == ("Computed name", "data")


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        (
            "from lamina import Migration\n\nclass A(Migration):\n    pass\n\n"
            "class B(Migration):\n    pass\n",
            "defines 2 Migration classes (A, B)",
        ),
        ("import os\n\nVALUE = 1\n", "defines no class deriving from lamina.Migration"),
        ("import sys\n\nsys.exit(3)\n", "calls sys.exit(3) while being imported"),
        (
            "from lamina import Migration\n\nclass A(Migration):\n    version = 9\n",
            "declares version 9 but the file name gives 1",
        ),
        (
            "from lamina import Migration\n\nclass A(Migration):\n    id = 'other'\n",
            "declares id 'other' but the file name gives '001_thing'",
        ),
        (
            "from lamina import Migration\n\nclass A(Migration):\n    category = 'misc'\n",
            "category must be one of schema, data, index, constraint",
        ),
        (b"\xff\xfe\x00binary junk", "is not UTF-8 text"),
    ],
    ids=["two-classes", "no-class", "sys-exit", "version", "id", "category", "binary"],
)
def test_bad_python_files_are_refused_with_the_file_named(
    make_migrations, settings_for, raw_db, tmp_path, source, expected
) -> None:
    folder = make_migrations({"000_ok.sql": BASE})
    path = folder / "001_thing.py"
    if isinstance(source, bytes):
        path.write_bytes(source)
    else:
        path.write_text(source, encoding="utf-8")

    result = Lamina(settings_for()).validate()
    assert not result.ok()
    messages = [p.render() for p in result.errors]
    assert any("001_thing.py" in m and expected in m for m in messages), messages

    with pytest.raises(ValidationError):
        Lamina(settings_for()).up()
    assert "base" not in raw_db.tables()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("CREATE TABLE x (id INTEGER);\n", "no `-- migrate:up` section"),
        ("-- migrate:up\nSELECT 1;\n-- migrate:up\nSELECT 2;\n", "001_thing.sql:3: a second"),
        ("-- category: sideways\n-- migrate:up\nSELECT 1;\n", "001_thing.sql:1"),
    ],
    ids=["no-sections", "two-up-sections", "bad-category"],
)
def test_bad_sql_files_are_refused_with_file_and_line(
    make_migrations, settings_for, text, expected
) -> None:
    make_migrations({"001_thing.sql": text})
    result = Lamina(settings_for()).validate()
    rendered = " | ".join(p.render() for p in result.errors)
    assert "001_thing.sql" in rendered
    assert expected in rendered


def test_bom_and_crlf_sql_files_load(make_migrations, settings_for, raw_db) -> None:
    folder = make_migrations({})
    (folder / "001_bom.sql").write_bytes(
        b"\xef\xbb\xbf-- name: With BOM\r\n-- migrate:up\r\nCREATE TABLE bom (id INTEGER);\r\n"
        b"-- migrate:down\r\nDROP TABLE bom;\r\n"
    )
    assert Lamina(settings_for()).validate().ok(strict=True)
    Lamina(settings_for()).up()
    assert "bom" in raw_db.tables()
    assert Lamina(settings_for()).status().migrations[0].name == "With BOM"
