"""What lamina reads of a live MySQL/MariaDB database for its risk rules, on the real server:
the flavour and version, and each table's rows, size, columns, indexes and referrers."""

from __future__ import annotations

from contextlib import closing

import pytest

from lamina.engines import open_backend
from lamina.engines.mysql.facts import read, server_of
from lamina.risk.mysql_facts import ColumnFacts, MySQLTableFacts
from lamina.urls import parse_url


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("10.11.19-MariaDB-0+deb12u1", ((10, 11, 19), "mariadb")),
        ("5.5.5-10.6.16-MariaDB-log", ((10, 6, 16), "mariadb")),
        ("8.0.36", ((8, 0, 36), "mysql")),
        ("8.4.0-commercial", ((8, 4, 0), "mysql")),
        ("5.7.44-log", ((5, 7, 44), "mysql")),
    ],
)
def test_server_of_reads_version_and_flavour(text, expected) -> None:
    assert server_of(text) == expected


@pytest.mark.server
def test_read_describes_the_live_tables(mysql_url: str) -> None:
    from support.servers import ServerAddress

    with closing(ServerAddress.parse(mysql_url).connect()) as con, con.cursor() as cur:
        cur.execute("SELECT VERSION()")
        version_text = str(cur.fetchone()[0])
        cur.execute("CREATE TABLE users (id INT PRIMARY KEY) DEFAULT CHARSET=utf8mb4")
        cur.execute(
            "CREATE TABLE posts (id INT NOT NULL PRIMARY KEY, user_id INT, "
            "title VARCHAR(50) CHARACTER SET latin1, body TEXT, "
            "state ENUM('draft','live') NOT NULL DEFAULT 'draft', "
            "words INT AS (LENGTH(body)) VIRTUAL, "
            "INDEX posts_title (title), FULLTEXT INDEX posts_body (body), "
            "FOREIGN KEY (user_id) REFERENCES users (id)) DEFAULT CHARSET=utf8mb4"
        )
        cur.execute("INSERT INTO users VALUES (1), (2), (3)")
        cur.execute("ANALYZE TABLE users, posts")
        cur.fetchall()
    with open_backend(parse_url(mysql_url)) as backend:
        backend.connect(5)
        facts = read(backend)
    assert (facts.server_version, facts.flavor) == server_of(version_text)
    posts, users = facts.table("POSTS"), facts.table("users")
    assert isinstance(posts, MySQLTableFacts) and isinstance(users, MySQLTableFacts)
    assert users.rows == 3 and users.size_bytes
    assert users.referenced_by == ("posts",)
    assert posts.charset == "utf8mb4" and posts.fulltext and not users.fulltext
    assert {"posts_title", "posts_body"} <= set(posts.indexes) and "PRIMARY" not in posts.indexes
    assert posts.column("title") == ColumnFacts("varchar(50)", True, "latin1", 50, None, 3)
    assert posts.column("state") == ColumnFacts(
        "enum('draft','live')", False, "utf8mb4", 20, None, 5
    )
    assert posts.column("words") == ColumnFacts("int(11)", True, None, None, "virtual", 6)
    assert posts.is_last("words") and not posts.is_last("title")
