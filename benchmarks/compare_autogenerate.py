"""lamina generate against alembic's autogenerate, on the same SQLAlchemy models.

A realistic model set (8 tables: foreign keys, a composite primary key, indexes, uniques,
checks, server defaults, an enum) goes through a series of changes. For each change, on each
engine, both tools start from a database built by the models before the change (with a few
rows in it) and are asked for the migration to the models after it:

- alembic: ``compare_metadata`` / ``produce_migrations`` with a default ``env.py``
  configuration (what ``alembic revision --autogenerate`` runs), then the upgrade operations
  are applied with alembic's ``Operations``, as ``alembic upgrade`` would run the revision;
- lamina: ``lamina generate NAME --from models:metadata`` (no ``--rename``: neither tool is
  told about renames), then ``lamina up``.

The judge is the same for both: lamina's schema snapshot of the migrated database compared with
the snapshot of a fresh database that ``metadata.create_all`` built from the new models (any
difference left is printed), and for the renames whether the row's value survived.

Needs alembic, which lamina does not depend on: run it from a throw-away virtualenv that sees
lamina's, for example::

    python -m venv /tmp/alembic-venv
    echo "import site; site.addsitedir('$PWD/.venv/lib/python3.11/site-packages')" \\
        > /tmp/alembic-venv/lib/python3.11/site-packages/lamina.pth
    /tmp/alembic-venv/bin/pip install alembic
    /tmp/alembic-venv/bin/python benchmarks/compare_autogenerate.py [--engine postgresql]

PostgreSQL: ``LAMINA_COMPARE_PG`` (default ``postgresql://postgres@127.0.0.1:5432/postgres``)
names a server where databases may be created; they are dropped afterwards.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
import types
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import sqlalchemy as sa

CHANGES: list[tuple[str, str]] = [
    ("add_column", "add a nullable column (users.phone)"),
    ("drop_column", "drop a column (tasks.due)"),
    ("rename_column", "rename a column (users.name -> full_name)"),
    ("type_change", "widen a type (tasks.title VARCHAR(100) -> 200)"),
    ("nullability", "make a column NOT NULL (projects.title)"),
    ("server_default", "change a server default (tasks.done false -> true)"),
    ("add_check", "add a CHECK constraint (tags.name)"),
    ("add_index", "add an index (comments.task_id)"),
    ("add_unique", "add a UNIQUE constraint (teams.name)"),
    ("add_fk", "add a column with a foreign key (comments.author_id)"),
    ("enum_value", "add an enum value (users.status 'banned')"),
    ("rename_table", "rename a table (tags -> labels)"),
    ("add_table", "add a table (audit_log)"),
    ("drop_table", "drop a table (comments)"),
]


def metadata(applied: set[str], engine: str) -> sa.MetaData:
    """The models with the changes in ``applied`` made."""
    md = sa.MetaData()
    c = sa.Column
    statuses = ["active", "disabled"] + (["banned"] if "enum_value" in applied else [])
    false, true = (sa.text("0"), sa.text("1")) if engine == "sqlite" else (sa.false(), sa.true())
    now = sa.text("CURRENT_TIMESTAMP")
    sa.Table(
        "users", md,
        c("id", sa.Integer, primary_key=True),
        c("email", sa.String(200), nullable=False, unique=True),
        c("full_name" if "rename_column" in applied else "name", sa.String(100)),
        c("status", sa.Enum(*statuses, name="user_status"), nullable=False,
          server_default="active"),
        c("created_at", sa.DateTime, server_default=now),
        *([c("phone", sa.String(30))] if "add_column" in applied else []),
    )  # fmt: skip
    sa.Table(
        "teams", md,
        c("id", sa.Integer, primary_key=True),
        c("name", sa.String(100), nullable=False),
        *([sa.UniqueConstraint("name", name="teams_name_key")] if "add_unique" in applied else []),
    )  # fmt: skip
    sa.Table(
        "memberships", md,
        c("user_id", sa.ForeignKey("users.id"), primary_key=True),
        c("team_id", sa.ForeignKey("teams.id"), primary_key=True),
        c("role", sa.String(20), nullable=False, server_default="member"),
    )  # fmt: skip
    sa.Table(
        "projects", md,
        c("id", sa.Integer, primary_key=True),
        c("team_id", sa.ForeignKey("teams.id"), nullable=False),
        c("title", sa.String(200), nullable="nullability" not in applied),
        c("budget", sa.Numeric(12, 2)),
        sa.CheckConstraint("budget >= 0", name="projects_budget_check"),
    )  # fmt: skip
    sa.Table(
        "tasks", md,
        c("id", sa.Integer, primary_key=True),
        c("project_id", sa.ForeignKey("projects.id"), nullable=False),
        c("title", sa.String(200 if "type_change" in applied else 100), nullable=False),
        c("done", sa.Boolean, nullable=False,
          server_default=true if "server_default" in applied else false),
        *([] if "drop_column" in applied else [c("due", sa.Date)]),
        sa.Index("tasks_project_id_idx", "project_id"),
    )  # fmt: skip
    if "drop_table" not in applied:
        sa.Table(
            "comments", md,
            c("id", sa.Integer, primary_key=True),
            c("task_id", sa.ForeignKey("tasks.id"), nullable=False),
            c("body", sa.Text, nullable=False),
            *([c("author_id", sa.ForeignKey("users.id"))] if "add_fk" in applied else []),
            *([sa.Index("comments_task_id_idx", "task_id")] if "add_index" in applied else []),
        )  # fmt: skip
    tags = "labels" if "rename_table" in applied else "tags"
    sa.Table(
        tags, md,
        c("id", sa.Integer, primary_key=True),
        c("name", sa.String(50), nullable=False, unique=True),
        *([sa.CheckConstraint("length(name) > 0", name=f"{tags}_name_check")]
          if "add_check" in applied else []),
    )  # fmt: skip
    if "add_table" in applied:
        sa.Table(
            "audit_log", md,
            c("id", sa.Integer, primary_key=True),
            c("user_id", sa.ForeignKey("users.id")),
            c("action", sa.String(50), nullable=False),
            c("at", sa.DateTime, server_default=now),
        )  # fmt: skip
    return md


def seed(applied: set[str], engine: str) -> list[str]:
    """A few rows in the models before the change (their names as they are then)."""
    name = "full_name" if "rename_column" in applied else "name"
    tags = "labels" if "rename_table" in applied else "tags"
    false = "0" if engine == "sqlite" else "false"
    rows = [
        f"INSERT INTO users (id, email, {name}, status) VALUES (1, 'ada@example.com', 'Ada', "
        "'active')",
        "INSERT INTO teams (id, name) VALUES (1, 'core')",
        "INSERT INTO projects (id, team_id, title, budget) VALUES (1, 1, 'lamina', 10)",
        f"INSERT INTO tasks (id, project_id, title, done) VALUES (1, 1, 'ship', {false})",
        f"INSERT INTO {tags} (id, name) VALUES (1, 'urgent')",
    ]
    if "drop_table" not in applied:
        rows.append("INSERT INTO comments (id, task_id, body) VALUES (1, 1, 'soon')")
    return rows


#: What must survive a rename: (change, query, expected value).
KEPT = {
    "rename_column": ("SELECT full_name FROM users WHERE id = 1", "Ada"),
    "rename_table": ("SELECT name FROM labels WHERE id = 1", "urgent"),
}
#: The same renames told to lamina (``--rename``); alembic has no such option.
RENAMES = {
    "rename_column": {"users.name": "users.full_name"},
    "rename_table": {"tags": "labels"},
}


@dataclass
class Outcome:
    found: str  # what the tool saw or wrote
    result: str  # the migrated schema against the models': exact, or what differs / fails


# -- places -----------------------------------------------------------------------------
@contextmanager
def database(engine: str, folder: Path) -> Iterator[str]:
    """A fresh, empty database: lamina's URL for it."""
    if engine == "sqlite":
        yield f"sqlite:///{folder / f'{uuid.uuid4().hex[:8]}.sqlite3'}"
        return
    server = os.environ.get("LAMINA_COMPARE_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
    name = f"cmp_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(_alchemy(server), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield server.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()


def _alchemy(url: str) -> str:
    return url.replace("postgresql://", "postgresql+psycopg://", 1)


def build(url: str, md: sa.MetaData, rows: list[str]) -> None:
    engine = sa.create_engine(_alchemy(url))
    md.create_all(engine)
    insert(url, rows)
    engine.dispose()


def insert(url: str, rows: list[str]) -> None:
    engine = sa.create_engine(_alchemy(url))
    with engine.begin() as conn:
        for sql in rows:
            conn.execute(sa.text(sql))
    engine.dispose()


def schema_of(url: str) -> Any:
    from lamina.engines import open_backend
    from lamina.schema import snapshot
    from lamina.urls import parse_url

    with open_backend(parse_url(url)) as backend:
        backend.connect(5)
        return snapshot(backend)


def judged(url: str, expected: Any, change: str) -> str:
    """The migrated database against the models' own: "exact", or what differs."""
    from lamina.schema import diff

    found = schema_of(url)
    found = replace(found, tables=tuple(t for t in found.tables if t.name != "alembic_version"))
    differences = [str(d) for d in diff(expected, found) if not d.note]
    text = "exact" if not differences else "; ".join(differences)
    if change in KEPT:
        query, value = KEPT[change]
        engine = sa.create_engine(_alchemy(url))
        try:
            with engine.connect() as conn:
                rows = [r[0] for r in conn.execute(sa.text(query))]
        except sa.exc.SQLAlchemyError:
            rows = []
        engine.dispose()
        text += ", row kept" if rows == [value] else ", ROW LOST"
    return text


# -- the two tools ------------------------------------------------------------------------
def run_alembic(url: str, before: sa.MetaData, after: sa.MetaData, rows: list[str]) -> Outcome:
    from alembic.autogenerate import (  # type: ignore[import-not-found]
        compare_metadata,
        produce_migrations,
    )
    from alembic.migration import MigrationContext  # type: ignore[import-not-found]
    from alembic.operations import Operations  # type: ignore[import-not-found]

    build(url, before, rows)
    engine = sa.create_engine(_alchemy(url))
    try:
        with engine.begin() as conn:
            context = MigrationContext.configure(conn)  # env.py's defaults
            kinds = [_kind(d) for d in compare_metadata(context, after)]
            found = ", ".join(dict.fromkeys(kinds)) or "nothing"
            operations = Operations(context)
            for op in produce_migrations(context, after).upgrade_ops.ops:
                for sub in getattr(op, "ops", [op]):
                    operations.invoke(sub)
    except Exception as exc:  # the revision fails as `alembic upgrade` would see it
        return Outcome(found, "upgrade FAILS: " + _first_line(exc))
    finally:
        engine.dispose()
    return Outcome(found, "")


def _kind(difference: Any) -> str:
    first = difference[0] if isinstance(difference, list) else difference
    return str(first[0])


def run_lamina(
    url: str,
    folder: Path,
    before: sa.MetaData,
    after: sa.MetaData,
    rows: list[str],
    renames: dict[str, str] | None = None,
) -> Outcome:
    from lamina import Lamina
    from lamina.config import load_settings
    from lamina.errors import LaminaError
    from lamina.generate import generate

    sys.modules["compare_before"] = _module(before)
    sys.modules["compare_after"] = _module(after)
    migrations = folder / uuid.uuid4().hex[:8]
    environ = {"DATABASE_URL": url, "LAMINA_MIGRATIONS_DIR": str(migrations)}
    settings = load_settings(environ=environ, cwd=folder)
    generate(settings, "initial", "compare_before:metadata")
    Lamina(settings).up(force=True, yes=True)
    insert(url, rows)
    try:
        result = generate(settings, "change", "compare_after:metadata", renames=renames)
    except LaminaError as exc:
        return Outcome("generate FAILS", _first_line(exc))
    found = ", ".join(_statement_kinds(result.up)) or "nothing"
    if any("if it is a rename" in note for note in result.notes):
        found += " + note: a likely rename"
    try:
        Lamina(settings).up(force=True, yes=True)
    except LaminaError as exc:
        return Outcome(found, "up FAILS: " + _first_line(exc))
    return Outcome(found, "")


def _module(md: sa.MetaData) -> types.ModuleType:
    module = types.ModuleType("compare_models")
    module.metadata = md  # type: ignore[attr-defined]
    return module


_KINDS = [
    (r"^CREATE TABLE", "create table"),
    (r"^DROP TABLE", "drop table"),
    (r" RENAME TO ", "rename table"),
    (r" RENAME COLUMN ", "rename column"),
    (r" ADD COLUMN ", "add column"),
    (r" DROP COLUMN ", "drop column"),
    (r" TYPE .* USING ", "alter type"),
    (r" (SET|DROP) NOT NULL", "alter nullable"),
    (r" (SET|DROP) DEFAULT", "alter default"),
    (r" ADD CONSTRAINT \S+ CHECK", "add check"),
    (r" ADD CONSTRAINT \S+ UNIQUE", "add unique"),
    (r" ADD CONSTRAINT \S+ FOREIGN KEY", "add foreign key"),
    (r" DROP CONSTRAINT ", "drop constraint"),
    (r"^CREATE (UNIQUE )?INDEX", "create index"),
    (r"^DROP INDEX", "drop index"),
    (r"^ALTER TYPE \S+ ADD VALUE", "add enum value"),
]


def _statement_kinds(statements: tuple[str, ...]) -> list[str]:
    """Labels for the table (not a parser: the statements are lamina's own, known forms); a
    SQLite table rebuild (new table, copy, drop, rename, indexes) is one label."""
    rebuilt = [m.group(1) for s in statements if (m := re.match(r"CREATE TABLE new_(\w+)", s))]
    labels = [f"rebuild {name} (rows copied)" for name in rebuilt]
    for sql in statements:
        if sql.startswith(("PRAGMA", "INSERT INTO")) or "new_" in sql:
            continue
        if any(re.search(rf"^DROP TABLE {t}$| ON {t} \(", sql) for t in rebuilt):
            continue
        labels += [label for pattern, label in _KINDS if re.search(pattern, sql)][:1]
    return list(dict.fromkeys(labels))


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
    return text if len(text) <= 110 else text[:107] + "..."


# -- the table ----------------------------------------------------------------------------
def compare(engine: str, folder: Path) -> list[tuple[str, Outcome, Outcome]]:
    rows = []
    applied: set[str] = set()
    for change, title in CHANGES:
        before = metadata(applied, engine)
        rows_before = seed(applied, engine)
        applied.add(change)
        after = metadata(applied, engine)
        with database(engine, folder) as expected_url:
            build(expected_url, after, [])
            expected = schema_of(expected_url)
        outcomes = []
        for tool in ("alembic", "lamina"):
            with database(engine, folder) as url:
                if tool == "alembic":
                    outcome = run_alembic(url, before, after, rows_before)
                else:
                    outcome = run_lamina(url, folder, before, after, rows_before)
                if not outcome.result:
                    outcome.result = judged(url, expected, change)
                outcomes.append(outcome)
        rows.append((title, outcomes[0], outcomes[1]))
        if change in RENAMES:
            told = RENAMES[change]
            with database(engine, folder) as url:
                outcome = run_lamina(url, folder, before, after, rows_before, told)
                outcome.result = outcome.result or judged(url, expected, change)
            option = " ".join(f"--rename {o}:{n}" for o, n in told.items())
            hand = Outcome("(no such option)", "edit the revision by hand")
            rows.append((f"the same, lamina told `{option}`", hand, outcome))
    return rows


def print_table(engine: str, rows: list[tuple[str, Outcome, Outcome]]) -> None:
    print(f"\n## {engine}\n")
    print("| change | alembic detects | alembic's revision, applied | lamina writes "
          "| lamina's migration, applied |")  # fmt: skip
    print("|---|---|---|---|---|")
    for title, alembic, lamina in rows:
        cells = [title, alembic.found, alembic.result, lamina.found, lamina.result]
        print("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", choices=["postgresql", "sqlite"], action="append")
    args = parser.parse_args(argv)
    import alembic  # type: ignore[import-not-found]

    print(f"alembic {alembic.__version__}, SQLAlchemy {sa.__version__}")
    for engine in args.engine or ["postgresql", "sqlite"]:
        with tempfile.TemporaryDirectory(prefix="lamina_compare_") as folder:
            previous = Path.cwd()
            os.chdir(folder)
            try:
                print_table(engine, compare(engine, Path(folder)))
            finally:
                os.chdir(previous)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
