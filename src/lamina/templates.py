"""``lamina create``: a safe file name, the next version, and a ready-to-edit template."""

from __future__ import annotations

import keyword
import re
import unicodedata
from datetime import UTC, datetime

from lamina.models import Category

__all__ = ["MAX_NAME_LENGTH", "check_name", "next_version", "render_template", "slugify"]

# Folders numbered 001, 002, ... keep sequential numbers; timestamps are 14 digits.
_SEQUENTIAL_LIMIT = 10**6
#: The longest migration name ``lamina create`` accepts: it is a title, shown in every listing.
MAX_NAME_LENGTH = 200


def check_name(name: str) -> None:
    """Refuse a name ``lamina create`` cannot write into a file header as one line of text.

    Raises:
        ValueError: the name is longer than :data:`MAX_NAME_LENGTH` or holds a control
            character (a newline, a NUL...).
    """
    if len(name) > MAX_NAME_LENGTH:
        raise ValueError(
            f"the name is {len(name)} characters long; a migration name is a short title "
            f"of at most {MAX_NAME_LENGTH}"
        )
    control = next((c for c in name if unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp")), None)
    if control is not None:
        raise ValueError(
            f"the name holds the control character {control!r}: use letters, digits and spaces"
        )


def slugify(name: str) -> str:
    """``Add user preferences`` → ``add_user_preferences``; only [a-z0-9_] survive.

    Raises:
        ValueError: nothing usable is left, or the name tries to be a path.
    """
    if "\x00" in name or "/" in name or "\\" in name or name.startswith("."):
        raise ValueError(f"{name!r} is a name, not a path: use letters, digits and spaces")
    slug = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")
    if not slug:
        raise ValueError(f"{name!r} has no letters or digits to build a file name from")
    return slug[:80]


def next_version(existing: dict[int, str], now: datetime | None = None) -> str:
    """The version prefix for a new migration, given existing versions and their spellings.

    Folders that already use small sequential numbers get the next number, zero-padded like
    the newest one (``007`` → ``008``); otherwise a UTC timestamp ``YYYYMMDDHHMMSS``, bumped
    past any existing version so two quick ``create`` calls never collide.
    """
    newest = max(existing, default=None)
    if newest is not None and newest < _SEQUENTIAL_LIMIT:
        return str(newest + 1).zfill(len(existing[newest]))
    stamp = int((now or datetime.now(UTC)).strftime("%Y%m%d%H%M%S"))
    if newest is not None and stamp <= newest:
        stamp = newest + 1
    return str(stamp)


def render_template(kind: str, name: str, category: Category, depends_on: tuple[str, ...]) -> str:
    """The text of a new ``.py`` or ``.sql`` migration."""
    if kind == "sql":
        # One header line, whatever the name holds (check_name refuses line breaks first).
        lines = [f"-- name: {' '.join(name.split())}", f"-- category: {category.value}"]
        if depends_on:
            lines.append(f"-- depends: {', '.join(depends_on)}")
        lines += [
            "",
            "-- lamina refuses to apply this file while its up section runs no statement, so an",
            "-- unedited template never applies silently. A migration meant to run nothing says",
            "-- so with the header line `-- empty: true` (above `-- migrate:up`).",
            "-- An empty down section rolls back as a no-op; deleting the down section makes",
            "-- the migration irreversible. `-- migrate:up transaction:false` (or down) runs a",
            "-- section outside a transaction (CREATE INDEX CONCURRENTLY; COMMIT or BEGIN are",
            "-- refused inside one).",
            "",
            "-- migrate:up",
            "-- Example: ALTER TABLE users ADD COLUMN phone_number VARCHAR(20);",
            "",
            "",
            "-- migrate:down",
            "-- Example: ALTER TABLE users DROP COLUMN phone_number;",
            "",
        ]
        return "\n".join(lines)
    class_name = "".join(part.capitalize() for part in slugify(name).split("_")) or "Change"
    if class_name[0].isdigit():
        class_name = "M" + class_name
    if keyword.iskeyword(class_name):  # "none" -> None, "true" -> True: not a class name
        class_name += "Migration"
    deps = f"    dependencies = {list(depends_on)!r}\n" if depends_on else ""
    return (
        "from lamina import Migration\n\n\n"
        f"class {class_name}(Migration):\n"
        f"    name = {name!r}\n"
        '    description = ""\n'
        f"    category = {category.value!r}\n"
        f"{deps}\n"
        "    def up(self) -> None:\n"
        '        self.execute_sql("""\n'
        "            -- Example: ALTER TABLE users ADD COLUMN phone_number VARCHAR(20);\n"
        '        """)\n\n'
        "    def down(self) -> None:\n"
        '        self.execute_sql("""\n'
        "            -- Example: ALTER TABLE users DROP COLUMN phone_number;\n"
        '        """)\n'
    )
