"""mysql:// URL options: one list for the backend and the backup tools, session variables on
every connection lamina opens, and a refusal naming the option for anything else. MariaDB."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import quote

import pytest

from lamina.backup import BackupStore, create_backup, restore_backup
from lamina.config import load_settings
from lamina.engines import open_backend
from lamina.engines.mysql.backup import _connect
from lamina.engines.mysql.connect import defaults_file, known_options, parse_options
from lamina.errors import UsageError
from lamina.scratch import scratch_database
from lamina.urls import URLError, parse_url

SESSION = "sql_mode=ANSI_QUOTES,STRICT_ALL_TABLES&time_zone=+03:00&group_concat_max_len=4242"
SOCKET = "/run/mysqld/mysqld.sock"


def _with(url: str, query: str) -> str:
    return url + ("&" if "?" in url else "?") + query


def _session_of(backend) -> tuple[str, str, int]:
    [(mode, zone, length)] = backend.query(
        "SELECT @@SESSION.sql_mode, @@SESSION.time_zone, @@SESSION.group_concat_max_len"
    )
    return str(mode), str(zone), int(length)


# -- parsing (no server) ---------------------------------------------------------------------
def test_session_variables_become_one_checked_set_statement() -> None:
    options = parse_options(parse_url("mysql://u@h/db?" + SESSION + "&connect_timeout=4"))
    assert options.connect == {"connect_timeout": 4.0}
    assert options.init_command() == (
        "SET SESSION sql_mode = 'ANSI_QUOTES,STRICT_ALL_TABLES', SESSION time_zone = '+03:00', "
        "SESSION group_concat_max_len = 4242"
    )
    assert parse_options(parse_url("mysql://u@h/db")).init_command() is None


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("sslmode=require", "unknown MySQL option 'sslmode'"),
        ("foreign_key_checks=0", "'foreign_key_checks' is not accepted"),
        ("innodb_lock_wait_timeout=5", "LAMINA_TABLE_LOCK_TIMEOUT"),
        ("autocommit=1", "'autocommit' is not accepted"),
        ("sql_mode=NO_BACKSLASH_ESCAPES", "NO_BACKSLASH_ESCAPES"),
        ("sql_mode=STRICT_ALL_TABLES';DROP TABLE x", "sql_mode flags"),
        ("time_zone=x'y", "is not a time zone"),
        ("group_concat_max_len=lots", "whole number"),
        ("connect_timeout=0", "seconds above 0"),
    ],
)
def test_unknown_refused_and_malformed_options_are_usage_errors_naming_them(
    query: str, expected: str, tmp_path: Path
) -> None:
    with pytest.raises(URLError, match=expected):
        parse_options(parse_url(f"mysql://u@h/db?{query}"))
    with pytest.raises(UsageError) as caught:
        load_settings({"database_url": f"mysql://u@h/db?{query}"}, environ={}, cwd=tmp_path)
    assert caught.value.exit_code == 2
    assert caught.value.message.startswith("--database-url (command line): ")
    if "unknown" in expected or "not accepted" in expected:
        assert "sql_mode" in (caught.value.hint or "") and "time_zone" in (caught.value.hint or "")


def test_the_documented_option_list_is_the_one_enforced() -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    for option in known_options():
        assert f"`{option}`" in readme, option


# -- on the server ---------------------------------------------------------------------------


@pytest.mark.server
def test_every_connection_of_the_backend_gets_the_session_variables(mysql_url: str) -> None:
    url = parse_url(_with(mysql_url, SESSION))
    expected = ("ANSI_QUOTES,STRICT_ALL_TABLES", "+03:00", 4242)
    backend = open_backend(url)
    try:
        backend.connect(5)
        assert _session_of(backend) == expected
        # The heartbeat and the KILL QUERY sender open connections of their own, like this one.
        second = type(backend)(backend.url, options=backend.options)
        second.connect(5)
        try:
            assert _session_of(second) == expected
        finally:
            second.close()
    finally:
        backend.close()
    reader = open_backend(url, read_only=True)
    try:
        reader.connect(5)
        assert _session_of(reader) == expected
    finally:
        reader.close()


@pytest.mark.server
def test_verify_scratch_connections_get_the_session_variables(mysql_url: str) -> None:
    url = parse_url(_with(mysql_url, "time_zone=-04:00"))
    with scratch_database(url) as scratch:
        backend = open_backend(scratch)
        try:
            backend.connect(5)
            assert backend.query("SELECT @@SESSION.time_zone") == [("-04:00",)]
        finally:
            backend.close()


@pytest.mark.server
def test_a_value_the_server_refuses_is_one_line_naming_the_database(mysql_url: str) -> None:
    backend = open_backend(parse_url(_with(mysql_url, "time_zone=Mars/Olympus_Mons")))
    with pytest.raises(Exception, match="time zone") as caught:
        backend.connect(5)
    assert "cannot connect to MySQL database" in str(caught.value)


@pytest.mark.server
def test_backup_and_restore_accept_every_backend_option(
    mysql_url: str, raw_database, tmp_path: Path
) -> None:
    raw = raw_database(mysql_url)
    raw.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body VARCHAR(20))")
    raw.execute("INSERT INTO notes VALUES (1, 'kept')")
    query = "charset=utf8mb4&connect_timeout=5&ssl_disabled=true&" + SESSION
    url = parse_url(_with(mysql_url, query))
    store = BackupStore(tmp_path / "backups")
    record = create_backup(url, store, schema_version=1, trigger="manual")
    raw.execute("DELETE FROM notes")
    restore_backup(url, store, record.id)
    assert raw.query("SELECT id, body FROM notes") == [(1, "kept")]


@pytest.mark.server
def test_backup_over_the_unix_socket(mysql_url: str, raw_database, tmp_path: Path) -> None:
    if not os.path.exists(SOCKET):
        pytest.skip(f"no server socket at {SOCKET}")
    raw = raw_database(mysql_url)
    raw.execute("CREATE TABLE s (id INTEGER PRIMARY KEY)")
    raw.execute("INSERT INTO s VALUES (5)")
    url = parse_url(_with(mysql_url, f"unix_socket={quote(SOCKET, safe='')}"))
    store = BackupStore(tmp_path / "backups")
    record = create_backup(url, store, schema_version=1, trigger="manual")
    raw.execute("DELETE FROM s")
    restore_backup(url, store, record.id)
    assert raw.query("SELECT id FROM s") == [(5,)]


@pytest.mark.server
def test_the_restore_connection_and_the_loading_client_get_the_session_variables(
    mysql_url: str,
) -> None:
    url = parse_url(_with(mysql_url, SESSION + "&connect_timeout=7"))
    conn = _connect(url)
    try:
        with conn.cursor() as cursor:
            cursor.execute("SELECT @@SESSION.time_zone, @@SESSION.group_concat_max_len")
            assert cursor.fetchall() == (("+03:00", 4242),)
    finally:
        conn.close()
    with defaults_file(url, "/usr/bin/mariadb", loader=True) as name:
        text = Path(name).read_text(encoding="utf-8")
    client = text.split("[mysql]", 1)[1]
    assert "connect-timeout=7" in client
    assert "init-command=\"SET SESSION sql_mode = 'ANSI_QUOTES" in client
    with defaults_file(url, "/usr/bin/mariadb-dump") as name:
        dump = Path(name).read_text(encoding="utf-8")
    assert "init-command" not in dump and "connect-timeout" not in dump  # unknown to the dump
