"""``Lamina.health()``, ``Lamina.verify()`` and ``Lamina.startup()`` give what the module-level
functions give (``lamina.health.check``, ``lamina.verify.verify``, ``lamina.startup``), on a
real DuckDB database."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

import lamina
from lamina import Lamina
from lamina.verify import VerifyResult, verify
from support.texts import POSTS, USERS

LEAKY = """
    -- migrate:up
    CREATE TABLE tags (id INTEGER PRIMARY KEY);
    CREATE TABLE kept (id INTEGER);
    -- migrate:down
    DROP TABLE tags;
"""


def _untimed(document: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in document.items() if key != "checkDurationMs"}


def _verified(result: VerifyResult) -> VerifyResult:
    steps = tuple(dataclasses.replace(s, up_ms=0, down_ms=0) for s in result.steps)
    return dataclasses.replace(result, steps=steps)


@pytest.mark.parametrize("engine", ["duckdb"])
@pytest.mark.parametrize("detailed", [False, True])
def test_health_method_is_the_health_check(make_migrations, settings_for, detailed) -> None:
    make_migrations({"001_users.sql": USERS})
    settings = settings_for()
    before = Lamina(settings).health(detailed=detailed)  # nothing applied: no database file
    assert _untimed(before) == _untimed(lamina.health.check(settings, detailed=detailed))
    Lamina(settings).up()
    make_migrations({"002_posts.sql": POSTS})
    method = Lamina(settings).health(detailed=detailed)
    function = lamina.health.check(settings, detailed=detailed)
    assert method["status"] == "degraded"  # 002 is pending
    assert _untimed(method) == _untimed(function)
    assert ("checkDurationMs" in method) is detailed


@pytest.mark.parametrize("engine", ["duckdb"])
def test_verify_method_is_verify(make_migrations, settings_for) -> None:
    make_migrations({"001_users.sql": USERS, "002_posts.sql": POSTS, "003_tags.sql": LEAKY})
    settings = settings_for()
    method = Lamina(settings).verify()
    function = verify(settings)
    assert [s.outcome for s in method.steps] == ["ok", "ok", "not-reversible"]
    assert _verified(method) == _verified(function)
    assert not Path(settings.database_url.path or "").exists()  # the target was never opened


@pytest.mark.parametrize("engine", ["duckdb"])
@pytest.mark.parametrize("auto_migrate", [False, True])
def test_startup_method_is_startup(make_migrations, settings_for, tmp_path, auto_migrate) -> None:
    make_migrations({"001_users.sql": USERS, "002_posts.sql": POSTS})

    def settings(name: str) -> Any:
        url = f"duckdb:///{tmp_path / name}"
        return settings_for(database_url=url, auto_migrate=auto_migrate)

    method = Lamina(settings("method.duckdb")).startup()
    function = lamina.startup(settings("function.duckdb"))
    assert method.status == ("ready" if auto_migrate else "degraded")
    assert method.applied == (("001_users", "002_posts") if auto_migrate else ())
    assert dataclasses.replace(method, duration_ms=0) == dataclasses.replace(
        function, duration_ms=0
    )
    # A second start (the method, then the function, on one database) finds the same.
    again = Lamina(settings("method.duckdb")).startup()
    same = lamina.startup(settings("method.duckdb"))
    assert again.applied == () and again.status == method.status
    assert again == dataclasses.replace(same, duration_ms=again.duration_ms)


@pytest.mark.parametrize("engine", ["duckdb"])
def test_health_polls_read_only_the_migration_files_that_changed(
    make_migrations, settings_for
) -> None:
    """README (Health): a check does not re-read unchanged migration files. The files read
    are kept per Lamina (the health server keeps one), never in a module-level cache."""
    folder = make_migrations({"001_users.sql": USERS, "002_posts.sql": POSTS})
    polled = Lamina(settings_for())
    polled.health(detailed=True)
    files = polled.session.files
    assert files.reads == 2
    polled.health()
    polled.health(detailed=True)
    assert files.reads == 2  # nothing changed: nothing read again
    (folder / "002_posts.sql").write_text(POSTS.replace("posts", "articles"), encoding="utf-8")
    polled.health()
    assert files.reads == 3  # only the file that changed
    fresh = Lamina(settings_for())
    fresh.health()
    assert fresh.session.files.reads == 2  # its own cache: nothing global was shared
