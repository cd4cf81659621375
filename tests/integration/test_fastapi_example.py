"""examples/fastapi_app as a real service: uvicorn in a process of its own, real databases.

The example's startup step (``lamina.startup()`` in its lifespan) applies or reports the five
example migrations, and its ``/api/health`` tells a load balancer how that went.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

import lamina
from support.processes import child_env
from support.serving import first_answer, free_port

pytestmark = pytest.mark.slow

SRC = Path(lamina.__file__).parent.parent
APP_DIR = SRC.parent / "examples" / "fastapi_app"
EXAMPLE_IDS = [
    "001_create_users",
    "002_add_users_phone_number",
    "003_create_user_preferences",
    "004_index_user_preferences_key",
    "005_populate_default_preferences",
]

engines = pytest.mark.parametrize(
    "engine",
    ["duckdb", pytest.param("postgresql", marks=pytest.mark.server)],
    indirect=True,
)


@contextmanager
def example_app(tmp_path: Path, **environment: str) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """The example under uvicorn on a free port of 127.0.0.1: (base URL, process).

    The process is always stopped afterwards, killed if it does not stop in 15 s.
    """
    port = free_port()
    env = child_env(**environment)
    uvicorn = [sys.executable, "-m", "uvicorn", "--app-dir", str(APP_DIR), "app:app"]
    process = subprocess.Popen(
        [*uvicorn, "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
    )
    try:
        yield f"http://127.0.0.1:{port}", process
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.communicate(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.communicate()


@engines
def test_auto_migrate_applies_the_examples_before_serving(engine, db_url, raw_db, tmp_path) -> None:
    with example_app(tmp_path, DATABASE_URL=db_url, AUTO_MIGRATE="true") as (base, process):
        health = first_answer(process, f"{base}/api/health")
        own = httpx.get(f"{base}/", timeout=30)
        # The service keeps no connection open between checks: the database is free to read.
        tables = raw_db.tables()
        applied = raw_db.applied_ids()
    assert health.status_code == 200
    document = health.json()
    assert document["status"] == "healthy", document
    assert document["details"]["totalMigrations"] == 5
    assert document["details"]["pendingMigrations"] == 0
    assert document["details"]["currentVersion"] == 5
    assert document["details"]["lastMigration"]["id"] == EXAMPLE_IDS[-1]
    assert own.json() == {"service": "example"}
    assert {"users", "user_preferences"} <= tables
    assert applied == EXAMPLE_IDS


@engines
def test_without_auto_migrate_it_starts_degraded(engine, db_url, raw_db, tmp_path) -> None:
    with example_app(tmp_path, DATABASE_URL=db_url, AUTO_MIGRATE="false") as (base, process):
        health = first_answer(process, f"{base}/api/health")
        detailed = httpx.get(f"{base}/api/health/detailed", timeout=30)
    assert health.status_code == 200
    document = health.json()
    assert document["status"] == "degraded", document
    assert document["message"] == "5 pending migration(s)"
    assert document["details"]["pendingMigrations"] == 5
    assert document["details"]["totalMigrations"] == 5
    assert [m["status"] for m in detailed.json()["details"]["migrations"]] == ["pending"] * 5
    assert not {"users", "user_preferences"} & raw_db.tables()


def test_the_detailed_endpoint_takes_the_token_from_the_environment(tmp_path) -> None:
    environment = {
        "DATABASE_URL": f"duckdb:///{tmp_path / 'app.duckdb'}",
        "LAMINA_HEALTH_TOKEN": "example-token",
    }
    with example_app(tmp_path, **environment) as (base, process):
        first_answer(process, f"{base}/api/health")
        refused = httpx.get(f"{base}/api/health/detailed", timeout=30)
        granted = httpx.get(
            f"{base}/api/health/detailed",
            headers={"Authorization": "Bearer example-token"},
            timeout=30,
        )
    assert refused.status_code == 401
    assert refused.json() == {"error": "unauthorized"}
    assert granted.status_code == 200


def test_invalid_migration_files_stop_the_service_from_starting(tmp_path) -> None:
    folder = tmp_path / "migrations"
    folder.mkdir()
    (folder / "001_broken.py").write_text("this is not python\n", encoding="utf-8")
    environment = {
        "DATABASE_URL": f"duckdb:///{tmp_path / 'app.duckdb'}",
        "LAMINA_MIGRATIONS_DIR": str(folder),
    }
    with example_app(tmp_path, **environment) as (_, process):
        _, err = process.communicate(timeout=60)
    assert process.returncode != 0
    assert "StartupError: migration files are invalid" in err, err
    assert "001_broken.py" in err
    assert "Application startup failed" in err
