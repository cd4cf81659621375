"""The two schemas ``generate`` and ``check-schema`` compare, as snapshots of the target's engine.

*Current* is what the migrations build: every one applied, in order, to a scratch database
(:mod:`lamina.scratch`), as ``verify`` does. *Desired* is what ``--from`` describes:

- a SQL file, or a folder whose ``*.sql`` files run in name order, executed on a scratch
  database of the target's engine;
- SQLAlchemy metadata (``module:metadata`` or ``module:Base``), created on a scratch database
  through SQLAlchemy (:mod:`lamina.generate.alchemy`, imported only for this source);
- a live database URL of the same engine, read with a read-only connection.

The target itself is never opened here: only its URL is used, for its engine and server.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from lamina.api import Lamina
from lamina.config import Settings
from lamina.engines import risk_facts, spec_for
from lamina.engines.base import Backend
from lamina.errors import ConfigError, LaminaError, StatementError, UsageError
from lamina.risk import LiveFacts
from lamina.schema import Snapshot, snapshot
from lamina.scratch import scratch_database
from lamina.scratch_guard import refusal, refuse_reaching_out
from lamina.sqlline import one_line_sql
from lamina.urls import DatabaseURL, URLError, parse_url

__all__ = [
    "Source",
    "current_schema",
    "current_state",
    "desired_schema",
    "parse_source",
    "scratch_lamina",
]

SourceKind = Literal["sql", "sqlalchemy", "database"]
_OBJECT_PATH = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$")
#: How ``--from`` is named in messages.
OPTION = "--from"


@dataclass(frozen=True, slots=True)
class Source:
    """What ``--from`` names: ``text`` is safe to print (a URL's password is redacted)."""

    kind: SourceKind
    text: str
    path: Path | None = None
    url: DatabaseURL | None = None

    @property
    def live(self) -> bool:
        return self.kind == "database"


def parse_source(text: str, cwd: Path | None = None) -> Source:
    """Tell the three kinds of source apart: a URL has ``://``, an existing path is SQL, and
    ``module:attribute`` is SQLAlchemy metadata.

    Raises:
        UsageError: a URL that does not parse, a missing file, or none of the three forms.
    """
    if "://" in text:
        try:
            url = parse_url(text)
        except URLError as exc:
            raise UsageError(OPTION, "command line", str(exc), hint=exc.hint) from None
        return Source("database", url.redacted(), url=url)
    path = Path(text)
    if not path.is_absolute() and cwd is not None:
        path = cwd / path
    if path.exists():
        return Source("sql", text, path=path)
    if _OBJECT_PATH.match(text) and not text.lower().endswith(".sql"):
        return Source("sqlalchemy", text)
    raise UsageError(
        OPTION,
        "command line",
        f"{text!r} is not an existing file or folder, a database URL, or module:metadata",
        hint="pass a schema file (schema.sql), a folder of .sql files, SQLAlchemy metadata "
        "(models:Base) or a database URL (postgresql://.../app)",
    )


def current_schema(lamina: Lamina, *, whole_database: bool = True) -> Snapshot:
    """The schema the migrations build, on a scratch database of the target's engine.

    Raises:
        VerifyRefusedError: a migration reaches outside the scratch (nothing ran; exit 3).
    """
    return current_state(lamina, whole_database=whole_database)[0]


def current_state(
    lamina: Lamina, *, whole_database: bool = True, facts: bool = False
) -> tuple[Snapshot, LiveFacts | None]:
    """:func:`current_schema`, and with ``facts`` the scratch server's risk facts (its version
    and flavour, which are the target's: the scratch is on the target's server).

    Every migration is checked first, as ``verify`` checks it (:mod:`lamina.scratch_guard`):
    one that reaches outside its database is refused before the scratch is even created.
    """
    folder = lamina.settings.migrations_dir
    files = lamina.ordered_files() if folder.is_dir() else []
    refuse_reaching_out(
        lamina.settings, files, dialect=lamina.session.dialect(), command="generate"
    )
    with scratch_lamina(lamina) as (api, backend):
        if files:
            api.up()
        found = snapshot(backend, whole_database=whole_database)
        return found, (risk_facts(backend) if facts else None)


def desired_schema(lamina: Lamina, source: Source, *, whole_database: bool = True) -> Snapshot:
    """The schema ``source`` describes, as a snapshot of the target's engine.

    Raises:
        UsageError: a live database of another engine than the target's.
        ConfigError: a statement of the schema fails, or the metadata cannot be imported.
        LaminaError: the source database cannot be read.
    """
    if source.kind == "database":
        assert source.url is not None
        return _live(lamina, source.url, whole_database=whole_database)
    if source.kind == "sql":
        assert source.path is not None
        _refuse_schema_reaching_out(lamina, source.path)
        with scratch_lamina(lamina) as (_, backend):
            _run_sql(backend, source.path)
            return snapshot(backend, whole_database=whole_database)
    from lamina.generate.alchemy import create_all

    with scratch_database(lamina.settings.database_url) as url:
        api = Lamina(_scratch_settings(lamina.settings, url))
        with api.session.connection():
            pass  # PostgreSQL: the target's ?schema= is created in the scratch first
        # Closed meanwhile: DuckDB refuses a second connection of another configuration.
        create_all(source.text, url)
        with api.session.connection() as backend:
            return snapshot(backend, whole_database=whole_database)


@contextmanager
def scratch_lamina(lamina: Lamina) -> Iterator[tuple[Lamina, Backend]]:
    """A Lamina on a scratch database of the target's engine (never the target), and a plain
    connection for snapshots; the scratch is dropped when the block ends."""
    with scratch_database(lamina.settings.database_url) as url:
        api = Lamina(_scratch_settings(lamina.settings, url))
        # Connected first: on PostgreSQL this creates the target's ?schema= in the scratch.
        with api.session.connection() as backend:
            yield api, backend


def _scratch_settings(settings: Settings, url: DatabaseURL) -> Settings:
    """The target's settings pointed at a scratch: no backups, no confirmation, any order."""
    return dataclasses.replace(
        settings,
        database_url=url,
        backup_enabled=False,
        require_confirmation=False,
        env="generate",
        strict_order=False,
    )


def sql_files(path: Path) -> list[Path]:
    """``path`` itself, or every ``*.sql`` of the folder ``path`` in name order.

    Raises:
        ConfigError: a folder without any ``.sql`` file.
    """
    if path.is_file():
        return [path]
    files = sorted(p for p in path.glob("*.sql") if p.is_file())
    if not files:
        raise ConfigError(OPTION, "command line", f"{path} holds no .sql file")
    return files


def _refuse_schema_reaching_out(lamina: Lamina, path: Path) -> None:
    """The schema file runs on a scratch of the target's server too: a statement of it that
    reaches outside its database is refused like a migration's, naming file and line."""
    from lamina.reach import outside_reach
    from lamina.sqltext import split_statements

    url = lamina.settings.database_url
    dialect = lamina.session.dialect()
    found = []
    for file in sql_files(path):
        try:
            text = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(OPTION, "command line", f"cannot read {file}: {exc}") from None
        for statement in split_statements(text, dialect):
            for reach in outside_reach([statement.sql], dialect, database=None):
                found.append((f"{file}, line {statement.line}", reach.statement, reach.reason))
    if found:
        raise refusal(found, url, "generate")


def _run_sql(backend: Backend, path: Path) -> None:
    """Run the schema's statements in order; the first that fails is named by file and line."""
    for file in sql_files(path):
        from lamina.sqltext import split_statements

        try:
            text = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(OPTION, "command line", f"cannot read {file}: {exc}") from None
        for statement in split_statements(text, backend.dialect):
            try:
                with backend.transaction():
                    backend.execute(statement.sql)
            except StatementError as exc:
                raise ConfigError(
                    OPTION,
                    "command line",
                    f"{file}, line {statement.line}: `{_short(statement.sql)}` fails on a "
                    f"scratch {spec_for(backend.url).title} database: {exc.detail}",
                    hint="the schema file holds the CREATE statements of the target's engine, "
                    "in an order that runs on an empty database",
                ) from None


def _live(lamina: Lamina, url: DatabaseURL, *, whole_database: bool) -> Snapshot:
    target = lamina.settings.database_url
    if url.scheme != target.scheme:
        raise UsageError(
            OPTION,
            "command line",
            f"is a {spec_for(url).title} database, the target is {spec_for(target).title}",
            hint="schemas compare within one engine: point --from at a database of the "
            "target's engine",
        )
    reader = Lamina(dataclasses.replace(lamina.settings, database_url=url))
    try:
        with reader.session.reader() as (backend, _):
            if not backend.exists():
                raise UsageError(OPTION, "command line", f"{url.redacted()} does not exist")
            return snapshot(backend, whole_database=whole_database)
    except UsageError:
        raise
    except LaminaError as exc:
        raise ConfigError(
            OPTION, "command line", f"cannot read {url.redacted()}: {exc.message}"
        ) from None


def _short(sql: str) -> str:
    text = " ".join(one_line_sql(sql).split())
    return text if len(text) <= 80 else text[:77] + "..."
