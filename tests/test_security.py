"""Security: passwords, identifiers from configuration, paths, file modes, the health token, and
Python migrations from places others can write.

Commands run as real ``python -m lamina`` processes (PYTHONPATH=src) on real databases, except
where a NUL byte has to reach ``lamina create`` (no process argument can hold one).
"""

from __future__ import annotations

import dataclasses
import inspect
import os
import re
import stat
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest
from click.testing import CliRunner

from lamina import Lamina, load_settings
from lamina.cli import cli
from lamina.discovery import scan
from lamina.errors import ConfigError, MigrationLoadError
from lamina.loader import load_migration
from support.processes import lamina_env

PASSWORD = "S3cret-pw"

PEOPLE = """-- migrate:up
CREATE TABLE people (id INTEGER PRIMARY KEY, note VARCHAR(40));
INSERT INTO people (id, note) VALUES (1, 'a row of data');
-- migrate:down
DROP TABLE people;
"""
BROKEN = """-- migrate:up
CREATE TABLE pets (id INTEGER);
SELECT * FROM no_such_table;
-- migrate:down
DROP TABLE pets;
"""


def run_lamina(
    cwd: Path, url: str, *args: str, umask: int | None = None, **env: str
) -> subprocess.CompletedProcess[str]:
    """``python -m lamina ARGS`` in ``cwd`` on ``url`` and ``cwd/migrations``, as a process."""
    environ = lamina_env(url, cwd / "migrations", **env)
    return subprocess.run(
        [sys.executable, "-m", "lamina", *args],
        cwd=cwd,
        env=environ,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
        preexec_fn=None if umask is None else (lambda: os.umask(umask)),
    )


def with_password(url: str, password: str) -> str:
    """``scheme://user@host...`` → ``scheme://user:PASSWORD@host...`` (percent-encoded)."""
    scheme, _, rest = url.partition("://")
    user, _, host = rest.partition("@")
    return f"{scheme}://{user.partition(':')[0]}:{quote(password, safe='')}@{host}"


def error_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("error:")]


# --------------------------------------------------------------------------------------------
# Passwords never appear anywhere lamina writes
# --------------------------------------------------------------------------------------------

#: Every command that reads, writes or reports: (arguments, extra environment).
COMMANDS: list[tuple[tuple[str, ...], dict[str, str]]] = [
    (("up",), {}),  # 002_broken fails
    (("status", "--json"), {}),
    (("status",), {}),
    (("history", "--json"), {}),
    (("validate",), {}),
    (("lint",), {}),
    (("--verbose", "up"), {}),  # the traceback too
    (("--lock-mode", "table", "up"), {}),  # a lock row in lamina_lock
    (("health", "--json"), {}),
    (("health", "--detailed", "--json"), {}),
    (("health", "--detailed"), {}),
    (("backup", "create"), {}),
    (("backup", "list", "--json"), {}),
    (("up", "--dry-run"), {}),
]


def _lamina_tables_text(connect: object, tables: list[str]) -> str:
    """Every row of lamina's own tables, as text."""
    con = connect()  # type: ignore[operator]
    try:
        out = []
        for table in tables:
            cur = con.cursor()
            try:
                cur.execute(f"SELECT * FROM {table}")
                out.append(f"{table}: {cur.fetchall()!r}")
            finally:
                cur.close()
        return "\n".join(out)
    finally:
        con.close()


def _files_holding(folder: Path, secret: bytes) -> list[str]:
    return [
        str(path)
        for path in folder.rglob("*")
        if path.is_file() and secret in path.read_bytes()
    ]  # fmt: skip


def _run_everything(tmp_path: Path, url: str) -> tuple[str, Path, Path]:
    """Run COMMANDS on ``url``; return all output, the backup folder and the temp folder."""
    (tmp_path / "migrations").mkdir()
    (tmp_path / "migrations" / "001_people.sql").write_text(PEOPLE)
    (tmp_path / "migrations" / "002_broken.sql").write_text(BROKEN)
    backups, scratch = tmp_path / "backups", tmp_path / "scratch"
    scratch.mkdir()
    outputs = []
    for args, env in COMMANDS:
        result = run_lamina(
            tmp_path, url, *args, LAMINA_BACKUP_DIR=str(backups), TMPDIR=str(scratch), **env
        )
        outputs.append(f"$ lamina {' '.join(args)} -> {result.returncode}\n")
        outputs.append(result.stdout + result.stderr)
    return "".join(outputs), backups, scratch


def _assert_secret_absent(output: str, tables: str, backups: Path, scratch: Path) -> None:
    # Not vacuous: the run did fail, a backup was taken, lamina's tables were read.
    assert "002_broken failed" in output, output
    assert "Traceback" in output  # --verbose
    assert "Backup " in output, output
    assert "001_people" in tables and "lamina_lock" in tables, tables
    assert {p.suffix for p in backups.iterdir()} >= {".json"}, list(backups.iterdir())
    for secret in (PASSWORD, quote(PASSWORD, safe="")):
        assert secret not in output, output
        assert secret not in tables, tables
        assert not _files_holding(backups, secret.encode())
        assert not _files_holding(scratch, secret.encode())
    assert not list(scratch.iterdir()), "a temporary file was left behind"


@pytest.mark.slow
@pytest.mark.server
@pytest.mark.parametrize("engine", ["postgresql"], indirect=True)
def test_no_postgresql_password_in_output_tables_or_backups(tmp_path: Path, db_url: str) -> None:
    # Trust authentication ignores the password: the URL works and still carries a secret.
    url = with_password(db_url, PASSWORD)
    output, backups, scratch = _run_everything(tmp_path, url)
    unreachable = run_lamina(tmp_path, with_password(db_url.replace(":5432", ":1"), PASSWORD), "up")
    output += unreachable.stdout + unreachable.stderr
    assert unreachable.returncode == 1

    import psycopg

    schema = dict(re.findall(r"(\w+)=([\w$]+)", urlsplit(db_url).query))["schema"]
    parts = urlsplit(db_url)

    def connect() -> object:
        return psycopg.connect(
            host=parts.hostname, port=parts.port, user=parts.username, dbname="lamina_test",
            options=f"-c search_path={schema}", autocommit=True,
        )  # fmt: skip

    tables = _lamina_tables_text(
        connect, ["lamina_migrations", "lamina_migration_log", "lamina_meta", "lamina_lock"]
    )
    _assert_secret_absent(output, tables, backups, scratch)


@pytest.fixture
def mysql_user(mysql_url: str) -> Iterator[tuple[str, str]]:
    """A MariaDB/MySQL user with a real password and rights on the test database only:
    (its URL, the admin URL). Dropped afterwards."""
    import pymysql

    admin = urlsplit(mysql_url)
    database = admin.path.lstrip("/")
    user = f"lamina_sec_{uuid.uuid4().hex[:8]}"
    con = pymysql.connect(
        host=admin.hostname, port=admin.port or 3306, user=admin.username or "root",
        password=admin.password or "", autocommit=True,
    )  # fmt: skip
    try:
        with con.cursor() as cur:
            cur.execute(f"CREATE USER '{user}'@'%%' IDENTIFIED BY %s", (PASSWORD,))
            # Everything on its database; mysqldump --single-transaction --routines --triggers
            # --events needs nothing more (SELECT, LOCK TABLES, SHOW VIEW, TRIGGER, EVENT).
            cur.execute(f"GRANT ALL PRIVILEGES ON `{database}`.* TO '{user}'@'%'")
        host = f"{admin.hostname}:{admin.port or 3306}"
        yield f"mysql://{user}:{quote(PASSWORD, safe='')}@{host}/{database}", mysql_url
    finally:
        with con.cursor() as cur:
            cur.execute(f"DROP USER IF EXISTS '{user}'@'%'")
        con.close()


@pytest.mark.slow
@pytest.mark.server
def test_no_mysql_password_in_output_tables_or_backups(
    tmp_path: Path, mysql_user: tuple[str, str]
) -> None:
    url, admin_url = mysql_user
    output, backups, scratch = _run_everything(tmp_path, url)
    wrong = run_lamina(tmp_path, url.replace(quote(PASSWORD, safe=""), "Wr0ng-S3cret"), "up")
    assert wrong.returncode == 1
    assert "Wr0ng-S3cret" not in wrong.stdout + wrong.stderr
    output += wrong.stdout + wrong.stderr

    import pymysql

    admin = urlsplit(admin_url)

    def connect() -> object:
        return pymysql.connect(
            host=admin.hostname, port=admin.port or 3306, user=admin.username or "root",
            password=admin.password or "", database=admin.path.lstrip("/"),
        )  # fmt: skip

    tables = _lamina_tables_text(
        connect, ["lamina_migrations", "lamina_migration_log", "lamina_meta", "lamina_lock"]
    )
    _assert_secret_absent(output, tables, backups, scratch)


def test_an_unparsable_url_never_echoes_its_password(tmp_path: Path) -> None:
    (tmp_path / "migrations").mkdir()
    result = run_lamina(tmp_path, "postgresql://user:pa℀ss@127.0.0.1/db", "status")
    assert result.returncode == 2  # a malformed database URL is a usage error
    assert "pa℀ss" not in result.stdout + result.stderr


# --------------------------------------------------------------------------------------------
# Identifiers from configuration
# --------------------------------------------------------------------------------------------


def _pg_schema_exists(base_url: str, name: str) -> bool:
    import psycopg

    parts = urlsplit(base_url)
    with psycopg.connect(
        host=parts.hostname, port=parts.port, user=parts.username,
        password=parts.password, dbname="lamina_test", autocommit=True,
    ) as con:  # fmt: skip
        found = con.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (name,)).fetchone()
        return found is not None


@pytest.mark.slow
@pytest.mark.server
@pytest.mark.parametrize(
    "schema",
    ['a"b', "x'; DROP SCHEMA public CASCADE; --", "semi;colon", "with space", "é_accent", "a" * 64],
    ids=["quote", "injection", "semicolon", "space", "non-ascii", "64-chars"],
)
def test_a_postgresql_schema_that_is_not_a_plain_name_is_refused(
    tmp_path: Path, postgresql_url: str, schema: str
) -> None:
    base = postgresql_url.split("?", 1)[0]
    (tmp_path / "migrations").mkdir()
    result = run_lamina(tmp_path, f"{base}?schema={quote(schema, safe='')}", "up")

    errors = error_lines(result.stderr)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert len(errors) == 1, result.stderr
    assert "schema (database URL)" in errors[0] and "is not a plain schema name" in errors[0]
    assert not _pg_schema_exists(base, schema)
    assert _pg_schema_exists(base, "public")


@pytest.mark.slow
@pytest.mark.server
def test_a_63_character_schema_name_is_the_longest_accepted(
    tmp_path: Path, postgresql_url: str
) -> None:
    base = postgresql_url.split("?", 1)[0]
    schema = f"s_{uuid.uuid4().hex}".ljust(63, "x")
    (tmp_path / "migrations").mkdir()
    try:
        result = run_lamina(tmp_path, f"{base}?schema={schema}", "up")
        assert result.returncode == 0, result.stderr
        assert _pg_schema_exists(base, schema)
    finally:
        import psycopg

        parts = urlsplit(base)
        with psycopg.connect(
            host=parts.hostname, port=parts.port, user=parts.username,
            password=parts.password, dbname="lamina_test", autocommit=True,
        ) as con:  # fmt: skip
            con.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


# --------------------------------------------------------------------------------------------
# lamina create never writes outside the migrations folder
# --------------------------------------------------------------------------------------------

_MIGRATION_LIKE = re.compile(r"^\d+_.*\.(py|sql)$")


def _migration_like_files(*folders: Path) -> set[Path]:
    found: set[Path] = set()
    for folder in folders:
        try:
            found |= {p for p in folder.iterdir() if _MIGRATION_LIKE.match(p.name)}
        except OSError:
            continue
    return found


def _tree(folder: Path) -> set[Path]:
    return set(folder.rglob("*"))


@pytest.mark.parametrize(
    "name",
    ["../../x", "/etc/passwd", "a/b", "..", "a\x00b", "x" * 10_000, "", "   ", "..\\..\\x"],
    ids=["dotdot", "absolute", "slash", "parent", "nul", "long", "empty", "blank", "backslash"],
)
def test_create_refuses_names_that_are_paths_or_unusable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    folder = tmp_path / "work" / "migrations"
    folder.mkdir(parents=True)
    (folder / "001_first.sql").write_text(PEOPLE)
    monkeypatch.chdir(tmp_path / "work")
    outside = (tmp_path, tmp_path.parent, Path("/tmp"), Path("/etc"), Path("/"))
    before_tree, before_outside = _tree(tmp_path), _migration_like_files(*outside)

    env = {"DATABASE_URL": f"duckdb:///{tmp_path / 'app.duckdb'}"}
    env["LAMINA_MIGRATIONS_DIR"] = str(folder)
    result = CliRunner().invoke(cli, ["create", name], env=env, catch_exceptions=False)

    assert result.exit_code == 1, result.output
    errors = error_lines(result.stderr)
    assert len(errors) == 1, result.stderr
    assert errors[0].startswith("error: NAME (command line): ")
    assert _tree(tmp_path) == before_tree
    assert _migration_like_files(*outside) == before_outside


# --------------------------------------------------------------------------------------------
# Backups are private whatever the umask
# --------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_backup_files_and_folders_are_private_under_umask_000(tmp_path: Path, db_url: str) -> None:
    (tmp_path / "migrations").mkdir()
    (tmp_path / "migrations" / "001_people.sql").write_text(PEOPLE)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    assert run_lamina(tmp_path, db_url, "up", umask=0).returncode == 0
    made = run_lamina(tmp_path, db_url, "backup", "create", umask=0, TMPDIR=str(scratch))
    assert made.returncode == 0, made.stderr

    backups = tmp_path / ".lamina" / "backups"
    entries = [backups, *backups.rglob("*")]
    assert len(entries) >= 3, entries  # the folder, a manifest and the dump
    for path in entries:
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode == (0o700 if path.is_dir() else 0o600), (path, oct(mode))
    assert not list(scratch.iterdir()), "a temporary file was left behind"


@pytest.mark.slow
def test_the_folder_lamina_makes_above_the_backups_is_not_world_writable(tmp_path: Path) -> None:
    (tmp_path / "migrations").mkdir()
    (tmp_path / "migrations" / "001_people.sql").write_text(PEOPLE)
    url = f"sqlite:///{tmp_path / 'app.sqlite3'}"
    assert run_lamina(tmp_path, url, "up", umask=0).returncode == 0
    assert run_lamina(tmp_path, url, "backup", "create", umask=0).returncode == 0
    assert not stat.S_IMODE((tmp_path / ".lamina").stat().st_mode) & stat.S_IWOTH


# --------------------------------------------------------------------------------------------
# The health token
# --------------------------------------------------------------------------------------------


def test_the_health_token_is_compared_in_constant_time(tmp_path: Path) -> None:
    import asyncio

    import httpx

    from lamina import server

    assert "hmac.compare_digest(" in inspect.getsource(server._authorized)
    token = "t0ken-0123456789"
    (tmp_path / "migrations").mkdir()
    settings = load_settings(
        {
            "database_url": f"duckdb:///{tmp_path / 'app.duckdb'}",
            "migrations_dir": str(tmp_path / "migrations"),
            "health_token": token,
        },
        environ={},
        cwd=tmp_path,
    )
    guesses = {
        "same length": "x" * len(token),
        "last character differs": token[:-1] + chr(ord(token[-1]) + 1),
        "one longer": token + "0",
        "shorter": "short",
        "right": token,
    }

    async def ask() -> dict[str, int]:
        transport = httpx.ASGITransport(app=server.create_app(settings))
        async with httpx.AsyncClient(transport=transport, base_url="http://lamina") as client:
            return {
                case: (
                    await client.get(
                        "/api/health/detailed", headers={"Authorization": f"Bearer {given}"}
                    )
                ).status_code
                for case, given in guesses.items()
            }

    codes = asyncio.run(ask())
    assert codes == {case: 200 if case == "right" else 401 for case in guesses}


# --------------------------------------------------------------------------------------------
# Python migrations from a place others can write are refused
# --------------------------------------------------------------------------------------------

FLAGGING = """from pathlib import Path

from lamina import Migration

Path({flag!r}).write_text("module code ran")


class Flagging(Migration):
    name = {name}

    def up(self):
        self.execute_sql("CREATE TABLE flagged (id INTEGER)")

    def down(self):
        self.execute_sql("DROP TABLE flagged")
"""


def _flagging(tmp_path: Path, *, computed: bool = False) -> str:
    name = '"Flag" + "ging"' if computed else '"Flagging"'
    return FLAGGING.format(flag=str(tmp_path / "ran.flag"), name=name)


def _duckdb(tmp_path: Path) -> str:
    return f"duckdb:///{tmp_path / 'app.duckdb'}"


@pytest.mark.slow
@pytest.mark.parametrize(
    ("folder_mode", "file_mode", "who", "place"),
    [
        (0o777, 0o644, "others (mode 0777)", "its folder"),
        (0o757, 0o644, "others (mode 0757)", "its folder"),
        (0o755, 0o666, "others (mode 0666)", "the file"),
    ],
)
def test_a_python_migration_others_can_write_is_refused_and_never_run(
    tmp_path: Path, folder_mode: int, file_mode: int, who: str, place: str
) -> None:
    folder = tmp_path / "migrations"
    folder.mkdir()
    path = folder / "001_flagging.py"
    path.write_text(_flagging(tmp_path))
    path.chmod(file_mode)
    folder.chmod(folder_mode)

    for command in ("up", "validate"):
        result = run_lamina(tmp_path, _duckdb(tmp_path), command)
        output = result.stdout + result.stderr
        errors = error_lines(output)
        assert result.returncode == 1, output
        assert len(errors) == 1, output
        assert f"{path}: refused to import: {place}" in errors[0], output
        assert f"is writable by {who}" in errors[0], output
        if command == "up":
            target = folder if place == "its folder" else path
            assert f"hint: chmod o-w {target}; or" in output, output
            assert "LAMINA_ALLOW_UNSAFE_MIGRATIONS=true" in output
        assert not (tmp_path / "ran.flag").exists(), "the migration's code ran"
    assert not (tmp_path / "app.duckdb").exists() or "flagged" not in _duckdb_tables(tmp_path)


def _duckdb_tables(tmp_path: Path) -> set[str]:
    import duckdb

    con = duckdb.connect(str(tmp_path / "app.duckdb"), read_only=True)
    try:
        return {row[0] for row in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    finally:
        con.close()


@pytest.mark.slow
def test_status_does_not_import_a_computed_migration_from_a_writable_folder(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "migrations"
    folder.mkdir()
    (folder / "001_flagging.py").write_text(_flagging(tmp_path, computed=True))
    folder.chmod(0o777)

    result = run_lamina(tmp_path, _duckdb(tmp_path), "status")

    assert "refused to import: its folder" in result.stdout + result.stderr
    assert not (tmp_path / "ran.flag").exists(), "the migration's code ran"


def test_a_symlinked_migration_is_judged_by_its_target_too(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "real.py").write_text(_flagging(tmp_path))
    shared.chmod(0o777)
    folder = tmp_path / "migrations"
    folder.mkdir()
    (folder / "001_flagging.py").symlink_to(shared / "real.py")

    file = scan(folder).files[0]
    with pytest.raises(MigrationLoadError, match=r"the target's folder .*shared is writable"):
        load_migration(file)
    assert not (tmp_path / "ran.flag").exists()


@pytest.mark.slow
def test_sql_migrations_are_never_refused_for_their_folder(tmp_path: Path) -> None:
    folder = tmp_path / "migrations"
    folder.mkdir()
    (folder / "001_people.sql").write_text(PEOPLE)
    (folder / "001_people.sql").chmod(0o666)
    folder.chmod(0o777)

    result = run_lamina(tmp_path, _duckdb(tmp_path), "up")

    assert result.returncode == 0, result.stderr
    assert "people" in _duckdb_tables(tmp_path)


def test_allowing_unsafe_migrations_loads_them(tmp_path: Path) -> None:
    folder = tmp_path / "migrations"
    folder.mkdir()
    (folder / "001_flagging.py").write_text(_flagging(tmp_path))
    folder.chmod(0o777)
    settings = load_settings(
        {"database_url": _duckdb(tmp_path), "migrations_dir": str(folder)}, environ={}, cwd=tmp_path
    )
    file = scan(folder).files[0]

    with pytest.raises(MigrationLoadError, match="refused to import"):
        Lamina(settings).up()
    assert not (tmp_path / "ran.flag").exists()
    assert load_migration(file, allow_unsafe=True).id == "001_flagging"
    (tmp_path / "ran.flag").unlink()
    # The setting lets lamina load it; the loader itself refuses unless told explicitly.
    allowed = dataclasses.replace(settings, allow_unsafe_migrations=True)
    assert Lamina(allowed).up().applied == ("001_flagging",)
    with pytest.raises(MigrationLoadError):
        load_migration(file)


def test_the_allow_unsafe_migrations_setting(tmp_path: Path) -> None:
    base = {"database_url": _duckdb(tmp_path)}
    assert not load_settings(base, environ={}, cwd=tmp_path).allow_unsafe_migrations
    on = {"LAMINA_ALLOW_UNSAFE_MIGRATIONS": "true"}
    assert load_settings(base, environ=on, cwd=tmp_path).allow_unsafe_migrations
    (tmp_path / "lamina.toml").write_text("allow_unsafe_migrations = true\n")
    assert load_settings(base, environ={}, cwd=tmp_path).allow_unsafe_migrations
    off = {"LAMINA_ALLOW_UNSAFE_MIGRATIONS": "no"}
    assert not load_settings(base, environ=off, cwd=tmp_path).allow_unsafe_migrations
    with pytest.raises(ConfigError, match=r"LAMINA_ALLOW_UNSAFE_MIGRATIONS \(environment\)"):
        load_settings(base, environ={"LAMINA_ALLOW_UNSAFE_MIGRATIONS": "maybe"}, cwd=tmp_path)


@pytest.mark.slow
def test_lamina_allow_unsafe_migrations_lets_the_cli_run_them(tmp_path: Path) -> None:
    folder = tmp_path / "migrations"
    folder.mkdir()
    (folder / "001_flagging.py").write_text(_flagging(tmp_path))
    folder.chmod(0o777)

    result = run_lamina(tmp_path, _duckdb(tmp_path), "up", LAMINA_ALLOW_UNSAFE_MIGRATIONS="true")

    assert result.returncode == 0, result.stderr
    assert "flagged" in _duckdb_tables(tmp_path)


def test_group_writable_checkouts_are_accepted(tmp_path: Path) -> None:
    """umask 002 (user private groups; `git archive`) makes every checkout 0664/0775: the
    group is the user's own, so that is not "writable by other users"."""
    folder = tmp_path / "migrations"
    folder.mkdir()
    path = folder / "001_flagging.py"
    path.write_text(_flagging(tmp_path))
    path.chmod(0o664)
    folder.chmod(0o775)
    result = run_lamina(tmp_path, _duckdb(tmp_path), "up")
    assert result.returncode == 0, result.stderr
