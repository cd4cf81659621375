"""The text of a generated migration (``.sql``, ``.py``, or a baseline) and where it goes.

The name, slug and version follow ``lamina create`` (:mod:`lamina.templates`): the same checks
of the name, the next number or timestamp of the folder, the same file name.
"""

from __future__ import annotations

import keyword
from collections.abc import Sequence
from pathlib import Path

from lamina.errors import ConfigError
from lamina.schema import Snapshot
from lamina.templates import check_name, next_version, slugify

__all__ = ["baseline_text", "new_path", "py_text", "sql_text"]


def new_path(folder: Path, existing: dict[int, str], name: str, kind: str) -> Path:
    """``<version>_<slug>.<kind>`` in ``folder``, numbered as ``lamina create`` numbers.

    Raises:
        ConfigError: the name cannot become a file name (``NAME``, as ``create`` says).
    """
    try:
        check_name(name)
        slug = slugify(name)
    except ValueError as exc:
        raise ConfigError("NAME", "command line", str(exc)) from None
    return folder / f"{next_version(existing)}_{slug}.{kind}"


def sql_text(
    name: str,
    origin: str,
    up: Sequence[str],
    down: Sequence[str],
    notes: Sequence[str],
    *,
    transactional: bool = True,
    empty_down: str | None = None,
) -> str:
    """A ``.sql`` migration: headers, the notes as comments, then the two sections. Without a
    down the section is left out, so the migration is irreversible rather than a no-op;
    ``empty_down`` is why an empty down section is right (``lamina:allow empty-down``)."""
    lines = [f"-- name: {' '.join(name.split())}", "-- category: schema"]
    if not transactional:
        lines.append("-- transactional: false")
    lines.append(f"-- {origin}")
    if empty_down:
        lines.append(f"-- lamina:allow empty-down {empty_down}")
    lines += [f"-- Note: {line}" for note in notes for line in note.splitlines()]
    lines += ["", "-- migrate:up", *_statements(up)]
    if down or empty_down:
        lines += ["", "-- migrate:down", *_statements(down)]
    return "\n".join(lines) + "\n"


def py_text(
    name: str,
    origin: str,
    up: Sequence[str],
    down: Sequence[str],
    notes: Sequence[str],
    *,
    transactional: bool = True,
    empty_down: str | None = None,
) -> str:
    """A Python migration whose ``up`` and ``down`` call ``execute_sql`` once per statement."""
    doc = [f'"""{_doc_line(origin)}']
    if notes:
        doc += ["", "Notes:", *(f"- {_doc_line(note)}" for note in notes)]
    parts = [*doc, '"""', "", "from lamina import Migration", "", ""]
    parts += [f"class {_class_name(name)}(Migration):", f"    name = {name!r}"]
    parts.append("    category = 'schema'")
    if not transactional:
        parts.append("    transactional = False")
    if empty_down:
        parts.append(f"    risk_allow = {{'empty-down': {empty_down!r}}}")
    parts += ["", "    def up(self) -> None:", *_calls(up)]
    if down or empty_down:
        parts += ["", "    def down(self) -> None:", *(_calls(down) or ["        pass"])]
    return "\n".join(parts) + "\n"


def baseline_text(name: str, origin: str, up: Sequence[str], schema: Snapshot) -> str:
    """A baseline (:mod:`lamina.generate.baseline`): the statements and the schema they were
    captured as, so that ``up`` can tell the captured database from an empty or another one."""
    statements = [f"    {_py_string(sql, indent='        ')}," for sql in up]
    return "\n".join(
        [
            f'"""{_doc_line(origin)}',
            "",
            "The BASELINE: `lamina up` on a database that already has exactly SCHEMA records it",
            "as applied without running anything; on an empty database it runs STATEMENTS; on",
            "any other database it refuses and lists the differences. It has no down: rolling",
            "it back would drop the whole schema.",
            '"""',
            "",
            "from lamina import Migration",
            "from lamina.generate.baseline import apply_baseline",
            "",
            "",
            f"class {_class_name(name)}(Migration):",
            f"    name = {name!r}",
            "    category = 'schema'",
            "",
            "    def up(self) -> None:",
            "        apply_baseline(self, SCHEMA, STATEMENTS)",
            "",
            "",
            "STATEMENTS = (",
            *statements,
            ")",
            "",
            "#: The schema as it was captured (lamina's snapshot format), compared at `lamina up`.",
            'SCHEMA = r"""',
            schema.to_json(indent=1),
            '"""',
        ]
    ) + "\n"  # fmt: skip


def _statements(statements: Sequence[str]) -> list[str]:
    out: list[str] = []
    for index, sql in enumerate(statements):
        if index:
            out.append("")
        out.append(sql.strip().rstrip(";").rstrip() + ";")
    return out


def _calls(statements: Sequence[str]) -> list[str]:
    indent = " " * 12
    return [f"        self.execute_sql({_py_string(sql, indent=indent)})" for sql in statements]


def _py_string(sql: str, *, indent: str) -> str:
    """A Python literal of ``sql``: triple-quoted and indented when it can be written so
    unchanged in meaning, else ``repr``."""
    text = sql.strip().rstrip(";").rstrip()
    if '"""' in text or "\\" in text or text.endswith('"'):
        return repr(text)
    body = "\n".join(indent + line if line.strip() else "" for line in text.splitlines())
    return f'"""\n{body}\n{indent[4:]}"""'


def _doc_line(text: str) -> str:
    return " ".join(text.replace('"""', "'''").replace("\\", "/").split())


def _class_name(name: str) -> str:
    """As ``lamina create`` names the class: CamelCase of the slug, never a keyword."""
    try:
        slug = slugify(name)
    except ValueError:
        slug = "change"
    class_name = "".join(part.capitalize() for part in slug.split("_")) or "Change"
    if class_name[0].isdigit():
        class_name = "M" + class_name
    if keyword.iskeyword(class_name):
        class_name += "Migration"
    return class_name
