"""`generate` and `check-schema` run the migrations on a scratch database of the target's
server (or machine): a statement that reaches outside it is refused before anything runs, as
`verify` refuses it (exit 3, naming the migration and the statement)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

Run = Callable[..., Result]


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def _refused(result: Result, *names: str) -> None:
    assert result.exit_code == 3, result.output
    assert "generate refused" in result.output
    assert "verify" not in result.output.split("generate refused", 1)[0]
    for name in names:
        assert name in result.output


def _role_exists(raw_db: Any, role: str) -> bool:
    return bool(raw_db.query(f"SELECT 1 FROM pg_roles WHERE rolname = '{role}'"))


@pytest.mark.server
@pytest.mark.parametrize("engine", ["postgresql"])
def test_a_migration_creating_a_role_is_refused_before_anything_runs(
    run: Run, tmp_path: Path, raw_db: Any
) -> None:
    role = f"lamina_guard_{uuid.uuid4().hex[:8]}"
    _write(
        tmp_path / "migrations" / "001_users.sql",
        "-- migrate:up\nCREATE TABLE users (id INTEGER PRIMARY KEY);\n"
        "-- migrate:down\nDROP TABLE users;\n",
    )
    _write(
        tmp_path / "migrations" / "002_role.sql",
        f"-- migrate:up\nCREATE ROLE {role};\n-- migrate:down\nDROP ROLE {role};\n",
    )
    _write(tmp_path / "schema.sql", "CREATE TABLE users (id INTEGER PRIMARY KEY);\n")
    try:
        generated = run("generate", "x", "--from", "schema.sql")
        _refused(generated, "002_role (up)", f"CREATE ROLE {role}")
        checked = run("check-schema", "--from", "schema.sql", "--json")
        assert checked.exit_code == 3
        document = json.loads(checked.stdout)
        assert document["kind"] == "VerifyRefusedError"
        assert [s[0] for s in document["statements"]] == ["002_role (up)", "002_role (down)"]
        assert not _role_exists(raw_db, role)  # nothing ran on the server
        assert sorted(p.name for p in (tmp_path / "migrations").iterdir()) == [
            "001_users.sql",
            "002_role.sql",
        ]
    finally:
        raw_db.execute(f"DROP ROLE IF EXISTS {role}")


@pytest.mark.parametrize("engine", ["sqlite", "duckdb"])
def test_a_migration_attaching_a_file_is_refused(run: Run, tmp_path: Path, engine: str) -> None:
    outside = tmp_path / "outside" / "other.db"
    outside.parent.mkdir()
    _write(
        tmp_path / "migrations" / "001_attach.sql",
        f"-- migrate:up\nATTACH DATABASE '{outside}' AS other;\n"
        "CREATE TABLE users (id INTEGER PRIMARY KEY);\n-- migrate:down\nDROP TABLE users;\n",
    )
    _write(tmp_path / "schema.sql", "CREATE TABLE users (id INTEGER PRIMARY KEY);\n")
    _refused(run("generate", "x", "--from", "schema.sql"), "001_attach (up)", "ATTACH")
    _refused(run("check-schema", "--from", "schema.sql"), "001_attach (up)")
    assert not outside.exists()


@pytest.mark.parametrize("engine", ["sqlite"])
def test_a_schema_file_reaching_out_is_refused_naming_file_and_line(
    run: Run, tmp_path: Path
) -> None:
    outside = tmp_path / "outside.db"
    _write(
        tmp_path / "schema.sql",
        f"CREATE TABLE users (id INTEGER PRIMARY KEY);\n\nATTACH DATABASE '{outside}' AS o;\n",
    )
    result = run("generate", "x", "--from", "schema.sql", "--dry-run")
    _refused(result, "schema.sql, line 3", "ATTACH")
    assert not outside.exists()


@pytest.mark.parametrize("engine", ["sqlite"])
def test_verify_still_refuses_with_its_own_message(run: Run, tmp_path: Path) -> None:
    """The guard moved to lamina.scratch_guard; verify's refusal reads as before."""
    outside = tmp_path / "outside.db"
    _write(
        tmp_path / "migrations" / "001_attach.sql",
        f"-- migrate:up\nATTACH DATABASE '{outside}' AS other;\n-- migrate:down\n"
        "DETACH DATABASE other;\n",
    )
    result = run("verify")
    assert result.exit_code == 3
    assert "verify refused" in result.output
    assert "001_attach (up)" in result.output
    assert not outside.exists()
