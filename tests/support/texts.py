"""Migration files the tests write again and again, written once.

``.sql`` texts in dbmate's format, indented as tests write them (``make_migrations``
dedents them).
"""

from __future__ import annotations

__all__ = ["LOOSE", "POSTS", "USERS", "creates_table"]


def creates_table(name: str, columns: str = "id INTEGER PRIMARY KEY") -> str:
    """A migration that creates table ``name`` and whose down drops it."""
    return f"""
    -- migrate:up
    CREATE TABLE {name} ({columns});
    -- migrate:down
    DROP TABLE {name};
"""


USERS = creates_table("users", "id INTEGER PRIMARY KEY, email VARCHAR(200)")
POSTS = creates_table("posts")
#: Not rolled back as a whole: the CREATE stays, the SELECT fails, the database is dirty.
LOOSE = """
    -- transactional: false
    -- migrate:up
    CREATE TABLE kept (id INTEGER);
    SELECT * FROM missing_table;
    -- migrate:down
    DROP TABLE kept;
"""
