"""Every ``--json`` document (docs/json.md): built by the library from a real run, printed as
is by the CLI. Each test checks ``schema_version``, that every key is snake_case, and that
``lamina <cmd> --json`` prints the library's document (parsed and compared)."""

from __future__ import annotations

import json
import re
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from lamina import documents
from lamina import health as health_check
from lamina.api import (
    ChecksumAccepted,
    CreateResult,
    Lamina,
    LintResult,
    RedoResult,
    RepairResult,
    RollbackResult,
    UpResult,
    ValidationResult,
)
from lamina.cli import cli
from lamina.config import Settings, load_settings
from lamina.models import LockOwner, StatusReport
from lamina.verify import VerifyResult, verify
from support.cli import cleared
from support.texts import USERS

SEED = """
    -- category: data
    -- migrate:up
    INSERT INTO users (id, email) VALUES (1, 'a@example.com');
    -- migrate:down
    DELETE FROM users WHERE id = 1;
"""
NO_DOWN = """
    -- migrate:up
    CREATE TABLE notes (id INTEGER);
"""
LOOSE = """
    -- transactional: false
    -- migrate:up
    CREATE TABLE half (id INTEGER);
    SELECT * FROM nowhere;
    -- migrate:down
    DROP TABLE half;
"""
SNAKE_CASE = re.compile(r"^[a-z][a-z0-9_]*$")
EMBEDDED_ENGINES = ("duckdb", "sqlite")


def url_for(engine: str, folder: Path) -> str:
    """A fresh database file of a file engine (test modules do not import conftest)."""
    return f"{engine}:///{folder / f'test.{engine}'}"


class Place:
    """One database and one migrations folder, reached through the CLI and the library."""

    def __init__(self, folder: Path, url: str, *, backups: bool = True) -> None:
        self.folder = folder
        self.url = url
        self.backups = backups
        (folder / "migrations").mkdir(parents=True, exist_ok=True)

    def write(self, files: dict[str, str]) -> None:
        for name, content in files.items():
            text = textwrap.dedent(content).lstrip("\n")
            (self.folder / "migrations" / name).write_text(text, encoding="utf-8")

    def settings(self) -> Settings:
        values: dict[str, object] = {
            "database_url": self.url,
            "migrations_dir": str(self.folder / "migrations"),
            "backup_dir": str(self.folder / "backups"),
            "backup_enabled": self.backups,
            "lock_timeout_s": 5,
        }
        return load_settings(values, environ={}, cwd=self.folder)

    def lamina(self) -> Lamina:
        return Lamina(self.settings())

    def cli(self, *args: str) -> Result:
        env: dict[str, str | None] = cleared()
        env.update(
            DATABASE_URL=self.url,
            LAMINA_MIGRATIONS_DIR=str(self.folder / "migrations"),
            LAMINA_BACKUP_DIR=str(self.folder / "backups"),
            BACKUP_ENABLED="true" if self.backups else "false",
        )
        return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


@pytest.fixture
def place(tmp_path: Path, db_url: str) -> Place:
    """A place on every engine (the ``engine`` fixture): for documents of reading commands."""
    return Place(tmp_path, db_url)


@pytest.fixture(params=EMBEDDED_ENGINES)
def twins(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[Place, Place]:
    """Two fresh places on one file engine: the CLI changes one, the library the other, in the
    same steps, so that a changing command's two documents can be compared."""
    engine = str(request.param)
    pair = []
    for side in ("cli", "lib"):
        folder = tmp_path / side
        folder.mkdir()
        pair.append(Place(folder, url_for(engine, folder), backups=False))
    return pair[0], pair[1]


def snake_case_keys(value: object, where: str = "$") -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            assert isinstance(key, str) and SNAKE_CASE.match(key), f"{where}: key {key!r}"
            snake_case_keys(item, f"{where}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            snake_case_keys(item, f"{where}[{index}]")


def printed_as(
    document: dict[str, object], printed: Result, *, ignore: tuple[str, ...] = ()
) -> dict[str, Any]:
    """Check a document against the convention and against what the CLI printed; return it.
    ``ignore`` names run-dependent values (``migrations[].up_ms``) left out of the comparison."""
    text = json.dumps(document)  # plain JSON values: no default= needed
    assert document["schema_version"] == 1
    assert next(iter(document)) == "schema_version"
    snake_case_keys(document)
    parsed: dict[str, Any] = json.loads(text)
    assert _without(json.loads(printed.stdout), ignore) == _without(parsed, ignore), printed.output
    return parsed


def _without(document: dict[str, Any], paths: tuple[str, ...]) -> dict[str, Any]:
    for path in paths:
        head, _, key = path.partition("[].")
        for item in document[head]:
            item[key] = None
    return document


# -- reading commands: one place, every engine -------------------------------------------------
def test_status_document(place: Place) -> None:
    place.write({"001_users.sql": USERS, "002_seed.sql": SEED})
    place.cli("up")
    place.write({"003_notes.sql": NO_DOWN})
    document = printed_as(place.lamina().status().to_document(), place.cli("status", "--json"))
    assert (document["applied"], document["pending"], document["total"]) == (2, 1, 3)
    assert document["last_migration"]["id"] == "002_seed"
    assert "irreversible" in [p["code"] for p in document["problems"]]


def test_validate_document(place: Place) -> None:
    place.write({"001_users.sql": USERS, "002_notes.sql": NO_DOWN})
    result = place.lamina().validate()
    document = printed_as(result.to_document(), place.cli("validate", "--json"))
    assert document["ok"] is True and document["warnings"]
    strict = printed_as(
        result.to_document(strict=True), place.cli("validate", "--strict", "--json")
    )
    assert strict["ok"] is False


def test_lint_and_rules_documents(place: Place) -> None:
    from lamina.risk import RiskLevel

    place.write({"001_users.sql": USERS, "002_seed.sql": SEED})
    result = place.lamina().lint()
    document = printed_as(result.to_document(), place.cli("lint", "--json"))
    assert document["level"] == "danger"
    assert document["migrations"][0]["down"]["findings"][0]["rule"]
    printed_as(result.to_document(RiskLevel.INFO), place.cli("lint", "--level", "info", "--json"))
    rules = printed_as(documents.rules_document(), place.cli("lint", "--rules", "--json"))
    assert "drop-table" in {r["id"] for r in rules["rules"]}


def test_history_document(place: Place) -> None:
    place.write({"001_users.sql": USERS, "002_seed.sql": SEED})
    place.cli("up")
    place.cli("rollback", "1", "--force", "--yes")
    events = place.lamina().history(50)
    document = printed_as(documents.history_document(events), place.cli("history", "--json"))
    assert document["events"][0]["action"] == "rollback"
    assert all(e["applied_by"] for e in document["events"])  # "user" before schema_version 1


def test_up_and_rollback_dry_run_documents(place: Place) -> None:
    place.write({"001_users.sql": USERS, "002_seed.sql": SEED})
    up = place.lamina().up(dry_run=True).to_document()
    document = printed_as(up, place.cli("up", "--dry-run", "--json"))
    assert [p["id"] for p in document["plan"]] == ["001_users", "002_seed"]
    assert document["plan"][0]["risk"] == "low"
    place.cli("up")
    rollback = place.lamina().rollback(0, dry_run=True).to_document()
    document = printed_as(rollback, place.cli("rollback", "0", "--dry-run", "--json"))
    assert document["target"] == 0 and document["plan"][0]["id"] == "002_seed"


def test_diff_document(place: Place, raw_db: Any) -> None:
    place.write({"001_users.sql": USERS})
    empty = printed_as(
        documents.drift_document(*place.lamina().schema_changes()), place.cli("diff", "--json")
    )
    assert empty["recorded"] is False
    place.cli("up")
    raw_db.execute("CREATE TABLE by_hand (id INTEGER)")
    changes = place.lamina().schema_changes()
    document = printed_as(documents.drift_document(*changes), place.cli("diff", "--json"))
    assert document["differences"][0]["kind"] == "added"
    assert document["left_by"] == []


def test_health_is_the_camel_case_exception(place: Place) -> None:
    place.write({"001_users.sql": USERS})
    place.cli("up")
    document = health_check.check(place.settings())
    assert "schema_version" not in document
    assert "currentVersion" in document["details"]  # the seed's document, key for key
    assert json.loads(place.cli("health", "--json").stdout) == json.loads(json.dumps(document))


def test_status_busy_document() -> None:
    holder = LockOwner(host="h", pid=7, started_at="2026-12-07T10:00:00Z", command="lamina up")
    document = documents.status_busy_document(holder, "duckdb:///app.duckdb")
    assert document["schema_version"] == 1
    snake_case_keys(json.loads(json.dumps(document)))
    assert document["lock"] == holder.to_record()
    problems: Any = document["problems"]
    assert [p["code"] for p in problems] == ["in-progress"]


# -- changing commands: the CLI on one place, the library on its twin -----------------------
def test_up_and_rollback_documents(twins: tuple[Place, Place]) -> None:
    by_cli, by_lib = twins
    for side in twins:
        side.write({"001_users.sql": USERS, "002_seed.sql": SEED})
    up = printed_as(by_lib.lamina().up().to_document(), by_cli.cli("up", "--json"))
    assert up["applied"] == ["001_users", "002_seed"] and up["plan"][1]["id"] == "002_seed"
    rollback = by_lib.lamina().rollback(0, force=True, yes=True).to_document()
    document = printed_as(rollback, by_cli.cli("rollback", "0", "--force", "--yes", "--json"))
    assert document["reverted"] == ["002_seed", "001_users"]
    assert document["forced"] and document["backups"] == []


def test_repair_documents(twins: tuple[Place, Place]) -> None:
    by_cli, by_lib = twins
    for side in twins:
        side.write({"001_users.sql": USERS, "002_loose.sql": LOOSE})
        assert side.cli("up").exit_code == 1  # 002_loose stops half-way: dirty
    result = by_lib.lamina().repair("002_loose", "rolled-back")
    printed = by_cli.cli("repair", "002_loose", "--mark-rolled-back", "--json")
    document = printed_as(result.to_document(), printed)
    assert (document["marked"], document["previous_status"]) == ("rolled-back", "failed")

    for side in twins:
        side.write({"002_loose.sql": NO_DOWN, "001_users.sql": USERS + "\n-- edited\n"})
    accepted = by_lib.lamina().accept_checksum(("001_users",))
    printed = by_cli.cli("repair", "001_users", "--accept-checksum", "--json")
    document = printed_as(documents.checksums_document(accepted), printed)
    [entry] = document["accepted"]
    assert entry["previous_checksum"] != entry["checksum"]
    assert isinstance(accepted[0], ChecksumAccepted)


def test_create_document(twins: tuple[Place, Place]) -> None:
    by_cli, by_lib = twins
    for side in twins:
        side.write({"001_users.sql": USERS})
    result = by_lib.lamina().create("add phone", sql=True)
    printed = by_cli.cli("create", "add phone", "--sql", "--json")
    expected = result.to_document()
    assert expected["id"] == "002_add_phone"
    cli_path = str(by_cli.folder / "migrations" / "002_add_phone.sql")
    printed_as({**expected, "path": cli_path}, printed)  # the same, in the CLI's folder


def test_backup_documents(tmp_path: Path) -> None:
    place = Place(tmp_path, url_for("sqlite", tmp_path))
    place.write({"001_users.sql": USERS})
    place.cli("up")
    taken = place.cli("backup", "create", "--json")
    records, broken = place.lamina().backups()
    [record] = records
    document = printed_as(documents.backup_document(record), taken)
    assert document["backup"]["current_version"] == 1  # the manifest's schema_version
    listed = printed_as(
        documents.backups_document(records, broken), place.cli("backup", "list", "--json")
    )
    assert [b["id"] for b in listed["backups"]] == [record.id]
    restored = place.cli("backup", "restore", record.id, "--yes", "--json")
    printed_as(documents.restore_document(record), restored)


def test_verify_document(twins: tuple[Place, Place]) -> None:
    by_cli, _ = twins
    by_cli.write({"001_users.sql": USERS, "002_notes.sql": NO_DOWN})
    timings = ("migrations[].up_ms", "migrations[].down_ms")
    printed = by_cli.cli("verify", "--json")
    document = printed_as(verify(by_cli.settings()).to_document(), printed, ignore=timings)
    assert [m["outcome"] for m in document["migrations"]] == ["ok", "irreversible"]


DOCUMENT_BUILDERS: tuple[Callable[..., object], ...] = (
    documents.backfill_document,
    documents.backup_document,
    documents.backups_document,
    documents.checksums_document,
    documents.drift_document,
    documents.error_document,
    documents.graph_document,
    documents.history_document,
    documents.interrupted_document,
    documents.restore_document,
    documents.rules_document,
    documents.status_busy_document,
)


RESULTS: tuple[type, ...] = (
    CreateResult,
    LintResult,
    RedoResult,
    RepairResult,
    RollbackResult,
    StatusReport,
    UpResult,
    ValidationResult,
    VerifyResult,
)


def test_every_document_is_in_docs_json_md() -> None:
    text = (Path(__file__).parents[2] / "docs" / "json.md").read_text(encoding="utf-8")
    for builder in DOCUMENT_BUILDERS:
        assert f"`documents.{builder.__name__}(" in text, builder.__name__
    for result in RESULTS:
        assert f"`{result.__name__}.to_document(" in text, result.__name__
