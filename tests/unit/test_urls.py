"""parse_url and DatabaseURL: fields, file forms, errors, and a password that never shows."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lamina.urls import DatabaseURL, URLError, parse_url

# --- server URLs -------------------------------------------------------------------------------


def test_postgres_url_fields() -> None:
    url = parse_url(
        "postgresql://app_user:s3cret@db.example.com:5433/appdb?schema=app&sslmode=require"
    )

    assert url.scheme == "postgresql"
    assert url.host == "db.example.com"
    assert url.port == 5433
    assert url.username == "app_user"
    assert url.password == "s3cret"
    assert url.database == "appdb"
    assert url.query == (("schema", "app"), ("sslmode", "require"))
    assert url.option("schema") == "app"
    assert url.option("sslmode") == "require"
    assert url.option("missing") is None
    assert url.path is None
    assert not url.is_file
    assert not url.is_memory


@pytest.mark.parametrize("scheme", ["postgres", "POSTGRES", "PostgreSQL"])
def test_postgres_scheme_aliases_normalise(scheme: str) -> None:
    assert parse_url(f"{scheme}://u@h/db").scheme == "postgresql"


def test_mysql_url_fields_without_port_or_password() -> None:
    url = parse_url("mysql://root@mariadb.local/shop")

    assert url.scheme == "mysql"
    assert url.host == "mariadb.local"
    assert url.port is None
    assert url.username == "root"
    assert url.password is None
    assert url.database == "shop"
    assert url.query == ()


def test_url_without_credentials() -> None:
    url = parse_url("postgresql://localhost/db")

    assert url.username is None
    assert url.password is None
    assert url.redacted() == "postgresql://localhost/db"


def test_surrounding_whitespace_is_ignored() -> None:
    assert parse_url("  mysql://u@h:3307/d \n").port == 3307


def test_percent_encoded_password_and_user_are_decoded() -> None:
    url = parse_url("postgresql://us%40er:p%40ss%3Aw%2Frd%23@host/db")

    assert url.username == "us@er"
    assert url.password == "p@ss:w/rd#"


def test_ipv6_host() -> None:
    url = parse_url("postgresql://u:pw@[::1]:5432/db")

    assert url.host == "::1"
    assert url.port == 5432
    assert url.redacted() == "postgresql://u:***@[::1]:5432/db"


def test_empty_password_is_kept_and_redacted() -> None:
    url = parse_url("postgresql://u:@h/db")

    assert url.password == ""
    assert url.redacted() == "postgresql://u:***@h/db"


# --- redaction ---------------------------------------------------------------------------------


def test_redacted_replaces_the_password() -> None:
    url = parse_url("postgresql://admin:hunter2hunter2@db:5432/prod?schema=app")

    assert url.redacted() == "postgresql://admin:***@db:5432/prod?schema=app"
    for text in (url.redacted(), str(url), repr(url), f"{url}", f"{url!r}"):
        assert "hunter2" not in text


@pytest.mark.parametrize(
    "raw",
    [
        "p%40ss%3Aword",  # p@ss:word
        "%E2%82%ACuro-secret",  # €uro-secret
        "sp%20ace%20secret",
        "pct%25secret",
    ],
)
def test_percent_encoded_password_never_appears_encoded_or_decoded(raw: str) -> None:
    url = parse_url(f"postgresql://bob:{raw}@db.example/app")
    decoded = url.password
    assert decoded is not None and decoded != raw

    for text in (url.redacted(), str(url), repr(url)):
        assert raw not in text
        assert decoded not in text
    assert url.redacted() == str(url) == "postgresql://bob:***@db.example/app"


def test_password_in_the_query_string_is_never_shown() -> None:
    url = parse_url("postgresql://bob@db.example/app?password=qu3ry-secret&sslmode=require")

    assert url.option("password") == "qu3ry-secret"  # still usable by the driver
    for text in (url.redacted(), str(url), repr(url)):
        assert "qu3ry-secret" not in text
    assert "sslmode=require" in url.redacted()


def test_redacted_url_parses_back_to_the_same_place() -> None:
    url = parse_url("mysql://user:pw@host:3306/db?charset=utf8mb4")
    again = parse_url(url.redacted())

    assert (again.scheme, again.host, again.port, again.username, again.database) == (
        "mysql",
        "host",
        3306,
        "user",
        "db",
    )
    assert again.query == url.query
    assert again.password == "***"


def test_url_error_messages_do_not_contain_the_password() -> None:
    for text in (
        "postgresql://u:TopSecretPw@h:notaport/db",
        "postgresql://u:TopSecretPw@h:99999/db",
        "postgresql://u:TopSecretPw@/db",
        "mysql://u:TopSecretPw@host",
    ):
        with pytest.raises(URLError) as caught:
            parse_url(text)
        assert "TopSecretPw" not in str(caught.value)


# --- file URLs ---------------------------------------------------------------------------------


@pytest.mark.parametrize("scheme", ["duckdb", "sqlite", "DuckDB"])
def test_relative_file_url(scheme: str) -> None:
    url = parse_url(f"{scheme}:///data/app.db")

    assert url.scheme == scheme.lower()
    assert url.path == "data/app.db"
    assert url.is_file
    assert not url.is_memory
    assert url.host is None and url.database is None


def test_dot_relative_file_url() -> None:
    assert parse_url("duckdb:///./app.duckdb").path == "./app.duckdb"


def test_absolute_file_url_uses_four_slashes() -> None:
    url = parse_url("sqlite:////var/lib/app.sqlite3")

    assert url.path == "/var/lib/app.sqlite3"
    assert url.redacted() == "sqlite:////var/lib/app.sqlite3"


@pytest.mark.parametrize("scheme", ["duckdb", "sqlite"])
def test_memory_url(scheme: str) -> None:
    url = parse_url(f"{scheme}:///:memory:")

    assert url.is_memory
    assert url.is_file
    assert url.path == ":memory:"
    assert url.redacted() == f"{scheme}:///:memory:"


def test_file_url_path_is_percent_decoded() -> None:
    assert parse_url("duckdb:///my%20data/app.duckdb").path == "my data/app.duckdb"


def test_file_url_round_trips_through_redacted() -> None:
    for text in ("duckdb:///rel/a.duckdb", "duckdb:////abs/a.duckdb", "sqlite:///:memory:"):
        url = parse_url(text)
        assert parse_url(url.redacted()) == url


def test_file_url_query_does_not_become_part_of_the_path() -> None:
    assert parse_url("duckdb:///app.duckdb?threads=4").path == "app.duckdb"


# --- errors ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("oracle://scott:tiger@host/db", "unknown scheme"),
        ("mongodb://host/db", "unknown scheme"),
        ("app.duckdb", "not a URL"),
        ("", "not a URL"),
        ("duckdb://app.duckdb", "three slashes"),
        ("duckdb:///", "no file path"),
        ("sqlite:///?mode=ro", "no file path"),
        ("duckdb:///a%00b", "NUL"),
        ("postgresql://u:pw@/db", "no host"),
        ("postgresql:///db", "no host"),
        ("postgresql://u:pw@host", "no database"),
        ("mysql://u:pw@host/", "no database"),
        ("postgresql://u@host:notaport/db", "port"),
        ("postgresql://u@host:70000/db", "port"),
    ],
)
def test_bad_urls_raise_url_error(text: str, fragment: str) -> None:
    with pytest.raises(URLError) as caught:
        parse_url(text)
    assert fragment in str(caught.value)
    assert isinstance(caught.value, ValueError)


def test_file_path_with_a_raw_nul_is_rejected() -> None:
    with pytest.raises(URLError, match="NUL"):
        parse_url("duckdb:///a\x00b")


def test_unknown_scheme_message_lists_the_known_ones() -> None:
    with pytest.raises(URLError) as caught:
        parse_url("redis://localhost/0")
    for scheme in ("duckdb", "sqlite", "postgresql", "mysql"):
        assert scheme in str(caught.value)


# --- properties --------------------------------------------------------------------------------

LOWER = "abcdefghijklmnopqrstuvwxyz"
NAME = st.text(LOWER + "0123456789_", min_size=1, max_size=12).filter(lambda s: s[0].isalpha())
HOST = st.lists(st.text(LOWER + "0123456789", min_size=1, max_size=10), min_size=1, max_size=3).map(
    ".".join
)
# Passwords always hold an upper-case letter, which nothing else in these URLs can contain
# (scheme, user, host and database are lower case), so "the password shows" cannot be a
# coincidence; the reserved characters force percent-encoding.
PASSWORD = st.builds(
    lambda head, tail: head + tail,
    st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZ"),
    st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789" + "@:/?#%&=+ *!$", max_size=15),
)


@settings(max_examples=150, deadline=None)
@given(
    scheme=st.sampled_from(["postgresql", "mysql"]),
    user=NAME,
    password=PASSWORD,
    host=HOST,
    port=st.one_of(st.none(), st.integers(1, 65535)),
    database=NAME,
)
def test_server_url_round_trip(
    scheme: str, user: str, password: str, host: str, port: int | None, database: str
) -> None:
    port_part = f":{port}" if port is not None else ""
    text = f"{scheme}://{user}:{quote(password, safe='')}@{host}{port_part}/{database}"

    url = parse_url(text)

    assert url.scheme == scheme
    assert url.username == user
    assert url.password == password
    assert url.host == host
    assert url.port == port
    assert url.database == database
    if len(password) >= 4:
        encoded = quote(password, safe="")
        for shown in (url.redacted(), str(url), repr(url)):
            assert password not in shown
            assert encoded not in shown
    # The redacted form still identifies the same server and database.
    again = parse_url(url.redacted())
    assert (again.host, again.port, again.username, again.database) == (
        host,
        port,
        user,
        database,
    )


@settings(max_examples=50, deadline=None)
@given(
    path=st.text(LOWER + "0123456789_-./", min_size=1, max_size=30).filter(
        lambda p: not p.startswith("/") and "?" not in p
    )
)
def test_file_url_round_trip(path: str) -> None:
    url = parse_url(f"duckdb:///{path}")

    assert url.path == path
    assert parse_url(url.redacted()) == url


def test_database_url_can_be_built_directly() -> None:
    url = DatabaseURL(
        scheme="postgresql", host="h", username="u", password="DirectPw", database="d"
    )

    assert url.redacted() == "postgresql://u:***@h/d"
    assert "DirectPw" not in repr(url)
