"""verify never touches the target: a scratch database of its own, on every engine.

Each test fills a real target with data (in several schemas where the engine has them), runs
verify, and compares the target byte for byte with a dump taken before: pg_dump, mysqldump,
or the file's own bytes. The server's list of databases must come back unchanged too (no
scratch left behind).
"""

from __future__ import annotations

import signal
import subprocess
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from lamina import Lamina
from lamina.cli import cli as main
from lamina.errors import BackendError, VerifyRefusedError
from lamina.scratch import PREFIX
from lamina.urls import parse_url
from lamina.verify import verify
from support.processes import HANGING, lamina_env, start, wait_for
from support.servers import admin_address, require_server

#: Per engine: migrations that create schemas, cross-schema references, routines and triggers
#: (what the engine has), and statements that fill the target afterwards.
SETS: dict[str, tuple[dict[str, str], list[str]]] = {
    "postgresql": (
        {
            "000_extensions.sql": "-- migrate:up\nCREATE EXTENSION IF NOT EXISTS pgcrypto;\n"
            "-- migrate:down\nDROP EXTENSION pgcrypto;\n",
            "001_audit.sql": "-- migrate:up\nCREATE SCHEMA IF NOT EXISTS audit;\n"
            "CREATE TABLE IF NOT EXISTS audit.events (id SERIAL PRIMARY KEY, what TEXT);\n"
            "-- migrate:down\nDROP SCHEMA audit CASCADE;\n",
            "002_post.sql": "-- migrate:up\nCREATE TABLE public.post (id INTEGER PRIMARY KEY, "
            "body TEXT, token TEXT DEFAULT encode(gen_random_bytes(4), 'hex'));\n"
            "-- migrate:down\nDROP TABLE public.post;\n",
            "003_trigger.sql": "-- migrate:up\n"
            "CREATE FUNCTION audit.log_post() RETURNS trigger LANGUAGE plpgsql AS $$\n"
            "BEGIN\n  INSERT INTO audit.events (what) VALUES ('post ' || NEW.id);\n"
            "  RETURN NEW;\nEND;\n$$;\n"
            "CREATE TRIGGER post_audit AFTER INSERT ON public.post\n"
            "  FOR EACH ROW EXECUTE FUNCTION audit.log_post();\n"
            "-- migrate:down\nDROP TRIGGER post_audit ON public.post;\n"
            "DROP FUNCTION audit.log_post();\n",
        },
        [
            "INSERT INTO public.post (id, body) VALUES (1, 'one'), (2, 'two')",
            "INSERT INTO audit.events (what) VALUES ('by hand')",
        ],
    ),
    "mysql": (
        {
            "001_users.sql": "-- migrate:up\nCREATE TABLE users (id INT PRIMARY KEY, "
            "email VARCHAR(100));\n-- migrate:down\nDROP TABLE users;\n",
            "002_log.sql": "-- migrate:up\nCREATE TABLE log (id INT AUTO_INCREMENT PRIMARY KEY, "
            "what VARCHAR(100));\n"
            "CREATE TRIGGER users_log AFTER INSERT ON users FOR EACH ROW\n"
            "  INSERT INTO log (what) VALUES (CONCAT('user ', NEW.id));\n"
            "-- migrate:down\nDROP TRIGGER users_log;\nDROP TABLE log;\n",
            "003_view.sql": "-- migrate:up\nCREATE VIEW user_emails AS SELECT email FROM users;\n"
            "-- migrate:down\nDROP VIEW user_emails;\n",
        },
        ["INSERT INTO users VALUES (1, 'a@example.org'), (2, 'b@example.org')"],
    ),
    "duckdb": (
        {
            "001_audit.sql": "-- migrate:up\nCREATE SCHEMA IF NOT EXISTS audit;\n"
            "CREATE TABLE audit.events (id INTEGER PRIMARY KEY, what VARCHAR);\n"
            "-- migrate:down\nDROP TABLE audit.events;\nDROP SCHEMA audit;\n",
            "002_post.sql": "-- migrate:up\nCREATE TABLE main.post (id INTEGER PRIMARY KEY, "
            "body VARCHAR);\nCREATE VIEW post_bodies AS SELECT body FROM main.post;\n"
            "-- migrate:down\nDROP VIEW post_bodies;\nDROP TABLE main.post;\n",
        },
        [
            "INSERT INTO main.post VALUES (1, 'one'), (2, 'two')",
            "INSERT INTO audit.events VALUES (1, 'by hand')",
        ],
    ),
    "sqlite": (
        {
            "001_post.sql": "-- migrate:up\nCREATE TABLE post (id INTEGER PRIMARY KEY, "
            "body TEXT);\nCREATE TABLE log (what TEXT);\n"
            "CREATE TRIGGER post_log AFTER INSERT ON post BEGIN\n"
            "  INSERT INTO log VALUES ('post ' || NEW.id);\nEND;\n"
            "-- migrate:down\nDROP TRIGGER post_log;\nDROP TABLE log;\nDROP TABLE post;\n",
        },
        ["INSERT INTO post VALUES (1, 'one'), (2, 'two')"],
    ),
}


@pytest.fixture
def pg_database() -> Iterator[str]:
    """A whole database of its own on the PostgreSQL test server (verify's scratch is a
    database too, so the target must not be a schema shared with other tests)."""
    require_server("postgresql")
    address = admin_address("postgresql")
    name = f"lamina_vt_{uuid.uuid4().hex[:10]}"
    with address.connect() as con:
        con.execute(f'CREATE DATABASE "{name}"')
    try:
        yield address.with_database(name)
    finally:
        with address.connect() as con:
            con.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def target(engine: str, db_url: str, request: pytest.FixtureRequest) -> str:
    """The target URL: ``db_url``, except a database of its own on PostgreSQL."""
    if engine == "postgresql":
        return str(request.getfixturevalue("pg_database"))
    return db_url


def _dump(engine: str, url: str) -> bytes:
    """Everything the target holds, as bytes: a dump on the servers, the file elsewhere."""
    if engine in ("duckdb", "sqlite"):
        path = Path(str(parse_url(url).path))
        return path.read_bytes()
    address = admin_address(engine)
    database = parse_url(url).database or ""
    if engine == "postgresql":
        command = ["pg_dump", "-h", address.host, "-p", str(address.port), "-U",
                   address.user or "postgres", "--no-password", database]  # fmt: skip
    else:
        command = ["mysqldump", "-h", address.host, "-P", str(address.port), "-u",
                   address.user or "root", "--skip-dump-date", "--routines", "--triggers",
                   "--events", database]  # fmt: skip
    dump = subprocess.run(command, check=True, capture_output=True, timeout=120).stdout
    # pg_dump guards its output with a random \restrict key per run: not part of the data.
    return b"\n".join(
        line for line in dump.splitlines() if not line.startswith((b"\\restrict", b"\\unrestrict"))
    )


def _databases(engine: str) -> set[str]:
    """The server's scratch databases (the ones verify could leave behind) and the targets:
    other databases come and go with whatever else uses the test server."""
    return {name for name in _all_databases(engine) if name.startswith((PREFIX, "lamina_vt_"))}


def _all_databases(engine: str) -> set[str]:
    address = admin_address(engine)
    with address.connect() as con:
        if engine == "postgresql":
            rows = con.execute("SELECT datname FROM pg_database").fetchall()
        else:
            with con.cursor() as cur:
                cur.execute("SHOW DATABASES")
                rows = cur.fetchall()
    return {str(row[0]) for row in rows}


def _fill(engine: str, url: str, statements: list[str]) -> None:
    """Write rows through the raw driver, as the application would."""
    if engine in ("duckdb", "sqlite"):
        path = str(parse_url(url).path)
        if engine == "duckdb":
            import duckdb

            with duckdb.connect(path) as con:
                for sql in statements:
                    con.execute(sql)
        else:
            import sqlite3

            con = sqlite3.connect(path)
            with con:
                for sql in statements:
                    con.execute(sql)
            con.close()
        return
    address = admin_address(engine)
    with address.connect(parse_url(url).database) as con:
        if engine == "postgresql":
            for sql in statements:
                con.execute(sql)
        else:
            with con.cursor() as cur:
                for sql in statements:
                    cur.execute(sql)


def _around(engine: str, url: str) -> Callable[[], tuple[bytes, object]]:
    def state() -> tuple[bytes, object]:
        if engine in ("duckdb", "sqlite"):
            folder = Path(str(parse_url(url).path)).parent
            return _dump(engine, url), sorted(p.name for p in folder.iterdir())
        return _dump(engine, url), _databases(engine)

    return state


def test_verify_leaves_a_migrated_target_byte_identical(
    engine, target, make_migrations, settings_for
) -> None:
    files, fill = SETS[engine]
    make_migrations(files)
    settings = settings_for(database_url=target)
    Lamina(settings).up()
    _fill(engine, target, fill)
    state = _around(engine, target)
    before = state()
    result = verify(settings)
    assert result.ok, [(s.migration_id, s.problems) for s in result.failed]
    assert [s.outcome for s in result.steps] == ["ok"] * len(files)
    assert state() == before


def test_verify_does_not_care_whether_the_target_was_migrated(
    engine, target, make_migrations, settings_for
) -> None:
    """An unmigrated target stays empty: nothing verify ran leaked into it."""
    files, _ = SETS[engine]
    make_migrations(files)
    settings = settings_for(database_url=target)
    if engine in ("duckdb", "sqlite"):
        result = verify(settings)
        assert result.ok
        assert not Path(str(parse_url(target).path)).exists()  # never even created
        return
    state = _around(engine, target)
    before = state()
    assert verify(settings).ok
    assert state() == before


@pytest.mark.parametrize("engine", ["postgresql"])
def test_a_down_that_leaves_another_schema_behind_is_reported(
    make_migrations, settings_for, pg_database
) -> None:
    make_migrations(
        {
            "001_audit.sql": "-- migrate:up\nCREATE SCHEMA audit;\n"
            "CREATE TABLE audit.events (id INTEGER);\n"
            "-- migrate:down\nDROP TABLE audit.events;\n",
        }
    )
    [step] = verify(settings_for(database_url=pg_database)).steps
    assert step.outcome == "not-reversible"
    assert any("schema audit" in problem for problem in step.problems), step.problems


# -- what reaches outside the scratch is refused before anything runs ----------------------------
REACHING_OUT = {
    "postgresql": ("CREATE ROLE lamina_should_never_exist;", "role"),
    "mysql": ("INSERT INTO other_db.users VALUES (1);", "other_db"),
    "duckdb": ("ATTACH 'elsewhere.duckdb' AS elsewhere;", "ATTACH"),
    "sqlite": ("ATTACH DATABASE 'elsewhere.sqlite3' AS elsewhere;", "ATTACH"),
}


def test_a_migration_reaching_outside_the_scratch_is_refused(
    engine, target, make_migrations, settings_for, tmp_path
) -> None:
    statement, named = REACHING_OUT[engine]
    make_migrations(
        {
            "001_t.sql": "-- migrate:up\nCREATE TABLE t (id INTEGER);\n"
            "-- migrate:down\nDROP TABLE t;\n",
            "002_out.sql": f"-- migrate:up\n{statement}\n-- migrate:down\nSELECT 1;\n",
        }
    )
    settings = settings_for(database_url=target)
    servers = _databases(engine) if engine in ("postgresql", "mysql") else None
    with pytest.raises(VerifyRefusedError) as refused:
        verify(settings)
    assert refused.value.exit_code == 3
    message = refused.value.message
    assert "002_out (up)" in message and named in message
    if servers is not None:
        assert _databases(engine) == servers  # no scratch was even created
    runner = CliRunner()
    args = ["--database-url", target, "--migrations-dir", str(tmp_path / "migrations"), "verify"]
    cli = runner.invoke(main, args)
    assert cli.exit_code == 3, cli.output
    assert "002_out (up)" in cli.output and "Traceback" not in cli.output


# -- where the scratch goes ---------------------------------------------------------------------
@pytest.fixture
def pg_role_without_createdb(pg_database: str) -> Iterator[tuple[str, str]]:
    """(target URL as a role that may not create databases, that role's name)."""
    address = admin_address("postgresql")
    role = f"lamina_nocreate_{uuid.uuid4().hex[:8]}"
    database = parse_url(pg_database).database
    with address.connect() as con:
        con.execute(f'CREATE ROLE "{role}" LOGIN NOCREATEDB')
        con.execute(f'GRANT ALL ON DATABASE "{database}" TO "{role}"')
    with address.connect(database) as con:
        con.execute(f'GRANT ALL ON SCHEMA public TO "{role}"')
    netloc = f"{role}@{address.host}:{address.port}"
    try:
        yield f"postgresql://{netloc}/{database}", role
    finally:
        with address.connect() as con:
            con.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
            con.execute(f'DROP ROLE IF EXISTS "{role}"')


@pytest.mark.parametrize("engine", ["postgresql"])
def test_without_createdb_verify_names_the_privilege_and_never_uses_the_target(
    make_migrations, settings_for, pg_role_without_createdb, tmp_path
) -> None:
    url, role = pg_role_without_createdb
    make_migrations({"002_post.sql": "-- migrate:up\nCREATE TABLE post (id INTEGER);\n"
                     "-- migrate:down\nDROP TABLE post;\n"})  # fmt: skip
    settings = settings_for(database_url=url)
    before = _dump("postgresql", url)
    with pytest.raises(BackendError) as refused:
        verify(settings)
    assert "CREATEDB" in (refused.value.hint or "") and role in (refused.value.hint or "")
    assert "--scratch-url" in (refused.value.hint or "")
    assert _dump("postgresql", url) == before
    # A server where a database may be created: the admin URL, as --scratch-url.
    admin = admin_address("postgresql").with_database("postgres")
    result = verify(settings, scratch_url=parse_url(admin))
    assert result.ok
    assert _dump("postgresql", url) == before
    args = ["--database-url", url, "--migrations-dir", str(tmp_path / "migrations"),
            "verify", "--scratch-url", admin]  # fmt: skip
    cli = CliRunner().invoke(main, args)
    assert cli.exit_code == 0, cli.output
    assert not [name for name in _databases("postgresql") if name.startswith(PREFIX)]


def test_scratch_url_of_another_engine_or_for_a_file_is_refused(make_migrations, tmp_path):
    make_migrations({"001_t.sql": "-- migrate:up\nCREATE TABLE t (id INTEGER);\n"})
    base = ["--migrations-dir", str(tmp_path / "migrations")]
    runner = CliRunner()
    target = ["--database-url", f"duckdb:///{tmp_path / 'x.duckdb'}"]
    scratch = ["--scratch-url", "postgresql://postgres@127.0.0.1/postgres"]
    on_file = runner.invoke(main, [*base, *target, "verify", *scratch])
    assert on_file.exit_code == 1 and "--scratch-url" in on_file.output
    malformed = runner.invoke(main, [*base, "verify", "--scratch-url", "nonsense"])
    assert malformed.exit_code == 2 and "--scratch-url" in malformed.output


# -- version 0 ------------------------------------------------------------------------------------
def test_rollback_zero_and_all_revert_a_version_zero_migration(
    make_migrations, settings_for, raw_db, db_url, tmp_path
) -> None:
    make_migrations(
        {
            "000_base.sql": "-- migrate:up\nCREATE TABLE settings (k VARCHAR(20));\n"
            "-- migrate:down\nDROP TABLE settings;\n",
            "001_users.sql": "-- migrate:up\nCREATE TABLE users (id INTEGER);\n"
            "-- migrate:down\nDROP TABLE users;\n",
        }
    )
    lamina = Lamina(settings_for())
    lamina.up()
    lamina.rollback(0, force=True, yes=True)
    assert raw_db.applied_ids() == []
    assert not {"settings", "users"} & raw_db.tables()
    lamina.up()
    args = ["--database-url", db_url, "--migrations-dir", str(tmp_path / "migrations"),
            "rollback", "--all", "--force", "--yes"]  # fmt: skip
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert raw_db.applied_ids() == []
    assert CliRunner().invoke(main, ["rollback", "1", "--all"]).exit_code == 2
    assert CliRunner().invoke(main, ["rollback"]).exit_code == 2
    steps = verify(settings_for()).steps
    assert [(s.migration_id, s.outcome) for s in steps] == [
        ("000_base", "ok"),
        ("001_users", "ok"),
    ]


def test_the_scratch_is_dropped_when_verify_fails(engine, target, make_migrations, settings_for):
    make_migrations({"001_bad.sql": "-- migrate:up\nINSERT INTO nowhere VALUES (1);\n"})
    servers = _databases(engine) if engine in ("postgresql", "mysql") else None
    result = verify(settings_for(database_url=target))
    assert [s.outcome for s in result.steps] == ["failed"]
    if servers is not None:
        assert _databases(engine) == servers


@pytest.mark.slow
@pytest.mark.parametrize("engine", ["postgresql", "mysql"])
@pytest.mark.parametrize(("stop", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_stopped_verify_drops_its_scratch(
    engine, stop, code, db_url, make_migrations, tmp_path
) -> None:
    folder = make_migrations({"001_slow.py": HANGING})
    marker = tmp_path / "in-up"
    before = _databases(engine)
    proc = start(["verify"], lamina_env(db_url, folder, LAMINA_TEST_MARKER=str(marker)), tmp_path)
    wait_for(marker)
    scratch = _databases(engine) - before
    assert len(scratch) == 1 and next(iter(scratch)).startswith(PREFIX)
    proc.send_signal(stop)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == code, err
    assert "Traceback" not in err
    assert _databases(engine) == before
