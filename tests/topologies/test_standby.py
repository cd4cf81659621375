"""lamina against a real PostgreSQL hot standby (pg_basebackup -R, streaming from the test
server): reads work and take nothing; commands that change refuse before any statement."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pytest

from support.processes import lamina_env, start
from support.standby import Standby, wait_for_replay
from support.texts import USERS

REFUSAL = "this server is a read-only standby; point DATABASE_URL at the primary"
POSTS = "-- migrate:up\nCREATE TABLE posts (id INTEGER);\n-- migrate:down\nDROP TABLE posts;\n"


@pytest.fixture
def engine() -> str:
    return "postgresql"


def lamina(args: list[str], url: str, folder: Path, cwd: Path) -> tuple[int, str, str]:
    proc = start(args, lamina_env(url, folder), cwd)
    out, err = proc.communicate(timeout=120)
    return proc.returncode, out, err


@pytest.fixture
def replicated(pg_standby: Standby, make_migrations, db_url, raw_db, tmp_path):
    """001_users applied on the primary (and a backup of it taken there), 002_posts pending,
    all of it replayed on the standby; yields the standby's URL and the migrations folder."""
    folder = make_migrations({"001_users.sql": USERS})
    assert lamina(["up"], db_url, folder, tmp_path)[0] == 0
    code, out, err = lamina(["backup", "create", "--json"], db_url, folder, tmp_path)
    assert code == 0, err
    backup_id = json.loads(out)["backup"]["id"]
    make_migrations({"002_posts.sql": POSTS})
    standby_url = pg_standby.url(db_url)
    standby = psycopg.connect(
        host="127.0.0.1", port=pg_standby.port, user=raw_db.address.user,
        dbname=raw_db.address.database, autocommit=True,
    )  # fmt: skip
    primary = raw_db.address.connect()
    try:
        wait_for_replay(primary, standby)
    finally:
        primary.close()
    try:
        yield standby_url, folder, backup_id, standby
    finally:
        standby.close()


def standby_state(standby, schema: str) -> tuple[list[str], int]:
    """The schema's tables on the standby, and the advisory locks held there."""
    tables = standby.execute(
        "SELECT tablename FROM pg_tables WHERE schemaname = %s ORDER BY 1", (schema,)
    ).fetchall()
    locks = standby.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'").fetchone()
    return [t for (t,) in tables], int(locks[0])


def test_status_health_and_diff_read_the_standby_and_change_nothing(
    replicated, raw_db, tmp_path
) -> None:
    url, folder, _, standby = replicated
    before = standby_state(standby, raw_db.schema)
    assert "users" in before[0]
    code, out, err = lamina(["status", "--json"], url, folder, tmp_path)
    assert code == 0, err
    states = {m["id"]: m["status"] for m in json.loads(out)["migrations"]}
    assert states == {"001_users": "applied", "002_posts": "pending"}
    code, out, err = lamina(["health", "--json", "--detailed"], url, folder, tmp_path)
    assert code == 0, err
    health = json.loads(out)
    assert health["status"] == "degraded"  # 002 is pending: the primary has not applied it
    assert "(read-only standby, replication lag" in health["message"]
    replica = health["details"]["replica"]
    assert replica["standby"] is True
    assert replica["lagSeconds"] is None or replica["lagSeconds"] >= 0
    code, out, err = lamina(["diff", "--json"], url, folder, tmp_path)
    assert code == 0, err
    assert json.loads(out)["differences"] == []
    assert standby_state(standby, raw_db.schema) == before  # no table, no lock


def test_the_primary_health_has_no_replica(replicated, db_url, tmp_path) -> None:
    _, folder, _, _ = replicated
    code, out, err = lamina(["health", "--json", "--detailed"], db_url, folder, tmp_path)
    assert code == 0, err
    health = json.loads(out)
    assert health["details"]["replica"] is None
    assert "standby" not in health["message"]


@pytest.mark.parametrize(
    "args",
    [
        ["up"],
        ["rollback", "0", "--force", "--yes"],
        ["redo", "--force", "--yes"],
        ["repair", "001_users", "--mark-rolled-back"],
        ["backup", "create"],
        ["backup", "restore", "{backup}", "--yes"],
    ],
    ids=lambda args: " ".join(a for a in args if not a.startswith(("-", "{"))),
)
def test_commands_that_change_refuse_on_the_standby_at_once(
    args, replicated, raw_db, tmp_path
) -> None:
    url, folder, backup_id, standby = replicated
    before = standby_state(standby, raw_db.schema)
    backups = sorted((tmp_path / ".lamina").rglob("*"))
    command = [a.replace("{backup}", backup_id) for a in args]
    code, out, err = lamina(command, url, folder, tmp_path)
    assert code == 3, out + err
    assert REFUSAL in err
    assert "read-only transaction" not in err  # refused before any statement ran
    assert "Traceback" not in err
    assert standby_state(standby, raw_db.schema) == before
    assert sorted((tmp_path / ".lamina").rglob("*")) == backups  # no backup written either
    # The primary is untouched too: 001 applied, 002 pending.
    assert raw_db.applied_ids() == ["001_users"]


def test_json_error_document_of_the_refusal(replicated, tmp_path) -> None:
    url, folder, _, _ = replicated
    code, out, _ = lamina(["up", "--json"], url, folder, tmp_path)
    assert code == 3
    document = json.loads(out)
    assert document["exit_code"] == 3
    assert document["error"].startswith(REFUSAL)
    assert document["kind"] == "ReadOnlyServerError"
