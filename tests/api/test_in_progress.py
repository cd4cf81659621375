"""A run in progress is not a failure: status and health against a real `lamina up` child.

A non-atomic migration (``transactional = False`` on every engine; any DDL on MySQL) commits
a ``running`` history row before it starts. While the run that wrote it holds the migration
lock, status says *in progress* and health is ``degraded`` (200); once that run is gone
(SIGKILL), the same row is dirty and health ``unhealthy`` (503). DuckDB lets one process open
the file, so there the busy file itself is the sign, named by its holder.
"""

from __future__ import annotations

import os
import signal
import socket
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from subprocess import Popen
from typing import Any

import pytest

from lamina import Lamina
from lamina.engines import open_backend
from lamina.errors import LockTimeoutError, RunInProgressError
from lamina.health import check, http_status
from lamina.models import LockOwner, MigrationState, StatusReport
from lamina.urls import parse_url
from support.processes import HANGING, lamina_env, start, wait_for

pytestmark = pytest.mark.slow

#: HANGING, declared non-transactional: its `running` row is committed before up() starts.
LOOSE_HANGING = HANGING.replace(
    "    class Slow(Migration):\n", "    class Slow(Migration):\n        transactional = False\n"
)
FIRST = """
    -- migrate:up
    CREATE TABLE first (id INTEGER);
    -- migrate:down
    DROP TABLE first;
"""


@pytest.fixture(params=["non-transactional", "transactional"])
def running_child(
    request, make_migrations, db_url: str, tmp_path: Path
) -> Iterator[tuple[Popen[str], bool, Path]]:
    """``lamina up`` in a child process, stopped inside 002_slow's up() (after its statements),
    and whether that step is tracked by a ``running`` row: always when non-transactional, and
    on MySQL also when transactional (its CREATE TABLE commits by itself)."""
    assert "transactional = False" in LOOSE_HANGING
    loose = request.param == "non-transactional"
    folder = make_migrations(
        {"001_first.sql": FIRST, "002_slow.py": LOOSE_HANGING if loose else HANGING}
    )
    marker = tmp_path / "inside-002"
    env = lamina_env(db_url, folder, LAMINA_TEST_MARKER=str(marker), LAMINA_TEST_SLEEP="120")
    child = start(["up"], env, tmp_path)
    try:
        wait_for(marker)
        yield child, loose or "mysql" in db_url, folder
    finally:
        if child.poll() is None:
            child.kill()
        child.communicate(timeout=30)


def _until_no_holder(lamina: Lamina) -> None:
    """A killed client's server session ends when the server notices the closed socket."""
    deadline = time.monotonic() + 30
    while lamina.status().lock_holder is not None:
        assert time.monotonic() < deadline, "the killed run's lock never went away"
        time.sleep(0.1)


def test_a_run_in_progress_is_not_a_failure_and_a_killed_one_is(
    engine, running_child, settings_for, raw_db
) -> None:
    child, tracked, folder = running_child
    lamina = Lamina(settings_for())
    if engine == "duckdb":
        # The child holds the file open: status cannot read it, and says a lamina run does.
        with pytest.raises(LockTimeoutError):
            lamina.status(wait_s=0)
        run = lamina.migration_run()
        assert run is not None and run.pid == child.pid
        document = check(settings_for())
        assert document["status"] == "degraded"
        assert document["message"].startswith("Migrations in progress")
        assert f"pid {child.pid}" in document["message"]
    else:
        report = lamina.status()
        assert report.dirty == ()
        assert report.lock_holder is not None and report.lock_holder.pid == child.pid
        assert report.current_version == 1  # the one applied cleanly, not the running one
        assert report.applied_count == 1
        assert not report.needs_attention
        assert not report.up_to_date
        document = check(settings_for(), detailed=True)
        assert document["status"] == "degraded", document["message"]
        assert f"pid {child.pid}" in document["message"]
        [slow] = [m for m in document["details"]["migrations"] if m["id"] == "002_slow"]
        if tracked:
            assert raw_db.query("SELECT state FROM lamina_migrations WHERE id = '002_slow'") == [
                ("running",)
            ]
            assert [m.id for m in report.in_progress] == ["002_slow"]
            [info] = [p for p in report.findings if p.code == "in-progress"]
            assert info.severity.value == "info" and f"pid {child.pid}" in info.message
            assert "Migration in progress: 002_slow" in document["message"]
            assert slow["status"] == "running"
            # A dry run reads without the lock: it says a run is applying 002_slow, not dirty.
            with pytest.raises(RunInProgressError) as in_flight:
                lamina.up(dry_run=True)
            assert in_flight.value.exit_code == 3
            assert "002_slow right now" in in_flight.value.message
            with pytest.raises(RunInProgressError):
                lamina.rollback(0, dry_run=True)
        else:  # atomic: invisible until it commits
            assert [m.id for m in report.pending] == ["002_slow"]
            assert document["message"].startswith("Migrations in progress: lock held by")
            assert slow["status"] == "pending"
    assert http_status(document) == 200
    status = start(["status"], lamina_env(raw_db.url, folder), folder.parent)
    out, err = status.communicate(timeout=60)
    assert status.returncode == 0, err
    assert f"pid {child.pid}" in out
    assert "in progress" in out.lower()
    assert "DIRTY" not in out and "up to date" not in out

    child.send_signal(signal.SIGKILL)
    child.wait(timeout=10)
    if engine != "duckdb":
        _until_no_holder(lamina)
    report = lamina.status()
    assert report.in_progress == ()
    assert report.current_version == 1
    document = check(settings_for())
    if tracked:
        assert [m.id for m in report.dirty] == ["002_slow"]
        assert report.dirty[0].state is MigrationState.FAILED
        assert report.needs_attention and not report.up_to_date
        assert document["status"] == "unhealthy"
        assert "002_slow failed half-way" in document["message"]
        assert http_status(document) == 503
    else:
        assert report.dirty == ()
        assert [m.id for m in report.pending] == ["002_slow"]
        assert document["status"] == "degraded"
        assert http_status(document) == 200


def _running_row_seen_under_a_live_lock(
    lamina: Lamina, settings: Any, raw_db: Any, db_url: str, started: str
) -> tuple[StatusReport, dict[str, Any]]:
    """Mark 001_first ``running`` since ``started``, then read status and health while a
    live run (this process) holds the lock it took at 10:00:00."""
    raw_db.execute(
        "UPDATE lamina_migrations SET state = 'running', "
        f"detail = 'up started {started} by ana@host'"
    )
    holder = open_backend(parse_url(db_url))
    owner = LockOwner(socket.gethostname(), os.getpid(), "2026-11-25T10:00:00Z", "lamina up")
    try:
        with holder.lock(owner, 5):
            return lamina.status(), check(settings)
    finally:
        holder.close()


def test_a_running_row_older_than_the_lock_holder_is_dirty(
    make_migrations, settings_for, raw_db, db_url
) -> None:
    """A live run holds the lock, but it took the lock after the row was written: the run
    that wrote it is dead, so the row is dirty, not in progress."""
    make_migrations({"001_first.sql": FIRST})
    lamina = Lamina(settings_for())
    lamina.up()
    report, document = _running_row_seen_under_a_live_lock(
        lamina, settings_for(), raw_db, db_url, "2020-01-01T00:00:00.000000Z"
    )
    assert [m.id for m in report.dirty] == ["001_first"]
    assert report.in_progress == ()
    assert document["status"] == "unhealthy"


def test_a_running_row_written_under_the_current_lock_is_in_progress(
    make_migrations, settings_for, raw_db, db_url
) -> None:
    make_migrations({"001_first.sql": FIRST})
    lamina = Lamina(settings_for())
    lamina.up()
    report, document = _running_row_seen_under_a_live_lock(
        lamina, settings_for(), raw_db, db_url, "2026-11-25T10:00:05.000000Z"
    )
    assert [m.id for m in report.in_progress] == ["001_first"]
    assert report.dirty == ()
    assert document["status"] == "degraded"
    assert http_status(document) == 200
    # The lock released, nobody is left to finish it: dirty.
    assert [m.id for m in lamina.status().dirty] == ["001_first"]


def test_duckdb_held_by_the_application_is_not_called_migrations_in_progress(
    make_migrations, tmp_path: Path
) -> None:
    from lamina.config import load_settings

    make_migrations({"001_first.sql": FIRST})
    url = f"duckdb:///{tmp_path / 'app.duckdb'}"
    settings = load_settings(
        {"database_url": url, "migrations_dir": str(tmp_path / "migrations"), "lock_timeout_s": 5},
        environ={},
        cwd=tmp_path,
    )
    Lamina(settings).up()
    script = (
        "import duckdb, pathlib, sys, time\n"
        f"c = duckdb.connect({str(tmp_path / 'app.duckdb')!r})\n"
        f"pathlib.Path({str(tmp_path / 'open')!r}).write_text('x')\n"
        "time.sleep(120)\n"
    )
    app = Popen([sys.executable, "-c", script])
    try:
        wait_for(tmp_path / "open")
        assert Lamina(settings).migration_run() is None
        document = check(settings)
    finally:
        app.kill()
        app.wait(timeout=10)
    assert document["status"] == "degraded"
    assert "Migrations in progress" not in document["message"]
    assert "not by a lamina migration run" in document["message"]
    assert f"pid {app.pid}" in document["message"]


@pytest.mark.server
@pytest.mark.parametrize("engine", ["postgresql", "mysql"])  # table mode: the servers only
def test_table_mode_an_unexpired_lock_row_is_a_live_holder(
    engine, make_migrations, settings_for, raw_db, db_url
) -> None:
    from lamina.engines.base import BackendOptions

    make_migrations({"001_first.sql": FIRST})
    lamina = Lamina(settings_for(lock_mode="table"))
    lamina.up()
    raw_db.execute(
        "UPDATE lamina_migrations SET state = 'running', "
        "detail = 'up started 2026-11-25T10:00:05.000000Z by ana@host'"
    )
    holder = open_backend(parse_url(db_url), options=BackendOptions(lock_mode="table"))
    owner = LockOwner(socket.gethostname(), os.getpid(), "2026-11-25T10:00:00Z", "lamina up")
    try:
        with holder.lock(owner, 5):
            report = lamina.status()
    finally:
        holder.close()
    assert [m.id for m in report.in_progress] == ["001_first"]
    # The run's row is gone with the lock: nobody is left to finish the migration.
    assert [m.id for m in lamina.status().dirty] == ["001_first"]
