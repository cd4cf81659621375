"""Scan the migrations folder into :class:`~lamina.models.MigrationFile` records.

Each file is read once: its bytes give the checksum and its text the declared metadata. No
migration code runs here unless a ``.py`` file's metadata can only be had by importing it.
A ``.sql`` file's text and parse stay in the :class:`ScanResult` (``sources``), so a command
that loads the files next (``validate``, ``lint``) reads and parses none of them again.
Problems (unreadable files, bad headers, misnamed files) are collected, not raised, so one
``validate`` shows them all; commands that change the database refuse when any is an error.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from lamina.checksum import checksum
from lamina.config import Origin
from lamina.errors import ConfigError, MigrationLoadError
from lamina.loader import ScannedSql, import_migration_class, meta_from_class, read_text
from lamina.models import MigrationFile, MigrationKind, MigrationMeta, Problem, Severity
from lamina.scan_store import ScanStore, StatKey
from lamina.staticmeta import (
    MetaError,
    MetaWarning,
    PyDeclared,
    humanize,
    parse_checked,
    read_py_meta,
    read_sql_file,
)

__all__ = ["MIGRATION_FILENAME", "FileCache", "ScanResult", "scan"]

#: ``<version>_<slug>.py`` or ``.sql``; the version is the integer prefix, the id the stem.
MIGRATION_FILENAME = re.compile(r"^(?P<version>\d+)_(?P<slug>[A-Za-z0-9][\w-]*)\.(?P<ext>py|sql)$")
_MAX_VERSION = 2**63 - 1  # BIGINT in every engine's history table

_ReadResult = tuple["MigrationFile | None", tuple[Problem, ...]]


class FileCache:
    """What was read of each file, keyed by what stat says of it (size, mtime, ctime, inode)
    and the unsafe-location switch: a health endpoint polled every few seconds re-reads and
    re-hashes only files that changed. One per :class:`~lamina.api.Lamina`, never global.
    With a ``store``, what earlier processes read is reused too (:mod:`lamina.scan_store`)."""

    def __init__(self, store: ScanStore | None = None) -> None:
        self._entries: dict[Path, tuple[StatKey, _ReadResult]] = {}
        self.store = store
        #: How many files were read from disk (not served from here): what tests observe.
        self.reads = 0

    def get(self, path: Path, key: StatKey) -> _ReadResult | None:
        entry = self._entries.get(path)
        if entry is not None and entry[0] == key:
            return entry[1]
        kept = None if self.store is None else self.store.get(path, key)
        if kept is None:
            return None
        self._entries[path] = (key, (kept, ()))
        return kept, ()

    def put(self, path: Path, key: StatKey, result: _ReadResult, *, keep: bool) -> None:
        """Remember ``result``; ``keep``: the store may keep it too (its metadata came from
        its text alone)."""
        self.reads += 1
        self._entries[path] = (key, result)
        file, problems = result
        if keep and self.store is not None and file is not None and not problems:
            self.store.put(path, key, file)

    def save(self, names: Sequence[str]) -> None:
        """Write what the store gained, for the files the folder holds (``names``)."""
        if self.store is not None:
            self.store.save(set(names))


@dataclass(frozen=True, slots=True)
class ScanResult:
    """Every migration file found (in name order) and every problem noticed on the way.

    ``sources``: the text and parse of each valid ``.sql`` file this scan read, by path, for
    :func:`lamina.loader.load_migration` (``scanned=``); files served from a
    :class:`FileCache` are not in it (they were not read).
    """

    files: tuple[MigrationFile, ...]
    problems: tuple[Problem, ...]
    sources: Mapping[Path, ScannedSql] = field(default_factory=dict)


def scan(
    folder: Path,
    origin: Origin | None = None,
    *,
    allow_unsafe: bool = False,
    cache: FileCache | None = None,
) -> ScanResult:
    """Read every migration file in ``folder``.

    ``allow_unsafe``: a ``.py`` file whose metadata needs importing may come from a place
    other users can write (``Settings.allow_unsafe_migrations``; see :mod:`lamina.loader`).
    ``cache``: files unchanged since it last saw them are not read again.

    Raises:
        ConfigError: the folder is missing or unreadable, naming the setting (``origin``).
    """
    names = _list_folder(folder, origin or Origin("migrations folder"))
    files: list[MigrationFile] = []
    problems: list[Problem] = []
    sources: dict[Path, ScannedSql] = {}
    cache = cache or FileCache()
    for name in names:
        match = MIGRATION_FILENAME.match(name)
        path = folder / name
        if match is None:
            if _looks_like_migration(name) and path.is_file():
                problems.append(_misnamed(path))
            continue
        (file, found), scanned = _read_file(path, match, allow_unsafe, cache)
        if file is not None:
            files.append(file)
            if scanned is not None:
                sources[path] = scanned
        problems.extend(found)
    cache.save(names)
    return ScanResult(tuple(files), tuple(problems), sources)


def _list_folder(folder: Path, origin: Origin) -> list[str]:
    try:
        return sorted(os.listdir(folder))
    except FileNotFoundError:
        problem, hint = (
            f"{folder} does not exist",
            ("create it (`lamina create NAME` does) or point --migrations-dir elsewhere"),
        )
    except NotADirectoryError:
        problem, hint = f"{folder} is not a folder", "point --migrations-dir at a folder"
    except PermissionError:
        problem, hint = f"{folder} cannot be read (permission denied)", "fix its permissions"
    raise ConfigError(origin.setting, origin.source, problem, hint=hint)


def _looks_like_migration(name: str) -> bool:
    lowered = name.lower()
    return lowered.endswith((".py", ".sql")) and not name.startswith(("_", "."))


def _misnamed(path: Path) -> Problem:
    return Problem(
        Severity.WARNING,
        "ignored: not named <version>_<slug>.py or .sql (e.g. 001_create_users.sql)",
        path=path,
        code="misnamed",
    )


def _read_file(
    path: Path, match: re.Match[str], allow_unsafe: bool, cache: FileCache
) -> tuple[_ReadResult, ScannedSql | None]:
    """The file's record and problems (from ``cache`` when unchanged), and, when it was read
    here and is a valid ``.sql`` file, its text and parse."""
    version_text, slug, ext = match["version"], match["slug"], match["ext"]
    kind: MigrationKind = "py" if ext == "py" else "sql"
    migration_id = path.stem
    version = int(version_text)
    if version > _MAX_VERSION:
        too_large = f"version {version_text} is larger than {_MAX_VERSION}"
        return (None, (Problem(Severity.ERROR, too_large, path=path),)), None
    try:
        stat = path.stat()
        key = (stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_ino, int(allow_unsafe))
        cached = cache.get(path, key)
        if cached is not None:
            return cached, None
        data = path.read_bytes()
    except OSError as exc:
        unreadable = Problem(Severity.ERROR, f"cannot be read: {exc.strerror}", path=path)
        return (None, (unreadable,)), None
    result, scanned, plain = _parse_file(
        path, data, migration_id, version, slug, kind, allow_unsafe
    )
    cache.put(path, key, result, keep=plain)
    return result, scanned


def _parse_file(
    path: Path,
    data: bytes,
    migration_id: str,
    version: int,
    slug: str,
    kind: MigrationKind,
    allow_unsafe: bool,
) -> tuple[_ReadResult, ScannedSql | None, bool]:
    """The file's record and problems, a ``.sql`` file's text and parse, and whether its
    metadata came from its text alone (not from importing it)."""
    problems: tuple[Problem, ...] = ()
    scanned = None
    plain = False
    try:
        meta, warnings, scanned, plain = _read_meta(
            path, data, kind, slug, migration_id, version, allow_unsafe
        )
        problems = tuple(
            Problem(Severity.WARNING, w.message, path, w.line, w.code) for w in warnings
        )
    except MigrationLoadError as exc:
        meta = MigrationMeta(name=humanize(slug))
        problems = (Problem(Severity.ERROR, exc.problem, path, exc.line, "load"),)
    file = MigrationFile(migration_id, version, slug, path, kind, checksum(data), meta)
    return (file, problems), scanned, plain


def _read_meta(
    path: Path,
    data: bytes,
    kind: MigrationKind,
    slug: str,
    migration_id: str,
    version: int,
    allow_unsafe: bool,
) -> tuple[MigrationMeta, tuple[MetaWarning, ...], ScannedSql | None, bool]:
    """The file's metadata and warnings, a ``.sql`` file's text and parse (the parse
    ``read_sql_file`` just cached: asking again costs a lookup), and whether the metadata
    came from the text alone."""
    text = read_text(path, data)
    try:
        if kind == "sql":
            meta, warnings = read_sql_file(text, slug)
            return meta, warnings, ScannedSql(text, parse_checked(text)), True
        declared = read_py_meta(text, slug)
    except MetaError as exc:
        raise MigrationLoadError(path, str(exc), line=exc.line) from None
    if not isinstance(declared, PyDeclared):  # NEEDS_IMPORT: a computed attribute
        cls = import_migration_class(path, migration_id, allow_unsafe=allow_unsafe)
        _check_identity(path, cls.id or None, cls.version or None, migration_id, version, None)
        return meta_from_class(cls, path, slug), (), None, False
    _check_identity(
        path,
        declared.declared_id,
        declared.declared_version,
        migration_id,
        version,
        declared.class_line,
    )
    return declared.meta, (), None, True


def _check_identity(
    path: Path,
    declared_id: str | None,
    declared_version: int | None,
    migration_id: str,
    version: int,
    line: int | None,
) -> None:
    """A class that declares ``id``/``version`` must agree with its file name."""
    if declared_id is not None and declared_id != migration_id:
        raise MigrationLoadError(
            path,
            f"declares id {declared_id!r} but the file name gives {migration_id!r}",
            line=line,
            hint="remove the id attribute or rename the file",
        )
    if declared_version is not None and declared_version != version:
        raise MigrationLoadError(
            path,
            f"declares version {declared_version} but the file name gives {version}",
            line=line,
            hint="remove the version attribute or rename the file",
        )
