"""The backup folder: data files, their JSON manifests, and retention.

Layout, one pair per backup::

    .lamina/backups/                       0700
        20261125T141233Z-3fa9c1.duckdb     0600  the data file
        20261125T141233Z-3fa9c1.json       0600  its manifest (what, when, size, SHA-256)

A backup is written as a hidden ``.<id>.<ext>.partial`` file, fsynced, renamed to its final
name, and only then described by a manifest (itself written to a temp file and renamed). A crash
at any point leaves either no manifest or a manifest whose file is complete: :meth:`list` shows
only backups that have a manifest, so a half-written file is never offered for restore.
"""

from __future__ import annotations

import builtins
import json
import os
import re
import secrets
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from lamina.backup.errors import BackupError
from lamina.backup.streams import create_private, digest_file, fsync_dir, remove_quietly

__all__ = ["EXTENSIONS", "BackupRecord", "BackupStore", "BrokenManifest"]

#: The data file's extension for each backup format.
EXTENSIONS = {
    "duckdb-file": "duckdb",
    "sqlite-file": "sqlite3",
    "pg_dump-custom": "dump",
    "mysqldump-sql": "sql",
}
MANIFEST_VERSION = 1
#: The manifest version of a touched backup: lamina releases that know only version 1 list it
#: as unreadable instead of restoring it as a whole database (which it is not).
TOUCHED_MANIFEST_VERSION = 2
SCOPES = ("database", "touched")
FOLDER_MODE = 0o700
_ID = re.compile(r"\d{8}T\d{6}Z-[0-9a-f]{6}")
_MAX_MANIFEST = 64 * 1024


@dataclass(frozen=True, slots=True)
class BackupRecord:
    """One backup, as its manifest describes it.

    Attributes:
        id: ``20261125T141233Z-3fa9c1``: UTC time of the backup plus 6 random hex digits.
        engine: duckdb, sqlite, postgresql or mysql.
        database: the redacted URL of what was backed up (never a password).
        location: what was backed up, without credentials, for refusing a restore into a
            different database: the absolute file path, or ``host:port/database`` (plus
            ``?schema=`` on PostgreSQL).
        schema: the PostgreSQL schema the backup holds; None on the other engines.
        schema_version: lamina's schema version at backup time (from the caller).
        created_at: ISO 8601 UTC with microseconds; orders backups taken in the same second.
        size: bytes of the data file.
        sha256: hex SHA-256 of the data file.
        trigger: the migration id the backup was taken before (the first step of the run
            it covers), ``"manual"``, or None.
        file: the data file's name inside the backup folder.
        format: duckdb-file, sqlite-file, pg_dump-custom or mysqldump-sql.
        tool: what wrote the file (``pg_dump (PostgreSQL) 15.20``, ``duckdb 1.2.0``).
        covers: for the backup a run takes before its first step, the run's risky steps:
            restoring it returns the database to before all of them. Empty for a manual
            backup (and in manifests written before runs took one backup each).
        scope: ``database`` (everything; also what a manifest without the field means) or
            ``touched`` (only ``tables``, lamina's history among them).
        tables: a touched backup's tables; a restore replaces just those.
        absent: tables of a touched backup's scope that did not exist yet: a restore drops
            them.
        dropped: tables the run drops or renames away: a restore recreates them.
        scope_note: why a run asked for ``touched`` got the whole database, or None.
    """

    id: str
    engine: str
    database: str
    location: str
    schema: str | None
    schema_version: int
    created_at: str
    size: int
    sha256: str
    trigger: str | None
    file: str
    format: str
    tool: str | None
    covers: tuple[str, ...] = ()
    scope: str = "database"
    tables: tuple[str, ...] = ()
    absent: tuple[str, ...] = ()
    dropped: tuple[str, ...] = ()
    scope_note: str | None = None

    @property
    def touched(self) -> bool:
        """Whether the backup holds only some tables (a restore replaces just those)."""
        return self.scope == "touched"

    def to_dict(self) -> dict[str, Any]:
        """The manifest's fields, JSON-ready (``lamina backup list --json`` prints these)."""
        fields = asdict(self)
        for name in _LISTS:
            fields[name] = list(getattr(self, name))
        return fields

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BackupRecord:
        """Read a manifest, checking every field: a manifest is input like any other file.

        Raises:
            ValueError: a field is missing, has the wrong type, or names a file outside the
                backup folder.
        """
        values: dict[str, Any] = {}
        for name, kinds in _FIELD_TYPES.items():
            value = data.get(name)
            if not isinstance(value, kinds) or isinstance(value, bool):
                raise ValueError(f"field {name!r} is missing or not {_describe(kinds)}")
            values[name] = value
        for name in _LISTS:  # absent from older manifests: a whole-database backup
            items = data.get(name, [])
            if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
                raise ValueError(f"field {name!r} is not a list of names")
            values[name] = tuple(items)
        values["scope"] = data.get("scope", "database")
        if values["scope"] not in SCOPES:
            raise ValueError(f"field 'scope' is not one of {', '.join(SCOPES)}")
        note = data.get("scope_note")
        if not isinstance(note, str | None):
            raise ValueError("field 'scope_note' is not text")
        record = cls(**values, scope_note=note)
        if not _ID.fullmatch(record.id):
            raise ValueError(f"id {record.id!r} is not a backup id")
        extension = EXTENSIONS.get(record.format)
        if extension is None:
            raise ValueError(f"unknown format {record.format!r}")
        if record.file != f"{record.id}.{extension}":  # never a path: prune deletes this name
            raise ValueError(f"file {record.file!r} does not match id {record.id}")
        if record.size < 0 or not re.fullmatch(r"[0-9a-f]{64}", record.sha256):
            raise ValueError("size or sha256 is malformed")
        return record


#: Optional list fields: empty when a manifest lacks them.
_LISTS = ("covers", "tables", "absent", "dropped")
_FIELD_TYPES: dict[str, tuple[type, ...]] = {
    "id": (str,),
    "engine": (str,),
    "database": (str,),
    "location": (str,),
    "schema": (str, type(None)),
    "schema_version": (int,),
    "created_at": (str,),
    "size": (int,),
    "sha256": (str,),
    "trigger": (str, type(None)),
    "file": (str,),
    "format": (str,),
    "tool": (str, type(None)),
}


def _describe(kinds: tuple[type, ...]) -> str:
    return " or ".join("null" if kind is type(None) else kind.__name__ for kind in kinds)


@dataclass(frozen=True, slots=True)
class BrokenManifest:
    """A manifest that cannot be read; listed so the user can see it, never restored."""

    path: Path
    problem: str


class BackupStore:
    """The backup folder, created 0700 (with its parents) on first use.

    ``keep`` is how many backups :meth:`prune` keeps (newest first); None keeps every one.

    Example::

        store = BackupStore(Path(".lamina/backups"), keep=10)
        for record in store.list():
            print(record.id, record.trigger, record.size)
    """

    def __init__(self, folder: Path, keep: int | None = None) -> None:
        if keep is not None and keep < 1:
            raise ValueError("keep must be at least 1, or None to keep every backup")
        self.folder = Path(folder)
        self.keep = keep

    # -- reading ------------------------------------------------------------------------------
    def scan(self) -> tuple[list[BackupRecord], list[BrokenManifest]]:
        """Every readable backup, newest first, and every manifest that could not be read."""
        records: list[BackupRecord] = []
        broken: list[BrokenManifest] = []
        if not self.folder.is_dir():
            return records, broken
        for path in self.folder.glob("*.json"):
            if not _ID.fullmatch(path.stem):
                continue  # not ours
            try:
                records.append(_read_manifest(path))
            except (OSError, ValueError) as exc:
                broken.append(BrokenManifest(path, str(exc)))
        records.sort(key=lambda record: (record.created_at, record.id), reverse=True)
        broken.sort(key=lambda item: item.path.name, reverse=True)
        return records, broken

    def list(self) -> list[BackupRecord]:
        """Every readable backup, newest first (unreadable manifests: see :meth:`scan`)."""
        return self.scan()[0]

    def get(self, backup_id: str) -> BackupRecord:
        """The backup ``backup_id``.

        Raises:
            BackupError: no such backup, or its manifest cannot be read.
        """
        if not _ID.fullmatch(backup_id):
            raise BackupError(
                f"{backup_id!r} is not a backup id (they look like 20261125T141233Z-3fa9c1)",
                hint="run `lamina backup list` to see the backups",
            )
        path = self.folder / f"{backup_id}.json"
        if not path.exists():
            raise BackupError(
                f"no backup {backup_id} in {self.folder}",
                hint="run `lamina backup list` to see the backups",
            )
        try:
            return _read_manifest(path)
        except (OSError, ValueError) as exc:
            raise BackupError(f"the manifest {path} cannot be read: {exc}") from exc

    def path_of(self, record: BackupRecord) -> Path:
        """The data file of ``record``."""
        return self.folder / record.file

    def verify(self, record: BackupRecord) -> Path:
        """Check the data file against its manifest (size, then SHA-256); return its path.

        Raises:
            BackupError: the file is missing, or its size or checksum differs.
        """
        path = self.path_of(record)
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            raise BackupError(
                f"the data file of backup {record.id} is missing: {path}",
                hint="the backup cannot be restored; pick another one (`lamina backup list`)",
            ) from None
        sha256 = ""
        if size == record.size:  # a size mismatch needs no hashing to be refused
            size, sha256 = digest_file(path)
        if size != record.size or sha256 != record.sha256:
            raise BackupError(
                f"backup file {path} does not match its manifest (the file was changed or "
                "damaged); nothing was restored",
                hint="pick another backup (`lamina backup list`)",
            )
        return path

    # -- writing ------------------------------------------------------------------------------
    def ensure_folder(self) -> None:
        """Create the folder 0700; an existing one is tightened to 0700 (backups are secrets)."""
        try:
            # mkdir(parents=True) would create missing parents by the umask (0777 under
            # umask 0), letting others swap the folder out: create each one 0700 instead.
            missing = [p for p in (self.folder, *self.folder.parents) if not p.exists()]
            for folder in reversed(missing):
                folder.mkdir(mode=FOLDER_MODE, exist_ok=True)
                os.chmod(folder, FOLDER_MODE)
            os.chmod(self.folder, FOLDER_MODE)
        except OSError as exc:
            raise BackupError(
                f"cannot create the backup folder {self.folder}: {exc.strerror or exc}",
                hint="set LAMINA_BACKUP_DIR to a folder this user can write",
            ) from exc

    def new_id(self, now: datetime | None = None) -> tuple[str, str]:
        """A fresh backup id and its ``created_at`` timestamp."""
        now = (now or datetime.now(UTC)).astimezone(UTC)
        backup_id = f"{now:%Y%m%dT%H%M%S}Z-{secrets.token_hex(3)}"
        return backup_id, now.isoformat(timespec="microseconds")

    def partial_path(self, backup_id: str, format_name: str) -> Path:
        """Where a backup is written before it is complete (hidden, never listed)."""
        return self.folder / f".{backup_id}.{EXTENSIONS[format_name]}.partial"

    def commit(self, partial: Path, record: BackupRecord) -> BackupRecord:
        """Publish a complete, fsynced data file: rename it, then write its manifest."""
        final = self.path_of(record)
        os.replace(partial, final)
        fsync_dir(self.folder)
        manifest = self.folder / f"{record.id}.json"
        temp = self.folder / f".{record.id}.json.tmp"
        version = TOUCHED_MANIFEST_VERSION if record.touched else MANIFEST_VERSION
        text = json.dumps(
            {"manifest_version": version, **record.to_dict()}, indent=2, sort_keys=True
        )
        try:
            with create_private(temp) as out:
                out.write(text.encode("utf-8") + b"\n")
                out.flush()
                os.fsync(out.fileno())
            os.replace(temp, manifest)
        except BaseException:
            remove_quietly(temp)
            raise
        fsync_dir(self.folder)
        return record

    def prune(self, *, protect: frozenset[str] = frozenset()) -> builtins.list[BackupRecord]:
        """Remove all but the newest ``keep`` backups; return what was removed.

        Ids in ``protect`` are never removed (the backup just taken, whatever the clock said).
        The manifest goes first, so an interrupted prune leaves at worst an unlisted file.
        """
        if self.keep is None:
            return []
        removed: builtins.list[BackupRecord] = []
        for record in self.list()[self.keep :]:
            if record.id in protect:
                continue
            remove_quietly(self.folder / f"{record.id}.json")
            remove_quietly(self.path_of(record))
            removed.append(record)
        return removed


def _read_manifest(path: Path) -> BackupRecord:
    with path.open("rb") as source:
        raw = source.read(_MAX_MANIFEST + 1)
    if len(raw) > _MAX_MANIFEST:
        raise ValueError("the manifest is too large")
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"not valid JSON ({exc})") from exc
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    version = data.get("manifest_version")
    if version not in (MANIFEST_VERSION, TOUCHED_MANIFEST_VERSION):
        raise ValueError(f"manifest version {version!r} is not 1 or 2 (newer lamina?)")
    record = BackupRecord.from_dict(data)
    if record.touched != (version == TOUCHED_MANIFEST_VERSION):
        raise ValueError(f"manifest version {version} does not match scope {record.scope!r}")
    if f"{record.id}.json" != path.name:
        raise ValueError(f"the manifest of {record.id} is named {path.name}")
    return record
