"""What the tests of ``lamina generate`` and ``check-schema`` share: the schema texts they
generate from, and writing a file of the project (a migration, a schema, a models module)."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

from click.testing import Result

USERS_SQL = "CREATE TABLE users (id INTEGER PRIMARY KEY, email VARCHAR(200) NOT NULL)"
POSTS_SQL = (
    "CREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL, "
    "FOREIGN KEY (user_id) REFERENCES users (id))"
)
USERS_MIGRATION = f"""\
-- migrate:up
{USERS_SQL};

-- migrate:down
DROP TABLE users;
"""

#: The ``run`` fixture: ``lamina ARGS`` in the test's folder.
Run = Callable[..., Result]


def write(path: Path, text: str) -> Path:
    """``text`` (dedented) at ``path``, its folders made."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path
