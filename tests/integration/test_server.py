"""The health endpoints over real HTTP: ``lamina.server`` in uvicorn, and ``lamina serve``.

Each app runs in a real uvicorn server on 127.0.0.1 (a free port the OS picks) in a thread of
the test process, and is asked with httpx; ``lamina serve`` runs as a process of its own. Every
database is real, on every engine.
"""

from __future__ import annotations

import json
import re
import signal
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
from lamina import Lamina
from lamina.config import load_settings
from lamina.errors import ConfigError, ExecutionError
from lamina.server import create_app, health_routes
from support.processes import child_env
from support.serving import first_answer, free_port
from support.texts import LOOSE, creates_table

SRC = Path(lamina.__file__).parent.parent
EXAMPLES = SRC.parent / "examples" / "migrations"

TOKEN = "t0ken-for-the-details"
PASSWORD = "Pw-Never-Shown-42"
ISO_SECONDS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")

PEOPLE = creates_table("people")
PETS = creates_table("pets")


@contextmanager
def serving(app: Any) -> Iterator[httpx.Client]:
    """``app`` in a real uvicorn server on 127.0.0.1, and an HTTP client for it."""
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while not server.started:
            assert thread.is_alive(), "uvicorn stopped before it listened"
            assert time.monotonic() < deadline, "uvicorn did not start in 30 s"
            time.sleep(0.01)
        port = server.servers[0].sockets[0].getsockname()[1]
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            yield client
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def with_password(url: str, password: str) -> str:
    """``scheme://user@host`` → ``scheme://user:password@host``."""
    scheme, _, rest = url.partition("://")
    user, _, host = rest.partition("@")
    assert user and ":" not in user, url
    return f"{scheme}://{user}:{password}@{host}"


# -- the basic document on every engine ------------------------------------------------------


def test_all_applied_is_healthy_200_with_the_exact_basic_document(
    engine, make_migrations, settings_for
) -> None:
    make_migrations({"001_people.sql": PEOPLE, "002_pets.sql": PETS})
    Lamina(settings_for()).up()
    with serving(create_app(settings_for())) as client:
        response = client.get("/api/health")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.headers["cache-control"] == "no-store"
    document = response.json()
    applied_at = document["details"]["lastMigration"].pop("applied_at")
    assert ISO_SECONDS.match(applied_at), applied_at
    assert document == {
        "component": "Database Migrations",
        "status": "healthy",
        "message": "All migrations applied successfully",
        "details": {
            "currentVersion": 2,
            "totalMigrations": 2,
            "pendingMigrations": 0,
            "lastMigration": {"id": "002_pets"},
        },
    }


def test_pending_is_degraded_200_and_every_request_checks_again(
    engine, make_migrations, settings_for
) -> None:
    make_migrations({"001_people.sql": PEOPLE, "002_pets.sql": PETS})
    Lamina(settings_for()).up(to_version=1)
    with serving(create_app(settings_for())) as client:
        pending = client.get("/api/health")
        Lamina(settings_for()).up()
        applied = client.get("/api/health")
    assert pending.status_code == 200
    assert pending.json()["status"] == "degraded"
    assert pending.json()["message"] == "1 pending migration(s)"
    assert pending.json()["details"]["pendingMigrations"] == 1
    assert pending.json()["details"]["currentVersion"] == 1
    assert applied.status_code == 200
    assert applied.json()["status"] == "healthy"


def test_a_migration_that_failed_half_way_is_unhealthy_503(
    engine, make_migrations, settings_for
) -> None:
    make_migrations({"001_loose.sql": LOOSE, "002_pets.sql": PETS})
    with pytest.raises(ExecutionError):
        Lamina(settings_for()).up()
    with serving(create_app(settings_for())) as client:
        basic = client.get("/api/health")
        detailed = client.get("/api/health/detailed")
    assert basic.status_code == 503
    assert basic.json()["status"] == "unhealthy"
    assert "001_loose failed half-way (dirty)" in basic.json()["message"]
    assert detailed.status_code == 503
    states = {m["id"]: m["status"] for m in detailed.json()["details"]["migrations"]}
    assert states == {"001_loose": "failed", "002_pets": "pending"}


def test_an_applied_file_modified_since_is_unhealthy_503(
    engine, make_migrations, settings_for
) -> None:
    folder = make_migrations({"001_people.sql": PEOPLE})
    Lamina(settings_for()).up()
    (folder / "001_people.sql").write_text(
        "-- migrate:up\nCREATE TABLE people (id BIGINT PRIMARY KEY);\n", encoding="utf-8"
    )
    with serving(create_app(settings_for())) as client:
        response = client.get("/api/health")
    assert response.status_code == 503
    assert "modified since they ran: 001_people" in response.json()["message"]


@pytest.mark.parametrize(
    "url",
    [
        f"postgresql://postgres:{PASSWORD}@127.0.0.1:1/x",
        f"mysql://root:{PASSWORD}@127.0.0.1:1/x",
    ],
    ids=["postgresql", "mysql"],
)
def test_an_unreachable_database_is_503_naming_the_host_not_the_password(
    url, make_migrations, tmp_path
) -> None:
    folder = make_migrations({"001_people.sql": PEOPLE})
    settings = load_settings(
        {"database_url": url, "migrations_dir": str(folder)}, environ={}, cwd=tmp_path
    )
    with serving(create_app(settings)) as client:
        responses = [client.get("/api/health"), client.get("/api/health/detailed")]
    for response in responses:
        assert response.status_code == 503
        assert response.json()["status"] == "unhealthy"
        assert "127.0.0.1:1" in response.json()["message"]
        assert PASSWORD not in response.text
        assert url not in response.text


def test_a_migrations_folder_gone_at_run_time_is_unhealthy_503_not_a_crash(
    make_migrations, tmp_path
) -> None:
    folder = make_migrations({"001_people.sql": PEOPLE})
    settings = load_settings(
        {"database_url": f"duckdb:///{tmp_path / 'app.duckdb'}", "migrations_dir": str(folder)},
        environ={},
        cwd=tmp_path,
    )
    with serving(create_app(settings)) as client:
        assert client.get("/api/health").status_code == 200
        (folder / "001_people.sql").unlink()
        folder.rmdir()
        responses = [client.get("/api/health"), client.get("/api/health/detailed")]
    for response in responses:
        assert response.status_code == 503
        assert response.json()["status"] == "unhealthy"
        assert response.json()["message"].startswith("Migrations cannot be checked: ")
        assert str(folder) in response.json()["message"]


# -- the detailed document and its token -----------------------------------------------------


def test_detailed_without_a_configured_token_is_open(engine, make_migrations, settings_for) -> None:
    make_migrations({"001_people.sql": PEOPLE, "002_pets.sql": PETS})
    Lamina(settings_for()).up(to_version=1)
    with serving(create_app(settings_for())) as client:
        response = client.get("/api/health/detailed")
    assert response.status_code == 200
    document = response.json()
    assert document["status"] == "degraded"
    assert [(m["id"], m["status"]) for m in document["details"]["migrations"]] == [
        ("001_people", "applied"),
        ("002_pets", "pending"),
    ]
    assert document["details"]["engine"] == engine
    assert document["checkDurationMs"] >= 0


def test_a_configured_token_guards_the_details_only(engine, make_migrations, settings_for) -> None:
    make_migrations({"001_people.sql": PEOPLE})
    Lamina(settings_for()).up()
    with serving(create_app(settings_for(health_token=TOKEN))) as client:
        basic = client.get("/api/health")
        refused = {
            "no header": client.get("/api/health/detailed"),
            "wrong token": client.get("/api/health/detailed", headers=bearer("guess")),
            "a prefix of it": client.get("/api/health/detailed", headers=bearer(TOKEN[:-1])),
            "not bearer": client.get(
                "/api/health/detailed", headers={"Authorization": f"Basic {TOKEN}"}
            ),
            "bare token": client.get("/api/health/detailed", headers={"Authorization": TOKEN}),
        }
        granted = client.get("/api/health/detailed", headers=bearer(TOKEN))
        lowercase = client.get("/api/health/detailed", headers={"Authorization": f"bearer {TOKEN}"})
    assert basic.status_code == 200
    assert basic.json()["status"] == "healthy"
    for case, response in refused.items():
        assert response.status_code == 401, case
        assert response.json() == {"error": "unauthorized"}, case
        assert response.headers["www-authenticate"] == "Bearer", case
        for secret in ("details", "migrations", "healthy", "001_people", TOKEN):
            assert secret not in response.text, (case, secret)
    assert granted.status_code == 200
    assert granted.json()["details"]["migrations"][0]["id"] == "001_people"
    assert lowercase.status_code == 200


def test_the_token_argument_overrides_the_settings(engine, make_migrations, settings_for) -> None:
    make_migrations({"001_people.sql": PEOPLE})
    app = create_app(settings_for(health_token="from-settings"), token=TOKEN)
    with serving(app) as client:
        granted = client.get("/api/health/detailed", headers=bearer(TOKEN))
        refused = client.get("/api/health/detailed", headers=bearer("from-settings"))
    assert granted.status_code == 200
    assert refused.status_code == 401


def test_the_token_comes_from_LAMINA_HEALTH_TOKEN(make_migrations, tmp_path) -> None:
    folder = make_migrations({"001_people.sql": PEOPLE})
    settings = load_settings(
        {"database_url": f"duckdb:///{tmp_path / 'app.duckdb'}", "migrations_dir": str(folder)},
        environ={"LAMINA_HEALTH_TOKEN": TOKEN},
        cwd=tmp_path,
    )
    with serving(create_app(settings)) as client:
        assert client.get("/api/health/detailed").status_code == 401
        assert client.get("/api/health/detailed", headers=bearer(TOKEN)).status_code == 200


# -- secrets ---------------------------------------------------------------------------------


def test_no_body_ever_holds_the_password_or_the_url(
    postgresql_url, make_migrations, tmp_path
) -> None:
    # Trust authentication ignores the password, so the URL works and still carries a secret.
    url = with_password(postgresql_url, PASSWORD)
    folder = make_migrations({"001_people.sql": PEOPLE, "002_pets.sql": PETS})
    settings = load_settings(
        {"database_url": url, "migrations_dir": str(folder), "health_token": TOKEN},
        environ={},
        cwd=tmp_path,
    )
    bodies: list[str] = []
    with serving(create_app(settings)) as client:

        def ask() -> None:
            for response in (
                client.get("/api/health"),
                client.get("/api/health/detailed"),
                client.get("/api/health/detailed", headers=bearer("wrong")),
                client.get("/api/health/detailed", headers=bearer(TOKEN)),
            ):
                bodies.append(response.text + json.dumps(dict(response.headers)))

        ask()  # nothing applied yet: degraded
        Lamina(settings).up(to_version=1)
        ask()
        make_migrations({"003_loose.sql": LOOSE})
        with pytest.raises(ExecutionError):
            Lamina(settings).up()
        ask()  # dirty: the failure detail is in the document
    assert len(bodies) == 12
    assert any("003_loose" in body for body in bodies)  # the detailed documents were served
    for body in bodies:
        assert PASSWORD not in body
        assert url not in body
        assert postgresql_url not in body


def test_a_refused_login_names_no_password(mysql_url, make_migrations, tmp_path) -> None:
    # The MariaDB test user has no password, so this one is refused: the error must not echo it.
    url = with_password(mysql_url, PASSWORD)
    folder = make_migrations({"001_people.sql": PEOPLE})
    settings = load_settings(
        {"database_url": url, "migrations_dir": str(folder)}, environ={}, cwd=tmp_path
    )
    with serving(create_app(settings)) as client:
        responses = [client.get("/api/health"), client.get("/api/health/detailed")]
    for response in responses:
        assert response.status_code == 503
        assert response.json()["status"] == "unhealthy"
        assert PASSWORD not in response.text
        assert url not in response.text


# -- building and placing the routes ---------------------------------------------------------


def test_unusable_settings_fail_when_the_app_is_built(tmp_path) -> None:
    missing = tmp_path / "no-such-folder" / "app.duckdb"
    with pytest.raises(ConfigError, match="does not exist"):
        create_app({"database_url": f"duckdb:///{missing}"})
    with pytest.raises(ConfigError, match="must not be empty"):
        create_app({"database_url": f"duckdb:///{tmp_path / 'a.duckdb'}"}, token=" ")


def test_mounting_and_prefixes_and_fastapi(make_migrations, tmp_path) -> None:
    folder = make_migrations({"001_people.sql": PEOPLE})
    settings = load_settings(
        {"database_url": f"duckdb:///{tmp_path / 'app.duckdb'}", "migrations_dir": str(folder)},
        environ={},
        cwd=tmp_path,
    )
    mounted = Starlette(routes=[Mount("/lamina", create_app(settings))])
    prefixed = Starlette(routes=health_routes(settings, prefix="/ops/health/"))
    from fastapi import FastAPI

    service = FastAPI()
    service.router.routes.extend(health_routes(settings, token=TOKEN))
    with serving(mounted) as client:
        assert client.get("/lamina/api/health").json()["status"] == "degraded"
        assert client.get("/lamina/api/health/detailed").status_code == 200
        assert client.get("/api/health").status_code == 404
    with serving(prefixed) as client:
        assert client.get("/ops/health").json()["details"]["pendingMigrations"] == 1
        assert "migrations" in client.get("/ops/health/detailed").json()["details"]
    with serving(service) as client:
        assert client.get("/api/health").status_code == 200
        assert client.get("/api/health/detailed").status_code == 401
        assert client.get("/api/health/detailed", headers=bearer(TOKEN)).status_code == 200
        assert client.post("/api/health").status_code == 405


# -- lamina serve ----------------------------------------------------------------------------


lamina_env = child_env


@contextmanager
def started(args: list[str], env: dict[str, str], cwd: Path) -> Iterator[subprocess.Popen[str]]:
    process = subprocess.Popen(
        [sys.executable, *args],
        env=env,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.communicate(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.communicate()


@pytest.mark.slow
@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["sigint", "sigterm"])
def test_lamina_serve_is_a_health_sidecar(tmp_path, stop) -> None:
    port = free_port()
    env = lamina_env(
        DATABASE_URL=f"duckdb:///{tmp_path / 'app.duckdb'}", LAMINA_MIGRATIONS_DIR=str(EXAMPLES)
    )
    args = ["-m", "lamina", "serve", "--port", str(port)]
    with started(args, env, tmp_path) as process:
        response = first_answer(process, f"http://127.0.0.1:{port}/api/health")
        detailed = httpx.get(f"http://127.0.0.1:{port}/api/health/detailed", timeout=30)
        process.send_signal(stop)
        out, err = process.communicate(timeout=15)
    assert response.status_code == 200
    assert response.json()["status"] == "degraded"
    assert response.json()["details"]["pendingMigrations"] == 5
    assert len(detailed.json()["details"]["migrations"]) == 5
    # Ctrl+C is the normal way to stop it: no "interrupted" report, only the line saying where
    # it listened. On SIGTERM uvicorn shuts down gracefully, then re-raises the signal, so the
    # parent sees how the process ended.
    assert out.startswith(f"lamina serve: listening on http://127.0.0.1:{port} ")
    assert out.count("\n") == 1 and err == ""
    assert process.returncode == (0 if stop == signal.SIGINT else -signal.SIGTERM)


def test_lamina_serve_without_the_server_extra_says_what_to_install(tmp_path) -> None:
    # None in sys.modules makes `import starlette` / `import uvicorn` fail as if not installed.
    code = (
        "import sys\n"
        "sys.modules.update(starlette=None, uvicorn=None)\n"
        "from lamina.cli import main\n"
        "sys.argv = ['lamina', 'serve']\n"
        "main()\n"
    )
    env = lamina_env(DATABASE_URL=f"duckdb:///{tmp_path / 'app.duckdb'}")
    done = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1, done.stderr
    assert done.stderr.splitlines() == [
        "error: the health server needs the server extra (uvicorn is not installed)",
        "  hint: pip install 'lamina[server]'",
    ]


def test_help_and_the_core_do_not_import_the_server_stack() -> None:
    code = (
        "import sys\n"
        "import lamina, lamina.health, lamina.integration, lamina.server\n"
        "from lamina.cli import cli\n"
        "for args in (['--help'], ['serve', '--help']):\n"
        "    try:\n        cli.main(args, prog_name='lamina')\n"
        "    except SystemExit:\n        pass\n"
        "print('LOADED=' + ','.join(m for m in ('starlette', 'uvicorn', 'fastapi', 'httpx')"
        " if m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        env=lamina_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert "LOADED=\n" in done.stdout, done.stdout
    assert "--port" in done.stdout
