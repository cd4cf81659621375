"""PostgreSQL: ``pg_dump`` of the target schema, restored in one transaction.

*Backup*: ``pg_dump --format=custom --schema=<schema>`` (the URL's ``?schema=``, else the
connection's current schema, normally ``public``), streamed from its stdout into the backup
file. pg_dump reads the schema in one repeatable-read snapshot, so the dump is consistent.

*Restore*: ``pg_restore`` turns the archive into SQL, which lamina streams into one ``psql``
session inside a single transaction::

    BEGIN;
    DROP SCHEMA IF EXISTS "<schema>" CASCADE;   -- also removes tables created after the backup
    <the dump: CREATE SCHEMA, tables, data, indexes, constraints...>
    COMMIT;                                     -- sent only once pg_restore finished cleanly

``psql -v ON_ERROR_STOP=1`` stops at the first error and disconnects, and a session that ends
without COMMIT is rolled back by the server, so the schema is either exactly the backup or as it
was: a truncated archive, a refused statement, a killed lamina all leave it untouched. (``psql
--single-transaction`` is not used: it would COMMIT whatever arrived before a pg_restore
failure.)

Refused before anything changes: a backup of another schema, extensions installed in the
schema (a schema-scoped dump does not contain them, so the DROP would lose them), and objects
in other schemas that depend on the schema (views, foreign keys: the CASCADE would drop them).

*Touched backup*: ``pg_dump --format=custom --strict-names --table=S.T ...``. *Its restore*,
in the same single transaction: foreign keys of other tables into the restored ones are
dropped, the tables are dropped (no CASCADE) and restored, and those keys are added back,
which checks every referencing row (a row left without its parent rolls everything back).
Partitioned and inherited tables, tables with triggers and tables views depend on are never
backed up alone (the whole schema is).

Connection settings reach the tools through the environment (PGHOST, PGPORT, PGUSER,
PGPASSWORD, PGDATABASE, PGSSLMODE...), never the command line, where ``ps`` would show them.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lamina.backup.engine import EngineBackup
from lamina.backup.errors import BackupError
from lamina.backup.scope import TableScope, plan_backup, plan_restore, scope_of
from lamina.backup.store import BackupRecord
from lamina.backup.streams import CHUNK, HashingWriter, Produced, Progress, create_private
from lamina.backup.tools import (
    ToolResult,
    one_line,
    read_stderr,
    require_tool,
    stderr_file,
    stop,
    stream_stdout,
    tool_version,
)
from lamina.engines.postgresql import connect
from lamina.engines.postgresql.backup_scope import ident, inspect, live_tables, qualified
from lamina.urls import DatabaseURL, URLError

if TYPE_CHECKING:
    from lamina.risk.touched import Touched

__all__ = [
    "BACKUP",
    "INSTALL_HINT",
    "backup_postgres",
    "client_env",
    "restore_postgres",
    "target_schema",
]

INSTALL_HINT = "install the PostgreSQL client tools (Debian: apt install postgresql-client)"
#: How long the restore waits for locks on the schema's tables before giving up.
LOCK_WAIT_S = 60


def client_env(url: DatabaseURL) -> dict[str, str]:
    """The environment for pg_dump/pg_restore/psql (:func:`lamina.engines.postgresql.connect.
    client_env`), a URL option the tools cannot take being a :class:`BackupError`."""
    try:
        return connect.client_env(url)
    except URLError as exc:
        raise BackupError(str(exc), hint=exc.hint) from None


def target_schema(url: DatabaseURL) -> str:
    """The schema lamina migrates: ``?schema=``, else the connection's current schema."""
    schema = url.option("schema")
    if schema is None:
        rows = _query(url, "SELECT current_schema()", ())
        schema = str(rows[0][0]) if rows and rows[0][0] else "public"
    if not connect.IDENTIFIER.fullmatch(schema):
        raise BackupError(f"{schema!r} is not a plain schema name; lamina cannot back it up")
    return schema


def backup_postgres(
    url: DatabaseURL,
    dest: Path,
    *,
    progress: Progress | None,
    checkpoint: Callable[[], None] | None = None,
) -> Produced:
    """Stream ``pg_dump --format=custom`` of the target schema into ``dest`` (``checkpoint``
    is for file engines: pg_dump reads through the server)."""
    schema = target_schema(url)
    return _dump(url, dest, schema, [f'--schema="{schema}"'], progress, None)


def backup_postgres_tables(
    url: DatabaseURL,
    dest: Path,
    touched: Touched,
    *,
    progress: Progress | None,
    checkpoint: Callable[[], None] | None = None,
) -> Produced:
    """Stream ``pg_dump --format=custom`` of just the touched tables into ``dest``."""
    schema = target_schema(url)
    scope = plan_backup(touched, live_tables(url, schema), "cascading")
    tables = [f"--table={qualified(schema, t)}" for t in scope.tables]
    return _dump(url, dest, schema, ["--strict-names", *tables], progress, scope)


def _dump(
    url: DatabaseURL,
    dest: Path,
    schema: str,
    what: list[str],
    progress: Progress | None,
    scope: TableScope | None,
) -> Produced:
    pg_dump = require_tool("pg_dump", hint=INSTALL_HINT)
    env = client_env(url)
    tool = tool_version(pg_dump)
    # --no-password: fail instead of prompting on a terminal nobody watches.
    argv = [pg_dump, "--format=custom", "--no-password", *what]
    with create_private(dest) as out:
        writer = HashingWriter(out, progress, None)
        result = stream_stdout(argv, env, writer.write)
        sha256 = writer.finish()
    if not result.ok:
        raise _failed("pg_dump", result, f"cannot back up schema {schema} of {url.redacted()}")
    return Produced("pg_dump-custom", tool, writer.size, sha256, schema=schema, scope=scope)


def restore_postgres(
    url: DatabaseURL, source: Path, record: BackupRecord, *, progress: Progress | None
) -> None:
    """Replace the target schema with the backup in one transaction (see the module doc)."""
    schema = _restoring(url, record)
    _refuse_outside_effects(url, schema)
    _pipe_restore(
        url, source, schema, record, progress, f'DROP SCHEMA IF EXISTS "{schema}" CASCADE;'
    )


def restore_postgres_tables(
    url: DatabaseURL, source: Path, record: BackupRecord, *, progress: Progress | None
) -> None:
    """Replace just the backup's tables, in one transaction (see the module doc)."""
    schema = _restoring(url, record)
    plan = plan_restore(record.id, scope_of(record), live_tables(url, schema), "cascading")
    before = [f"ALTER TABLE {k.source_sql} DROP CONSTRAINT {ident(k.name)};" for k in plan.keys]
    if plan.drop:
        before.append(f"DROP TABLE {', '.join(qualified(schema, t) for t in plan.drop)};")
    # The keys' definitions name tables as the target schema's search_path sees them.
    after = [f'SET search_path = "{schema}";'] + [
        f"ALTER TABLE {k.source_sql} ADD CONSTRAINT {ident(k.name)} {k.definition};"
        for k in plan.keys
    ]
    _pipe_restore(url, source, schema, record, progress, "\n".join(before), "\n".join(after))


def _restoring(url: DatabaseURL, record: BackupRecord) -> str:
    """The target schema, once it is the one the backup holds."""
    schema = target_schema(url)
    if record.schema != schema:
        raise BackupError(
            f"backup {record.id} holds schema {record.schema}, not {schema}; nothing was restored",
            hint="restore it with a database URL whose ?schema= names the backed-up schema",
        )
    return schema


def _pipe_restore(
    url: DatabaseURL,
    source: Path,
    schema: str,
    record: BackupRecord,
    progress: Progress | None,
    before: str,
    after: str = "",
) -> None:
    """``pg_restore -f - FILE | psql``, through lamina, between ``before`` and ``after`` in
    one transaction, so COMMIT follows only a clean read."""
    pg_restore = require_tool("pg_restore", hint=INSTALL_HINT)
    psql = require_tool("psql", hint=INSTALL_HINT)
    env = client_env(url)
    prelude = (
        "SET client_min_messages = warning;\n"
        "BEGIN;\n"
        f"SET LOCAL lock_timeout = '{LOCK_WAIT_S}s';\n"
        f"{before}\n"
    ).encode()
    restore_argv = [pg_restore, "--no-owner", "--exit-on-error", "--file=-", str(source.resolve())]
    psql_argv = [psql, "-X", "-q", "--no-password", "-v", "ON_ERROR_STOP=1", "--file=-"]
    with stderr_file() as restore_err, stderr_file() as psql_err:
        reader = subprocess.Popen(
            restore_argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=restore_err
        )
        writer = subprocess.Popen(
            psql_argv, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=psql_err, env=env
        )
        try:
            reader_rc = _pump(reader, writer, prelude, after.encode(), progress)
            psql_rc = writer.wait()
        finally:
            stop(reader)
            stop(writer)
        psql_result = ToolResult(psql_rc, read_stderr(psql_err))
        reader_result = ToolResult(reader_rc, read_stderr(restore_err))
    untouched = f"schema {schema} was left as it was (the transaction was rolled back)"
    if not psql_result.ok:
        raise _failed("psql", psql_result, f"restoring backup {record.id} failed; {untouched}")
    if not reader_result.ok:
        raise _failed("pg_restore", reader_result, f"cannot read backup {record.id}; {untouched}")


def _pump(
    reader: subprocess.Popen[bytes],
    writer: subprocess.Popen[bytes],
    prelude: bytes,
    postlude: bytes,
    progress: Progress | None,
) -> int:
    """Copy pg_restore's SQL into psql; ``postlude`` and COMMIT only if pg_restore exits 0.
    Its exit code."""
    assert reader.stdout is not None and writer.stdin is not None
    done = 0
    try:
        writer.stdin.write(prelude)
        fd = reader.stdout.fileno()
        while chunk := os.read(fd, CHUNK):
            writer.stdin.write(chunk)
            done += len(chunk)
            if progress is not None:
                progress(done, None)
        reader_rc = reader.wait()
        if reader_rc == 0:
            writer.stdin.write(postlude + b"\nCOMMIT;\n")
        writer.stdin.close()  # psql sees the end; without COMMIT the server rolls back
    except BrokenPipeError:
        return -1  # psql stopped early (its own error says why) and committed nothing
    return reader_rc


def _refuse_outside_effects(url: DatabaseURL, schema: str) -> None:
    """Refuse a restore whose DROP SCHEMA ... CASCADE would reach beyond the schema."""
    extensions = _query(
        url,
        "SELECT e.extname FROM pg_catalog.pg_extension e "
        "JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace WHERE n.nspname = %s "
        "ORDER BY 1",
        (schema,),
    )
    if extensions:
        names = ", ".join(str(row[0]) for row in extensions)
        raise BackupError(
            f"schema {schema} holds extension(s) {names}, which a schema backup does not "
            "contain: restoring would drop them; nothing was restored",
            hint="move them to another schema (ALTER EXTENSION ... SET SCHEMA), or restore "
            "by hand with pg_restore",
        )
    dependents = _query(url, _DEPENDENTS_SQL, (schema, schema))
    if dependents:
        listed = "; ".join(str(row[0]) for row in dependents[:5])
        more = f" (and {len(dependents) - 5} more)" if len(dependents) > 5 else ""
        raise BackupError(
            f"objects outside schema {schema} depend on it and would be dropped by the restore: "
            f"{listed}{more}; nothing was restored",
            hint="drop or change them first, or restore by hand with pg_restore",
        )


#: Objects outside the schema that depend on objects inside it (views, foreign keys...).
#: pg_identify_object gives no schema for rules, triggers, defaults and policies: those take
#: the schema of their table.
_DEPENDENTS_SQL = """
SELECT DISTINCT pg_catalog.pg_describe_object(d.classid, d.objid, d.objsubid)
FROM pg_catalog.pg_depend d
WHERE d.deptype IN ('n', 'a')
  AND (pg_catalog.pg_identify_object(d.refclassid, d.refobjid, d.refobjsubid)).schema
      = %s
  AND COALESCE(
        CASE d.classid
          WHEN 'pg_catalog.pg_rewrite'::regclass THEN (
            SELECT c.relnamespace FROM pg_catalog.pg_rewrite r
            JOIN pg_catalog.pg_class c ON c.oid = r.ev_class WHERE r.oid = d.objid)
          WHEN 'pg_catalog.pg_trigger'::regclass THEN (
            SELECT c.relnamespace FROM pg_catalog.pg_trigger t
            JOIN pg_catalog.pg_class c ON c.oid = t.tgrelid WHERE t.oid = d.objid)
          WHEN 'pg_catalog.pg_attrdef'::regclass THEN (
            SELECT c.relnamespace FROM pg_catalog.pg_attrdef a
            JOIN pg_catalog.pg_class c ON c.oid = a.adrelid WHERE a.oid = d.objid)
          WHEN 'pg_catalog.pg_policy'::regclass THEN (
            SELECT c.relnamespace FROM pg_catalog.pg_policy p
            JOIN pg_catalog.pg_class c ON c.oid = p.polrelid WHERE p.oid = d.objid)
        END,
        (SELECT n.oid FROM pg_catalog.pg_namespace n WHERE n.nspname =
           (pg_catalog.pg_identify_object(d.classid, d.objid, d.objsubid)).schema)
      ) IS DISTINCT FROM (SELECT n.oid FROM pg_catalog.pg_namespace n WHERE n.nspname = %s)
ORDER BY 1
"""


def _query(url: DatabaseURL, sql: str, params: tuple[object, ...]) -> list[tuple[Any, ...]]:
    """One read-only query through lamina's PostgreSQL backend (its URL handling, its errors)."""
    return inspect(url, [(sql, params)])[0]


def _failed(tool: str, result: ToolResult, what: str) -> BackupError:
    detail = one_line(result.stderr).removeprefix(f"{tool}: ") or f"exit code {result.returncode}"
    hint = None
    if "no matching schemas" in result.stderr:
        hint = "the schema does not exist yet, so there is nothing to back up"
    elif "version mismatch" in result.stderr or "unsupported version" in result.stderr:
        hint = (
            "the client tools are older than the server or the backup: install the client of "
            "the server's major version or newer (Debian: apt install postgresql-client-<major>)"
        )
    return BackupError(f"{what}: {tool}: {detail}", hint=hint)


#: What :mod:`lamina.backup.operations` finds through the engine registry.
BACKUP = EngineBackup(
    backup_postgres, restore_postgres, backup_postgres_tables, restore_postgres_tables
)
