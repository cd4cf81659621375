"""``validate`` and ``lint`` read and parse each ``.sql`` file once: the folder scan's text and
parse are what the load checks (``ScanResult.sources``), however many files there are (the
parse cache alone holds 4,096, so a larger folder used to be parsed twice)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

import lamina.loader
from lamina import Lamina
from support.texts import POSTS, USERS

PY_MIGRATION = """
    from lamina import Migration


    class AddIndex(Migration):
        def up(self):
            self.execute_sql("CREATE INDEX posts_id ON posts (id)")

        def down(self):
            self.execute_sql("DROP INDEX posts_id")
"""
# A file the scan refuses: it is reported once, and never loaded.
NO_UP = "-- migrate:down\nDROP TABLE nothing;\n"


@pytest.fixture
def counted(monkeypatch) -> tuple[Counter[str], Counter[str]]:
    """(``.sql`` file reads by name, parses the loader asks for by the text's first line)."""
    reads: Counter[str] = Counter()
    parses: Counter[str] = Counter()
    read_bytes, parse_checked = Path.read_bytes, lamina.loader.parse_checked

    def reading(self: Path) -> bytes:
        if self.suffix == ".sql":  # (imports read modules through it too)
            reads[self.name] += 1
        return read_bytes(self)

    def parsing(text: str) -> object:
        parses[text.splitlines()[0]] += 1
        return parse_checked(text)

    monkeypatch.setattr(Path, "read_bytes", reading)
    monkeypatch.setattr(lamina.loader, "parse_checked", parsing)
    return reads, parses


@pytest.mark.parametrize("engine", ["duckdb", "sqlite"])
def test_validate_reads_each_sql_file_once_and_the_load_parses_none_again(
    engine, make_migrations, settings_for, counted
) -> None:
    make_migrations(
        {
            "001_users.sql": USERS,
            "002_posts.sql": POSTS,
            "003_index.py": PY_MIGRATION,
            "004_broken.sql": NO_UP,
        }
    )
    reads, parses = counted

    result = Lamina(settings_for()).validate()

    assert [(p.path.name if p.path else None, p.code) for p in result.errors] == [
        ("004_broken.sql", "load")
    ]
    assert reads["001_users.sql"] == reads["002_posts.sql"] == reads["004_broken.sql"] == 1
    assert parses == Counter()


@pytest.mark.parametrize("engine", ["duckdb"])
def test_lint_reads_each_sql_file_once(engine, make_migrations, settings_for, counted) -> None:
    make_migrations({"001_users.sql": USERS, "002_posts.sql": POSTS})
    reads, parses = counted

    result = Lamina(settings_for()).lint([], dialect="postgresql")

    assert [entry.file.id for entry in result.entries] == ["001_users", "002_posts"]
    assert reads == Counter({"001_users.sql": 1, "002_posts.sql": 1})
    assert parses == Counter()


@pytest.mark.parametrize("engine", ["sqlite"])
def test_a_file_scanned_from_the_cache_is_read_and_parsed_by_the_load(
    engine, make_migrations, settings_for, counted
) -> None:
    """A Lamina kept for polling serves unchanged files from its file cache, which holds no
    text: loading them reads the file as before."""
    make_migrations({"001_users.sql": USERS})
    reads, parses = counted
    kept = Lamina(settings_for())
    kept.status()
    assert reads == Counter({"001_users.sql": 1})

    assert kept.validate().errors == ()
    assert reads == Counter({"001_users.sql": 2})
    assert sum(parses.values()) == 1
