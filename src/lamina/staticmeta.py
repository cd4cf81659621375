"""Read what a migration declares about itself without running it.

``status``, ``validate`` and health must never execute migration code, and must stay fast with
thousands of files. A ``.sql`` file's metadata is its header comments; a ``.py`` file's is the
literal class attributes of its ``Migration`` subclass, read with :mod:`ast`. When a Python file
computes an attribute (``name = make_name()``) the answer is :data:`NEEDS_IMPORT` and the caller
imports that one file instead.
"""

from __future__ import annotations

import ast
import functools
from dataclasses import dataclass
from typing import Final

from lamina.allowances import parse_allowances
from lamina.models import Category, MigrationMeta
from lamina.sqltext import SqlFormatError, SqlSource, has_statements, parse_sql_migration

__all__ = [
    "NEEDS_IMPORT",
    "MetaError",
    "MetaWarning",
    "PyDeclared",
    "parse_checked",
    "read_py_meta",
    "read_sql_file",
    "read_sql_meta",
]

#: Attributes lamina reads from a Migration subclass.
_KNOWN_ATTRS: Final = frozenset(
    {"id", "version", "name", "description", "category", "dependencies", "transactional"}
)


class MetaError(ValueError):
    """Declared metadata is invalid; ``line`` is 1-based when known."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.line = line


class _NeedsImport:
    def __repr__(self) -> str:
        return "NEEDS_IMPORT"


NEEDS_IMPORT: Final = _NeedsImport()


@dataclass(frozen=True, slots=True)
class PyDeclared:
    """A Python migration's literal declarations, plus the ``id``/``version`` it claims."""

    meta: MigrationMeta
    declared_id: str | None
    declared_version: int | None
    class_line: int


def read_sql_meta(text: str, slug: str) -> MigrationMeta:
    """Metadata of a ``.sql`` migration from its header comments.

    Raises:
        MetaError: malformed sections or headers, or an up section that runs nothing without
            ``-- empty: true`` (with the line).
    """
    return read_sql_file(text, slug)[0]


@dataclass(frozen=True, slots=True)
class MetaWarning:
    """Something in a file worth saying that does not stop it from running."""

    message: str
    line: int | None
    code: str


def read_sql_file(text: str, slug: str) -> tuple[MigrationMeta, tuple[MetaWarning, ...]]:
    """:func:`read_sql_meta`, plus the warnings about the file: options on a marker line that
    lamina does not know, and an empty down section that no ``lamina:allow empty-down`` allows.

    Raises:
        MetaError: as :func:`read_sql_meta`.
    """
    source = parse_checked(text)
    headers = source.headers
    down = source.down
    down_empty = down is not None and not _runs_something(down.sql)
    warnings = [
        MetaWarning(
            f"unknown option `{option}` on the `-- migrate:{kind}` line: lamina ignores it "
            "(it knows transaction:false)",
            section.marker_line,
            "unknown-option",
        )
        for kind, section in (("up", source.up), ("down", down))
        if section is not None
        for option in section.unknown_options
    ]
    if down is not None and down_empty and "empty-down" not in parse_allowances(text)[0]:
        warnings.append(
            MetaWarning(
                "the `-- migrate:down` section runs no statement: rolling back will only "
                "remove the history row while what the up did stays (write the down, or say "
                "why nothing needs undoing with `-- lamina:allow empty-down <reason>`)",
                down.marker_line,
                "empty-down",
            )
        )
    meta = MigrationMeta(
        name=headers.name or humanize(slug),
        description=headers.description or "",
        category=Category(headers.category) if headers.category else Category.SCHEMA,
        dependencies=headers.depends,
        transactional=source.transactional(),
        reversible=down is not None,
        transactional_down=source.transactional(down=True),
        down_empty=down_empty,
    )
    return meta, tuple(warnings)


@functools.lru_cache(maxsize=4096)
def parse_checked(text: str) -> SqlSource:
    """Parse a ``.sql`` migration and refuse an up section that runs nothing (an unedited
    ``lamina create`` template) unless the file says so with ``-- empty: true``.

    Scanning the folder and loading a migration both need the parse: it is a pure function
    of the text with an immutable result, so the second asks a bounded cache.

    Raises:
        MetaError: what :func:`~lamina.sqltext.parse_sql_migration` refuses, or the empty up.
    """
    try:
        source = parse_sql_migration(text)
    except SqlFormatError as exc:
        raise MetaError(str(exc), exc.line) from None
    if not source.headers.empty and not _runs_something(source.up.sql):
        raise MetaError(
            "the up section runs no statement (an unedited template?): write the change "
            "below `-- migrate:up`, or, if it is meant to run nothing, add the header "
            "`-- empty: true` above it",
            source.up.marker_line,
        )
    return source


def _runs_something(sql: str) -> bool:
    """Whether a section holds a statement. Comments are read as every engine reads them
    ("sqlite" is enough); a MySQL executable comment ``/*! ... */`` counts as a statement."""
    return has_statements(sql, "sqlite") or "/*!" in sql or "/*M!" in sql


def read_py_meta(text: str, slug: str) -> PyDeclared | _NeedsImport:
    """Metadata of a ``.py`` migration from its source, without importing it.

    Returns :data:`NEEDS_IMPORT` when the file cannot be understood statically (no class that
    visibly derives from ``Migration``, several candidates, or a computed attribute).

    Raises:
        MetaError: a syntax error, or a literal attribute with an invalid value.
    """
    try:
        tree = ast.parse(text)
    except SyntaxError as exc:
        raise MetaError(f"syntax error: {exc.msg}", exc.lineno) from None
    except (MemoryError, RecursionError):  # absurdly nested code: the import will say more
        return NEEDS_IMPORT
    candidates = [
        node
        for node in tree.body
        if isinstance(node, ast.ClassDef) and any(_names_migration(b) for b in node.bases)
    ]
    if len(candidates) != 1:
        return NEEDS_IMPORT
    cls = candidates[0]
    values: dict[str, object] = {}
    lines: dict[str, int] = {}
    reversible = False
    for stmt in cls.body:
        if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef) and stmt.name == "down":
            reversible = True
        target, value = _assignment(stmt)
        if target not in _KNOWN_ATTRS or value is None:
            continue
        try:
            values[target] = ast.literal_eval(value)
        except (ValueError, TypeError, MemoryError, RecursionError):
            return NEEDS_IMPORT  # not a plain literal ({[]: 1}, deep nesting): import decides
        lines[target] = stmt.lineno
    meta = build_meta(values, slug, reversible=reversible, lines=lines)
    declared_version = values.get("version")
    declared_id = values.get("id")
    return PyDeclared(
        meta=meta,
        declared_id=declared_id if isinstance(declared_id, str) else None,
        declared_version=declared_version if isinstance(declared_version, int) else None,
        class_line=cls.lineno,
    )


def build_meta(
    values: dict[str, object],
    slug: str,
    *,
    reversible: bool,
    lines: dict[str, int] | None = None,
) -> MigrationMeta:
    """Validate declared attribute values into a :class:`MigrationMeta`.

    Shared by the static reader and the importing loader, so both judge values the same way.
    """
    lines = lines or {}

    def fail(attr: str, problem: str) -> MetaError:
        return MetaError(f"{attr} {problem}", lines.get(attr))

    name = values.get("name") or humanize(slug)
    description = values.get("description") or ""
    if not isinstance(name, str):
        raise fail("name", "must be a string")
    if not isinstance(description, str):
        raise fail("description", "must be a string")
    category = values.get("category", Category.SCHEMA)
    try:
        category = Category(str(category.value if isinstance(category, Category) else category))
    except ValueError:
        choices = ", ".join(c.value for c in Category)
        raise fail("category", f"must be one of {choices}, not {category!r}") from None
    deps = values.get("dependencies", ())
    if isinstance(deps, str | int) or not isinstance(deps, list | tuple | set | frozenset):
        raise fail("dependencies", "must be a list of migration ids or versions")
    if not all(isinstance(d, str | int) and not isinstance(d, bool) for d in deps):
        raise fail("dependencies", "must contain only ids (strings) or versions (integers)")
    transactional = values.get("transactional", True)
    if not isinstance(transactional, bool):
        raise fail("transactional", "must be True or False")
    return MigrationMeta(
        name=name,
        description=description,
        category=category,
        dependencies=tuple(str(d) for d in deps),
        transactional=transactional,
        reversible=reversible,
        transactional_down=transactional,
    )


def humanize(slug: str) -> str:
    """``add_user_preferences`` → ``Add user preferences``: the default display name."""
    words = slug.replace("-", " ").replace("_", " ").split()
    return " ".join(words).capitalize() if words else slug


def _names_migration(base: ast.expr) -> bool:
    if isinstance(base, ast.Name):
        return base.id == "Migration"
    if isinstance(base, ast.Attribute):
        return base.attr == "Migration"
    return False


def _assignment(stmt: ast.stmt) -> tuple[str | None, ast.expr | None]:
    if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1:
        target = stmt.targets[0]
        if isinstance(target, ast.Name):
            return target.id, stmt.value
    if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
        return stmt.target.id, stmt.value
    return None, None
