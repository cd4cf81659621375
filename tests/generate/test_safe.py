"""`lamina generate --safe`: the engine's safer forms, judged by lamina's own risk analysis
(lower than the plain form's) and proven on the servers: the files apply in order, build
SOURCE's schema, and each one's down undoes its up (`verify`), back to the schema before."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from lamina.engines import open_backend
from lamina.risk import RiskLevel
from lamina.schema import Column, ForeignKey, Index, Snapshot, Table, diff, snapshot
from lamina.schema.ddl.safe import safe_migration_sql
from lamina.urls import parse_url

Run = Callable[..., Result]

PG_BEFORE = """\
CREATE TABLE users (id integer PRIMARY KEY, email text, score integer, nick text);
CREATE INDEX users_nick_idx ON users (nick);
CREATE TABLE posts (id integer PRIMARY KEY, user_id integer, title text);
"""
PG_AFTER = """\
CREATE TABLE users (id integer PRIMARY KEY, email text NOT NULL, score integer CHECK (score > 0),
  nick text);
CREATE INDEX users_nick_idx ON users (lower(nick));
CREATE INDEX users_email_idx ON users (email);
CREATE TABLE posts (id integer PRIMARY KEY, user_id integer REFERENCES users (id), title text);
"""
MY_BEFORE = """\
CREATE TABLE users (id int PRIMARY KEY, email varchar(40), score int, note varchar(20),
  kind enum('a','b'));
CREATE TABLE posts (id int PRIMARY KEY, user_id int, title varchar(100));
"""
MY_AFTER = """\
CREATE TABLE users (id int PRIMARY KEY, email varchar(40), phone varchar(20), score int DEFAULT 3,
  note varchar(60), kind enum('a','b','c'));
CREATE INDEX users_email_idx ON users (email);
CREATE TABLE posts (id int PRIMARY KEY, user_id int, title varchar(100), body text);
"""
SEED = (
    "INSERT INTO users (id, email, score) VALUES (1, 'a@example.com', 5)",
    "INSERT INTO posts (id, user_id, title) VALUES (1, 1, 'first')",
)


def _project(tmp_path: Path, before: str, after: str) -> None:
    (tmp_path / "migrations").mkdir()
    up = textwrap.dedent(before)
    (tmp_path / "migrations" / "001_base.sql").write_text(
        f"-- migrate:up\n{up}\n-- migrate:down\nDROP TABLE posts;\nDROP TABLE users;\n",
        encoding="utf-8",
    )
    (tmp_path / "schema.sql").write_text(textwrap.dedent(after), encoding="utf-8")


def _levels(document: dict[str, Any], direction: str = "up") -> list[RiskLevel]:
    """Every finding's level in ``direction``, over all the generated files."""
    return sorted(
        RiskLevel[finding["level"].upper()]
        for migration in document["risk"]["migrations"]
        for finding in migration[direction]["findings"]
    )


def _rules(document: dict[str, Any]) -> set[str]:
    return {
        finding["rule"]
        for migration in document["risk"]["migrations"]
        for finding in migration["up"]["findings"]
    }


def _generated(run: Run, *args: str) -> dict[str, Any]:
    result = run("generate", *args, "--from", "schema.sql", "--json")
    assert result.exit_code == 0, result.output
    document: dict[str, Any] = json.loads(result.output)
    return document


def _target_schema(db_url: str) -> Snapshot:
    with open_backend(parse_url(db_url)) as backend:
        backend.connect(5)
        return snapshot(backend)


def _applies_and_round_trips(run: Run, db_url: str, count: int) -> None:
    """Up builds SOURCE; verify proves each file's down undoes its up; rolling all of them
    back gives the target the schema it had before."""
    before = _target_schema(db_url)
    up = run("up", "--yes", "--force")
    assert up.exit_code == 0, up.output
    checked = run("check-schema", "--from", "schema.sql")
    assert checked.exit_code == 0, checked.output
    verified = run("verify")
    assert verified.exit_code == 0, verified.output
    assert f"{count + 1} migration(s) verified" in verified.output
    back = run("rollback", "1", "--yes", "--force")
    assert back.exit_code == 0, back.output
    assert diff(before, _target_schema(db_url)) == []


@pytest.mark.server
@pytest.mark.parametrize("engine", ["postgresql"])
def test_postgres_safe_form_splits_and_lints_lower_than_the_plain_one(
    run: Run, tmp_path: Path, raw_db: Any, db_url: str
) -> None:
    _project(tmp_path, PG_BEFORE, PG_AFTER)
    assert run("up").exit_code == 0
    for statement in SEED:
        raw_db.execute(statement)
    plain = _generated(run, "plain", "--dry-run")
    safe = _generated(run, "evolve", "--safe")
    names = [Path(f["path"]).name for f in safe["files"]]
    assert names == [
        "002_evolve_drop_users_nick_idx.sql",
        "003_evolve.sql",
        "004_evolve_index_users_email_idx.sql",
        "005_evolve_index_users_nick_idx.sql",
        "006_evolve_validate.sql",
    ]
    texts = {Path(f["path"]).stem: f["text"] for f in safe["files"]}
    assert "-- transactional: false" in texts["004_evolve_index_users_email_idx"]
    assert "CREATE INDEX CONCURRENTLY users_email_idx" in texts["004_evolve_index_users_email_idx"]
    assert "DROP INDEX CONCURRENTLY users_nick_idx" in texts["002_evolve_drop_users_nick_idx"]
    assert "-- transactional: false" not in texts["003_evolve"]
    assert "FOREIGN KEY (user_id) REFERENCES users (id) NOT VALID" in texts["003_evolve"]
    assert "CHECK (email IS NOT NULL) NOT VALID" in texts["003_evolve"]
    assert "VALIDATE CONSTRAINT posts_user_id_fkey" in texts["006_evolve_validate"]
    assert "SET NOT NULL" in texts["006_evolve_validate"]
    # lamina's own judgement: the plain form warns; the safe one has no warning left
    assert {"create-index-not-concurrently", "add-foreign-key", "add-check"} <= _rules(plain)
    assert max(_levels(plain)) is RiskLevel.WARNING
    assert max(_levels(safe)) is RiskLevel.INFO
    assert not _rules(safe) & _rules(plain) - {"set-not-null"}
    _applies_and_round_trips(run, db_url, len(names))


@pytest.mark.server
@pytest.mark.parametrize("engine", ["mysql"])
def test_mysql_safe_form_asks_for_the_online_algorithm(
    run: Run, tmp_path: Path, raw_db: Any, db_url: str
) -> None:
    _project(tmp_path, MY_BEFORE, MY_AFTER)
    assert run("up").exit_code == 0
    for statement in SEED:
        raw_db.execute(statement)
    plain = _generated(run, "plain", "--dry-run")
    safe = _generated(run, "evolve", "--safe")
    (generated,) = safe["files"]
    up = generated["up"]
    assert "ALTER TABLE users ADD COLUMN phone varchar(20) AFTER email, ALGORITHM=INSTANT" in up
    assert "ALTER TABLE users MODIFY COLUMN note varchar(60), ALGORITHM=INSTANT" in up
    assert "CREATE INDEX users_email_idx ON users (email) ALGORITHM=INPLACE LOCK=NONE" in up
    # shrinking the VARCHAR back copies the table: no clause, and a note says so
    assert "ALTER TABLE users MODIFY COLUMN note varchar(20)" in generated["down"]
    assert any("users.note (down) needs ALGORITHM=COPY" in note for note in safe["notes"])
    # against the server, the safe form is judged no worse than the plain one ...
    assert _levels(safe) <= _levels(plain)
    assert _levels(safe, "down") <= _levels(plain, "down")
    _applies_and_round_trips(run, db_url, 1)
    # ... and offline, where lamina must assume the oldest server (which would copy or
    # rebuild the table), it is judged better: such a server refuses the clause instead
    offline = run("lint", "--dialect", "mysql", "--json", "002_evolve")
    plain_file = tmp_path / "migrations" / "003_plain.sql"
    plain_file.write_text(plain["text"].replace("002_plain", "003_plain"), encoding="utf-8")
    offline_plain = run("lint", "--dialect", "mysql", "--json", "003_plain")
    safe_levels = _levels({"risk": json.loads(offline.output)})
    plain_levels = _levels({"risk": json.loads(offline_plain.output)})
    assert len(safe_levels) < len(plain_levels)
    assert max(safe_levels, default=RiskLevel.INFO) <= max(plain_levels)


@pytest.mark.parametrize("engine", ["sqlite", "duckdb"])
def test_safe_changes_nothing_on_the_file_engines_and_says_so(
    run: Run, tmp_path: Path, engine: str
) -> None:
    _project(tmp_path, "CREATE TABLE users (id INTEGER PRIMARY KEY);\n", "")
    (tmp_path / "schema.sql").write_text(
        "CREATE TABLE users (id INTEGER PRIMARY KEY, email VARCHAR(20));\n"
        "CREATE INDEX users_email_idx ON users (email);\n",
        encoding="utf-8",
    )
    (tmp_path / "migrations" / "001_base.sql").write_text(
        "-- migrate:up\nCREATE TABLE users (id INTEGER PRIMARY KEY);\n"
        "-- migrate:down\nDROP TABLE users;\n",
        encoding="utf-8",
    )
    plain = _generated(run, "plain", "--dry-run")
    safe = _generated(run, "safe", "--dry-run", "--safe")
    assert safe["up"] == plain["up"]
    assert safe["down"] == plain["down"]
    assert len(safe["files"]) == 1
    title = {"sqlite": "SQLite", "duckdb": "DuckDB"}[engine]
    assert any(f"--safe: {title} has no safer form" in note for note in safe["notes"])
    shown = run("generate", "safe", "--from", "schema.sql", "--dry-run", "--safe")
    assert f"--safe: {title} has no safer form" in shown.output


def _users(*columns: Column, **fields: Any) -> Table:
    return Table("users", (Column("id", "integer", nullable=False), *columns), ("id",), **fields)


def test_a_unique_index_a_new_foreign_key_needs_stays_in_the_main_migration() -> None:
    """A key can only reference a unique index that exists: it is not deferred."""
    email = Column("email", "text")
    before = Snapshot("postgresql", (_users(email),))
    unique = Index("users_email_key", ("email",), unique=True)
    users = _users(email, indexes=(unique,))
    posts = Table(
        "posts",
        (Column("id", "integer", nullable=False), Column("email", "text")),
        ("id",),
        foreign_keys=(ForeignKey(("email",), "users", ("email",)),),
    )
    after = Snapshot("postgresql", (users, posts))
    safe = safe_migration_sql(before, after, dialect="postgres", server_version=(15,))
    (main,) = safe.parts
    assert main.transactional
    assert "CREATE UNIQUE INDEX users_email_key ON users (email)" in main.up
    assert "--safe: nothing in this change has a safer PostgreSQL form" in safe.notes


def test_mysql_without_a_known_server_writes_no_algorithm() -> None:
    before = Snapshot("mysql", (_users(),))
    after = Snapshot("mysql", (_users(Column("email", "varchar(20)")),))
    safe = safe_migration_sql(before, after, dialect="mysql")
    (part,) = safe.parts
    assert not any("ALGORITHM=" in sql for sql in part.up)
    assert any("the server's version is unknown" in note for note in safe.notes)
