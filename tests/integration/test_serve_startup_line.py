"""``lamina serve`` says, in one line once it listens, where, for which engine and database
(without the password), and whether the detailed endpoint needs a token."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from support.processes import child_env
from support.serving import free_port

pytestmark = pytest.mark.slow

PASSWORD = "Pw-Never-Shown-42"


def serve(env: dict[str, str], cwd: Path, port: int) -> tuple[str, str, str, httpx.Response]:
    """Start ``lamina serve``, read its first line, ask it at once, stop it with Ctrl-C:
    the line, the rest of stdout, stderr and the answer."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "lamina", "serve", "--port", str(port)],
        env=env, cwd=cwd, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()  # printed once the port is bound: no waiting after it
        answer = httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=30)
        proc.send_signal(signal.SIGINT)
        rest, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    return line, rest, err, answer


def test_the_line_names_the_address_the_database_and_an_open_detailed_endpoint(tmp_path) -> None:
    (tmp_path / "migrations").mkdir()
    database = tmp_path / "app.duckdb"
    port = free_port()
    env = child_env(DATABASE_URL=f"duckdb:///{database}", LAMINA_MIGRATIONS_DIR="migrations")
    line, rest, err, answer = serve(env, tmp_path, port)
    assert line == (
        f"lamina serve: listening on http://127.0.0.1:{port} (GET /api/health, "
        f"/api/health/detailed) for DuckDB duckdb:///{database}; the detailed endpoint is open "
        "(set LAMINA_HEALTH_TOKEN to require a bearer token)\n"
    )
    assert answer.status_code == 200
    assert (rest, err) == ("", "")  # one line, then only warnings and errors


def test_the_line_never_shows_the_password_and_says_a_token_is_needed(tmp_path) -> None:
    (tmp_path / "migrations").mkdir()
    port, db_port = free_port(), free_port()  # nothing listens on db_port: health says so
    url = f"postgresql://app:{PASSWORD}@127.0.0.1:{db_port}/app?schema=app"
    env = child_env(
        DATABASE_URL=url, LAMINA_MIGRATIONS_DIR="migrations", LAMINA_HEALTH_TOKEN="t0ken"
    )
    line, rest, err, answer = serve(env, tmp_path, port)
    assert f"for PostgreSQL postgresql://app:***@127.0.0.1:{db_port}/app?schema=app;" in line
    assert line.endswith("the detailed endpoint needs a bearer token (LAMINA_HEALTH_TOKEN)\n")
    assert answer.status_code == 503  # the server answers; the database does not
    assert PASSWORD not in line + rest + err + answer.text


def test_a_server_whose_port_is_taken_prints_no_line(tmp_path) -> None:
    (tmp_path / "migrations").mkdir()
    env = child_env(
        DATABASE_URL=f"duckdb:///{tmp_path / 'app.duckdb'}", LAMINA_MIGRATIONS_DIR="migrations"
    )
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        done = subprocess.run(
            [sys.executable, "-m", "lamina", "serve", "--port", str(taken.getsockname()[1])],
            env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
    assert (done.returncode, done.stdout) == (3, "")
    assert "address already in use" in done.stderr


def test_a_server_whose_startup_migrations_fail_prints_no_line(tmp_path) -> None:
    (tmp_path / "migrations").mkdir()
    (tmp_path / "migrations" / "001_broken.sql").write_text(
        "-- migrate:up\nINSERT INTO nowhere (id) VALUES (1);\n", encoding="utf-8"
    )
    env = child_env(
        DATABASE_URL=f"duckdb:///{tmp_path / 'app.duckdb'}",
        LAMINA_MIGRATIONS_DIR="migrations",
        AUTO_MIGRATE="true",
    )
    done = subprocess.run(
        [sys.executable, "-m", "lamina", "serve", "--port", str(free_port())],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert (done.returncode, done.stdout) == (3, "")
    assert "001_broken" in done.stderr
