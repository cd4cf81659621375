"""The server-engine fixtures isolate every test: a place of its own, visible to no other, gone
afterwards. Checked on the real servers, with connections of their own (never through lamina).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

import lamina

CONFTEST = Path(__file__).with_name("conftest.py")
SRC = Path(lamina.__file__).parent.parent
SERVER_ENGINES = ["postgresql", "mysql"]
on_each_server = pytest.mark.parametrize(
    "engine", [pytest.param(name, marks=pytest.mark.server) for name in SERVER_ENGINES]
)


def without_query(url: str, database: str | None = None) -> str:
    """``url`` without ``?schema=``, optionally naming another database on the same server."""
    parts = urlsplit(url)
    path = f"/{database}" if database else parts.path
    return urlunsplit((parts.scheme, parts.netloc, path, "", ""))


def place_exists(raw_database, url: str) -> bool:
    """Whether the schema (PostgreSQL) or database (MySQL) that ``url`` names exists."""
    if url.startswith("postgresql"):
        schema = dict(q.split("=") for q in urlsplit(url).query.split("&"))["schema"]
        admin = raw_database(without_query(url))
        sql = "SELECT 1 FROM pg_namespace WHERE nspname = %s"
        return admin.query(sql, (schema,)) == [(1,)]
    database = urlsplit(url).path.lstrip("/")
    admin = raw_database(without_query(url, "information_schema"))
    sql = "SELECT 1 FROM information_schema.schemata WHERE schema_name = %s"
    return admin.query(sql, (database,)) == [(1,)]


def make_table(raw_db, name: str, *values: int) -> None:
    """Create table ``name`` in the test's place (and, on PostgreSQL, the schema first)."""
    if raw_db.engine == "postgresql":
        raw_db.execute(f'CREATE SCHEMA IF NOT EXISTS "{raw_db.schema}"')
    raw_db.execute(f"CREATE TABLE {name} (id INTEGER PRIMARY KEY, label VARCHAR(20))")
    for value in values:
        raw_db.execute(f"INSERT INTO {name} VALUES ({value}, 'row {value}')")


@on_each_server
def test_each_test_gets_a_fresh_empty_place(engine, db_url, raw_db, raw_database) -> None:
    assert raw_db.engine == engine
    assert raw_db.tables() == set()
    if engine == "postgresql":
        assert re.fullmatch(r"postgresql://[^/]+/lamina_test\?schema=t_[0-9a-f]{12}", db_url), (
            db_url
        )
        assert raw_db.schema == db_url.rpartition("=")[2]
        assert not place_exists(raw_database, db_url)  # lamina creates it: that is under test
    else:
        assert re.fullmatch(r"mysql://[^/]+/lamina_t_[0-9a-f]{12}", db_url), db_url
        assert place_exists(raw_database, db_url)
        assert raw_db.query("SELECT @@character_set_database") == [("utf8mb4",)]


@on_each_server
def test_raw_database_sets_up_and_reads_the_place(raw_db) -> None:
    make_table(raw_db, "things", 2, 1)
    raw_db.execute("CREATE TABLE lamina_migrations (id VARCHAR(50), version BIGINT)")
    raw_db.execute("INSERT INTO lamina_migrations VALUES ('002_b', 2), ('001_a', 1)")

    assert raw_db.tables() == {"things", "lamina_migrations"}
    assert raw_db.columns("things") == {"id", "label"}
    assert raw_db.columns("missing") == set()
    assert raw_db.query("SELECT id, label FROM things ORDER BY id") == [
        (1, "row 1"),
        (2, "row 2"),
    ]
    assert raw_db.applied_ids() == ["001_a", "002_b"]


@on_each_server
def test_two_places_never_see_each_others_tables(
    engine, raw_db, server_database, raw_database
) -> None:
    make_table(raw_db, "shared_name", 1)
    with server_database(engine) as other_url:
        other = raw_database(other_url)
        assert other.tables() == set()
        make_table(other, "shared_name", 7, 8)
        make_table(other, "only_there")

        assert raw_db.tables() == {"shared_name"}
        assert other.tables() == {"shared_name", "only_there"}
        assert raw_db.query("SELECT id FROM shared_name") == [(1,)]
        assert other.query("SELECT id FROM shared_name ORDER BY id") == [(7,), (8,)]
        assert "only_there" not in raw_db.tables()


@on_each_server
def test_the_place_is_dropped_with_everything_in_it(engine, server_database, raw_database):
    with server_database(engine) as url:
        make_table(raw_database(url), "things", 1)
        assert place_exists(raw_database, url)
    assert not place_exists(raw_database, url)


@on_each_server
def test_drop_ends_a_connection_the_test_left_in_a_transaction(
    engine, server_database, raw_database
) -> None:
    """A test that leaks an open transaction must not hang teardown on the lock it holds."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a teardown that gives up warns: make that fail here
        with server_database(engine) as url:
            raw = raw_database(url)
            make_table(raw, "things", 1)
            leaked = raw.address.connect(schema=raw.schema)
            if engine == "mysql":
                leaked.autocommit(False)
            else:
                leaked.autocommit = False
            with leaked.cursor() as cur:
                cur.execute("SELECT * FROM things")  # holds a lock on it until rollback
                cur.fetchall()
    assert not place_exists(raw_database, url)
    leaked.close()


# -- the whole life cycle, in a pytest run of its own ---------------------------------------

INNER_TESTS = """
import os


def test_uses_a_server(engine, db_url, raw_db):
    with open(os.environ["RECORD"], "a") as record:
        record.write(db_url + "\\n")
    if engine == "postgresql":
        raw_db.execute(f'CREATE SCHEMA "{raw_db.schema}"')
    raw_db.execute("CREATE TABLE things (id INTEGER)")
    assert raw_db.tables() == {"things"}
"""


def run_inner_pytest(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """Run INNER_TESTS on the server engines with this conftest, in a fresh interpreter."""
    (tmp_path / "conftest.py").write_text(CONFTEST.read_text(encoding="utf-8"), encoding="utf-8")
    # The conftest imports the test servers' helpers from tests/support.
    shutil.copytree(CONFTEST.with_name("support"), tmp_path / "support")
    (tmp_path / "test_inner.py").write_text(textwrap.dedent(INNER_TESTS), encoding="utf-8")
    (tmp_path / "pytest.ini").write_text("[pytest]\nmarkers =\n    server: test server\n")
    child_env = {k: v for k, v in os.environ.items() if not k.startswith("LAMINA_TEST_")}
    child_env.pop("CI", None)
    child_env.update(PYTHONPATH=str(SRC), RECORD=str(tmp_path / "record.txt"), **env)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", "-m", "server"],
        cwd=tmp_path,
        env=child_env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.server
def test_pytest_drops_every_place_after_its_test(
    tmp_path, raw_database, postgresql_url, mysql_url
) -> None:
    """Not the context manager by hand: pytest's own fixture teardown, end to end.

    (``postgresql_url`` and ``mysql_url`` are here for their check that both servers answer.)
    """
    names = ("CI", "LAMINA_TEST_PG_URL", "LAMINA_TEST_MYSQL_URL")
    run = run_inner_pytest(tmp_path, **{k: os.environ[k] for k in names if k in os.environ})
    assert run.returncode == 0, run.stdout + run.stderr
    assert "2 passed" in run.stdout, run.stdout
    urls = (tmp_path / "record.txt").read_text().split()
    assert [url.partition(":")[0] for url in urls] == ["postgresql", "mysql"]
    for url in urls:
        assert not place_exists(raw_database, url), url


@pytest.mark.parametrize("ci", ["", "TRUE"])
def test_a_server_that_does_not_answer_skips_or_fails_under_ci(tmp_path, ci) -> None:
    run = run_inner_pytest(
        tmp_path,
        CI=ci,
        LAMINA_TEST_PG_URL="postgresql://postgres:s3cret@127.0.0.1:1/postgres",
        LAMINA_TEST_MYSQL_URL="mysql://root:s3cret@127.0.0.1:1/mysql",
    )
    out = run.stdout
    assert "s3cret" not in out + run.stderr
    assert "PostgreSQL test server not reachable at postgresql://postgres:***@127.0.0.1:1/" in out
    assert "MySQL/MariaDB test server not reachable at mysql://root:***@127.0.0.1:1/mysql" in out
    if ci:
        assert run.returncode == 1, out
        assert "2 errors" in out, out
        assert "CI=true, so this fails instead of skipping" in out
    else:
        assert run.returncode == 0, out
        assert "2 skipped" in out, out
