"""AUTO_MIGRATE=true in the health app: ``create_app()`` and ``lamina serve`` run the startup
step (:func:`lamina.startup`) in the app's lifespan, and a mounted app on its first request.
Real uvicorn servers, real HTTP, every engine."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.routing import Mount

import lamina
from lamina.server import create_app
from support.processes import child_env
from support.serving import first_answer, free_port

SRC = Path(lamina.__file__).parent.parent

PEOPLE = "-- migrate:up\nCREATE TABLE people (id INTEGER);\n-- migrate:down\nDROP TABLE people;\n"
PETS = "-- migrate:up\nCREATE TABLE pets (id INTEGER);\n-- migrate:down\nDROP TABLE pets;\n"
DROP_PEOPLE = "-- migrate:up\nDROP TABLE people;\n"


@contextmanager
def serving(app: Any) -> Iterator[tuple[uvicorn.Server, threading.Thread, int | None]]:
    """``app`` in uvicorn with its lifespan on; yields the server, its thread and its port
    (None when the app did not start)."""
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="critical", lifespan="on")
    server = uvicorn.Server(config)

    def run() -> None:
        with contextlib.suppress(SystemExit):  # a failed startup: uvicorn exits with 3
            server.run()

    thread = threading.Thread(target=run, name="uvicorn", daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 60
        while not server.started and thread.is_alive():
            assert time.monotonic() < deadline, "uvicorn did not start in 60 s"
            time.sleep(0.01)
        port = server.servers[0].sockets[0].getsockname()[1] if server.started else None
        yield server, thread, port
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def test_create_app_applies_pending_migrations_before_it_serves(
    make_migrations, settings_for, raw_db
) -> None:
    make_migrations({"001_people.sql": PEOPLE, "002_pets.sql": PETS})
    app = create_app(settings_for(auto_migrate=True))
    assert not raw_db.tables() & {"people", "pets"}  # building the app changes nothing
    with serving(app) as (_, _, port):
        assert port is not None
        # Before any request: the lifespan applied them.
        assert raw_db.applied_ids() == ["001_people", "002_pets"]
        answer = httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=30)
    assert answer.status_code == 200
    assert answer.json()["status"] == "healthy"


def test_without_auto_migrate_the_app_applies_nothing(
    make_migrations, settings_for, raw_db
) -> None:
    make_migrations({"001_people.sql": PEOPLE})
    with serving(create_app(settings_for())) as (_, _, port):
        answer = httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=30)
    assert answer.json()["status"] == "degraded"
    assert "people" not in raw_db.tables()


def test_a_startup_failure_stops_the_app_as_startups_policy_says(
    make_migrations, settings_for, raw_db
) -> None:
    make_migrations({"001_people.sql": PEOPLE})
    lamina.startup(settings_for(auto_migrate=True))
    make_migrations({"002_pets.sql": PETS, "003_drop.sql": DROP_PEOPLE})
    with serving(create_app(settings_for(auto_migrate=True))) as (server, thread, port):
        thread.join(timeout=30)
        assert port is None and not server.started  # risky and unconfirmed: not started
    assert raw_db.applied_ids() == ["001_people"]
    # LAMINA_STARTUP_ON_RISK=degraded: it starts, with the safe step applied.
    app = create_app(settings_for(auto_migrate=True, startup_on_risk="degraded"))
    with serving(app) as (_, _, port):
        assert port is not None
        answer = httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=30)
    assert answer.json()["status"] == "degraded"
    assert raw_db.applied_ids() == ["001_people", "002_pets"]


def test_a_mounted_app_runs_startup_on_its_first_request(
    make_migrations, settings_for, raw_db
) -> None:
    make_migrations({"001_people.sql": PEOPLE})
    outer = Starlette(routes=[Mount("/lamina", create_app(settings_for(auto_migrate=True)))])
    with serving(outer) as (_, _, port):
        # The outer app's lifespan does not run the inner one's: nothing yet.
        assert "people" not in raw_db.tables()
        first = httpx.get(f"http://127.0.0.1:{port}/lamina/api/health", timeout=30)
        again = httpx.get(f"http://127.0.0.1:{port}/lamina/api/health", timeout=30)
    assert first.status_code == 200 and first.json()["status"] == "healthy"
    assert again.json()["status"] == "healthy"
    assert raw_db.applied_ids() == ["001_people"]


def test_a_mounted_app_whose_startup_fails_answers_503_with_the_reason(
    make_migrations, settings_for, raw_db
) -> None:
    make_migrations({"001_people.sql": PEOPLE})
    lamina.startup(settings_for(auto_migrate=True))
    make_migrations({"002_drop.sql": DROP_PEOPLE})
    outer = Starlette(routes=[Mount("/lamina", create_app(settings_for(auto_migrate=True)))])
    with serving(outer) as (_, _, port):
        answer = httpx.get(f"http://127.0.0.1:{port}/lamina/api/health", timeout=30)
    assert answer.status_code == 503
    assert answer.json()["message"].startswith("Startup migrations failed: ")
    assert "002_drop" in answer.json()["message"]
    assert raw_db.applied_ids() == ["001_people"]


@pytest.mark.slow
def test_lamina_serve_honours_auto_migrate(tmp_path: Path, make_migrations) -> None:
    make_migrations({"001_people.sql": PEOPLE})
    database = tmp_path / "app.duckdb"
    env = child_env(
        DATABASE_URL=f"duckdb:///{database}",
        LAMINA_MIGRATIONS_DIR=str(tmp_path / "migrations"),
        AUTO_MIGRATE="true",
    )
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "lamina", "serve", "--port", str(port)],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
    )
    try:
        answer = first_answer(process, f"http://127.0.0.1:{port}/api/health")
    finally:
        process.terminate()
        process.communicate(timeout=15)
    assert answer.status_code == 200
    assert answer.json()["status"] == "healthy"
    assert answer.json()["details"]["currentVersion"] == 1
